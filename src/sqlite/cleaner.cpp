// SPDX-License-Identifier: Apache-2.0
// Cleaner: deleting finished jobs.
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/cleaner.hpp>

#include <limits>

namespace gqs::sqlite {

Cleaner::Cleaner(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Cleaner");
}

std::int64_t Cleaner::clean(Status status, std::optional<TimePoint> before) {
    std::int64_t first = 0, second = 0;
    switch (status) {
    case Status::Unknown:
        first = 3;
        second = 4;
        break;
    case Status::Done: first = second = 3; break;
    case Status::Dead: first = second = 4; break;
    default:
        throw BadStatus("gqs: clean takes Done, Dead or Unknown (both), not " +
                        std::string(to_string(status)));
    }
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    auto stmt = state.statement(detail::clean_sql, "cleaning jobs");
    stmt.bind(1, first);
    stmt.bind(2, second);
    stmt.bind(3, before ? detail::to_micros(*before) : std::numeric_limits<std::int64_t>::max());
    return stmt.run();
}

} // namespace gqs::sqlite
