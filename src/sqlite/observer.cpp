// SPDX-License-Identifier: Apache-2.0
// Observer: reading jobs.
#include "connection_impl.hpp"

#include <gqs/sqlite/observer.hpp>

namespace gqs::sqlite {

namespace {

constexpr const char* get_sql = "SELECT " GQS_JOB_COLUMNS " FROM jobs WHERE id = ?1";
// LIMIT -1 is SQLite's "no limit".
constexpr const char* list_sql = "SELECT " GQS_JOB_COLUMNS
                                 " FROM jobs WHERE ?1 = 0 OR status = ?1"
                                 " ORDER BY created_at, id LIMIT ?2";

} // namespace

Observer::Observer(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Observer");
}

std::optional<Job> Observer::get(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(get_sql, "reading a job");
    detail::bind_id(stmt, 1, id);
    if (!stmt.step()) return std::nullopt;
    return detail::read_job(stmt.get());
}

std::vector<Job> Observer::list(Status status, int limit) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(list_sql, "listing jobs");
    stmt.bind(1, static_cast<std::int64_t>(status));
    stmt.bind(2, limit <= 0 ? -1 : limit);
    std::vector<Job> jobs;
    while (stmt.step()) jobs.push_back(detail::read_job(stmt.get()));
    return jobs;
}

} // namespace gqs::sqlite
