// SPDX-License-Identifier: Apache-2.0
// PullPolicy: when a Worker leases jobs, and how many.
#include "pull_policy.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

namespace gqs::detail {

namespace {

// a + b for a config's counts, without overflow (validate rejects negative ones).
int saturated_sum(int a, int b) noexcept {
    const long long sum = static_cast<long long>(a) + b;
    return static_cast<int>(std::min<long long>(sum, std::numeric_limits<int>::max()));
}

} // namespace

PrefetchEstimate::PrefetchEstimate(int concurrency, int most, Duration lock_timeout) noexcept
    : threads_(concurrency), most_(most),
      start_budget_ns_(static_cast<double>(std::chrono::nanoseconds(lock_timeout).count()) / 4.0) {}

void PrefetchEstimate::reset() noexcept {
    handler_ns_ = -1;
    round_trip_ns_ = -1;
    places_ = 0;
}

namespace {

// A moving average: each new sample weighs 1/8; the first one is taken as it is.
void average_in(double& average, std::chrono::nanoseconds sample) noexcept {
    const auto x = static_cast<double>(std::max<std::int64_t>(0, sample.count()));
    average = average < 0 ? x : average + (x - average) / 8.0;
}

} // namespace

void PrefetchEstimate::handler_ran(std::chrono::nanoseconds took) noexcept {
    average_in(handler_ns_, took);
    update();
}

void PrefetchEstimate::round_trip(std::chrono::nanoseconds took) noexcept {
    average_in(round_trip_ns_, took);
    update();
}

void PrefetchEstimate::update() noexcept {
    if (handler_ns_ < 0 || round_trip_ns_ < 0) {
        places_ = 0;
        return;
    }
    // Jobs per nanosecond the threads start; a handler faster than 100 ns counts as 100 ns.
    const double starts_per_ns = threads_ / std::max(handler_ns_, 100.0);
    // Four round trips of work: with the refill at half the queue, the threads keep busy
    // through a slow round trip while each pull brings a large batch.
    const double useful = 4.0 * round_trip_ns_ * starts_per_ns;
    const double safe = start_budget_ns_ * starts_per_ns;
    const double places = std::min({static_cast<double>(most_), useful, safe});
    places_ = static_cast<int>(std::max(0.0, places)); // floor: a fraction of a job is none
}

PullPolicy::PullPolicy(const WorkerConfig& config, bool cheap_ready_check) noexcept
    : threads_(config.concurrency), fixed_queue_(config.prefetch), batch_size_(config.batch_size),
      cheap_check_(cheap_ready_check), filtered_(!config.queues.empty()),
      interval_(config.pull_interval),
      estimate_(config.concurrency, config.batch_size, config.lock_timeout) {}

int PullPolicy::capacity() const noexcept { return saturated_sum(threads_, queue_places()); }

void PullPolicy::reset(Clock::time_point now) noexcept {
    held_ = 0;
    backlog_ = false;
    pushed_ = false;
    check_first_ = false;
    next_poll_ = now;
    estimate_.reset();
}

bool PullPolicy::wants_pull(Clock::time_point now, bool stopping) const noexcept {
    return !stopping && held_ < capacity() && (backlog_ || pushed_ || now >= next_poll_);
}

bool PullPolicy::wants_refill(Clock::time_point now, bool stopping) const noexcept {
    // Without a queue, jobs at hand were leased for idle threads and start first. With one,
    // refill once half of the room a pull may fill is free.
    if (!queues() || !wants_pull(now, stopping)) return false;
    const int capacity_now = capacity();
    const int refill_at = std::max(1, std::min(batch_size_, capacity_now) / 2);
    return capacity_now - held_ >= refill_at;
}

PullPolicy::Reservation PullPolicy::reserve(bool stopping, bool results_waiting) noexcept {
    Reservation r;
    // Every cycle fills all the free room, whatever made it due.
    r.batch = stopping ? 0 : std::max(0, std::min(batch_size_, capacity() - held_));
    // After an interval passed with no push, no backlog and no result to store, ask
    // has_ready() first: a read, so an idle worker polling an empty queue never takes the
    // database's write lock. A worker serving named queues asks after a push too: the push may
    // have gone to a queue it does not serve.
    r.check_first = r.batch > 0 && check_first_ && cheap_check_ && !backlog_ &&
                    (!pushed_ || filtered_) && !results_waiting;
    held_ += r.batch;
    // Pushes before this point are visible to the pull; later ones call for another cycle.
    if (r.batch > 0) pushed_ = false;
    return r;
}

void PullPolicy::cycle_ended(int reserved, int batch, int got, bool failed, Clock::time_point now,
                             std::chrono::nanoseconds took) noexcept {
    held_ += got - reserved;
    if (took > std::chrono::nanoseconds::zero()) estimate_.round_trip(took);
    if (failed) {
        backlog_ = false;
        check_first_ = false;
        next_poll_ = now + interval_;
    } else if (reserved > 0) {
        // A full batch suggests a backlog: pull again as soon as a thread is idle instead of
        // waiting an interval per batch. Otherwise (or when has_ready() said no) the queue
        // looked empty: poll again after an interval, or at once after a push.
        backlog_ = batch > 0 && got >= batch;
        check_first_ = !backlog_;
        if (!backlog_) next_poll_ = now + interval_;
    }
}

void PullPolicy::limit_held(std::optional<Duration> wait, Clock::time_point now) noexcept {
    if (!wait || backlog_) return;
    next_poll_ = std::min(next_poll_, now + *wait);
}

} // namespace gqs::detail
