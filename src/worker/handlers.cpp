// SPDX-License-Identifier: Apache-2.0
// The Worker's handler threads: they run jobs, and between jobs store the results and lease
// more in one cycle.
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

namespace {

// What a cycle's one transaction does, for its log lines: "storing 3 job results and pulling
// up to 16 jobs".
std::string cycle_name(std::size_t results, int batch) {
    std::string name;
    if (results > 0)
        name =
            "storing " + std::to_string(results) + (results == 1 ? " job result" : " job results");
    if (batch > 0) {
        if (!name.empty()) name += " and ";
        name += "pulling up to " + std::to_string(batch) + (batch == 1 ? " job" : " jobs");
    }
    return name;
}

} // namespace

using detail::SteadyClock;

// ---- handler threads -----------------------------------------------------------------------

void Worker::Impl::handler_main(std::size_t index) noexcept {
    std::unique_lock lock(mutex_);
    Slot& slot = leases_.slots()[index];
    try {
        handler_loop(lock, slot);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        if (slot.active) {
            slot.active = false;
            pulls_.lease_ended();
        }
        log(LogLevel::Error, "internal error in a handler thread; it exits, and its job runs "
                             "again once its lease expires");
    }
    --handlers_alive_;
    work_cv_.notify_all(); // another thread takes over whatever this one would have done
    keeper_cv_.notify_all();
    watchdog_cv_.notify_all();
    state_cv_.notify_all();
}

// Whether idle threads should lease jobs now. Caller holds mutex_.
bool Worker::Impl::wants_pull(SteadyClock::time_point now) const {
    return pulls_.wants_pull(now, stopping_ || at_risk_);
}

// Whether an idle thread should run a cycle now. Caller holds mutex_.
bool Worker::Impl::cycle_due(SteadyClock::time_point now) const {
    return !cycling_ && ((!results_.empty() && now >= results_.retry_at()) || wants_pull(now));
}

// Whether a thread with a queued job at hand should run a cycle first: the results have
// waited long enough, or the local queue is half empty and should be refilled before it
// runs dry. Without a queue, jobs at hand were leased for idle threads and start first.
// Caller holds mutex_.
bool Worker::Impl::cycle_before_job(SteadyClock::time_point now) const {
    if (!pulls_.queues() || cycling_) return false;
    return results_due(now) || pulls_.wants_refill(now, stopping_ || at_risk_);
}

// Whether finished results have waited their group_delay (or retry pause) and should be
// stored now by whichever thread sees it. Caller holds mutex_.
bool Worker::Impl::results_due(SteadyClock::time_point now) const {
    return !cycling_ && results_.due(now);
}

// Whether a handler thread may return: stopping, and no job or result is left to it or to
// a cycle under way. Caller holds mutex_.
bool Worker::Impl::may_exit() const {
    return stopping_ && leases_.queue().empty() && results_.empty() && !cycling_;
}

// Every handler thread runs pulled jobs and, when idle, the cycle that stores finished
// results and leases the next jobs, so a job needs no hand-off to another thread on its way
// in or out unless several start at once. One thread cycles at a time; the others wait.
void Worker::Impl::handler_loop(std::unique_lock<std::mutex>& lock, Slot& slot) {
    while (true) {
        auto now = SteadyClock::now();
        if (!leases_.queue().empty()) {
            if (!stopping_ && cycle_before_job(now)) {
                cycle(lock, now, true);
                continue;
            }
            std::optional<Pulled> pulled = take_ready(lock);
            if (!pulled) continue;
            now = SteadyClock::now(); // take_ready may have waited for an extension
            const bool risky = at_risk(pulled->expires, now);
            if (stopping_ || risky) {
                // Leased but never started: give the lease back without counting the attempt.
                // A lease at risk (the database has not answered its extensions) may run out
                // while the job runs, and another worker would run it too.
                if (risky && !stopping_) {
                    lock.unlock();
                    log(LogLevel::Warning, "job ", pulled->job.id.to_string(),
                        ": not started, its lease could not be extended and may run out; "
                        "giving it back");
                    lock.lock();
                }
                pulls_.lease_ended();
                add_finished(
                    {gqs::lease_of(pulled->job), gqs::Action::Release, {}, {}, 0, pulled->expires},
                    now);
                continue;
            }
            run_job(lock, slot, std::move(*pulled));
            continue;
        }
        if (cycle_due(now)) {
            cycle(lock, now, true);
            continue;
        }
        if (may_exit()) return;
        // While another thread cycles it sets the next deadline; look again after an interval
        // at the latest, so a long handler run by that thread never stops the polling.
        auto until = cycling_ ? now + config_.pull_interval : pulls_.next_poll();
        if (stopping_ || at_risk_) until = now + config_.pull_interval; // no pull is due
        // Results that failed on storage are tried again at results_.retry_at() (in the past
        // otherwise: then the cycle under way, or the next one, stores them, and waiting until a
        // past time would spin on the lock while that cycle runs).
        if (!results_.empty() && results_.retry_at() > now)
            until = std::min(until, results_.retry_at());
        ++idle_;
        work_cv_.wait_until(lock, until, [this] {
            return !leases_.queue().empty() || may_exit() || cycle_due(SteadyClock::now());
        });
        --idle_;
    }
}

