// SPDX-License-Identifier: Apache-2.0
// Observer and Cleaner: reading and deleting jobs (the rules in backend/observe.hpp; here
// their SQL).
#include "backend/observe.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/cleaner.hpp>
#include <gqs/postgres/observer.hpp>

#include <string>

namespace gqs::postgres {

namespace {

// The dialect of the Observer's and the Cleaner's rules (backend/observe.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    auto locked(Fn&& fn) {
        auto guard = state.enter();
        return fn();
    }
    std::optional<Job> get(const Uuid& id) {
        detail::Params p;
        p.uuid(id);
        auto r = state.run(detail::get_sql, p, "reading a job");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return detail::read_job(r.get(), 0);
    }
    std::vector<Job> list(std::int64_t status, std::int64_t limit, const Cursor* after) {
        detail::Params p;
        p.i16(static_cast<std::int16_t>(status));
        if (limit < 0) {
            p.null(); // LIMIT NULL: all
        } else {
            p.i64(limit);
        }
        if (after != nullptr) {
            p.time(after->created_at);
            p.uuid(after->id);
        }
        auto r =
            state.run(after != nullptr ? detail::page_sql : detail::list_sql, p, "listing jobs");
        std::vector<Job> jobs;
        jobs.reserve(static_cast<std::size_t>(PQntuples(r.get())));
        for (int row = 0; row < PQntuples(r.get()); ++row)
            jobs.push_back(detail::read_job(r.get(), row));
        return jobs;
    }
    void stats(Stats& s) {
        auto r = state.run(detail::stats_sql, {}, "reading queue stats");
        const auto* raw = r.get();
        for (int row = 0; row < PQntuples(raw); ++row) {
            const auto kind = detail::int_at(raw, row, 1);
            if (kind == 0) { // the first row: the time of the read
                s.at = detail::time_at(raw, row, 4);
                continue;
            }
            gqs::detail::add_stats_row(s, detail::bytes_at(raw, row, 0), kind,
                                       detail::int_at(raw, row, 2), detail::int_at(raw, row, 3),
                                       detail::optional_time_at(raw, row, 4),
                                       detail::optional_time_at(raw, row, 5));
        }
    }
    // In statements of at most 10,000 rows, so that no one statement holds a huge lock set.
    std::int64_t clean(Status first, Status second, std::optional<TimePoint> before) {
        constexpr int per_statement = 10'000;
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
};

} // namespace

Observer::Observer(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Observer");
}

std::optional<Job> Observer::get(const Uuid& id) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::get_with(store, id);
}

std::vector<Job> Observer::list(std::optional<Status> status, int limit) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::list_with(store, status, limit, nullptr);
}

std::vector<Job> Observer::list_after(std::optional<Status> status, int limit,
                                      const Cursor& after) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::list_with(store, status, limit, &after);
}

Stats Observer::stats() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::stats_with(store);
}

Cleaner::Cleaner(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Cleaner");
}

std::int64_t Cleaner::clean(std::optional<Status> status, std::optional<TimePoint> before) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::clean_with(store, status, before);
}

} // namespace gqs::postgres
