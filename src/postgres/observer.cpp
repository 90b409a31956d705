// SPDX-License-Identifier: Apache-2.0
// Observer: reading jobs.
#include "backend/rules.hpp"
#include "backend/settle.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/observer.hpp>

namespace gqs::postgres {

namespace {

std::vector<Job> read_jobs(const PGresult* r) {
    std::vector<Job> jobs;
    jobs.reserve(static_cast<std::size_t>(PQntuples(r)));
    for (int row = 0; row < PQntuples(r); ++row)
        jobs.push_back(detail::read_job(r, row));
    return jobs;
}

// Throws std::invalid_argument for Status::Unknown before the connection is entered.
void bind_page(detail::Params& p, std::optional<Status> status, int limit) {
    p.i16(static_cast<std::int16_t>(gqs::detail::list_status_code(status)));
    if (limit <= 0) {
        p.null(); // LIMIT NULL: all
    } else {
        p.i64(limit);
    }
}

} // namespace

Observer::Observer(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Observer");
}

std::optional<Job> Observer::get(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    detail::Params p;
    p.uuid(id);
    auto r = state.run(detail::get_sql, p, "reading a job");
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return detail::read_job(r.get(), 0);
}

std::vector<Job> Observer::list(std::optional<Status> status, int limit) {
    detail::Params p;
    bind_page(p, status, limit);
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    return read_jobs(state.run(detail::list_sql, p, "listing jobs").get());
}

std::vector<Job> Observer::list_after(std::optional<Status> status, int limit,
                                      const Cursor& after) {
    detail::Params p;
    bind_page(p, status, limit);
    p.time(after.created_at);
    p.uuid(after.id);
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    return read_jobs(state.run(detail::page_sql, p, "listing jobs").get());
}

Stats Observer::stats() {
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    auto r = state.run(detail::stats_sql, {}, "reading queue stats");
    const auto* raw = r.get();
    Stats s;
    for (int row = 0; row < PQntuples(raw); ++row) {
        const auto kind = detail::int_at(raw, row, 1);
        if (kind == 0) {
            s.at = detail::time_at(raw, row, 4);
            continue;
        }
        gqs::detail::add_stats_row(s, detail::bytes_at(raw, row, 0), kind,
                                   detail::int_at(raw, row, 2), detail::int_at(raw, row, 3),
                                   detail::optional_time_at(raw, row, 4),
                                   detail::optional_time_at(raw, row, 5));
    }
    gqs::detail::sum_queues(s);
    return s;
}

} // namespace gqs::postgres
