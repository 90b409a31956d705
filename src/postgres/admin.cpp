// SPDX-License-Identifier: Apache-2.0
// Admin: operator actions on single jobs (the rules in backend/admin_rules.hpp; here their SQL).
#include "backend/admin_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/admin.hpp>

#include <string_view>

namespace gqs::postgres {

namespace {

// The rows a statement changed.
std::int64_t changed(const detail::Result& r) { return std::stoll(PQcmdTuples(r.get())); }

// The dialect of the admin rules (backend/admin_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        auto guard = state.enter();
        fn();
    }
    template <class Fn>
    void in_transaction(const char* doing, Fn&& fn) {
        detail::in_transaction(state, doing, std::forward<Fn>(fn));
    }
    std::int64_t retry(const Uuid& id, Duration delay) {
        detail::Params p;
        p.uuid(id);
        p.i64(detail::micros_of(delay));
        return changed(state.run(detail::retry_sql, p, "retrying a job"));
    }
    // One statement: its own transaction. A key taken by a push between the statement's look
    // and its update fails it: the next run skips that job.
    std::int64_t retry_all(Duration delay) {
        detail::Params p;
        p.i64(detail::micros_of(delay));
        for (int attempt = 0;; ++attempt) {
            try {
                return changed(state.run(detail::retry_all_sql, p, "retrying dead jobs"));
            } catch (const detail::SqlError& e) {
                if (e.sqlstate() != "23505" || attempt >= 4) throw;
            }
        }
    }
    std::int64_t cancel(const Uuid& id) {
        detail::Params p;
        p.uuid(id);
        return changed(state.run(detail::cancel_sql, p, "cancelling a job"));
    }
    std::int64_t remove(const Uuid& id) {
        detail::Params p;
        p.uuid(id);
        return changed(state.run(detail::remove_sql, p, "deleting a job"));
    }
    bool holds_unique_key(const StorageError& e) const noexcept {
        const auto* sql = dynamic_cast<const detail::SqlError*>(&e);
        return sql != nullptr && sql->sqlstate() == "23505" &&
               sql->constraint() == "jobs_unique_key";
    }
    std::optional<std::int64_t> status_of(const Uuid& id) {
        detail::Params p;
        p.uuid(id);
        auto r = state.run(detail::status_sql, p, "reading a job's status");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return detail::int_at(r.get(), 0, 0);
    }
    void announce_locked(const std::string& queue) { state.announce_locked(queue); }
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

} // namespace gqs::postgres
