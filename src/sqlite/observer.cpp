// SPDX-License-Identifier: Apache-2.0
// Observer: reading jobs.
#include "backend/rules.hpp"
#include "backend/settle.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

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

std::vector<Job> Observer::list(std::optional<Status> status, int limit) {
    const std::int64_t code = gqs::detail::list_status_code(status);
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::list_sql, "listing jobs");
    stmt.bind(1, code);
    stmt.bind(2, limit <= 0 ? -1 : limit);
    std::vector<Job> jobs;
    while (stmt.step())
        jobs.push_back(detail::read_job(stmt.get()));
    return jobs;
}

std::vector<Job> Observer::list_after(std::optional<Status> status, int limit,
                                      const Cursor& after) {
    const std::int64_t code = gqs::detail::list_status_code(status);
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::page_sql, "listing jobs");
    stmt.bind(1, code);
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
    const auto time_at = [](sqlite3_stmt* raw, int col) -> std::optional<TimePoint> {
        if (sqlite3_column_type(raw, col) == SQLITE_NULL) return std::nullopt;
        return detail::from_micros(sqlite3_column_int64(raw, col));
    };
    while (stmt.step()) {
        auto* raw = stmt.get();
        const auto* name = reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
        gqs::detail::add_stats_row(
            s,
            std::string(name == nullptr ? "" : name,
                        static_cast<std::size_t>(sqlite3_column_bytes(raw, 0))),
            sqlite3_column_int64(raw, 1), sqlite3_column_int64(raw, 2),
            sqlite3_column_int64(raw, 3), time_at(raw, 4), time_at(raw, 5));
    }
    gqs::detail::sum_queues(s);
    return s;
}

} // namespace gqs::sqlite
