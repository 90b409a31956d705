// SPDX-License-Identifier: Apache-2.0
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using gqs::Action;
using gqs::Status;
using gqs::test::SqliteQueue;

TEST_CASE("settle: applies mixed transitions and updates each job", "[settle][sqlite]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(3);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(3, 1h);
    REQUIRE(jobs.size() == 3);
    std::vector<gqs::Settlement> s{{&jobs[0], Action::Complete, {}},
                                   {&jobs[1], Action::Requeue, 1h},
                                   {&jobs[2], Action::Kill, {}}};
    auto results = q.puller.settle(s);
    REQUIRE(results.size() == 3);
    for (auto& r : results)
        CHECK(r == nullptr);
    CHECK(jobs[0].status == Status::Done);
    CHECK(jobs[1].status == Status::Pending);
    CHECK(jobs[1].next_run_at - jobs[1].updated_at == 1h);
    CHECK(jobs[2].status == Status::Dead);
    for (auto& j : jobs) {
        auto stored = q.stored(j.id);
        CHECK(stored.status == j.status);
        CHECK(stored.updated_at == j.updated_at);
        CHECK(stored.next_run_at == j.next_run_at);
        CHECK_FALSE(stored.locked_until.has_value());
    }
}

TEST_CASE("settle: a lost lease fails only its own entry", "[settle][sqlite][fencing]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(3);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(3, 1h);
    auto stale = jobs[1];
    q.puller.complete(jobs[1]); // now the copy in `stale` no longer holds a lease
    std::vector<gqs::Settlement> s{{&jobs[0], Action::Complete, {}},
                                   {&stale, Action::Complete, {}},
                                   {&jobs[2], Action::Requeue, 0ms}};
    auto results = q.puller.settle(s);
    CHECK(results[0] == nullptr);
    REQUIRE(results[1] != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(results[1]), gqs::CompleteFailed);
    CHECK(results[2] == nullptr);
    CHECK(stale.status == Status::Processing); // failed entries leave the snapshot alone
    CHECK(q.stored(jobs[0].id).status == Status::Done);
    CHECK(q.stored(jobs[2].id).status == Status::Pending);
}

TEST_CASE("settle: bad entries throw before anything is applied", "[settle][sqlite]") {
    SqliteQueue q;
    auto m = q.push();
    auto jobs = q.puller.pull(1, 1h);
    std::vector<gqs::Settlement> s{{&jobs[0], Action::Complete, {}}, {nullptr, Action::Kill, {}}};
    CHECK_THROWS_AS((void)q.puller.settle(s), std::invalid_argument);
    std::vector<gqs::Settlement> neg{{&jobs[0], Action::Requeue, -1ms}};
    CHECK_THROWS_AS((void)q.puller.settle(neg), std::invalid_argument);
    CHECK(q.stored(m.id).status == Status::Processing);
    CHECK(q.puller.settle({}).empty());
}

TEST_CASE("settle: complete_batch completes a whole pull", "[settle][sqlite]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(100);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(100, 1h);
    REQUIRE(jobs.size() == 100);
    auto results = q.puller.complete_batch(jobs);
    for (auto& r : results)
        CHECK(r == nullptr);
    CHECK(q.observer.list(Status::Done, 0).size() == 100);
}

TEST_CASE("settle: the interface's default applies one by one", "[settle]") {
    // A minimal in-memory Puller that only implements the pure virtuals.
    struct Fake : gqs::Puller {
        std::vector<std::string> calls;
        std::vector<gqs::Job> pull(int, gqs::Duration) override { return {}; }
        void extend_lock(gqs::Job&, gqs::Duration) override {}
        void complete(gqs::Job& j) override {
            if (j.attempts == 0) throw gqs::CompleteFailed("lost");
            calls.push_back("complete");
        }
        void requeue(gqs::Job&, gqs::Duration) override { calls.push_back("requeue"); }
        void kill(gqs::Job&) override { calls.push_back("kill"); }
    } fake;
    gqs::Job a, b, c;
    a.attempts = 1;
    std::vector<gqs::Settlement> s{
        {&a, Action::Complete, {}}, {&b, Action::Complete, {}}, {&c, Action::Kill, {}}};
    auto results = fake.settle(s);
    CHECK(results[0] == nullptr);
    CHECK(results[1] != nullptr);
    CHECK(results[2] == nullptr);
    CHECK(fake.calls == std::vector<std::string>{"complete", "kill"});
    CHECK(fake.has_ready());
    auto sub = fake.on_push([] {});
    sub.reset();
}

