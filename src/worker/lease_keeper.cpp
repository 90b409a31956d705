// SPDX-License-Identifier: Apache-2.0
// The Worker's lease keeper: extends the leases of running and queued jobs, and of results
// waiting for another try, and stores results no handler thread is free to store.
#include "worker/worker_impl.hpp"

#include <gqs/errors.hpp>

#include "backend/codec.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace gqs {

using detail::SteadyClock;

// ---- lease keeper --------------------------------------------------------------------------

void Worker::Impl::keeper_main() noexcept {
    std::unique_lock lock(mutex_);
    try {
        keeper_loop(lock);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        leases_.clear_extending();
        state_cv_.notify_all();
        log(LogLevel::Error, "internal error in the lease keeper; leases are no longer extended");
    }
    state_cv_.notify_all();
}

// Extends every running or queued job's lease each extend_every_, one job at a time, and
// stores results that waited group_delay with no handler thread free to store them. It
// outlives the handler threads, so a handler that is slow to honour stop() keeps its lease.
void Worker::Impl::keeper_loop(std::unique_lock<std::mutex>& lock) {
    while (!(stopping_ && handlers_alive_ == 0)) {
        const auto now = SteadyClock::now();
        if (results_due(now)) {
            cycle(lock, now, false);
            continue;
        }
        const auto found = leases_.next_due(now);
        Slot* due = found.slot;
        auto next = found.next;
        if (!found.any(leases_)) {
            if (!results_.empty() && !cycling_) next = std::min(next, results_.due_at());
            // With nothing to watch, look again after one extension period: a job that
            // starts meanwhile is not due before then.
            keeper_wakeup_ = next == SteadyClock::time_point::max() ? now + extend_every_ : next;
            keeper_cv_.wait_until(lock, keeper_wakeup_);
            continue;
        }
        if (due == nullptr) {
            extend_queued(lock, found.queued);
            continue;
        }
        due->extending = true;
        Job lease = due->lease;
        lock.unlock();
        const auto started = SteadyClock::now();
        const Extension extension = extend(lease, "requesting its handler's stop");
        lock.lock();
        due->extending = false;
        std::stop_source lost{std::nostopstate};
        std::string cancelled; // the job an operator cancelled, logged without our lock
        switch (extension) {
        case Extension::Extended:
            // Admin::cancel flagged the job: its handler is asked to stop. What it does then
            // decides the outcome (storage turns a retry of a cancelled job into Dead).
            // Its lease is not extended again: the handler has until it runs out to return
            // (Done); after that the job is Dead, as docs/design.md section 7 promises for a
            // cancel.
            if (lease.cancel_requested && !due->lease.cancel_requested) {
                cancelled = lease.id.to_string();
                lost = due->stop;
            }
            due->next_extension =
                lease.cancel_requested ? SteadyClock::time_point::max() : started + extend_every_;
            due->expires = started + config_.lock_timeout;
            due->lease = std::move(lease);
            database_answered();
            break;
        case Extension::Lost:
            due->lost = true;
            lost = due->stop;
            break;
        case Extension::Failed: due->next_extension = SteadyClock::now() + extend_retry_; break;
        }
        state_cv_.notify_all();
        if (lost.stop_possible()) {
            lock.unlock();
            if (!cancelled.empty())
                log(LogLevel::Warning, "job ", cancelled,
                    ": cancelled by an operator; requesting its handler's stop");
            lost.request_stop(); // runs the handler's stop callbacks: not under our lock
            lock.lock();
        }
    }
}

// Extends the lease of a job waiting in the local queue. While it is being extended no thread
// takes it (take_ready waits), so `it` stays valid. A lost lease drops the job: its new holder
// runs it. Caller holds mutex_.
void Worker::Impl::extend_queued(std::unique_lock<std::mutex>& lock,
                                 std::list<Pulled>::iterator it) {
    it->extending = true;
    Job lease = detail::lease_snapshot(it->job);
    lock.unlock();
    const auto started = SteadyClock::now();
    const Extension extension = extend(lease, "dropping it from the local queue");
    lock.lock();
    it->extending = false;
    switch (extension) {
    case Extension::Extended:
        if (lease.cancel_requested) {
            // Cancelled before it started: given back, which makes a cancelled job Dead (the
            // settle's result says so in the log).
            add_finished({gqs::lease_of(it->job), gqs::Action::Release, {}, {}, 0, it->expires},
                         SteadyClock::now());
            leases_.queue().erase(it);
            pulls_.lease_ended();
            work_cv_.notify_one();
            break;
        }
        it->job.locked_until = lease.locked_until;
        it->job.updated_at = lease.updated_at;
        it->next_extension = started + extend_every_;
        it->expires = started + config_.lock_timeout;
        database_answered();
        break;
    case Extension::Lost:
        leases_.queue().erase(it);
        pulls_.lease_ended();
        work_cv_.notify_one(); // room for another lease
        break;
    case Extension::Failed: it->next_extension = SteadyClock::now() + extend_retry_; break;
    }
    state_cv_.notify_all();
}

// ---- lease watchdog ------------------------------------------------------------------------

void Worker::Impl::watchdog_main() noexcept {
    std::unique_lock lock(mutex_);
    try {
        watchdog_loop(lock);
    } catch (...) {
        log(LogLevel::Error, "internal error in the lease watchdog; handlers whose lease may "
                             "run out are no longer asked to stop");
    }
}

