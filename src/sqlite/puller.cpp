// SPDX-License-Identifier: Apache-2.0
// Puller: leasing jobs and the fenced transitions of a leased job.
#include "connection_impl.hpp"
#include "core/rules.hpp"
#include "core/settle.hpp"
#include "sql.hpp"

#include <gqs/sqlite/puller.hpp>

#include <algorithm>

namespace gqs::sqlite {

namespace {

std::string lost(const char* verb, const Lease& lease) {
    return std::string("gqs: cannot ") + verb + " job " + lease.id.to_string() + " (attempt " +
           std::to_string(lease.attempts) + "): it is gone, finished, or leased by someone else";
}

// The error a transition that matched no row throws from the single call.
[[noreturn]] void throw_lost(Action action, const Lease& lease) {
    if (action == Action::Complete) throw CompleteFailed(lost("complete", lease));
    throw JobLost(lost(gqs::detail::verb_of(action), lease));
}

// Runs the fenced UPDATE of one transition at `now`; true if it applied. Caller holds the
// mutex.
bool run_transition(detail::State& state, const Lease& lease, Action action, Duration backoff,
                    std::int64_t now) {
    switch (action) {
    case Action::Complete:
    case Action::Release: { // the same parameters: id, now, the lease's attempts
        const bool complete = action == Action::Complete;
        auto stmt = state.statement(complete ? detail::complete_sql : detail::release_sql,
                                    complete ? "completing a job" : "releasing a job");
        detail::bind_id(stmt, 1, lease.id);
        stmt.bind(2, now);
        stmt.bind(3, lease.attempts);
        return stmt.run() > 0;
    }
    case Action::Requeue: {
        auto stmt = state.statement(detail::requeue_sql, "requeueing a job");
        detail::bind_id(stmt, 1, lease.id);
        stmt.bind(2, now);
        stmt.bind(3, detail::add_micros(now, backoff));
        stmt.bind(4, lease.attempts);
        return stmt.run() > 0;
    }
    case Action::Kill: break;
    }
    auto stmt = state.statement(detail::kill_sql, "killing a job");
    detail::bind_id(stmt, 1, lease.id);
    stmt.bind(2, now);
    stmt.bind(3, lease.attempts);
    stmt.bind(4, static_cast<std::int64_t>(lease.status));
    return stmt.run() > 0;
}

// What an applied transition stored, as a SettleResult.
SettleResult applied(Action action, Duration backoff, std::int64_t now) {
    SettleResult r;
    r.updated_at = detail::from_micros(now);
    if (action == Action::Requeue)
        r.next_run_at = detail::from_micros(detail::add_micros(now, backoff));
    return r;
}

} // namespace

Puller::Puller(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Puller");
}

std::vector<Job> Puller::pull(int batch, Duration lock) {
    gqs::detail::check_pull(batch, lock);
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    return pull_locked(batch, lock, state.now());
}

std::vector<Job> Puller::pull_locked(int batch, Duration lock, std::int64_t now) {
    std::vector<Job> jobs;
    {
        auto& state = detail::Access::state(*connection_);
        auto stmt = state.statement(detail::pull_sql, "pulling jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, lock));
        stmt.bind(3, batch);
        // The statement's changes are made by its first step; reading the rows on the way is
        // safe because nothing else can use this handle meanwhile.
        while (stmt.step())
            jobs.push_back(detail::read_job(stmt.get()));
    }
    // RETURNING gives rows in no promised order.
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
        return a.next_run_at != b.next_run_at ? a.next_run_at < b.next_run_at : a.id < b.id;
    });
    return jobs;
}

void Puller::extend_lock(Job& job, Duration lock) {
    gqs::detail::check_lock(lock, "extend_lock lock");
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto now = state.now();
    auto until = detail::add_micros(now, lock);
    auto stmt = state.statement(detail::extend_sql, "extending a lease");
    detail::bind_id(stmt, 1, job.id);
    stmt.bind(2, now);
    stmt.bind(3, until);
    stmt.bind(4, job.attempts);
    if (stmt.run() == 0) throw LockLost(lost("extend the lease of", lease_of(job)));
    job.locked_until = detail::from_micros(until);
    job.updated_at = detail::from_micros(now);
}

