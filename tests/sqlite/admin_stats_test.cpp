// SPDX-License-Identifier: Apache-2.0
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <set>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::SqliteQueue;

namespace {

gqs::Job dead_job(SqliteQueue& q) {
    auto m = q.push();
    auto job = q.puller.pull(1, 1h).at(0);
    q.puller.kill(job);
    return job;
}

} // namespace

TEST_CASE("admin: retry brings a Dead job back with attempts reset", "[admin][sqlite]") {
    SqliteQueue q;
    gqs::sqlite::Admin admin(q.db);
    auto job = dead_job(q);
    std::atomic<int> woken{0};
    auto sub = q.puller.on_push([&] { ++woken; });
    admin.retry(job.id);
    auto stored = q.stored(job.id);
    CHECK(stored.status == Status::Pending);
    CHECK(stored.attempts == 0);
    CHECK(woken == 1); // idle workers hear about it like a push
    auto again = q.puller.pull(1, 1h);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 1);
    SECTION("with a delay") {
        q.puller.kill(again[0]);
        admin.retry(job.id, 1h);
        CHECK(q.stored(job.id).next_run_at - q.stored(job.id).updated_at == 1h);
        CHECK(q.puller.pull(1, 1h).empty());
    }
}

TEST_CASE("admin: actions on the wrong state or an unknown id fail and change nothing",
          "[admin][sqlite]") {
    SqliteQueue q;
    gqs::sqlite::Admin admin(q.db);
    auto pending = q.push();
    CHECK_THROWS_AS(admin.retry(pending.id), gqs::BadStatus);
    auto unknown = gqs::Uuid::generate();
    CHECK_THROWS_AS(admin.retry(unknown), gqs::JobLost);
    CHECK_THROWS_AS(admin.cancel(unknown), gqs::JobLost);
    CHECK_THROWS_AS(admin.remove(unknown), gqs::JobLost);
    CHECK_THROWS_AS(admin.retry(pending.id, -1s), std::invalid_argument);
    auto leased = q.puller.pull(1, 1h).at(0);
    try {
        admin.remove(leased.id);
        FAIL("deleted a leased job");
    } catch (const gqs::BadStatus& e) {
        CHECK(std::string(e.what()).find("processing") != std::string::npos);
    }
    CHECK_THROWS_AS(admin.cancel(leased.id), gqs::BadStatus);
    CHECK(q.stored(leased.id).status == Status::Processing);
}

TEST_CASE("admin: retry_all_dead, cancel and remove", "[admin][sqlite]") {
    SqliteQueue q;
    gqs::sqlite::Admin admin(q.db);
    dead_job(q);
    dead_job(q);
    auto p = q.push();
    CHECK(admin.retry_all_dead() == 2);
    CHECK(admin.retry_all_dead() == 0);
    CHECK(q.observer.list(Status::Pending, 0).size() == 3);
    admin.cancel(p.id);
    CHECK(q.stored(p.id).status == Status::Dead);
    admin.remove(p.id);
    CHECK_FALSE(q.observer.get(p.id).has_value());
}

TEST_CASE("observer: paging walks every job once, in list order", "[observer][sqlite]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(95);
    q.pusher.push_batch(msgs); // one created_at for all: ties broken by id
    for (int i = 0; i < 10; ++i)
        q.push();
    auto all = q.observer.list(Status::Unknown, 0);
    REQUIRE(all.size() == 105);
    auto page_size = GENERATE(1, 7, 50, 200);
    std::vector<gqs::Job> walked = q.observer.list(Status::Unknown, page_size);
    auto page = walked;
    while (!page.empty()) {
        page = q.observer.list_after(Status::Unknown, page_size, gqs::cursor_of(page.back()));
        walked.insert(walked.end(), page.begin(), page.end());
    }
    REQUIRE(walked.size() == all.size());
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(walked[i].id == all[i].id);
    // With a status filter.
    auto first = q.puller.pull(3, 1h);
    auto pending = q.observer.list_after(Status::Pending, 0, gqs::Cursor{});
    CHECK(pending.size() == 102);
}

TEST_CASE("observer: stats counts statuses, lag, schedule and expired leases",
          "[observer][stats][sqlite]") {
    SqliteQueue q;
    auto empty = q.observer.stats();
    CHECK(empty.pending + empty.processing + empty.done + empty.dead == 0);
    CHECK_FALSE(empty.oldest_ready.has_value());
    CHECK_FALSE(empty.next_scheduled.has_value());

    std::vector<gqs::Message> msgs(6);
    q.pusher.push_batch(msgs);
    auto delayed = q.push("later", 1h);
    auto jobs = q.puller.pull(4, 1h);
    q.puller.complete(jobs[0]);
    q.puller.kill(jobs[1]);
    auto short_lease = q.puller.pull(1, 1ms);
    REQUIRE(short_lease.size() == 1);
    REQUIRE(gqs::test::wait_until(
        [&] { return std::chrono::system_clock::now() > *short_lease[0].locked_until; }));
    auto s = q.observer.stats();
    CHECK(s.pending == 2); // one runnable + the delayed one
    CHECK(s.processing == 3);
    CHECK(s.done == 1);
    CHECK(s.dead == 1);
    CHECK(s.expired_leases == 1);
    REQUIRE(s.oldest_ready.has_value());
    CHECK(*s.oldest_ready <= s.at);
    REQUIRE(s.next_scheduled.has_value());
    CHECK(*s.next_scheduled == q.stored(delayed.id).next_run_at);

    // The interface's generic default agrees with the SQL version.
    struct Generic : gqs::Observer {
        gqs::Observer& inner;
        explicit Generic(gqs::Observer& o) : inner(o) {}
        std::optional<gqs::Job> get(const gqs::Uuid& id) override { return inner.get(id); }
        std::vector<gqs::Job> list(Status st, int limit) override { return inner.list(st, limit); }
    } generic(q.observer);
    auto g = generic.stats();
    CHECK(g.pending == s.pending);
    CHECK(g.processing == s.processing);
    CHECK(g.done == s.done);
    CHECK(g.dead == s.dead);
    CHECK(g.expired_leases == s.expired_leases);
    CHECK(g.oldest_ready == s.oldest_ready);
    CHECK(g.next_scheduled == s.next_scheduled);
    auto page = generic.list_after(Status::Unknown, 2,
                                   gqs::cursor_of(q.observer.list(Status::Unknown, 1)[0]));
    auto expected = q.observer.list_after(Status::Unknown, 2,
                                          gqs::cursor_of(q.observer.list(Status::Unknown, 1)[0]));
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == expected[0].id);
    CHECK(page[1].id == expected[1].id);
}
