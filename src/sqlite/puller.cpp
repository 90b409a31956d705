// SPDX-License-Identifier: Apache-2.0
// Puller: leasing jobs and the fenced transitions of a leased job.
#include "backend/pull.hpp"
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/puller.hpp>
#include <gqs/sqlite/schedules.hpp>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <optional>

namespace gqs::sqlite {

namespace {

using gqs::detail::lease_lost_message;

// Binds the error entry of a transition (?index): NULL for none.
void bind_error(detail::Stmt& stmt, int index, const std::string& error) {
    if (error.empty()) {
        stmt.bind_null(index);
    } else {
        stmt.bind_text(index, error);
    }
}

// Runs the fenced UPDATE of one transition at `now`. Returns nullopt if no row matched (the
// lease is gone), else whether the job had been cancelled (see statements.hpp). `error` is the
// entry for the error history, already cut (error_entry). Caller holds the mutex.
std::optional<bool> run_transition(detail::State& state, const Lease& lease, Action action,
                                   Duration backoff, const std::string& error, std::int64_t now) {
    const char* sql = nullptr;
    const char* doing = nullptr;
    switch (action) {
    case Action::Complete: sql = detail::complete_sql, doing = "completing a job"; break;
    case Action::Release: sql = detail::release_sql, doing = "releasing a job"; break;
    case Action::Snooze: sql = detail::snooze_sql, doing = "snoozing a job"; break;
    case Action::Requeue: sql = detail::requeue_sql, doing = "requeueing a job"; break;
    case Action::Kill: sql = detail::kill_sql, doing = "killing a job"; break;
    }
    auto stmt = state.statement(sql, doing);
    detail::bind_id(stmt, 1, lease.id);
    stmt.bind(2, now);
    switch (action) {
    case Action::Complete:
    case Action::Release: stmt.bind(3, lease.attempts); break;
    case Action::Snooze:
        stmt.bind(3, lease.attempts);
        stmt.bind(4, detail::add_micros(now, backoff));
        break;
    case Action::Requeue:
        stmt.bind(3, detail::add_micros(now, backoff));
        stmt.bind(4, lease.attempts);
        bind_error(stmt, 5, error);
        break;
    case Action::Kill:
        stmt.bind(3, lease.attempts);
        stmt.bind(4, static_cast<std::int64_t>(lease.status));
        bind_error(stmt, 5, error);
        break;
    }
    if (action == Action::Complete) {
        if (stmt.run() == 0) return std::nullopt;
        return false;
    }
    if (!stmt.step()) return std::nullopt;
    const bool cancelled = sqlite3_column_int64(stmt.get(), 0) != 0;
    stmt.finish(); // the commit, in autocommit mode
    return cancelled;
}

// What an applied transition stored, as a SettleResult.
SettleResult applied(Action action, Duration backoff, std::int64_t now, bool cancelled) {
    SettleResult r;
    r.updated_at = detail::from_micros(now);
    r.cancelled = cancelled && action != Action::Complete; // a cancelled job may still finish
    if ((action == Action::Requeue || action == Action::Snooze) && !cancelled)
        r.next_run_at = detail::from_micros(detail::add_micros(now, backoff));
    return r;
}

// A row of gate_sql / gates_of_sql.
gqs::detail::QueueGate read_gate(sqlite3_stmt* stmt) {
    auto opt_int = [&](int col) -> std::optional<std::int64_t> {
        if (sqlite3_column_type(stmt, col) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_int64(stmt, col);
    };
    auto opt_real = [&](int col) -> std::optional<double> {
        if (sqlite3_column_type(stmt, col) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_double(stmt, col);
    };
    // An int column another program wrote past int's range saturates.
    auto saturated = [](std::int64_t v) {
        return static_cast<int>(std::clamp<std::int64_t>(v, std::numeric_limits<int>::min(),
                                                         std::numeric_limits<int>::max()));
    };
    gqs::detail::QueueGate gate;
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    gate.queue = text == nullptr ? std::string() : std::string(text);
    gate.paused = sqlite3_column_int64(stmt, 1) != 0;
    if (auto v = opt_int(2)) gate.max_running = saturated(*v);
    gate.rate = opt_real(3);
    gate.burst = std::max(1, saturated(sqlite3_column_int64(stmt, 4)));
    gate.tokens = opt_real(5);
    gate.refilled_us = opt_int(6);
    if (auto v = opt_int(7)) gate.max_running_per_key = saturated(*v);
    if (sqlite3_column_type(stmt, 9) != SQLITE_NULL) {
        const auto* weights = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 9));
        gate.group_weights = gqs::detail::decode_group_weights(weights == nullptr ? "" : weights);
    }
    gate.fair = sqlite3_column_int64(stmt, 8) != 0 || sqlite3_column_type(stmt, 9) != SQLITE_NULL;
    if (sqlite3_column_type(stmt, 10) != SQLITE_NULL) {
        const auto* group = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 10));
        gate.turn_group = group == nullptr ? std::string() : std::string(group);
    }
    gate.turn_used = saturated(sqlite3_column_int64(stmt, 11));
    return gate;
}

