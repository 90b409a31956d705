// SPDX-License-Identifier: Apache-2.0
// Cleaner: deleting finished jobs, in bounded batches.
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/cleaner.hpp>

#include <string>

namespace gqs::postgres {

Cleaner::Cleaner(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Cleaner");
}

std::int64_t Cleaner::clean(std::optional<Status> status, std::optional<TimePoint> before) {
    constexpr int per_statement = 10'000;
    const auto [first, second] = gqs::detail::clean_statuses(status);
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    detail::Params p;
    p.i16(static_cast<std::int16_t>(first));
    p.i16(static_cast<std::int16_t>(second));
    p.time(before ? *before : TimePoint::max());
    p.i32(per_statement);
    std::int64_t total = 0;
    for (;;) {
        auto r = state.run(detail::clean_sql, p, "cleaning jobs");
        const auto n = std::stoll(PQcmdTuples(r.get()));
        total += n;
        if (n < per_statement) return total;
    }
}

} // namespace gqs::postgres
