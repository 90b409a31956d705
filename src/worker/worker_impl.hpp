// SPDX-License-Identifier: Apache-2.0
// Private to the Worker: its state, shared by the files of its threads (worker.cpp: start and
// stop; handlers.cpp: the handler threads and the cycle; lease_keeper.cpp: the lease keeper).
#pragma once

#include <gqs/worker.hpp>

#include "worker/background.hpp"
#include "worker/decision.hpp"
#include "worker/lease_table.hpp"
#include "worker/lifecycle.hpp"
#include "worker/pull_policy.hpp"
#include "worker/results.hpp"
#include "worker/schedule_loop.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

namespace gqs {

namespace detail {

// The longest a handler's result waits for other results to share its transaction. A thread
// with queued jobs runs them first (their results then go in the same commit) for up to this
// long; after it, a thread or the lease keeper stores the results.
inline constexpr auto group_delay = std::chrono::milliseconds(1);

} // namespace detail

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

    // Calls a hook of config_.hooks, if set; what it throws is logged and ignored. Never
    // call it with mutex_ held.
    template <class Hook, class... Args>
    void call(const Hook& hook, const Args&... args) const noexcept {
        if (!hook) return;
        try {
            hook(args...);
        } catch (const std::exception& e) {
            log(LogLevel::Warning, "a WorkerConfig::hooks callback threw: ", e.what(), "; ignored");
        } catch (...) {
            log(LogLevel::Warning, "a WorkerConfig::hooks callback threw; ignored");
        }
    }

    template <class Body>
    void launch(Body body, bool handler_thread);
    void launch_run();
    void request_stop();

    void watchdog_main() noexcept;
    void watchdog_loop(std::unique_lock<std::mutex>& lock);
    void database_answered();
    [[nodiscard]] bool at_risk(detail::SteadyClock::time_point expires,
                               detail::SteadyClock::time_point now) const noexcept {
        return now >= expires - risk_margin_;
    }
    void keeper_main() noexcept;
    void keeper_loop(std::unique_lock<std::mutex>& lock);
    Extension extend(Job& lease, const char* then) noexcept;
    void extend_queued(std::unique_lock<std::mutex>& lock, std::list<Pulled>::iterator it);
    void handler_main(std::size_t index) noexcept;
    void handler_loop(std::unique_lock<std::mutex>& lock, Slot& slot);
    std::optional<Pulled> take_ready(std::unique_lock<std::mutex>& lock);
    void run_job(std::unique_lock<std::mutex>& lock, Slot& slot, Pulled pulled);
    void cycle(std::unique_lock<std::mutex>& lock, detail::SteadyClock::time_point now,
               bool runs_one);
    [[nodiscard]] bool wants_pull(detail::SteadyClock::time_point now) const;
    [[nodiscard]] bool cycle_due(detail::SteadyClock::time_point now) const;
    [[nodiscard]] bool cycle_before_job(detail::SteadyClock::time_point now) const;
    [[nodiscard]] bool results_due(detail::SteadyClock::time_point now) const;
    [[nodiscard]] bool may_exit() const;

    using Finished = detail::Finished;
    Finished decide(const Job& job, const detail::RunResult& result) const;
    void add_finished(Finished finished, detail::SteadyClock::time_point now);
    void guard_results(int busy_threads);
    void wake_keeper_for_results();

    Puller& puller_;
    const Handler handler_;
    const WorkerConfig config_;
    const Logger logger_;
    const Duration extend_every_;
    const Duration extend_retry_;
    // A lease is at risk once less than this is left of it unextended (lock_timeout / 4): its
    // handler is asked to stop, and the worker pulls nothing until the database answers.
    const Duration risk_margin_;
    // The stored schedules' scheduler thread, when config_.schedules and the backend has them.
    std::shared_ptr<Schedules> schedules_;
    std::unique_ptr<detail::ScheduleLoop> scheduler_;

    // Start, stop and the threads of each run. Guards pushes_ (changed only in its calls).
    detail::Lifecycle lifecycle_{"gqs::Worker", "handlers"};
    Subscription pushes_;        // wakes an idle thread when jobs are pushed in this process
    void end_wakeups() noexcept; // resets pushes_ and the scheduler's; in the lifecycle's calls

    std::mutex mutex_;                    // guards everything below
    std::condition_variable work_cv_;     // idle handler threads: a job, a cycle to run, or exit
    std::condition_variable keeper_cv_;   // lease keeper: a lease to watch, or stop
    std::condition_variable state_cv_;    // an extension ended, a thread exited, stop
    std::condition_variable watchdog_cv_; // lease watchdog: a lease to watch, or stop
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
    detail::SteadyClock::time_point keeper_wakeup_{};
    // When the lease watchdog wakes next on its own (a lease becomes at risk).
    detail::SteadyClock::time_point watchdog_wakeup_{};
    // Some lease went unextended until it was at risk: no pulls until the database answers
    // (an extension or a cycle succeeds) or the worker holds no lease.
    bool at_risk_ = false;

    // Results of returned handlers, not yet stored. The next cycle stores them all with its
    // pull in one Puller::settle_and_pull call: one commit per cycle, however many handlers
    // finished meanwhile. A result waits at most group_delay for that cycle; then an idle
    // thread, or the lease keeper, stores it. After a storage failure: a pull_interval.
    detail::ResultBuffer results_;
};

} // namespace gqs
