// SPDX-License-Identifier: Apache-2.0
// Conformance: Puller::settle, complete_batch and settle_and_pull, with per-entry results.
#include "conformance/queue.hpp"
#include "support/catch.hpp"

using namespace std::chrono_literals;
using gqs::Action;
using gqs::Status;
using gqs::conformance::Queue;

TEST_CASE("settle: applies mixed transitions and updates each job", "[settle][conformance]") {
    Queue q;
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

TEST_CASE("settle: a lost lease fails only its own entry", "[settle][conformance][fencing]") {
    Queue q;
    std::vector<gqs::Message> msgs(3);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(3, 1h);
    REQUIRE(jobs.size() == 3);
    auto stale = jobs[1];
    q.puller.complete(jobs[1]); // now the copy in `stale` no longer holds a lease
    std::vector<gqs::Settlement> s{{&jobs[0], Action::Complete, {}},
                                   {&stale, Action::Complete, {}},
                                   {&jobs[2], Action::Requeue, 0ms}};
    auto results = q.puller.settle(s);
    REQUIRE(results.size() == 3);
    CHECK(results[0] == nullptr);
    REQUIRE(results[1] != nullptr);
    CHECK_THROWS_AS(std::rethrow_exception(results[1]), gqs::CompleteFailed);
    CHECK(results[2] == nullptr);
    CHECK(stale.status == Status::Processing); // failed entries leave the snapshot alone
    CHECK(q.stored(jobs[0].id).status == Status::Done);
    CHECK(q.stored(jobs[2].id).status == Status::Pending);
}

TEST_CASE("settle: bad entries throw before anything is applied", "[settle][conformance]") {
    Queue q;
    auto m = q.push();
    auto jobs = q.puller.pull(1, 1h);
    REQUIRE(jobs.size() == 1);
    std::vector<gqs::Settlement> s{{&jobs[0], Action::Complete, {}}, {nullptr, Action::Kill, {}}};
    CHECK_THROWS_AS((void)q.puller.settle(s), std::invalid_argument);
    std::vector<gqs::Settlement> neg{{&jobs[0], Action::Requeue, -1ms}};
    CHECK_THROWS_AS((void)q.puller.settle(neg), std::invalid_argument);
    CHECK(q.stored(m.id).status == Status::Processing);
    CHECK(q.puller.settle({}).empty());
}

TEST_CASE("settle: complete_batch completes a whole pull", "[settle][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(100);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(100, 1h);
    REQUIRE(jobs.size() == 100);
    auto results = q.puller.complete_batch(jobs);
    for (auto& r : results)
        CHECK(r == nullptr);
    CHECK(q.observer.list(Status::Done, 0).size() == 100);
}

TEST_CASE("settle: settle_and_pull stores results and leases the next jobs at once",
          "[settle][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(6);
    q.pusher.push_batch(msgs);
    auto held = q.puller.pull(3, 1h);
    REQUIRE(held.size() == 3);
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
    REQUIRE(next.size() == 3); // the three never pulled; the requeued one waits an hour
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