// Takes the first queued job, waiting while the lease keeper extends it; nullopt if the
// queue emptied meanwhile. Caller holds mutex_ and has checked that the queue is not empty.
std::optional<Worker::Impl::Pulled> Worker::Impl::take_ready(std::unique_lock<std::mutex>& lock) {
    state_cv_.wait(
        lock, [this] { return leases_.queue().empty() || !leases_.queue().front().extending; });
    if (leases_.queue().empty()) return std::nullopt;
    Pulled pulled = std::move(leases_.queue().front());
    leases_.queue().pop_front();
    return pulled;
}

// Runs a leased job's handler unlocked and queues the result for the next cycle. Caller
// holds mutex_.
void Worker::Impl::run_job(std::unique_lock<std::mutex>& lock, Slot& slot, Pulled pulled) {
    slot.lease = detail::lease_snapshot(pulled.job);
    slot.stop = std::stop_source();
    if (stopping_) slot.stop.request_stop();
    slot.next_extension = pulled.next_extension;
    slot.expires = pulled.expires;
    slot.settling = false;
    slot.lost = false;
    slot.at_risk = false;
    slot.active = true;
    const std::stop_token token = slot.stop.get_token();
    if (slot.next_extension < keeper_wakeup_) keeper_cv_.notify_all();
    if (slot.expires - risk_margin_ < watchdog_wakeup_) watchdog_cv_.notify_all();
    lock.unlock();

    const Hooks& hooks = config_.hooks;
    call(hooks.on_start, pulled.job);
    // The wall clock only for on_finish's wait: one clock read less per job without it.
    const auto started_at = hooks.on_finish ? std::chrono::system_clock::now()
                                            : std::chrono::system_clock::time_point{};
    const auto started = SteadyClock::now();
    const detail::RunResult result = detail::run_handler(handler_, pulled.job, token);
    const auto ran = SteadyClock::now() - started;
    // The transition depends only on the result and the attempt, so it is chosen before the
    // lock is taken: one lock per job on the way out, which matters when short jobs keep
    // every thread contending for it.
    Finished finished = decide(pulled.job, result);
    if (hooks.on_finish) {
        using std::chrono::microseconds;
        const auto waited =
            std::max(microseconds::zero(),
                     std::chrono::duration_cast<microseconds>(started_at - pulled.job.next_run_at));
        call(hooks.on_finish, pulled.job, finished.action,
             std::chrono::duration_cast<microseconds>(ran), waited);
    }
    // The result names its lease only: the payload and metadata are freed here, before the
    // lock is taken, not by whoever next holds it.
    { const Job done_with = std::move(pulled.job); }

    lock.lock();
    pulls_.handler_ran(ran);
    slot.settling = true;
    state_cv_.wait(lock, [&slot] { return !slot.extending; });
    const bool lost = slot.lost;
    slot.active = false;
    pulls_.lease_ended();
    if (!lost) {
        // The job stays leased to us until a cycle stores the result, so nobody else can
        // take it meanwhile; group_delay bounds how long that is.
        finished.expires = slot.expires;
        finished.next_extension = slot.next_extension;
        add_finished(std::move(finished), SteadyClock::now());
        return;
    }
    lock.unlock();
    log(LogLevel::Warning, "job ", finished.lease.id.to_string(),
        ": its lease was lost while the handler ran; the result is dropped");
    lock.lock(); // the lease keeper called hooks.on_lease_lost when it found the lease gone
}

