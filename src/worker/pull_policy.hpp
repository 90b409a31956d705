// SPDX-License-Identifier: Apache-2.0
// PullPolicy: when a Worker leases jobs, and how many.
#pragma once

#include <gqs/time.hpp>
#include <gqs/worker.hpp>

#include <chrono>

namespace gqs::detail {

/// How many leases a Worker holds and when it takes more: at most concurrency + queue
/// leases; a pull fills all the free room (up to batch_size); after a full batch it pulls
/// again at once (a backlog), after a push at once, else every pull_interval; a pull due only
/// to the timer asks a cheap readiness check first when the puller has one; with a queue,
/// it refills once half the room is free. Not thread-safe: the Worker guards it with its lock.
class PullPolicy {
public:
    using Clock = std::chrono::steady_clock;

    PullPolicy(const WorkerConfig& config, bool cheap_ready_check) noexcept;

    /// A new run: nothing held, the first pull due at once.
    void reset(Clock::time_point now) noexcept;

    /// Jobs were pushed in this process: the next pull is due at once.
    void pushed() noexcept { pushed_ = true; }
    /// A lease the worker held is gone (its result was taken for storage, it was lost, or
    /// released).
    void lease_ended() noexcept { --held_; }

    /// Whether idle threads should lease jobs now.
    [[nodiscard]] bool wants_pull(Clock::time_point now, bool stopping) const noexcept;
    /// Whether a thread with a queued job should refill the queue before running it.
    [[nodiscard]] bool wants_refill(Clock::time_point now, bool stopping) const noexcept;
    /// When idle threads pull again without a push.
    [[nodiscard]] Clock::time_point next_poll() const noexcept { return next_poll_; }

    /// What a starting cycle pulls: the free room it reserved (none when stopping), and
    /// whether to ask has_ready() first.
    struct Reservation {
        int batch = 0;
        bool check_first = false;
    };
    /// A cycle starting, with `results_waiting` results to store: reserves the free room.
    /// Pushes before this point are visible to its pull.
    [[nodiscard]] Reservation reserve(bool stopping, bool results_waiting) noexcept;
    /// A cycle that `reserved` room and pulled `got` jobs for a batch of `batch` (0 when the
    /// readiness check said no) ended; `failed`: the pull threw.
    void cycle_ended(int reserved, int batch, int got, bool failed, Clock::time_point now) noexcept;
    /// A cycle that `reserved` room ended without pulling (an internal error).
    void cycle_abandoned(int reserved) noexcept { held_ -= reserved; }

private:
    const int capacity_;  // leases held at most: threads plus queue places
    const int refill_at_; // with a queue, free places that call for a pull before they run out
    const int batch_size_;
    const bool queue_;
    const bool cheap_check_;
    const bool filtered_; // serves named queues only
    const Duration interval_;

    int held_ = 0;             // leases reserved for a pull, queued, or held by handler threads
    bool backlog_ = false;     // the last pull filled its batch: more jobs are likely waiting
    bool pushed_ = false;      // jobs were pushed since the last pull began
    bool check_first_ = false; // a pull due only to the timer asks has_ready() first
    Clock::time_point next_poll_{};
};

} // namespace gqs::detail
