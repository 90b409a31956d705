// SPDX-License-Identifier: Apache-2.0
// Observer and Cleaner: reading and deleting jobs (the rules in backend/observe.hpp; here
// their SQL).
#include "backend/observe.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/cleaner.hpp>
#include <gqs/sqlite/observer.hpp>

#include <limits>
#include <string>

namespace gqs::sqlite {

namespace {

std::optional<TimePoint> time_at(sqlite3_stmt* raw, int col) {
    if (sqlite3_column_type(raw, col) == SQLITE_NULL) return std::nullopt;
    return detail::from_micros(sqlite3_column_int64(raw, col));
}

// The dialect of the Observer's and the Cleaner's rules (backend/observe.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    auto locked(Fn&& fn) {
        std::lock_guard guard(state.mutex);
        return fn();
    }
    std::optional<Job> get(const Uuid& id) {
        auto stmt = state.statement(detail::get_sql, "reading a job");
        detail::bind_id(stmt, 1, id);
        if (!stmt.step()) return std::nullopt;
        return detail::read_job(stmt.get());
    }
    std::vector<Job> list(std::int64_t status, std::int64_t limit, const Cursor* after) {
        auto stmt =
            state.statement(after != nullptr ? detail::page_sql : detail::list_sql, "listing jobs");
        stmt.bind(1, status);
        stmt.bind(2, limit); // -1: no limit
        if (after != nullptr) {
            stmt.bind(3, detail::to_micros(after->created_at));
            detail::bind_id(stmt, 4, after->id);
        }
        std::vector<Job> jobs;
        while (stmt.step())
            jobs.push_back(detail::read_job(stmt.get()));
        return jobs;
    }
    void stats(Stats& s) {
        const auto now = state.now();
        s.at = detail::from_micros(now);
        auto stmt = state.statement(detail::stats_sql, "reading queue stats");
        stmt.bind(1, now);
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
    }
    std::int64_t clean(Status first, Status second, std::optional<TimePoint> before) {
        auto stmt = state.statement(detail::clean_sql, "cleaning jobs");
        stmt.bind(1, static_cast<std::int64_t>(first));
        stmt.bind(2, static_cast<std::int64_t>(second));
        stmt.bind(3,
                  before ? detail::to_micros(*before) : std::numeric_limits<std::int64_t>::max());
        return stmt.run();
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

} // namespace gqs::sqlite
