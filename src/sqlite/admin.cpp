// SPDX-License-Identifier: Apache-2.0
// Admin: operator actions on single jobs (the rules in backend/admin_rules.hpp; here their SQL).
#include "backend/admin_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/admin.hpp>

namespace gqs::sqlite {

namespace {

// The dialect of the admin rules (backend/admin_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard guard(state.mutex);
        fn();
    }
    template <class Fn>
    void in_transaction(const char* doing, Fn&& fn) {
        detail::in_write_transaction(state, doing, std::forward<Fn>(fn));
    }
    std::int64_t retry(const Uuid& id, Duration delay) {
        auto now = state.now();
        auto stmt = state.statement(detail::retry_sql, "retrying a job");
        detail::bind_id(stmt, 1, id);
        stmt.bind(2, now);
        stmt.bind(3, detail::add_micros(now, delay));
        return stmt.run();
    }
    // One statement: its own transaction. A job whose key a live job holds stays Dead.
    std::int64_t retry_all(Duration delay) {
        auto now = state.now();
        auto stmt = state.statement(detail::retry_all_sql, "retrying dead jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, delay));
        return stmt.run();
    }
    std::int64_t cancel(const Uuid& id) {
        auto stmt = state.statement(detail::cancel_sql, "cancelling a job");
        detail::bind_id(stmt, 1, id);
        stmt.bind(2, state.now());
        return stmt.run();
    }
    std::int64_t remove(const Uuid& id) {
        auto stmt = state.statement(detail::remove_sql, "deleting a job");
        detail::bind_id(stmt, 1, id);
        return stmt.run();
    }
    bool holds_unique_key(const StorageError& e) const noexcept {
        return e.extended_code() == SQLITE_CONSTRAINT_UNIQUE;
    }
    std::optional<std::int64_t> status_of(const Uuid& id) {
        auto stmt = state.statement(detail::status_sql, "reading a job's status");
        detail::bind_id(stmt, 1, id);
        if (!stmt.step()) return std::nullopt;
        return sqlite3_column_int64(stmt.get(), 0);
    }
    // Other connections and processes learn of the commit from the file (the watcher).
    void announce_locked(const std::string&) noexcept {}
    void notify() { state.notify_push(); }
};

} // namespace

Admin::Admin(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Admin");
}

void Admin::retry(const Uuid& id, Duration delay) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::retry_with(store, id, delay);
}

std::int64_t Admin::retry_all_dead(Duration delay) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::retry_all_with(store, delay);
}

void Admin::cancel(const Uuid& id) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::cancel_with(store, id);
}

void Admin::remove(const Uuid& id) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::remove_with(store, id);
}

} // namespace gqs::sqlite
