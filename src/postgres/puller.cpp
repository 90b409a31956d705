// SPDX-License-Identifier: Apache-2.0
// Puller: leasing jobs and the fenced transitions of leased jobs, all in single statements.
#include "backend/codec.hpp"
#include "backend/pull.hpp"
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/puller.hpp>
#include <gqs/postgres/schedules.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <limits>
#include <numeric>

namespace gqs::postgres {

namespace {

using gqs::detail::lease_lost_message;

// An error history entry as PostgreSQL can store it: error_entry's cut, and NUL (valid UTF-8,
// but refused in text) as U+FFFD.
std::string pg_entry(std::string_view message) {
    std::string entry = gqs::detail::error_entry(message);
    if (entry.find('\0') == std::string::npos) return entry;
    std::string out;
    for (char c : entry) {
        if (c == '\0') {
            out += "\xEF\xBF\xBD";
        } else {
            out += c;
        }
    }
    return gqs::detail::error_entry(out);
}

std::vector<Job> read_pulled(const PGresult* r) {
    std::vector<Job> jobs;
    jobs.reserve(static_cast<std::size_t>(PQntuples(r)));
    for (int row = 0; row < PQntuples(r); ++row) {
        // A cancelled job whose lease ran out went Dead; it is not the caller's.
        if (detail::int_at(r, row, 3) != static_cast<int>(Status::Processing)) continue;
        jobs.push_back(detail::read_job(r, row));
    }
    gqs::detail::sort_pulled(jobs);
    return jobs;
}

std::string queue_array(std::span<const std::string> queues) {
    detail::Array array(detail::oid_text);
    for (const auto& n : gqs::detail::distinct_queues(queues))
        array.add(n);
    return array.finish();
}

// One pull statement (see the store's pull). Caller holds the mutex.
std::vector<Job> pull_locked(detail::State& state, int batch, Duration lock,
                             std::span<const std::string> queues,
                             std::span<const std::string> except) {
    detail::Params p;
    p.i32(batch);
    p.i64(detail::micros_of(lock));
    const char* sql = detail::pull_sql;
    if (!queues.empty()) {
        p.own(queue_array(queues));
        sql = detail::pull_queues_sql;
    } else if (!except.empty()) {
        p.own(queue_array(except));
        sql = detail::pull_except_sql;
    }
    auto r = state.run(sql, p, "pulling jobs");
    return read_pulled(r.get());
}

// A row of the gate statements.
gqs::detail::QueueGate read_gate(const PGresult* r, int row, std::int64_t& now_us) {
    auto saturated = [](std::int64_t v) {
        return static_cast<int>(std::clamp<std::int64_t>(v, std::numeric_limits<int>::min(),
                                                         std::numeric_limits<int>::max()));
    };
    gqs::detail::QueueGate gate;
    gate.queue = detail::bytes_at(r, row, 0);
    gate.paused = detail::bool_at(r, row, 1);
    if (!detail::null_at(r, row, 2)) gate.max_running = saturated(detail::int_at(r, row, 2));
    gate.rate = detail::double_at(r, row, 3);
    gate.burst = std::max(1, saturated(detail::int_at(r, row, 4, 1)));
    gate.tokens = detail::double_at(r, row, 5);
    if (!detail::null_at(r, row, 6)) gate.refilled_us = detail::int_at(r, row, 6);
    now_us = detail::int_at(r, row, 7);
    if (!detail::null_at(r, row, 8))
        gate.max_running_per_key = saturated(detail::int_at(r, row, 8));
    if (!detail::null_at(r, row, 10))
        gate.group_weights = gqs::detail::decode_group_weights(detail::json_at(r, row, 10));
    gate.fair = detail::bool_at(r, row, 9) || !detail::null_at(r, row, 10);
    if (!detail::null_at(r, row, 11)) gate.turn_group = detail::bytes_at(r, row, 11);
    gate.turn_used = saturated(detail::int_at(r, row, 12));
    return gate;
}

// Runs the settle statement; returns one result per settlement (lost leases marked). The
// leases are sent each once, sorted by id (a consistent lock order); a repeated lease is
// lost after its first settlement, as if applied one after another. Caller holds the mutex.
std::vector<SettleResult> settle_locked(detail::State& state,
                                        std::span<const Settlement> settlements) {
    std::vector<std::size_t> order(settlements.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return settlements[a].lease.id < settlements[b].lease.id;
    });
    detail::Array ids(detail::oid_uuid), attempts(detail::oid_int4), seen(detail::oid_int2),
        actions(detail::oid_int2), backoffs(detail::oid_int8), errors(detail::oid_text);
    std::vector<std::size_t> sent; // position in the arrays -> settlement
    for (std::size_t k = 0; k < order.size(); ++k) {
        const auto& s = settlements[order[k]];
        if (k > 0 && settlements[order[k - 1]].lease.id == s.lease.id) continue;
        sent.push_back(order[k]);
        ids.add(detail::uuid_bytes(s.lease.id));
        attempts.add(detail::be32(static_cast<std::int32_t>(s.lease.attempts)));
        seen.add(detail::be16(static_cast<std::int16_t>(s.lease.status)));
        actions.add(detail::be16(static_cast<std::int16_t>(s.action)));
        backoffs.add(detail::be64(detail::micros_of(s.backoff)));
        if ((s.action == Action::Requeue || s.action == Action::Kill) && !s.error.empty()) {
            errors.add(pg_entry(s.error));
        } else {
            errors.add_null();
        }
    }
    detail::Params p;
    p.own(ids.finish());
    p.own(attempts.finish());
    p.own(seen.finish());
    p.own(actions.finish());
    p.own(backoffs.finish());
    p.own(errors.finish());
    auto r = state.run(detail::settle_sql, p, "settling jobs");
    std::vector<SettleResult> results(settlements.size());
    std::vector<bool> applied(settlements.size(), false);
    for (int row = 0; row < PQntuples(r.get()); ++row) {
        const auto ord = detail::int_at(r.get(), row, 0);
        if (ord < 1 || static_cast<std::size_t>(ord) > sent.size()) continue;
        const auto i = sent[static_cast<std::size_t>(ord - 1)];
        const auto action = settlements[i].action;
        auto& result = results[i];
        applied[i] = true;
        const bool cancelled = detail::bool_at(r.get(), row, 1);
        result.cancelled = cancelled && action != Action::Complete; // may still finish
        result.updated_at = detail::time_at(r.get(), row, 2);
        if ((action == Action::Requeue || action == Action::Snooze) && !cancelled)
            result.next_run_at = detail::time_at(r.get(), row, 3);
    }
    for (std::size_t i = 0; i < settlements.size(); ++i) {
        if (applied[i]) continue;
        results[i].status = SettleStatus::LeaseLost;
        results[i].error =
            lease_lost_message(gqs::detail::verb_of(settlements[i].action), settlements[i].lease);
    }
    return results;
}

// The dialect of the pull rules (backend/pull.hpp).
struct Store {
    detail::State& state;
    // The Puller's note: its last pull found a gate on the queues it served.
    std::atomic<bool>& gated;

