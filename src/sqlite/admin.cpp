// SPDX-License-Identifier: Apache-2.0
// Admin: operator actions on single jobs.
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/admin.hpp>

namespace gqs::sqlite {

namespace {

// After an action matched no row: says why (no such job, or the wrong state). Runs inside
// the action's transaction, so the answer describes the same state the action saw.
[[noreturn]] void explain(detail::State& state, const Uuid& id, const char* action,
                          const char* wanted) {
    auto stmt = state.statement(detail::status_sql, "reading a job's status");
    detail::bind_id(stmt, 1, id);
    std::optional<Status> found;
    if (stmt.step()) {
        const auto status = sqlite3_column_int64(stmt.get(), 0);
        found = status >= 1 && status <= 4 ? static_cast<Status>(status) : Status::Unknown;
    }
    gqs::detail::explain_no_match(id, action, wanted, found);
}

} // namespace

Admin::Admin(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Admin");
}

void Admin::retry(const Uuid& id, Duration delay) {
    gqs::detail::check_delay(delay, "retry delay");
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard guard(state.mutex);
        detail::in_write_transaction(state, "retrying a job", [&] {
            auto now = state.now();
            auto stmt = state.statement(detail::retry_sql, "retrying a job");
            detail::bind_id(stmt, 1, id);
            stmt.bind(2, now);
            stmt.bind(3, detail::add_micros(now, delay));
            int changed = 0;
            try {
                changed = stmt.run();
            } catch (const StorageError& e) {
                // The only unique index a retry can hit is the live jobs' unique keys.
                if (e.extended_code() != SQLITE_CONSTRAINT_UNIQUE) throw;
                throw UniqueConflict("gqs: cannot retry job " + id.to_string() +
                                     ": a live job of its queue holds its unique key");
            }
            if (changed == 0) explain(state, id, "retry", "a dead job");
        });
    }
    state.notify_push();
}

std::int64_t Admin::retry_all_dead(Duration delay) {
    gqs::detail::check_delay(delay, "retry delay");
    auto& state = detail::Access::state(*connection_);
    std::int64_t changed = 0;
    {
        std::lock_guard guard(state.mutex);
        auto now = state.now();
        auto stmt = state.statement(detail::retry_all_sql, "retrying dead jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, delay));
        changed = stmt.run();
    }
    if (changed > 0) state.notify_push();
    return changed;
}

void Admin::cancel(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    detail::in_write_transaction(state, "cancelling a job", [&] {
        auto stmt = state.statement(detail::cancel_sql, "cancelling a job");
        detail::bind_id(stmt, 1, id);
        stmt.bind(2, state.now());
        if (stmt.run() == 0) explain(state, id, "cancel", "a pending or processing job");
    });
}

void Admin::remove(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    std::lock_guard guard(state.mutex);
    detail::in_write_transaction(state, "deleting a job", [&] {
        auto stmt = state.statement(detail::remove_sql, "deleting a job");
        detail::bind_id(stmt, 1, id);
        if (stmt.run() == 0) explain(state, id, "delete", "a job that is not processing");
    });
}

} // namespace gqs::sqlite