// Watches every lease the keeper may fail to extend in time: the keeper can be inside a call
// that waits for a database that does not answer. When less than risk_margin_ is left of a
// running job's lease, its handler is asked to stop, so that it returns before another
// worker can lease the job; and no pull is made (no new lease taken) until the database
// answers again, or the worker holds no lease. Queued jobs whose lease is at risk are not
// started (handler_loop). Caller holds mutex_.
void Worker::Impl::watchdog_loop(std::unique_lock<std::mutex>& lock) {
    bool reported = false; // the risk was logged, and the resumption is not yet
    while (!(stopping_ && handlers_alive_ == 0)) {
        const auto now = SteadyClock::now();
        auto next = SteadyClock::time_point::max();
        std::vector<std::stop_source> stops;
        std::vector<std::string> ids; // of the jobs whose handler is asked to stop
        bool held = false;            // any lease held: running, queued, or a waiting result
        for (Slot& slot : leases_.slots()) {
            if (!slot.active) continue;
            held = true;
            if (slot.settling || slot.lost || slot.at_risk) continue;
            if (at_risk(slot.expires, now)) {
                slot.at_risk = true;
                stops.push_back(slot.stop);
                ids.push_back(slot.lease.id.to_string());
            } else {
                next = std::min(next, slot.expires - risk_margin_);
            }
        }
        for (const Pulled& pulled : leases_.queue()) {
            held = true;
            if (at_risk(pulled.expires, now)) {
                at_risk_ = true;
            } else {
                next = std::min(next, pulled.expires - risk_margin_);
            }
        }
        held = held || !results_.empty() || cycling_;
        if (!stops.empty()) at_risk_ = true;
        if (at_risk_ && !held) {
            // Nothing left that could run twice: a pull is safe again, and tells whether the
            // database answers.
            at_risk_ = false;
            work_cv_.notify_all();
        }
        const bool report_resumed = reported && !at_risk_;
        const bool report_risk = !reported && at_risk_;
        reported = at_risk_;
        if (!stops.empty() || report_resumed || report_risk) {
            lock.unlock();
            for (const std::string& id : ids)
                log(LogLevel::Warning, "job ", id,
                    ": its lease could not be extended and runs out "
                    "in less than ",
                    risk_margin_, "; requesting its handler's stop");
            if (report_risk)
                log(LogLevel::Warning, "leases cannot be extended; no new jobs are taken until "
                                       "the database answers");
            if (report_resumed) log(LogLevel::Info, "the database answers again; taking jobs");
            for (std::stop_source& source : stops)
                source.request_stop(); // runs the handler's stop callbacks: not under our lock
            lock.lock();
            continue;
        }
        watchdog_wakeup_ = next;
        if (at_risk_ && next == SteadyClock::time_point::max()) {
            // Held leases only in waiting results or a cycle: look again when they may end.
            watchdog_wakeup_ = now + extend_retry_;
        }
        if (watchdog_wakeup_ == SteadyClock::time_point::max()) {
            watchdog_cv_.wait(lock);
        } else {
            watchdog_cv_.wait_until(lock, watchdog_wakeup_);
        }
    }
}

// An extension or a cycle succeeded: pulls may resume. Caller holds mutex_.
void Worker::Impl::database_answered() {
    if (!at_risk_) return;
    at_risk_ = false;
    work_cv_.notify_all();
    watchdog_cv_.notify_all(); // it logs the resumption
}

Worker::Impl::Extension Worker::Impl::extend(Job& lease, const char* then) noexcept {
    try {
        puller_.extend_lock(lease, config_.lock_timeout);
        return Extension::Extended;
    } catch (const LeaseLost& e) {
        log(LogLevel::Warning, "job ", lease.id.to_string(), ": lease lost (", e.what(), "); ",
            then);
        call(config_.hooks.on_lease_lost, lease_of(lease));
        return Extension::Lost;
    } catch (const std::exception& e) {
        if (const auto* storage = dynamic_cast<const StorageError*>(&e))
            call(config_.hooks.on_storage_error, *storage);
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease: ", e.what(),
            "; retrying in ", extend_retry_);
    } catch (...) {
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease; ",
            "retrying in ", extend_retry_);
    }
    return Extension::Failed;
}

// Extends the leases of results waiting for another try (their store failed) when due, so
// they can keep trying while the database answers extensions; a lost lease drops the result
// (the job's new holder runs it). After one extension fails, the others due wait for the
// next retry: each could wait its full timeout on a database that does not answer. Called by
// a cycle without mutex_.
void Worker::Impl::extend_waiting_results(std::vector<detail::Finished>& done) {
    bool failed = false;
    for (auto it = done.begin(); it != done.end();) {
        const auto started = SteadyClock::now();
        if (it->tries == 0 || started < it->next_extension) {
            ++it;
            continue;
        }
        if (failed) {
            it->next_extension = started + extend_retry_;
            ++it;
            continue;
        }
        Job lease;
        lease.id = it->lease.id;
        lease.attempts = it->lease.attempts;
        lease.status = it->lease.status;
        switch (extend(lease, "dropping its result")) {
        case Extension::Extended:
            it->expires = started + config_.lock_timeout;
            it->next_extension = started + extend_every_;
            ++it;
            break;
        case Extension::Lost: it = done.erase(it); break;
        case Extension::Failed:
            failed = true;
            it->next_extension = SteadyClock::now() + extend_retry_;
            ++it;
            break;
        }
    }
}

} // namespace gqs