// Queues a result for the next cycle. When this thread is not about to run that cycle
// itself (another cycle is under way, or it has queued jobs to run first), the lease keeper
// is told to store the result after group_delay should no thread get to it. Caller holds
// mutex_.
void Worker::Impl::add_finished(Finished finished, SteadyClock::time_point now) {
    results_.add(std::move(finished), now);
    // Cycling: the cycle's end looks after these results. Nothing at hand: this thread
    // stores them next. Otherwise it runs a job at hand first.
    if (!cycling_ && !leases_.queue().empty()) guard_results(1);
}

// Results wait in results_ while `busy_threads` handler threads (beside the idle ones) are
// about to start jobs at hand: if the idle threads can take every other job and still leave
// one free to store the results, wake one more of them; else the results could wait behind
// long handlers, so the lease keeper stores them after group_delay. Caller holds mutex_.
void Worker::Impl::guard_results(int busy_threads) {
    if (results_.empty()) return;
    const int others = static_cast<int>(leases_.queue().size()) - busy_threads;
    if (idle_ > std::max(others, 0)) {
        work_cv_.notify_one();
    } else {
        wake_keeper_for_results();
    }
}

// Makes the lease keeper wake when the oldest waiting result is due. Caller holds mutex_.
void Worker::Impl::wake_keeper_for_results() {
    if (results_.empty()) return;
    const auto due = results_.due_at();
    if (due < keeper_wakeup_) {
        keeper_wakeup_ = due;
        keeper_cv_.notify_all();
    }
}

