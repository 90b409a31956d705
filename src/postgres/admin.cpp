// SPDX-License-Identifier: Apache-2.0
// Admin: operator actions on single jobs.
#include "backend/codec.hpp"
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/postgres/admin.hpp>

namespace gqs::postgres {

namespace {

// After an action matched no row: says why (no such job, or the wrong state). Runs inside
// the action's transaction, so the answer describes the state the action saw.
[[noreturn]] void explain(detail::State& state, const Uuid& id, const char* action,
                          const char* wanted) {
    detail::Params p;
    p.uuid(id);
    auto r = state.run(detail::status_sql, p, "reading a job's status");
    std::optional<Status> found;
    if (PQntuples(r.get()) > 0) {
        const auto status = detail::int_at(r.get(), 0, 0);
        found = status >= 1 && status <= 4 ? static_cast<Status>(status) : Status::Unknown;
    }
    gqs::detail::explain_no_match(id, action, wanted, found);
}

// Runs the statement of an action on one job in a transaction; explains a miss.
void act(detail::State& state, const char* sql, detail::Params& p, const Uuid& id,
         const char* doing, const char* action, const char* wanted) {
    detail::in_transaction(state, doing, [&] {
        auto r = state.run(sql, p, doing);
        if (std::string_view(PQcmdTuples(r.get())) == "0") explain(state, id, action, wanted);
    });
}

} // namespace

Admin::Admin(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Admin");
}

void Admin::retry(const Uuid& id, Duration delay) {
    gqs::detail::check_delay(delay, "retry delay");
    auto& state = detail::Access::state(*connection_);
    {
        auto guard = state.enter();
        detail::Params p;
        p.uuid(id);
        p.i64(detail::micros_of(delay));
        try {
            act(state, detail::retry_sql, p, id, "retrying a job", "retry", "a dead job");
        } catch (const detail::SqlError& e) {
            // The only unique index a retry can hit is the live jobs' unique keys.
            if (e.sqlstate() != "23505" || e.constraint() != "jobs_unique_key") throw;
            throw UniqueConflict("gqs: cannot retry job " + id.to_string() +
                                 ": a live job of its queue holds its unique key");
        }
        state.announce_locked("");
    }
    state.notify_push();
}

std::int64_t Admin::retry_all_dead(Duration delay) {
    gqs::detail::check_delay(delay, "retry delay");
    auto& state = detail::Access::state(*connection_);
    std::int64_t changed = 0;
    {
        auto guard = state.enter();
        detail::Params p;
        p.i64(detail::micros_of(delay));
        // A key taken by a push between the statement's look and its update fails it: the
        // next run skips that job.
        for (int attempt = 0;; ++attempt) {
            try {
                auto r = state.run(detail::retry_all_sql, p, "retrying dead jobs");
                changed = std::stoll(PQcmdTuples(r.get()));
                break;
            } catch (const detail::SqlError& e) {
                if (e.sqlstate() != "23505" || attempt >= 4) throw;
            }
        }
        if (changed == 0) return 0;
        state.announce_locked("");
    }
    state.notify_push();
    return changed;
}

void Admin::cancel(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    detail::Params p;
    p.uuid(id);
    act(state, detail::cancel_sql, p, id, "cancelling a job", "cancel",
        "a pending or processing job");
}

void Admin::remove(const Uuid& id) {
    auto& state = detail::Access::state(*connection_);
    auto guard = state.enter();
    detail::Params p;
    p.uuid(id);
    act(state, detail::remove_sql, p, id, "deleting a job", "delete",
        "a job that is not processing");
}

} // namespace gqs::postgres