// Binds the shared numbering of the fair pull's statements (statements.hpp) as far as `stmt`
// reads it: ?1 now, ?2 the lease's end (a lease), ?3 how many, ?4 the queue, ?5 the priority
// (NULL until known), ?6 the window.
void bind_fair(detail::Stmt& stmt, std::int64_t now, std::optional<std::int64_t> until,
               int how_many, const std::string& queue, std::optional<int> priority) {
    const int count = sqlite3_bind_parameter_count(stmt.get());
    stmt.bind(1, now);
    if (until) stmt.bind(2, *until);
    if (count >= 3) stmt.bind(3, how_many);
    if (count >= 4) stmt.bind_text(4, queue);
    if (count >= 5 && priority) stmt.bind(5, *priority);
    if (count >= 6) stmt.bind(6, gqs::detail::fair_window);
}

// The jobs a pull statement leased. Its changes are made by its first step; reading the rows
// on the way is safe because nothing else can use this handle meanwhile.
std::vector<Job> leased(detail::Stmt& stmt) {
    std::vector<Job> jobs;
    while (stmt.step()) {
        // A cancelled job whose lease ran out went Dead; it is not the caller's.
        if (sqlite3_column_int64(stmt.get(), 3) != static_cast<int>(Status::Processing)) continue;
        jobs.push_back(detail::read_job(stmt.get()));
    }
    return jobs;
}