    template <class Fn>
    void locked(Fn&& fn) {
        auto guard = state.enter();
        fn();
    }
    template <class Fn>
    void transaction(Fn&& fn) {
        detail::in_transaction(state, "pulling jobs of limited queues", fn);
    }
    std::vector<gqs::detail::QueueGate> gates(std::span<const std::string> queues,
                                              std::int64_t& now_us) {
        detail::Params p;
        if (!queues.empty()) p.own(queue_array(queues));
        auto r = state.run(queues.empty() ? detail::gates_sql : detail::gates_of_sql, p,
                           "reading queue limits");
        std::vector<gqs::detail::QueueGate> found;
        const int rows = PQntuples(r.get());
        found.reserve(static_cast<std::size_t>(rows));
        for (int row = 0; row < rows; ++row)
            found.push_back(read_gate(r.get(), row, now_us));
        return found;
    }
    std::optional<gqs::detail::QueueGate> lock_gate(const std::string& queue,
                                                    std::int64_t& now_us) {
        detail::Params p;
        p.borrow(queue);
        auto r = state.run(detail::gate_lock_sql, p, "locking a queue's limits");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return read_gate(r.get(), 0, now_us);
    }
    std::pair<int, std::optional<std::int64_t>> running(const std::string& queue) {
        detail::Params p;
        p.borrow(queue);
        auto r = state.run(detail::running_sql, p, "counting running jobs");
        std::pair<int, std::optional<std::int64_t>> out{0, std::nullopt};
        if (PQntuples(r.get()) > 0) {
            out.first = static_cast<int>(detail::int_at(r.get(), 0, 0));
            if (!detail::null_at(r.get(), 0, 1)) out.second = detail::int_at(r.get(), 0, 1);
        }
        return out;
    }
    void save_bucket(const std::string& queue, const gqs::detail::Bucket& bucket) {
        detail::Params p;
        p.borrow(queue);
        p.f64(bucket.tokens);
        p.i64(bucket.at_us);
        state.run(detail::save_bucket_sql, p, "storing a queue's tokens");
    }
    std::vector<Job> pull(int batch, Duration lock, std::span<const std::string> queues,
                          std::span<const std::string> except) {
        return pull_locked(state, batch, lock, queues, except);
    }
    // The first try is skipped while the last pull found a gate: a Worker pulls the same
    // queues each time, and for a gated queue the try would take nothing.
    bool try_unless_gated() const { return !gated.load(std::memory_order_relaxed); }
    void note_gated(bool found) { gated.store(found, std::memory_order_relaxed); }
    std::vector<Job> pull_unless_gated(int batch, Duration lock,
                                       std::span<const std::string> queues) {
        detail::Params p;
        p.i32(batch);
        p.i64(detail::micros_of(lock));
        if (!queues.empty()) p.own(queue_array(queues));
        auto r = state.run(queues.empty() ? detail::pull_unless_gated_sql
                                          : detail::pull_queues_unless_gated_sql,
                           p, "pulling jobs");
        return read_pulled(r.get());
    }
    std::vector<Job> pull_keyed(int batch, Duration lock, const std::string& queue, int per_key,
                                int window) {
        detail::Params p;
        p.i32(batch);
        p.i64(detail::micros_of(lock));
        p.borrow(queue);
        p.i32(per_key);
        p.i32(window);
        auto r = state.run(detail::pull_keyed_sql, p, "pulling jobs");
        return read_pulled(r.get());
    }
    bool has_ready_keyed(const std::string& queue, int per_key) {
        detail::Params p;
        p.borrow(queue);
        p.i32(per_key);
        auto r = state.run(detail::has_ready_keyed_sql, p, "checking for ready jobs");
        return PQntuples(r.get()) > 0 && detail::bool_at(r.get(), 0, 0);
    }
    gqs::detail::FairGroups fair_groups(const std::string& queue,
                                        const std::optional<std::string>& from, int limit,
                                        int expired_limit) {
        detail::Params p;
        p.borrow(queue);
        if (from) {
            p.borrow(*from);
        } else {
            p.null();
        }
        p.i32(limit);
        p.i32(expired_limit);
        auto r = state.run(detail::fair_groups_sql, p, "pulling jobs");
        gqs::detail::FairGroups found;
        const int rows = PQntuples(r.get());
        for (int row = 0; row < rows; ++row) {
            if (row == 0) {
                if (!detail::null_at(r.get(), 0, 1))
                    found.priority = static_cast<int>(detail::int_at(r.get(), 0, 1));
                found.expired = static_cast<int>(detail::int_at(r.get(), 0, 2));
            } else if (static_cast<int>(found.groups.size()) < limit) {
                found.groups.push_back(detail::bytes_at(r.get(), row, 3));
            }
        }
        return found;
    }
    std::vector<Job> pull_fair(int expired, Duration lock, const std::string& queue, int priority,
                               const std::vector<gqs::detail::GroupQuota>& quotas,
                               const std::optional<std::string>& turn, int used) {
        static_assert(gqs::detail::fair_window == 64, "GQS_PG_FAIR_WINDOW reads 64 jobs");
        detail::Array groups(detail::oid_text), counts(detail::oid_int4);
        int ungrouped = 0;
        for (const auto& q : quotas) {
            if (q.group.empty()) {
                ungrouped += q.quota;
            } else {
                groups.add(q.group);
                counts.add(detail::be32(q.quota));
            }
        }
        detail::Params p;
        p.borrow(queue);
        p.i64(detail::micros_of(lock));
        p.i32(priority);
        p.own(groups.finish());
        p.own(counts.finish());
        p.i32(expired);
        p.i32(ungrouped);
        if (turn && !quotas.empty()) {
            p.borrow(*turn);
        } else {
            p.null(); // the turn stays
        }
        p.i32(used);
        auto r = state.run(detail::pull_fair_sql, p, "pulling jobs");
        return read_pulled(r.get());
    }
    void pulled(bool /*full*/) {}
    bool extend(Job& job, Duration lock) {
        detail::Params p;
        p.uuid(job.id);
        p.i32(static_cast<std::int32_t>(job.attempts));
        p.i64(detail::micros_of(lock));
        auto r = state.run(detail::extend_sql, p, "extending a lease");
        if (PQntuples(r.get()) == 0) return false;
        job.cancel_requested = detail::bool_at(r.get(), 0, 0);
        job.locked_until = detail::time_at(r.get(), 0, 1);
        job.updated_at = detail::time_at(r.get(), 0, 2);
        return true;
    }
    // One statement: nothing is stored if it fails.
    std::vector<SettleResult> settle(std::span<const Settlement> settlements) {
        return settle_locked(state, settlements);
    }
    template <class Fn>
    std::vector<SettleResult> settle_and(std::span<const Settlement> settlements, Fn&& then) {
        return detail::in_transaction(state, "settling and pulling jobs", [&] {
            auto settled = settle_locked(state, settlements);
            then();
            return settled;
        });
    }
    bool has_ready(std::span<const std::string> queues, std::span<const std::string> except) {
        detail::Params p;
        const char* sql = detail::has_ready_sql;
        if (!queues.empty()) {
            p.own(queue_array(queues));
            sql = detail::has_ready_queues_sql;
        } else if (!except.empty()) {
            p.own(queue_array(except));
            sql = detail::has_ready_except_sql;
        }
        auto r = state.run(sql, p, "checking for ready jobs");
        return PQntuples(r.get()) > 0 && detail::bool_at(r.get(), 0, 0);
    }
};

} // namespace

