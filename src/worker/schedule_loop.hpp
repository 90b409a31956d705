// SPDX-License-Identifier: Apache-2.0
// The scheduler thread's loop, shared by ScheduleWorker and the Worker that runs one.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/logger.hpp>
#include <gqs/schedule_worker.hpp>
#include <gqs/schedules.hpp>

#include "worker/background.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <optional>

namespace gqs::detail {

/// Ticks `schedules` when a slot falls due: reads the earliest next slot (a read, never a
/// write lock), ticks only when one is due, and sleeps until the next one (at most
/// `recheck`), or until a change is announced. Announcements come after pushes too, so one
/// that comes within `min_gap` of the last read waits for the gap to pass: a push storm costs
/// at most one read per gap. Thread-safety: begin, end_wakeups and run are called by the
/// owner's lifecycle (serialised); request_stop and in_call from any thread.
class ScheduleLoop {
public:
    /// The shortest time between two reads a wake-up causes.
    static constexpr Duration min_gap{25};

    ScheduleLoop(Schedules& schedules, ScheduleConfig config, const Logger& logger);

    /// Before the thread is spawned: clears the stop request and registers for changes.
    void begin();
    /// Unregisters for changes; not with the loop's lock held (a running callback takes it).
    void end_wakeups() noexcept;
    /// The thread's body: returns once stop is requested.
    void run() noexcept;
    /// Asks run() to return after the call under way.
    void request_stop() noexcept;
    /// True while the thread waits for the database (a stuck stop may interrupt it).
    [[nodiscard]] bool in_call() const noexcept { return in_call_.load(); }

private:
    // One look: ticks what is due; returns how long to sleep.
    Duration look() noexcept;
    void wake() noexcept;

    Schedules& schedules_;
    const ScheduleConfig config_;
    const Logger& logger_;
    Subscription changes_;
    std::atomic<bool> in_call_{false};
    bool failing_ = false; // only the thread reads and writes it

    std::mutex mutex_; // guards the two below
    std::condition_variable cv_;
    bool stopping_ = false;
    bool woken_ = false;
};

} // namespace gqs::detail