// The dialect of the pull rules (backend/pull.hpp).
struct Store {
    detail::State& state;
    // The Puller's flag: its last pull was not a full batch (the watcher then wakes it).
    std::atomic<bool>& hungry;

    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard guard(state.mutex);
        fn();
    }

    template <class Fn>
    void transaction(Fn&& fn) {
        detail::in_write_transaction(state, "pulling jobs of limited queues", fn);
    }

    std::vector<gqs::detail::QueueGate> gates(std::span<const std::string> queues,
                                              std::int64_t& now_us) {
        now_us = state.now();
        const std::string names = queues.empty() ? "" : gqs::detail::encode_queues(queues);
        auto stmt = state.statement(queues.empty() ? detail::gates_sql : detail::gates_of_sql,
                                    "reading queue limits");
        if (!queues.empty()) stmt.bind_text(1, names);
        std::vector<gqs::detail::QueueGate> found;
        while (stmt.step())
            found.push_back(read_gate(stmt.get()));
        return found;
    }

    std::optional<gqs::detail::QueueGate> lock_gate(const std::string& queue,
                                                    std::int64_t& now_us) {
        // Inside the write transaction: no other connection writes until it ends.
        now_us = state.now();
        auto stmt = state.statement(detail::gate_sql, "reading queue limits");
        stmt.bind_text(1, queue);
        if (!stmt.step()) return std::nullopt;
        auto gate = read_gate(stmt.get());
        stmt.finish();
        return gate;
    }

    std::pair<int, std::optional<std::int64_t>> running(const std::string& queue) {
        auto stmt = state.statement(detail::running_sql, "counting running jobs");
        stmt.bind_text(1, queue);
        stmt.bind(2, state.now());
        std::pair<int, std::optional<std::int64_t>> out{0, std::nullopt};
        if (stmt.step()) {
            out.first = sqlite3_column_int(stmt.get(), 0);
            if (sqlite3_column_type(stmt.get(), 1) != SQLITE_NULL)
                out.second = sqlite3_column_int64(stmt.get(), 1);
        }
        stmt.finish();
        return out;
    }

    void save_bucket(const std::string& queue, const gqs::detail::Bucket& bucket) {
        auto stmt = state.statement(detail::save_bucket_sql, "storing a queue's tokens");
        stmt.bind_text(1, queue);
        stmt.bind_double(2, bucket.tokens);
        stmt.bind(3, bucket.at_us);
        stmt.run();
    }

    std::vector<Job> pull(int batch, Duration lock, std::span<const std::string> queues,
                          std::span<const std::string> except) {
        const std::int64_t now = state.now();
        const char* sql = !queues.empty()  ? detail::pull_queues_sql
                          : except.empty() ? detail::pull_sql
                                           : detail::pull_except_sql;
        auto stmt = state.statement(sql, "pulling jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, lock));
        stmt.bind(3, batch);
        const std::string names = !queues.empty()   ? gqs::detail::encode_queues(queues)
                                  : !except.empty() ? gqs::detail::encode_queues(except)
                                                    : std::string();
        if (!names.empty()) stmt.bind_text(4, names);
        return leased(stmt);
    }

    std::vector<Job> pull_keyed(int batch, Duration lock, const std::string& queue, int per_key,
                                int window) {
        const std::int64_t now = state.now();
        auto stmt = state.statement(detail::pull_keyed_sql, "pulling jobs");
        stmt.bind(1, now);
        stmt.bind(2, detail::add_micros(now, lock));
        stmt.bind(3, batch);
        stmt.bind_text(4, queue);
        stmt.bind(5, per_key);
        stmt.bind(6, window);
        return leased(stmt);
    }

    bool has_ready_keyed(const std::string& queue, int per_key) {
        auto stmt = state.statement(detail::has_ready_keyed_sql, "checking for ready jobs");
        stmt.bind(1, state.now());
        stmt.bind_text(4, queue);
        stmt.bind(5, per_key);
        return stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
    }

    gqs::detail::FairGroups fair_groups(const std::string& queue,
                                        const std::optional<std::string>& from, int limit,
                                        int expired_limit) {
        const std::int64_t now = state.now();
        gqs::detail::FairGroups found;
        auto bind = [&](detail::Stmt& stmt, int how_many) {
            bind_fair(stmt, now, std::nullopt, how_many, queue, found.priority);
        };
        {
            auto stmt = state.statement(detail::fair_expired_sql, "pulling jobs");
            bind(stmt, expired_limit);
            if (stmt.step()) found.expired = sqlite3_column_int(stmt.get(), 0);
        }
        {
            auto stmt = state.statement(detail::fair_priority_sql, "pulling jobs");
            bind(stmt, 0);
            if (stmt.step() && sqlite3_column_type(stmt.get(), 0) != SQLITE_NULL)
                found.priority = sqlite3_column_int(stmt.get(), 0);
        }
        if (!found.priority) return found;
        bool ungrouped = false;
        {
            auto stmt = state.statement(detail::fair_ungrouped_sql, "pulling jobs");
            bind(stmt, 0);
            ungrouped = stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
        }
        // "" (no group) sorts before every group: first from the lowest, last after a turn.
        const std::string start = from.value_or("");
        if (ungrouped && start.empty()) found.groups.emplace_back();
        auto scan = [&](const std::string& lowest) {
            auto stmt = state.statement(detail::fair_groups_sql, "pulling jobs");
            bind(stmt, limit - static_cast<int>(found.groups.size()));
            stmt.bind_text(7, lowest);
            while (stmt.step()) {
                std::string group(
                    reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)));
                // The second scan, from the lowest, stops where the first began.
                if (!start.empty() && lowest.empty() && group >= start) return;
                found.groups.push_back(std::move(group));
            }
        };
        scan(start);
        if (!start.empty() && static_cast<int>(found.groups.size()) < limit) {
            if (ungrouped) found.groups.emplace_back();
            scan("");
        }
        if (static_cast<int>(found.groups.size()) > limit) found.groups.resize(limit);
        return found;
    }

    std::vector<Job> pull_fair(int expired, Duration lock, const std::string& queue, int priority,
                               const std::vector<gqs::detail::GroupQuota>& quotas,
                               const std::optional<std::string>& turn, int used) {
        const std::int64_t now = state.now();
        std::vector<Job> jobs;
        // `groups`: ?8, bound without a copy.
        auto take = [&](const char* sql, int how_many, const std::string* groups) {
            auto stmt = state.statement(sql, "pulling jobs");
            bind_fair(stmt, now, detail::add_micros(now, lock), how_many, queue, priority);
            if (groups != nullptr) stmt.bind_text(8, *groups);
            auto got = leased(stmt);
            jobs.insert(jobs.end(), std::make_move_iterator(got.begin()),
                        std::make_move_iterator(got.end()));
        };
        if (expired > 0) take(detail::pull_fair_expired_sql, expired, nullptr);
        // The groups by quota: most pulls have one or two distinct quotas.
        std::map<int, std::vector<std::string>> by_quota;
        for (const auto& q : quotas) {
            if (q.group.empty()) {
                take(detail::pull_fair_ungrouped_sql, q.quota, nullptr);
            } else {
                by_quota[q.quota].push_back(q.group);
            }
        }
        for (const auto& [quota, groups] : by_quota) {
            const std::string names = gqs::detail::encode_queues(groups);
            take(detail::pull_fair_groups_sql, quota, &names);
        }
        if (turn && !quotas.empty()) {
            auto stmt = state.statement(detail::save_turn_sql, "storing a queue's fair-share turn");
            stmt.bind_text(1, queue);
            stmt.bind_text(2, *turn);
            stmt.bind(3, used);
            stmt.run();
        }
        return jobs;
    }

    // A full batch: more jobs are likely waiting, and this puller comes back for them; else
    // the watcher wakes it when another connection commits.
    void pulled(bool full) { state.set_hungry(hungry, !full); }

    bool extend(Job& job, Duration lock) {
        auto now = state.now();
        auto until = detail::add_micros(now, lock);
        auto stmt = state.statement(detail::extend_sql, "extending a lease");
        detail::bind_id(stmt, 1, job.id);
        stmt.bind(2, now);
        stmt.bind(3, until);
        stmt.bind(4, job.attempts);
        if (!stmt.step()) return false;
        const bool cancel_requested = sqlite3_column_int64(stmt.get(), 0) != 0;
        stmt.finish(); // the commit, in autocommit mode
        job.cancel_requested = cancel_requested;
        job.locked_until = detail::from_micros(until);
        job.updated_at = detail::from_micros(now);
        return true;
    }

    std::vector<SettleResult> settle(std::span<const Settlement> settlements) {
        return settle_all(
            settlements, [] {}, false);
    }

    template <class Fn>
    std::vector<SettleResult> settle_and(std::span<const Settlement> settlements, Fn&& then) {
        return settle_all(settlements, then, true);
    }

    // Runs the settlements (and then `then`, when `with_then`) in one transaction. Throws
    // StorageError, nothing committed, if it fails.
    template <class Fn>
    std::vector<SettleResult> settle_all(std::span<const Settlement> settlements, Fn&& then,
                                         bool with_then) {
        std::vector<std::optional<bool>> done(settlements.size());
        std::vector<std::string> entries;
        entries.reserve(settlements.size());
        for (const auto& s : settlements)
            entries.push_back(gqs::detail::error_entry(s.error));
        const std::int64_t now = state.now();
        if (settlements.size() == 1 && !with_then) {
            // One statement in autocommit mode is its own write transaction (a single call).
            const auto& s = settlements[0];
            done[0] = run_transition(state, s.lease, s.action, s.backoff, entries[0], now);
        } else {
            // One transaction for the lot: one commit (and one fsync with synchronous=FULL)
            // instead of one per job; with a pull, a worker's whole cycle. A transition whose
            // lease is lost changes no row, so it fails alone without spoiling the others.
            detail::in_write_transaction(state, "settling jobs", [&] {
                for (std::size_t i = 0; i < settlements.size(); ++i) {
                    const auto& s = settlements[i];
                    done[i] = run_transition(state, s.lease, s.action, s.backoff, entries[i], now);
                }
                if (with_then) then();
            });
        }
        std::vector<SettleResult> results(settlements.size());
        for (std::size_t i = 0; i < settlements.size(); ++i) {
            const auto& s = settlements[i];
            if (done[i]) {
                results[i] = applied(s.action, s.backoff, now, *done[i]);
            } else {
                results[i].status = SettleStatus::LeaseLost;
                results[i].error = lease_lost_message(gqs::detail::verb_of(s.action), s.lease);
            }
        }
        return results;
    }

    bool has_ready(std::span<const std::string> queues, std::span<const std::string> except) {
        const char* sql = !queues.empty()  ? detail::has_ready_queues_sql
                          : except.empty() ? detail::has_ready_sql
                                           : detail::has_ready_except_sql;
        const std::string names = !queues.empty()   ? gqs::detail::encode_queues(queues)
                                  : !except.empty() ? gqs::detail::encode_queues(except)
                                                    : std::string();
        auto stmt = state.statement(sql, "checking for ready jobs");
        stmt.bind(1, state.now());
        if (!names.empty()) stmt.bind_text(4, names);
        return stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
    }
};

} // namespace

