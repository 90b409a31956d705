// SPDX-License-Identifier: Apache-2.0
// Conformance: Admin (retry, retry_all_dead, cancel, remove and their refusals).
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <atomic>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

TEST_CASE("admin: retry brings a Dead job back with attempts reset", "[admin][conformance]") {
    Queue q;
    auto job = q.dead_job();
    std::atomic<int> woken{0};
    auto sub = q.puller.on_push([&] { ++woken; });
    q.admin.retry(job.id);
    auto stored = q.stored(job.id);
    CHECK(stored.status == Status::Pending);
    CHECK(stored.attempts == 0);
    CHECK(woken == 1); // idle workers hear about it like a push
    auto again = q.puller.pull(1, 1h);
    REQUIRE(again.size() == 1);
    CHECK(again[0].attempts == 1);
    SECTION("with a delay") {
        q.puller.kill(again[0]);
        q.admin.retry(job.id, 1h);
        CHECK(q.stored(job.id).next_run_at - q.stored(job.id).updated_at == 1h);
        CHECK(q.puller.pull(1, 1h).empty());
    }
}

TEST_CASE("admin: actions on the wrong state or an unknown id fail and change nothing",
          "[admin][conformance]") {
    Queue q;
    auto pending = q.push();
    CHECK_THROWS_AS(q.admin.retry(pending.id), gqs::BadStatus);
    auto unknown = gqs::Uuid::generate();
    CHECK_THROWS_AS(q.admin.retry(unknown), gqs::JobLost);
    CHECK_THROWS_AS(q.admin.cancel(unknown), gqs::JobLost);
    CHECK_THROWS_AS(q.admin.remove(unknown), gqs::JobLost);
    CHECK_THROWS_AS(q.admin.retry(pending.id, -1s), std::invalid_argument);
    auto leased = q.puller.pull(1, 1h).at(0);
    try {
        q.admin.remove(leased.id);
        FAIL("deleted a leased job");
    } catch (const gqs::BadStatus& e) {
        CHECK(std::string(e.what()).find("processing") != std::string::npos);
    }
    q.puller.complete(leased);
    CHECK_THROWS_AS(q.admin.cancel(leased.id), gqs::BadStatus);
    CHECK(q.stored(leased.id).status == Status::Done);
}

TEST_CASE("admin: retry_all_dead, cancel and remove", "[admin][conformance]") {
    Queue q;
    q.dead_job();
    q.dead_job();
    auto p = q.push();
    CHECK(q.admin.retry_all_dead() == 2);
    CHECK(q.admin.retry_all_dead() == 0);
    CHECK(q.observer.list(Status::Pending, 0).size() == 3);
    q.admin.cancel(p.id);
    CHECK(q.stored(p.id).status == Status::Dead);
    q.admin.remove(p.id);
    CHECK_FALSE(q.observer.get(p.id).has_value());
}
