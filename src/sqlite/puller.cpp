// SPDX-License-Identifier: Apache-2.0
// Puller: leasing jobs and the fenced transitions of a leased job.
#include "backend/pull.hpp"
#include "backend/rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/puller.hpp>
#include <gqs/sqlite/schedules.hpp>

#include <atomic>
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

    std::vector<Job> pull(int batch, Duration lock, std::span<const std::string> queues) {
        return pull_at(batch, lock, queues, state.now());
    }

    std::vector<Job> pull_at(int batch, Duration lock, std::span<const std::string> queues,
                             std::int64_t now) {
        std::vector<Job> jobs;
        int rows = 0;
        {
            auto stmt = state.statement(queues.empty() ? detail::pull_sql : detail::pull_queues_sql,
                                        "pulling jobs");
            stmt.bind(1, now);
            stmt.bind(2, detail::add_micros(now, lock));
            stmt.bind(3, batch);
            const std::string names = queues.empty() ? "" : gqs::detail::encode_queues(queues);
            if (!queues.empty()) stmt.bind_text(4, names);
            // The statement's changes are made by its first step; reading the rows on the way
            // is safe because nothing else can use this handle meanwhile.
            while (stmt.step()) {
                ++rows;
                // A cancelled job whose lease ran out went Dead; it is not the caller's.
                if (sqlite3_column_int64(stmt.get(), 3) != static_cast<int>(Status::Processing))
                    continue;
                jobs.push_back(detail::read_job(stmt.get()));
            }
        }
        // A full batch: more jobs are likely waiting, and this puller comes back for them.
        state.set_hungry(hungry, rows < batch);
        return jobs;
    }

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
        return settle_all(settlements, 0, {}, {}, nullptr);
    }

    std::vector<SettleResult> settle_and_pull(std::span<const Settlement> settlements, int batch,
                                              Duration lock, std::span<const std::string> queues,
                                              std::vector<Job>& jobs) {
        return settle_all(settlements, batch, lock, queues, &jobs);
    }

    // Runs the settlements (and the pull, when `jobs` is given) in one transaction. Throws
    // StorageError, nothing committed, if it fails.
    std::vector<SettleResult> settle_all(std::span<const Settlement> settlements, int batch,
                                         Duration lock, std::span<const std::string> queues,
                                         std::vector<Job>* jobs) {
        std::vector<std::optional<bool>> done(settlements.size());
        std::vector<std::string> entries;
        entries.reserve(settlements.size());
        for (const auto& s : settlements)
            entries.push_back(gqs::detail::error_entry(s.error));
        const std::int64_t now = state.now();
        if (settlements.size() == 1 && jobs == nullptr) {
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
                if (jobs != nullptr) *jobs = pull_at(batch, lock, queues, now);
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

    bool has_ready(std::span<const std::string> queues) {
        const std::string names = queues.empty() ? "" : gqs::detail::encode_queues(queues);
        auto stmt =
            state.statement(queues.empty() ? detail::has_ready_sql : detail::has_ready_queues_sql,
                            "checking for ready jobs");
        stmt.bind(1, state.now());
        if (!queues.empty()) stmt.bind_text(4, names);
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
    return gqs::detail::pull_with(store, batch, lock, queues);
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
    return gqs::detail::settle_and_pull_with(store, settlements, results, batch, lock, queues);
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

std::shared_ptr<gqs::Schedules> Puller::schedules() {
    return std::make_shared<Schedules>(connection_);
}

} // namespace gqs::sqlite
