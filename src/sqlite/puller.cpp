// SPDX-License-Identifier: Apache-2.0
// Puller: leasing jobs and the fenced transitions of a leased job.
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/puller.hpp>

#include <algorithm>

namespace gqs::sqlite {

namespace {

// Every transition names the lease it acts on: status Processing *and* the attempts the
// caller saw. The seed checks only the status, so a worker whose lease expired and was
// re-pulled by another could still finish or extend the other's lease. attempts grows on
// every pull, which makes it a fencing token for the lease.
constexpr const char* extend_sql =
    "UPDATE jobs SET locked_until = ?3, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?4";
constexpr const char* complete_sql =
    "UPDATE jobs SET status = 3, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3";
constexpr const char* requeue_sql =
    "UPDATE jobs SET status = 1, locked_until = NULL, next_run_at = ?3, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?4";
// Kill takes the caller's own lease, or a Pending job the caller saw Pending (same attempts:
// a Pending row's attempts only change when it is pulled again).
constexpr const char* kill_sql =
    "UPDATE jobs SET status = 4, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status IN (1, 2) AND status = ?4 AND attempts = ?3";

void check_lock(Duration lock, const char* what) {
    if (lock.count() <= 0) throw std::invalid_argument(std::string("gqs: ") + what);
}

std::string lost(const char* verb, const Job& job) {
    return std::string("gqs: cannot ") + verb + " job " + job.id.to_string() + " (attempt " +
           std::to_string(job.attempts) +
           "): it is gone, finished, or leased by someone else";
}

} // namespace

Puller::Puller(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Puller");
}

std::vector<Job> Puller::pull(int batch, Duration lock) {
    if (batch <= 0) throw std::invalid_argument("gqs: pull batch must be positive");
    check_lock(lock, "pull lock must be positive");
    std::vector<Job> jobs;
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard guard(state.mutex);
        auto now = detail::now_micros();
        auto stmt = state.statement(detail::pull_sql, "pulling jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, lock));
        stmt.bind(3, batch);
        // The statement commits when it has stepped to the end; reading rows on the way is
        // safe because nothing else can use this handle meanwhile.
        while (stmt.step()) jobs.push_back(detail::read_job(stmt.get()));
    }
    // RETURNING gives rows in no promised order.
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
        return a.next_run_at != b.next_run_at ? a.next_run_at < b.next_run_at : a.id < b.id;
    });
    return jobs;
}

void Puller::extend_lock(Job& job, Duration lock) {
    check_lock(lock, "extend_lock lock must be positive");
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto now = detail::now_micros();
    auto until = detail::add_micros(now, lock);
    auto stmt = state.statement(extend_sql, "extending a lease");
    detail::bind_id(stmt, 1, job.id);
    stmt.bind(2, now);
    stmt.bind(3, until);
    stmt.bind(4, job.attempts);
    if (stmt.run() == 0) throw LockLost(lost("extend the lease of", job));
    job.locked_until = detail::from_micros(until);
    job.updated_at = detail::from_micros(now);
}

void Puller::complete(Job& job) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto now = detail::now_micros();
    auto stmt = state.statement(complete_sql, "completing a job");
    detail::bind_id(stmt, 1, job.id);
    stmt.bind(2, now);
    stmt.bind(3, job.attempts);
    if (stmt.run() == 0) throw CompleteFailed(lost("complete", job));
    job.status = Status::Done;
    job.locked_until.reset();
    job.updated_at = detail::from_micros(now);
}

void Puller::requeue(Job& job, Duration backoff) {
    if (backoff.count() < 0) throw std::invalid_argument("gqs: requeue backoff must not be negative");
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto now = detail::now_micros();
    auto run_at = detail::add_micros(now, backoff);
    auto stmt = state.statement(requeue_sql, "requeueing a job");
    detail::bind_id(stmt, 1, job.id);
    stmt.bind(2, now);
    stmt.bind(3, run_at);
    stmt.bind(4, job.attempts);
    if (stmt.run() == 0) throw JobLost(lost("requeue", job));
    job.status = Status::Pending;
    job.locked_until.reset();
    job.next_run_at = detail::from_micros(run_at);
    job.updated_at = detail::from_micros(now);
}

void Puller::kill(Job& job) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto now = detail::now_micros();
    auto stmt = state.statement(kill_sql, "killing a job");
    detail::bind_id(stmt, 1, job.id);
    stmt.bind(2, now);
    stmt.bind(3, job.attempts);
    stmt.bind(4, static_cast<std::int64_t>(job.status));
    if (stmt.run() == 0) throw JobLost(lost("kill", job));
    job.status = Status::Dead;
    job.locked_until.reset();
    job.updated_at = detail::from_micros(now);
}

} // namespace gqs::sqlite
