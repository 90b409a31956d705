// SPDX-License-Identifier: Apache-2.0
// Queues: the stored queue limits (the rules in backend/queue_rules.hpp; here their SQL).
#include "backend/queue_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/queues.hpp>

#include <string>
#include <utility>

namespace gqs::postgres {

namespace {

// The rows a statement changed.
std::int64_t changed(const detail::Result& r) { return std::stoll(PQcmdTuples(r.get())); }

std::optional<int> optional_int_at(const PGresult* r, int row, int col) {
    if (detail::null_at(r, row, col)) return std::nullopt;
    return static_cast<int>(detail::int_at(r, row, col));
}

// A row of GQS_PG_QUEUE_COLUMNS.
std::pair<std::string, QueueLimits> read_limits(const PGresult* r, int row) {
    std::pair<std::string, QueueLimits> out;
    out.first = detail::bytes_at(r, row, 0);
    auto& limits = out.second;
    limits.paused = detail::bool_at(r, row, 1);
    limits.max_running = optional_int_at(r, row, 2);
    limits.rate = detail::double_at(r, row, 3);
    limits.burst = static_cast<int>(detail::int_at(r, row, 4, 1));
    limits.max_running_per_key = optional_int_at(r, row, 5);
    if (!detail::null_at(r, row, 6))
        limits.group_weights = gqs::detail::decode_group_weights(detail::json_at(r, row, 6));
    limits.fair_share = detail::bool_at(r, row, 7);
    return out;
}

void optional_int(detail::Params& p, std::optional<int> value) {
    if (value) {
        p.i32(*value);
    } else {
        p.null();
    }
}

// The dialect of the queue rules (backend/queue_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        auto guard = state.enter();
        fn();
    }
    void write(const std::string& queue, const QueueLimits& limits, const std::string& weights) {
        detail::Params p;
        p.borrow(queue);
        p.i16(limits.paused ? 1 : 0);
        optional_int(p, limits.max_running);
        if (limits.rate) {
            p.f64(*limits.rate);
        } else {
            p.null();
        }
        p.i32(limits.burst);
        optional_int(p, limits.max_running_per_key);
        if (weights.empty()) {
            p.null();
        } else {
            p.jsonb(weights);
        }
        p.i16(limits.fair_share ? 1 : 0);
        (void)state.run(detail::queue_write_sql, p, "storing queue limits");
    }
    bool set_paused(const std::string& queue, bool paused) {
        detail::Params p;
        p.borrow(queue);
        return changed(state.run(paused ? detail::queue_pause_sql : detail::queue_resume_sql, p,
                                 paused ? "pausing a queue" : "resuming a queue")) > 0;
    }
    bool erase(const std::string& queue) {
        detail::Params p;
        p.borrow(queue);
        return changed(state.run(detail::queue_erase_sql, p, "clearing queue limits")) > 0;
    }
    std::optional<QueueLimits> read(const std::string& queue) {
        detail::Params p;
        p.borrow(queue);
        auto r = state.run(detail::queue_read_sql, p, "reading queue limits");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return read_limits(r.get(), 0).second;
    }
    std::vector<std::pair<std::string, QueueLimits>> read_all() {
        auto r = state.run(detail::queue_read_all_sql, {}, "listing queue limits");
        std::vector<std::pair<std::string, QueueLimits>> all;
        all.reserve(static_cast<std::size_t>(PQntuples(r.get())));
        for (int row = 0; row < PQntuples(r.get()); ++row)
            all.push_back(read_limits(r.get(), row));
        return all;
    }
    void announce_locked(const std::string& queue) { state.announce_locked(queue); }
    void notify() { state.notify_push(); }
};

} // namespace

Queues::Queues(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Queues");
}

void Queues::set_limits(const std::string& queue, const QueueLimits& limits) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_limits_with(store, queue, limits);
}

QueueLimits Queues::limits(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::limits_with(store, queue);
}

void Queues::pause(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_paused_with(store, queue, true);
}

void Queues::resume(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_paused_with(store, queue, false);
}

bool Queues::clear(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::clear_with(store, queue);
}

std::vector<std::pair<std::string, QueueLimits>> Queues::list() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::list_queues_with(store);
}

} // namespace gqs::postgres