Puller::Puller(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Puller");
}

Puller::~Puller() { detail::Access::state(*connection_).set_hungry(hungry_, false); }

std::vector<Job> Puller::pull(int batch, Duration lock, std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), hungry_};
    auto pulled = gqs::detail::pull_with(store, batch, lock, queues);
    gqs::detail::note_limit_wait(limit_wait_ms_, pulled.wait);
    return std::move(pulled.jobs);
}

void Puller::extend_lock(Job& job, Duration lock) {
    Store store{detail::Access::state(*connection_), hungry_};
    gqs::detail::extend_with(store, job, lock);
}

std::vector<SettleResult> Puller::settle(std::span<const Settlement> settlements) {
    Store store{detail::Access::state(*connection_), hungry_};
    return gqs::detail::settle_with(store, settlements);
}

std::vector<Job> Puller::settle_and_pull(std::span<const Settlement> settlements,
                                         std::vector<SettleResult>& results, int batch,
                                         Duration lock, std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), hungry_};
    auto pulled =
        gqs::detail::settle_and_pull_with(store, settlements, results, batch, lock, queues);
    gqs::detail::note_limit_wait(limit_wait_ms_, pulled.wait);
    return std::move(pulled.jobs);
}

bool Puller::has_ready(std::span<const std::string> queues) {
    Store store{detail::Access::state(*connection_), hungry_};
    return gqs::detail::has_ready_with(store, queues);
}

PullerCapabilities Puller::capabilities() const noexcept {
    return {.push_notifications = true, .cheap_ready_check = true};
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

} // namespace gqs::sqlite