// Stores every finished result and leases jobs for the free room (idle threads, this one
// included when `runs_one`, and free queue places) in one Puller::settle_and_pull call. It
// reserves that room first, so the worker never holds more than concurrency + queue leases; without
// a queue every pulled job starts at once. Caller holds mutex_ and has checked that a cycle is due
// (cycle_due, cycle_before_job or results_due).
void Worker::Impl::cycle(std::unique_lock<std::mutex>& lock, SteadyClock::time_point now,
                         bool runs_one) {
    const auto reservation = pulls_.reserve(stopping_ || at_risk_, !results_.empty());
    const int reserved = reservation.batch;
    int batch = reserved;
    const bool check = reservation.check_first;
    std::vector<Finished> done = results_.take();
    const bool giving_up = giving_up_;
    // Given up on a database that failed: no more calls (each could wait its full timeout).
    const bool skip_storage = giving_up && storage_failed_;
    cycling_ = true;
    // Should anything below throw (only std::bad_alloc can), the cycle still ends: another
    // thread may cycle, and threads can exit. Its results and jobs wait for their leases.
    // NOLINTNEXTLINE(cppcoreguidelines-*): an aggregate, built whole below, never copied.
    struct EndCycle {
        Impl& impl;
        std::unique_lock<std::mutex>& lock;
        int reserved;
        bool ended = false;
        ~EndCycle() {
            if (ended) return;
            if (!lock.owns_lock()) lock.lock();
            impl.cycling_ = false;
            impl.pulls_.cycle_abandoned(reserved);
            impl.work_cv_.notify_all();
        }
    } end_cycle{*this, lock, reserved};
    lock.unlock();

    bool pull_failed = false;
    bool called = false; // settle_and_pull was called
    std::vector<SettleResult> results;
    std::vector<Job> jobs;
    std::optional<Duration> limit_wait;
    const auto leased_at = SteadyClock::now();
    if (skip_storage) batch = 0;
    try {
        if (batch > 0 && check && !puller_.has_ready(config_.queues)) batch = 0;
    } catch (...) {
        // The pull below reports what is wrong.
    }
    if (!giving_up) extend_waiting_results(done);
    bool storage_ok = true;
    if (skip_storage && !done.empty()) {
        SettleResult skipped;
        skipped.status = SettleStatus::StorageFailed;
        skipped.error = "the worker gave up on storage after its stop timed out";
        results.assign(done.size(), skipped);
        storage_ok = false;
    } else if (batch > 0 || !done.empty()) {
        std::vector<Settlement> settlements;
        try {
            settlements.reserve(done.size());
            for (Finished& f : done)
                settlements.push_back({f.lease, f.action, f.backoff, f.error});
            called = true;
            jobs = puller_.settle_and_pull(settlements, results, batch, config_.lock_timeout,
                                           config_.queues);
            if (batch > 0) limit_wait = puller_.limit_wait();
            if (batch > 0)
                call(config_.hooks.on_pull, static_cast<int>(jobs.size()),
                     std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() -
                                                                           leased_at));
        } catch (const std::exception& e) {
            if (const auto* storage = dynamic_cast<const StorageError*>(&e))
                call(config_.hooks.on_storage_error, *storage);
            pull_failed = batch > 0;
            storage_ok = false;
            log(LogLevel::Error, cycle_name(done.size(), batch), " failed: ", e.what(),
                "; retrying in ", config_.pull_interval);
        } catch (...) {
            pull_failed = batch > 0;
            storage_ok = false;
            log(LogLevel::Error, cycle_name(done.size(), batch),
                " failed with an exception not derived from std::exception; retrying in ",
                config_.pull_interval);
        }
    }
    if (results.size() != done.size() && !done.empty()) {
        // The puller failed before it could say anything about the settlements.
        SettleResult missing;
        missing.status = SettleStatus::StorageFailed;
        missing.error = "the puller reported no result for this settlement";
        results.assign(done.size(), missing);
    }
    for (const SettleResult& r : results)
        storage_ok = storage_ok && r.status != SettleStatus::StorageFailed;
    now = SteadyClock::now();
    for (std::size_t i = 0; i < results.size() && i < done.size(); ++i)
        if (results[i].status == SettleStatus::LeaseLost)
            call(config_.hooks.on_lease_lost, done[i].lease);
    std::vector<Finished> again =
        detail::unsettled(std::move(done), results, logger_, now, giving_up_.load());
    const bool settle_failed = !again.empty();
    const int got = static_cast<int>(jobs.size());
    if (got > batch) {
        log(LogLevel::Warning, "the puller returned ", got, " jobs for a batch of ", batch,
            "; they wait for a thread");
    }

    lock.lock();
    end_cycle.ended = true;
    cycling_ = false;
    storage_failed_ = !storage_ok;
    const auto first_extension = leased_at + extend_every_;
    leases_.add_pulled(std::move(jobs), first_extension, leased_at + config_.lock_timeout);
    if (got > 0 && first_extension < keeper_wakeup_) keeper_cv_.notify_all();
    if (got > 0 && leased_at + config_.lock_timeout - risk_margin_ < watchdog_wakeup_)
        watchdog_cv_.notify_all();
    // A call that stored or pulled: the database answers again.
    if (storage_ok && (batch > 0 || !results.empty())) database_answered();
    // Results that failed on storage are tried again after a pause.
    results_.put_back(std::move(again), settle_failed, now);
    // The round trip sizes an adaptive queue; a failed call says nothing about it.
    const auto took = called && storage_ok ? now - leased_at : SteadyClock::duration::zero();
    pulls_.cycle_ended(reserved, batch, got, pull_failed, now, took);
    // A queue limit held ready jobs back: look again when it may let one start.
    if (called && batch > 0 && !pull_failed) pulls_.limit_held(limit_wait, now);
    // A handler thread runs the first job itself; wake one idle thread per other job (there
    // are at most `concurrency`), and one more if another cycle is due already while this
    // thread is busy with its job.
    const int wake = std::min(got - (runs_one ? 1 : 0), config_.concurrency);
    for (int i = 0; i < wake; ++i)
        work_cv_.notify_one();
    if (stopping_) {
        work_cv_.notify_all(); // threads waiting for this cycle to end may exit now
    } else if (got > 0 && cycle_due(now)) {
        work_cv_.notify_one();
    }
    guard_results(runs_one ? 1 : 0); // results that came in meanwhile
}

// Turns a handler's result into the transition to store: complete, requeue or kill.
Worker::Impl::Finished Worker::Impl::decide(const Job& job, const detail::RunResult& result) const {
    const detail::Decision decision = detail::decide(config_.backoff, job.attempts, result);
    Finished out{gqs::lease_of(job), decision.action, decision.backoff, decision.error, 0};
    if (result.outcome == detail::Outcome::Success || result.outcome == detail::Outcome::Snooze)
        return out;
    const std::string id = job.id.to_string();
    if (result.outcome == detail::Outcome::Kill) {
        log(LogLevel::Warning, "job ", id, ": killed by its handler on attempt ", job.attempts,
            ": ", result.error);
    } else if (decision.retries_spent) {
        log(LogLevel::Warning, "job ", id, ": attempt ", job.attempts, " failed: ", result.error,
            "; no retries left, so it is dead");
    } else if (decision.action == Action::Requeue) {
        log(LogLevel::Warning, "job ", id, ": attempt ", job.attempts, " failed: ", result.error,
            "; retrying in ", out.backoff);
    }
    return out;
}

} // namespace gqs
