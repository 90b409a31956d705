// SPDX-License-Identifier: Apache-2.0
// PullerOptions::settle_session: a busy settle_and_pull stores its settlements on a second
// session while the pull runs, and every lease stays fenced while the two run at once.
#include "support/catch.hpp"
#include "support/postgres_queue.hpp"
#include "support/test_support.hpp"

#include "postgres/connection_impl.hpp"

#include <gqs/postgres.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::test::PgQueue;

namespace {

std::vector<gqs::Settlement> completions(const std::vector<gqs::Job>& jobs) {
    std::vector<gqs::Settlement> out;
    for (const auto& job : jobs)
        out.push_back({gqs::lease_of(job), gqs::Action::Complete, {}, {}});
    return out;
}

// Sessions other than `q.db`'s whose last statement was a settle of q's jobs.
std::string settling_sessions(const PgQueue& q) {
    const int own = gqs::postgres::detail::Access::state(*q.db).backend_pid.load();
    return q.schema.exec("SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'UPDATE \"" +
                         q.schema.name() + "\".jobs j SET%' AND pid <> " + std::to_string(own));
}

} // namespace

TEST_CASE("postgres: a busy settle_and_pull stores its results on a second session",
          "[postgres][settle_session]") {
    PgQueue q;
    for (int i = 0; i < 30; ++i)
        q.pusher.push(gqs::Message{});
    const bool second = GENERATE(true, false);
    gqs::postgres::Puller puller(q.db, {.settle_session = second});
    auto first = puller.pull(10, 30s);
    REQUIRE(first.size() == 10);
    std::vector<gqs::SettleResult> results;
    const auto settlements = completions(first);
    const auto next = puller.settle_and_pull(settlements, results, 10, 30s);
    CHECK(next.size() == 10);
    REQUIRE(results.size() == 10);
    for (const auto& r : results)
        CHECK(r.status == gqs::SettleStatus::Applied);
    const auto stats = q.observer.stats();
    CHECK(stats.done == 10);
    CHECK(stats.processing == 10);
    CHECK(stats.pending == 10);
    CHECK(settling_sessions(q) == (second ? "1" : "0"));
    // A small cycle stays on one session: the second one is not needed for it.
    if (second) {
        const auto few = completions(std::vector<gqs::Job>(next.begin(), next.begin() + 2));
        CHECK(puller.settle_and_pull(few, results, 2, 30s).size() == 2);
        CHECK(results.size() == 2);
        CHECK(q.observer.stats().done == 12);
    }
}

TEST_CASE("postgres: a settlement beside a pull that takes its expired lease back is lost",
          "[postgres][settle_session]") {
    PgQueue q;
    constexpr int n = 40;
    for (int i = 0; i < n; ++i)
        q.pusher.push(gqs::Message{});
    auto leased = q.puller.pull(n, 1ms);
    REQUIRE(leased.size() == static_cast<std::size_t>(n));
    REQUIRE(gqs::test::wait_until([&] { return q.observer.stats().expired_leases == n; }));
    // The pull takes the expired leases back while the settle completes them: each job is
    // either completed (its result Applied) or leased again (attempt 2), never both.
    std::vector<gqs::SettleResult> results;
    const auto settlements = completions(leased);
    const auto again = q.puller.settle_and_pull(settlements, results, n, 30s);
    REQUIRE(results.size() == static_cast<std::size_t>(n));
    std::set<gqs::Uuid> pulled;
    for (const auto& job : again) {
        CHECK(job.attempts == 2);
        pulled.insert(job.id);
    }
    int applied = 0;
    for (int i = 0; i < n; ++i) {
        const bool done = results[i].status == gqs::SettleStatus::Applied;
        applied += done ? 1 : 0;
        CHECK(done != (pulled.count(leased[i].id) == 1));
        if (!done) CHECK(results[i].status == gqs::SettleStatus::LeaseLost);
    }
    const auto stats = q.observer.stats();
    CHECK(stats.done == applied);
    CHECK(stats.processing == static_cast<std::int64_t>(again.size()));
    CHECK(applied + static_cast<int>(again.size()) == n);
}