void Puller::transition(Job& job, Action action, Duration backoff) {
    auto& state = detail::Access::state(*connection_);
    const Lease lease = lease_of(job);
    std::int64_t now = 0;
    {
        std::lock_guard guard(state.mutex);
        now = state.now();
        // One statement in autocommit mode: its own write transaction.
        if (!run_transition(state, lease, action, backoff, now)) throw_lost(action, lease);
    }
    apply_settlement(job, action, applied(action, backoff, now));
}

void Puller::complete(Job& job) { transition(job, Action::Complete, {}); }

void Puller::requeue(Job& job, Duration backoff) {
    if (backoff.count() < 0)
        throw std::invalid_argument("gqs: requeue backoff must not be negative");
    transition(job, Action::Requeue, backoff);
}

void Puller::kill(Job& job) { transition(job, Action::Kill, {}); }

void Puller::release(Job& job) { transition(job, Action::Release, {}); }

std::vector<SettleResult> Puller::settle_all(std::span<const Settlement> settlements, int batch,
                                             Duration lock, std::vector<Job>* jobs) {
    std::vector<char> done(settlements.size(), 0);
    auto& state = detail::Access::state(*connection_);
    std::int64_t now = 0;
    {
        std::lock_guard guard(state.mutex);
        now = state.now();
        // One transaction for the lot: one commit (and one fsync with synchronous=FULL)
        // instead of one per job; with a pull, a worker's whole cycle. A transition whose
        // lease is lost changes no row, so it fails alone without spoiling the others.
        detail::in_write_transaction(state, "settling jobs", [&] {
            for (std::size_t i = 0; i < settlements.size(); ++i) {
                const auto& s = settlements[i];
                done[i] = run_transition(state, s.lease, s.action, s.backoff, now);
            }
            if (jobs != nullptr) *jobs = pull_locked(batch, lock, now);
        });
    }
    std::vector<SettleResult> results(settlements.size());
    for (std::size_t i = 0; i < settlements.size(); ++i) {
        const auto& s = settlements[i];
        if (done[i]) {
            results[i] = applied(s.action, s.backoff, now);
        } else {
            results[i].status = SettleStatus::LeaseLost;
            results[i].error = lost(gqs::detail::verb_of(s.action), s.lease);
        }
    }
    return results;
}

std::vector<SettleResult> Puller::settle(std::span<const Settlement> settlements) {
    check_settlements(settlements);
    if (settlements.empty()) return {};
    try {
        return settle_all(settlements, 0, {}, nullptr);
    } catch (const StorageError& e) {
        // Nothing was committed: every entry failed with the storage error.
        return std::vector<SettleResult>(settlements.size(),
                                         {SettleStatus::StorageFailed, e.what(), {}, std::nullopt});
    }
}

std::vector<Job> Puller::settle_and_pull(std::span<const Settlement> settlements,
                                         std::vector<SettleResult>& results, int batch,
                                         Duration lock) {
    return gqs::detail::settle_and_pull_with(
        settlements, results, batch, lock,
        [this](std::span<const Settlement> s) { return settle(s); },
        [this](int n, Duration l) { return pull(n, l); },
        [&](std::vector<Job>& jobs) { return settle_all(settlements, batch, lock, &jobs); });
}

PullerCapabilities Puller::capabilities() const noexcept {
    return {.push_notifications = true, .cheap_ready_check = true};
}

bool Puller::has_ready() {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::has_ready_sql, "checking for ready jobs");
    stmt.bind(1, state.now());
    return stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
}

Subscription Puller::on_push(std::function<void()> notify) {
    return detail::Access::state(*connection_).subscribe(connection_, std::move(notify));
}

} // namespace gqs::sqlite
