// SPDX-License-Identifier: Apache-2.0
// Observer: reading jobs.
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/observer.hpp>

namespace gqs::sqlite {

Observer::Observer(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Observer");
}

std::optional<Job> Observer::get(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::get_sql, "reading a job");
    detail::bind_id(stmt, 1, id);
    if (!stmt.step()) return std::nullopt;
    return detail::read_job(stmt.get());
}

std::vector<Job> Observer::list(Status status, int limit) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::list_sql, "listing jobs");
    stmt.bind(1, static_cast<std::int64_t>(status));
    stmt.bind(2, limit <= 0 ? -1 : limit);
    std::vector<Job> jobs;
    while (stmt.step())
        jobs.push_back(detail::read_job(stmt.get()));
    return jobs;
}

std::vector<Job> Observer::list_after(Status status, int limit, const Cursor& after) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::page_sql, "listing jobs");
    stmt.bind(1, static_cast<std::int64_t>(status));
    stmt.bind(2, limit <= 0 ? -1 : limit);
    stmt.bind(3, detail::to_micros(after.created_at));
    detail::bind_id(stmt, 4, after.id);
    std::vector<Job> jobs;
    while (stmt.step())
        jobs.push_back(detail::read_job(stmt.get()));
    return jobs;
}

Stats Observer::stats() {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    Stats s;
    auto now = state.now();
    s.at = detail::from_micros(now);
    auto stmt = state.statement(detail::stats_sql, "reading queue stats");
    stmt.bind(1, now);
    if (!stmt.step()) return s;
    auto* raw = stmt.get();
    s.pending = sqlite3_column_int64(raw, 0);
    s.processing = sqlite3_column_int64(raw, 1);
    s.done = sqlite3_column_int64(raw, 2);
    s.dead = sqlite3_column_int64(raw, 3);
    s.expired_leases = sqlite3_column_int64(raw, 4);
    if (sqlite3_column_type(raw, 5) != SQLITE_NULL)
        s.oldest_ready = detail::from_micros(sqlite3_column_int64(raw, 5));
    if (sqlite3_column_type(raw, 6) != SQLITE_NULL)
        s.next_scheduled = detail::from_micros(sqlite3_column_int64(raw, 6));
    return s;
}

} // namespace gqs::sqlite
