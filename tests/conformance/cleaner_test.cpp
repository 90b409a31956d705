// SPDX-License-Identifier: Apache-2.0
// Conformance: Cleaner::clean (which statuses, `before`, refusals).
#include "support/catch.hpp"
#include "support/queue.hpp"

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

TEST_CASE("cleaner: deletes only the finished statuses asked for", "[cleaner][conformance]") {
    Queue q;
    auto ids = q.mixed();
    SECTION("done") {
        CHECK(q.cleaner.clean(Status::Done, std::nullopt) == 2);
        CHECK(q.observer.list(Status::Dead, 0).size() == 1);
    }
    SECTION("dead") {
        CHECK(q.cleaner.clean(Status::Dead, std::nullopt) == 1);
        CHECK(q.observer.list(Status::Done, 0).size() == 2);
    }
    SECTION("nullopt means both") {
        CHECK(q.cleaner.clean(std::nullopt, std::nullopt) == 3);
        CHECK(q.observer.list(Status::Done, 0).empty());
        CHECK(q.observer.list(Status::Dead, 0).empty());
    }
    CHECK(q.observer.list(Status::Pending, 0).size() == 2);
    CHECK(q.observer.list(Status::Processing, 0).size() == 1);
}

TEST_CASE("cleaner: Pending and Processing are refused with BadStatus", "[cleaner][conformance]") {
    Queue q;
    q.mixed();
    auto s = GENERATE(Status::Pending, Status::Processing, static_cast<Status>(7));
    CHECK_THROWS_AS((void)q.cleaner.clean(s, std::nullopt), gqs::BadStatus);
    CHECK(q.observer.list(std::nullopt, 0).size() == 6);
}

TEST_CASE("cleaner: before keeps rows updated after it", "[cleaner][conformance]") {
    Queue q;
    std::vector<gqs::Uuid> ids;
    for (int i = 0; i < 6; ++i)
        ids.push_back(q.push(std::to_string(i)).id);
    auto jobs = q.puller.pull(4, 1h); // ids 0..3, oldest first
    REQUIRE(jobs.size() == 4);
    // Finish three jobs at three distinct times, each transition after the previous one's
    // updated_at has passed: Done ids[0] at t0, Dead ids[2] at t2, Done ids[1] at t1.
    auto finish = [&](const gqs::Uuid& id, auto&& transition) {
        transition();
        auto at = q.stored(id).updated_at;
        REQUIRE(gqs::test::wait_until([&] { return std::chrono::system_clock::now() > at + 1ms; }));
        return at;
    };
    auto t0 = finish(ids[0], [&] { q.puller.complete(jobs[0]); });
    auto t2 = finish(ids[2], [&] { q.puller.kill(jobs[2]); });
    auto t1 = finish(ids[1], [&] { q.puller.complete(jobs[1]); });
    REQUIRE(t0 < t2);
    REQUIRE(t2 < t1);
    CHECK(q.cleaner.clean(std::nullopt, t0 - 1us) == 0);
    CHECK(q.cleaner.clean(std::nullopt, t2) == 2); // inclusive: <= before
    CHECK(q.observer.get(ids[1]).has_value());
    CHECK_FALSE(q.observer.get(ids[0]).has_value());
    CHECK_FALSE(q.observer.get(ids[2]).has_value());
    CHECK(q.cleaner.clean(Status::Done, t1) == 1);
    CHECK(q.cleaner.clean(Status::Done, std::nullopt) == 0);
    // The Pending and Processing jobs, last updated before all three, were never candidates.
    CHECK(q.observer.list(std::nullopt, 0).size() == 3);
}