Puller::Puller(std::shared_ptr<Connection> connection, PullerOptions options)
    : connection_(std::move(connection)), options_(options) {
    detail::require(connection_, "Puller");
}

std::shared_ptr<Connection> Puller::lane_for(std::size_t settlements, int batch) {
    if (!options_.settle_session || settlements < gqs::detail::beside_min ||
        batch < static_cast<int>(gqs::detail::beside_min) || gated_.load(std::memory_order_relaxed))
        return nullptr;
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard guard(lane_mutex_);
        if (lane_ || lane_opening_ || now < lane_retry_) return lane_;
        lane_opening_ = true; // one thread opens it; the others use the Connection meanwhile
    }
    // Opened without the lock, so that interrupt() never waits for a connect.
    std::shared_ptr<Connection> opened;
    try {
        const auto& state = detail::Access::state(*connection_);
        opened = Connection::open(state.conninfo, state.options);
    } catch (const StorageError&) {
        // Both on the Connection meanwhile; try again later (the server may be full).
    }
    std::lock_guard guard(lane_mutex_);
    lane_opening_ = false;
    lane_ = opened;
    if (!opened) lane_retry_ = now + std::chrono::seconds(10);
    return lane_;
}

std::vector<Job> Puller::pull(int batch, Duration lock, std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), gated_};
    auto pulled = gqs::detail::pull_with(store, batch, lock, queues);
    gqs::detail::note_limit_wait(limit_wait_ms_, pulled.wait);
    return std::move(pulled.jobs);
}

