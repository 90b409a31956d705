// SPDX-License-Identifier: Apache-2.0
// Worker's threads: `concurrency` handler threads, which also lease the jobs and store the
// results, and one lease keeper, which also stores results that would otherwise wait.
#include <gqs/worker.hpp>

#include <gqs/errors.hpp>

#include "backend/codec.hpp"
#include "worker/background.hpp"
#include "worker/decision.hpp"
#include "worker/lease_table.hpp"
#include "worker/lifecycle.hpp"
#include "worker/pull_policy.hpp"
#include "worker/results.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gqs {

void validate(const WorkerConfig& config) {
    if (config.concurrency <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: concurrency must be > 0");
    if (config.prefetch < 0)
        throw std::invalid_argument("gqs::WorkerConfig: prefetch must be >= 0");
    if (config.batch_size <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: batch_size must be > 0");
    if (config.pull_interval <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: pull_interval must be > 0");
    if (config.lock_timeout <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: lock_timeout must be > 0");
    validate(config.backoff);
    detail::check_queues(config.queues);
}

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

using detail::SteadyClock;

// The longest a handler's result waits for other results to share its transaction. A thread
// with queued jobs runs them first (their results then go in the same commit) for up to this
// long; after it, a thread or the lease keeper stores the results.
constexpr auto group_delay = std::chrono::milliseconds(1);

} // namespace

class Worker::Impl {
public:
    Impl(Puller& puller, Handler handler, WorkerConfig config, Logger logger);
    void start();
    void stop(Duration timeout);
    void shutdown() noexcept;

private:
    void give_up_storage() noexcept;
    void extend_waiting_results(std::vector<detail::Finished>& done);
    enum class Extension : std::uint8_t { Extended, Lost, Failed };

    using Pulled = detail::Pulled;
    using Slot = detail::Slot;

    template <class... Parts>
    void log(LogLevel level, const Parts&... parts) const noexcept {
        detail::log(logger_, level, parts...);
    }

    template <class Body>
    void launch(Body body, bool handler_thread);
    void launch_run();
    void request_stop();

    void keeper_main() noexcept;
    void keeper_loop(std::unique_lock<std::mutex>& lock);
    Extension extend(Job& lease, const char* then) noexcept;
    void extend_queued(std::unique_lock<std::mutex>& lock, std::list<Pulled>::iterator it);
    void handler_main(std::size_t index) noexcept;
    void handler_loop(std::unique_lock<std::mutex>& lock, Slot& slot);
    std::optional<Pulled> take_ready(std::unique_lock<std::mutex>& lock);
    void run_job(std::unique_lock<std::mutex>& lock, Slot& slot, Pulled pulled);
    void cycle(std::unique_lock<std::mutex>& lock, SteadyClock::time_point now, bool runs_one);
    [[nodiscard]] bool wants_pull(SteadyClock::time_point now) const;
    [[nodiscard]] bool cycle_due(SteadyClock::time_point now) const;
    [[nodiscard]] bool cycle_before_job(SteadyClock::time_point now) const;
    [[nodiscard]] bool results_due(SteadyClock::time_point now) const;
    [[nodiscard]] bool may_exit() const;

    using Finished = detail::Finished;
    Finished decide(const Job& job, const detail::RunResult& result) const;
    void add_finished(Finished finished, SteadyClock::time_point now);
    void guard_results(int busy_threads);
    void wake_keeper_for_results();

    Puller& puller_;
    const Handler handler_;
    const WorkerConfig config_;
    const Logger logger_;
    const Duration extend_every_;
    const Duration extend_retry_;

    // Start, stop and the threads of each run. Guards pushes_ (changed only in its calls).
    detail::Lifecycle lifecycle_{"gqs::Worker", "handlers"};
    Subscription pushes_; // wakes an idle thread when jobs are pushed in this process

    std::mutex mutex_;                  // guards everything below
    std::condition_variable work_cv_;   // idle handler threads: a job, a cycle to run, or exit
    std::condition_variable keeper_cv_; // lease keeper: a lease to watch, or stop
    std::condition_variable state_cv_;  // an extension ended, a thread exited, stop
    bool stopping_ = false;
    bool cycling_ = false; // a thread is storing results and pulling (one at a time)
    // A stop timed out: storage failures are no longer retried, and after one a cycle no
    // longer calls the puller, so a database that does not answer cannot hold the stop.
    // Atomic: a cycle reads it again, unlocked, after a call the stop may have interrupted.
    std::atomic<bool> giving_up_{false};
    bool storage_failed_ = false; // the last cycle failed on storage
    detail::PullPolicy pulls_;    // the leases held, and when to take more
    int handlers_alive_ = 0;      // handler threads of the current (or timed-out) run not returned
    int idle_ = 0;                // handler threads waiting for work
    detail::LeaseTable leases_;   // each handler thread's running job, and the local queue
    // When the lease keeper wakes next on its own; a job whose first extension is due later
    // needs no wake-up call (one context switch less per job).
    SteadyClock::time_point keeper_wakeup_{};

    // Results of returned handlers, not yet stored. The next cycle stores them all with its
    // pull in one Puller::settle_and_pull call: one commit per cycle, however many handlers
    // finished meanwhile. A result waits at most group_delay for that cycle; then an idle
    // thread, or the lease keeper, stores it. After a storage failure: a pull_interval.
    detail::ResultBuffer results_;
};

Worker::Impl::Impl(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : puller_(puller), handler_(std::move(handler)), config_(config),
      logger_(logger ? std::move(logger) : Logger(default_logger)),
      extend_every_(std::max(Duration(1), config.lock_timeout / 2)),
      extend_retry_(std::max(Duration(1), config.lock_timeout / 10)),
      pulls_(config, puller.capabilities().cheap_ready_check),
      results_(group_delay, config.pull_interval) {
    if (!handler_) throw std::invalid_argument("gqs::Worker: the handler is empty");
    validate(config_);
}

template <class Body>
void Worker::Impl::launch(Body body, bool handler_thread) {
    if (handler_thread) {
        std::lock_guard lock(mutex_);
        ++handlers_alive_;
    }
    try {
        lifecycle_.spawn(std::move(body));
    } catch (...) {
        if (handler_thread) {
            std::lock_guard lock(mutex_);
            --handlers_alive_;
        }
        throw;
    }
}

void Worker::Impl::start() {
    lifecycle_.start([this] { launch_run(); },
                     [this] {
                         pushes_.reset();
                         request_stop();
                     });
    log(LogLevel::Debug, "worker started with ", config_.concurrency, " handler threads");
}

// Called by the lifecycle with no thread of an earlier run alive.
void Worker::Impl::launch_run() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
        cycling_ = false;
        giving_up_ = false;
        storage_failed_ = false;
        pulls_.reset(SteadyClock::now()); // the first pull happens at once
        results_.clear();
        leases_.reset(static_cast<std::size_t>(config_.concurrency));
    }
    // Called on the pushing thread; it must not wait on anything that waits for a push.
    pushes_ = puller_.on_push([this] {
        {
            std::lock_guard lock(mutex_);
            pulls_.pushed();
        }
        work_cv_.notify_one();
    });
    // The keeper first: a handler thread may lease a job as soon as it exists.
    launch([this] { keeper_main(); }, false);
    for (std::size_t i = 0; i < static_cast<std::size_t>(config_.concurrency); ++i) {
        launch([this, i] { handler_main(i); }, true);
    }
}

void Worker::Impl::request_stop() {
    std::vector<std::stop_source> running;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        running = leases_.running_stops();
    }
    work_cv_.notify_all();
    keeper_cv_.notify_all();
    state_cv_.notify_all();
    // Outside the lock: request_stop runs the callbacks the handlers registered.
    for (std::stop_source& source : running)
        source.request_stop();
}

void Worker::Impl::stop(Duration timeout) {
    try {
        lifecycle_.stop(timeout, [this, timeout] {
            pushes_.reset(); // before request_stop: the callback takes mutex_, reset waits for it
            request_stop();
            log(LogLevel::Debug, "worker stopping, waiting up to ", timeout, " for its handlers");
        });
    } catch (const StopTimeout&) {
        give_up_storage();
        throw;
    }
    log(LogLevel::Debug, "worker stopped");
}

// After a stop timed out: a call stuck on a database that does not answer is interrupted,
// and results that cannot be stored are left to run again once their leases expire, so the
// threads can end (handlers still running are waited for: only they can return).
void Worker::Impl::give_up_storage() noexcept {
    bool in_call = false;
    {
        std::lock_guard lock(mutex_);
        giving_up_ = true;
        in_call = cycling_ || leases_.any_extending();
    }
    if (in_call) {
        log(LogLevel::Warning, "worker stop timed out while waiting for the database; "
                               "interrupting the call and giving up results it cannot store");
        puller_.interrupt();
    }
    work_cv_.notify_all();
    keeper_cv_.notify_all();
    state_cv_.notify_all();
}

void Worker::Impl::shutdown() noexcept {
    lifecycle_.shutdown([this] {
        pushes_.reset();
        request_stop();
    });
}

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

Worker::Impl::Extension Worker::Impl::extend(Job& lease, const char* then) noexcept {
    try {
        puller_.extend_lock(lease, config_.lock_timeout);
        return Extension::Extended;
    } catch (const LeaseLost& e) {
        log(LogLevel::Warning, "job ", lease.id.to_string(), ": lease lost (", e.what(), "); ",
            then);
        return Extension::Lost;
    } catch (const std::exception& e) {
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease: ", e.what(),
            "; retrying in ", extend_retry_);
    } catch (...) {
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease; ",
            "retrying in ", extend_retry_);
    }
    return Extension::Failed;
}

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
    state_cv_.notify_all();
}

