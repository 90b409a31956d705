// SPDX-License-Identifier: Apache-2.0
// PullPolicy: when a Worker leases jobs, and how many.
#pragma once

#include <gqs/time.hpp>
#include <gqs/worker.hpp>

#include <chrono>
#include <optional>

namespace gqs::detail {

/// The adaptive local queue's length (WorkerConfig::adaptive): as many jobs as the threads
/// start within four pull round trips at their recent handler times, at most `most`, and no
/// more than they start within lock_timeout / 4. Handler times and round trips are moving
/// averages (each new one weighs 1/8); before the first handler returns the queue is empty.
/// Not thread-safe.
class PrefetchEstimate {
public:
    PrefetchEstimate(int concurrency, int most, Duration lock_timeout) noexcept;

    /// Forgets every measurement: the queue is empty again.
    void reset() noexcept;
    /// A handler ran for `took`.
    void handler_ran(std::chrono::nanoseconds took) noexcept;
    /// A settle-and-pull call to the database took `took`.
    void round_trip(std::chrono::nanoseconds took) noexcept;
    /// The queue's length now.
    [[nodiscard]] int places() const noexcept { return places_; }

private:
    void update() noexcept;

    const double threads_;
    const int most_;
    const double start_budget_ns_; // lock_timeout / 4
    double handler_ns_ = -1;       // < 0: nothing measured yet
    double round_trip_ns_ = -1;
    int places_ = 0;
};

/// How many leases a Worker holds and when it takes more: at most concurrency + queue
/// leases (the queue fixed, or adaptive); a pull fills all the free room (up to batch_size);
/// after a full batch it pulls again at once (a backlog), after a push at once, else every
/// pull_interval; a pull due only to the timer asks a cheap readiness check first when the
/// puller has one; with a queue, it refills once half the room is free. Not thread-safe: the
/// Worker guards it with its lock.
class PullPolicy {
public:
    using Clock = std::chrono::steady_clock;

    PullPolicy(const WorkerConfig& config, bool cheap_ready_check) noexcept;

    /// A new run: nothing held or measured, the first pull due at once.
    void reset(Clock::time_point now) noexcept;

    /// Jobs were pushed in this process: the next pull is due at once.
    void pushed() noexcept { pushed_ = true; }
    /// A lease the worker held is gone (its result was taken for storage, it was lost, or
    /// released).
    void lease_ended() noexcept { --held_; }
    /// A handler ran for `took` (sizes an adaptive queue).
    void handler_ran(std::chrono::nanoseconds took) noexcept { estimate_.handler_ran(took); }

    /// Whether the worker keeps a local queue now (it may lease jobs for no idle thread).
    [[nodiscard]] bool queues() const noexcept { return queue_places() > 0; }
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
    /// readiness check said no) ended; `failed`: the pull threw; `took`: how long its call to
    /// the database took (zero: it made none, or the call failed).
    void cycle_ended(int reserved, int batch, int got, bool failed, Clock::time_point now,
                     std::chrono::nanoseconds took) noexcept;
    /// After cycle_ended: the pull's Puller::limit_wait. A wait shorter than the interval
    /// brings the next poll forward to when a limited queue may let a job start.
    void limit_held(std::optional<Duration> wait, Clock::time_point now) noexcept;
    /// A cycle that `reserved` room ended without pulling (an internal error).
    void cycle_abandoned(int reserved) noexcept { held_ -= reserved; }

private:
    [[nodiscard]] int queue_places() const noexcept {
        return fixed_queue_ >= 0 ? fixed_queue_ : estimate_.places();
    }
    // Leases held at most: threads plus queue places.
    [[nodiscard]] int capacity() const noexcept;

    const int threads_;
    const int fixed_queue_; // < 0: adaptive
    const int batch_size_;
    const bool cheap_check_;
    const bool filtered_; // serves named queues only
    const Duration interval_;
    PrefetchEstimate estimate_;

    int held_ = 0;             // leases reserved for a pull, queued, or held by handler threads
    bool backlog_ = false;     // the last pull filled its batch: more jobs are likely waiting
    bool pushed_ = false;      // jobs were pushed since the last pull began
    bool check_first_ = false; // a pull due only to the timer asks has_ready() first
    Clock::time_point next_poll_{};
};

} // namespace gqs::detail
