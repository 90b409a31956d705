// SPDX-License-Identifier: Apache-2.0
// Cleaner: deleting finished jobs.
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/cleaner.hpp>

#include <limits>

namespace gqs::sqlite {

Cleaner::Cleaner(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Cleaner");
}

std::int64_t Cleaner::clean(std::optional<Status> status, std::optional<TimePoint> before) {
    const auto [first, second] = gqs::detail::clean_statuses(status);
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::clean_sql, "cleaning jobs");
    stmt.bind(1, static_cast<std::int64_t>(first));
    stmt.bind(2, static_cast<std::int64_t>(second));
    stmt.bind(3, before ? detail::to_micros(*before) : std::numeric_limits<std::int64_t>::max());
    return stmt.run();
}

} // namespace gqs::sqlite