void Puller::extend_lock(Job& job, Duration lock) {
    Store store{detail::Access::state(*connection_), gated_};
    gqs::detail::extend_with(store, job, lock);
}

std::vector<SettleResult> Puller::settle(std::span<const Settlement> settlements) {
    Store store{detail::Access::state(*connection_), gated_};
    return gqs::detail::settle_with(store, settlements);
}

std::vector<Job> Puller::settle_and_pull(std::span<const Settlement> settlements,
                                         std::vector<SettleResult>& results, int batch,
                                         Duration lock, std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), gated_};
    gqs::detail::LeasedBatch pulled;
    if (const auto lane = lane_for(settlements.size(), batch)) {
        Store beside{detail::Access::state(*lane), gated_};
        pulled = gqs::detail::settle_beside_pull_with(store, beside, settlements, results, batch,
                                                      lock, queues);
    } else {
        pulled =
            gqs::detail::settle_and_pull_with(store, settlements, results, batch, lock, queues);
    }
    gqs::detail::note_limit_wait(limit_wait_ms_, pulled.wait);
    return std::move(pulled.jobs);
}

bool Puller::has_ready(std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), gated_};
    return gqs::detail::has_ready_with(store, queues);
}

PullerCapabilities Puller::capabilities() const noexcept {
    return {.push_notifications = true, .cheap_ready_check = true};
}

void Puller::interrupt() noexcept {
    detail::Access::state(*connection_).interrupt();
    std::lock_guard guard(lane_mutex_);
    if (lane_) detail::Access::state(*lane_).interrupt();
}

Subscription Puller::on_push(std::function<void()> notify) {
    return detail::Access::state(*connection_).subscribe(connection_, std::move(notify));
}

std::optional<Duration> Puller::limit_wait() const noexcept {
    return gqs::detail::limit_wait_of(limit_wait_ms_);
}

std::shared_ptr<gqs::Schedules> Puller::schedules() {
    return std::make_shared<Schedules>(connection_);
}

} // namespace gqs::postgres
