// SPDX-License-Identifier: Apache-2.0
// Conformance: Observer::stats (counts, lag, schedule, expired leases).
#include "support/catch.hpp"
#include "support/queue.hpp"

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

namespace {

// Leaves 1 runnable Pending, 1 delayed Pending (returned), 3 Processing (one of them with
// an expired lease), 1 Done and 1 Dead job.
gqs::Message every_kind(Queue& q) {
    std::vector<gqs::Message> msgs(6);
    q.pusher.push_batch(msgs);
    auto delayed = q.push("later", 1h);
    auto jobs = q.puller.pull(4, 1h);
    REQUIRE(jobs.size() == 4);
    q.puller.complete(jobs[0]);
    q.puller.kill(jobs[1]);
    auto short_lease = q.puller.pull(1, 1ms);
    REQUIRE(short_lease.size() == 1);
    REQUIRE(gqs::test::wait_until(
        [&] { return std::chrono::system_clock::now() > *short_lease[0].locked_until; }));
    return delayed;
}

} // namespace

TEST_CASE("observer: stats counts statuses, lag, schedule and expired leases",
          "[observer][stats][conformance]") {
    Queue q;
    auto empty = q.observer.stats();
    CHECK(empty.pending + empty.processing + empty.done + empty.dead == 0);
    CHECK(empty.expired_leases == 0);
    CHECK_FALSE(empty.oldest_ready.has_value());
    CHECK_FALSE(empty.next_scheduled.has_value());

    auto delayed = every_kind(q);
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
}

TEST_CASE("observer: stats and list_after agree with a scan of list",
          "[observer][stats][conformance]") {
    Queue q;
    every_kind(q);
    auto s = q.observer.stats();
    // The same numbers, counted from every job that list() returns, as of s.at.
    gqs::Stats scan;
    for (const auto& job : q.observer.list(std::nullopt, 0)) {
        switch (job.status) {
        case Status::Pending:
            ++scan.pending;
            if (job.next_run_at <= s.at) {
                if (!scan.oldest_ready || job.next_run_at < *scan.oldest_ready)
                    scan.oldest_ready = job.next_run_at;
            } else if (!scan.next_scheduled || job.next_run_at < *scan.next_scheduled) {
                scan.next_scheduled = job.next_run_at;
            }
            break;
        case Status::Processing:
            ++scan.processing;
            if (job.locked_until && *job.locked_until < s.at) ++scan.expired_leases;
            break;
        case Status::Done: ++scan.done; break;
        case Status::Dead: ++scan.dead; break;
        case Status::Unknown: break;
        }
    }
    CHECK(scan.pending == s.pending);
    CHECK(scan.processing == s.processing);
    CHECK(scan.done == s.done);
    CHECK(scan.dead == s.dead);
    CHECK(scan.expired_leases == s.expired_leases);
    CHECK(scan.oldest_ready == s.oldest_ready);
    CHECK(scan.next_scheduled == s.next_scheduled);
    // A page after the first job is the next two jobs of the full list.
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 7);
    auto page = q.observer.list_after(std::nullopt, 2, gqs::cursor_of(all[0]));
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == all[1].id);
    CHECK(page[1].id == all[2].id);
}