TEST_CASE("notify: a push wakes subscribers of the same connection", "[notify][sqlite]") {
    SqliteQueue q;
    std::atomic<int> calls{0};
    auto sub = q.puller.on_push([&] { ++calls; });
    q.push();
    CHECK(calls == 1);
    std::vector<gqs::Message> msgs(5);
    q.pusher.push_batch(msgs);
    CHECK(calls == 2); // one notification per committed push call
    gqs::Message dup;
    q.pusher.push(dup);
    CHECK_THROWS_AS(q.pusher.push(dup), gqs::DuplicateJob);
    CHECK(calls == 3); // a failed push does not notify
    sub.reset();
    q.push();
    CHECK(calls == 3);
}

TEST_CASE("notify: reset waits for a running callback and stops later ones", "[notify][sqlite]") {
    SqliteQueue q;
    std::atomic<bool> in_callback{false}, release{false};
    std::atomic<int> calls{0};
    auto sub = q.puller.on_push([&] {
        ++calls;
        in_callback = true;
        while (!release)
            std::this_thread::yield();
        in_callback = false;
    });
    std::thread pusher([&] { q.push(); });
    REQUIRE(gqs::test::wait_until([&] { return in_callback.load(); }));
    std::atomic<bool> reset_done{false};
    std::thread resetter([&] {
        sub.reset();
        reset_done = true;
    });
    // reset must not return while the callback runs. A broken reset returns within
    // microseconds; a correct one never does, however long we look.
    CHECK_FALSE(gqs::test::wait_until([&] { return reset_done.load(); }, 200ms));
    release = true;
    pusher.join();
    resetter.join();
    CHECK_FALSE(in_callback.load());
    q.push();
    CHECK(calls == 1);
}

TEST_CASE("has_ready: answers from a read, for pending and expired leases", "[puller][sqlite]") {
    SqliteQueue q;
    CHECK_FALSE(q.puller.has_ready());
    q.push("later", 1h);
    CHECK_FALSE(q.puller.has_ready());
    q.push("now");
    CHECK(q.puller.has_ready());
    auto job = q.puller.pull(1, 20ms);
    REQUIRE(job.size() == 1);
    CHECK_FALSE(q.puller.has_ready());                                    // leased, lease running
    REQUIRE(gqs::test::wait_until([&] { return q.puller.has_ready(); })); // lease expired
}

TEST_CASE("has_ready: works while another connection holds the write lock", "[puller][sqlite]") {
    SqliteQueue q;
    q.push();
    auto other = q.second_connection();
    other->database().exec("BEGIN IMMEDIATE");
    CHECK(q.puller.has_ready()); // WAL readers do not wait for the writer
    other->database().exec("ROLLBACK");
}

TEST_CASE("settle: settle_and_pull stores results and leases the next jobs at once",
          "[settle][sqlite]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(6);
    q.pusher.push_batch(msgs);
    auto held = q.puller.pull(3, 1h);
    auto stale = held[2];
    q.puller.complete(held[2]); // `stale` lost its lease
    std::vector<gqs::Settlement> s{{&held[0], Action::Complete, {}},
                                   {&held[1], Action::Requeue, 1h},
                                   {&stale, Action::Kill, {}}};
    std::vector<std::exception_ptr> results;
    auto next = q.puller.settle_and_pull(s, results, 10, 1h);
    REQUIRE(results.size() == 3);
    CHECK(results[0] == nullptr);
    CHECK(results[1] == nullptr);
    REQUIRE(results[2] != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(results[2]), gqs::JobLost);
    CHECK(held[0].status == Status::Done);
    CHECK(held[1].status == Status::Pending);
    CHECK(next.size() == 3); // the three never pulled; the requeued one waits an hour
    for (auto& j : next)
        CHECK(j.status == Status::Processing);
    CHECK(q.stored(held[0].id).status == Status::Done);
    CHECK(q.stored(held[1].id).status == Status::Pending);

    SECTION("batch 0 only settles") {
        std::vector<gqs::Settlement> one{{&next[0], Action::Complete, {}}};
        CHECK(q.puller.settle_and_pull(one, results, 0, 1h).empty());
        CHECK(results.size() == 1);
        CHECK(results[0] == nullptr);
        CHECK(q.stored(next[0].id).status == Status::Done);
    }
    SECTION("bad arguments change nothing") {
        std::vector<gqs::Settlement> one{{&next[0], Action::Complete, {}}};
        CHECK_THROWS_AS((void)q.puller.settle_and_pull(one, results, 1, 0ms),
                        std::invalid_argument);
        CHECK(q.stored(next[0].id).status == Status::Processing);
    }
}