// Whether idle threads should lease jobs now. Caller holds mutex_.
bool Worker::Impl::wants_pull(SteadyClock::time_point now) const {
    return pulls_.wants_pull(now, stopping_);
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
    if (config_.prefetch == 0 || cycling_) return false;
    return results_due(now) || pulls_.wants_refill(now, stopping_);
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
            if (stopping_) {
                // Leased but never started: give the lease back without counting the attempt.
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
        if (stopping_) until = now + config_.pull_interval;
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
    slot.active = true;
    const std::stop_token token = slot.stop.get_token();
    if (slot.next_extension < keeper_wakeup_) keeper_cv_.notify_all();
    lock.unlock();

    const detail::RunResult result = detail::run_handler(handler_, pulled.job, token);
    // The transition depends only on the result and the attempt, so it is chosen before the
    // lock is taken: one lock per job on the way out, which matters when short jobs keep
    // every thread contending for it.
    Finished finished = decide(pulled.job, result);
    // The result names its lease only: the payload and metadata are freed here, before the
    // lock is taken, not by whoever next holds it.
    { const Job done_with = std::move(pulled.job); }

    lock.lock();
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
    lock.lock();
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
    const auto reservation = pulls_.reserve(stopping_, !results_.empty());
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
    std::vector<SettleResult> results;
    std::vector<Job> jobs;
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
            jobs = puller_.settle_and_pull(settlements, results, batch, config_.lock_timeout,
                                           config_.queues);
        } catch (const std::exception& e) {
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
    // Results that failed on storage are tried again after a pause.
    results_.put_back(std::move(again), settle_failed, now);
    pulls_.cycle_ended(reserved, batch, got, pull_failed, now);
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

// ---- Worker --------------------------------------------------------------------------------

Worker::Worker(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(puller, std::move(handler), config, std::move(logger))) {}

Worker::~Worker() { impl_->shutdown(); }

void Worker::start() { impl_->start(); }

void Worker::stop(Duration timeout) { impl_->stop(timeout); }

} // namespace gqs
