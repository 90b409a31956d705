// SPDX-License-Identifier: Apache-2.0
// PullPolicy: when a Worker leases jobs, and how many.
#include "pull_policy.hpp"

#include <algorithm>
#include <limits>

namespace gqs::detail {

namespace {

// a + b for a config's counts, without overflow (validate rejects negative ones).
int saturated_sum(int a, int b) noexcept {
    const long long sum = static_cast<long long>(a) + b;
    return static_cast<int>(std::min<long long>(sum, std::numeric_limits<int>::max()));
}

} // namespace

PullPolicy::PullPolicy(const WorkerConfig& config, bool cheap_ready_check) noexcept
    : capacity_(saturated_sum(config.concurrency, config.prefetch)),
      refill_at_(std::max(1, std::min(config.batch_size, capacity_) / 2)),
      batch_size_(config.batch_size), queue_(config.prefetch > 0), cheap_check_(cheap_ready_check),
      filtered_(!config.queues.empty()), interval_(config.pull_interval) {}

void PullPolicy::reset(Clock::time_point now) noexcept {
    held_ = 0;
    backlog_ = false;
    pushed_ = false;
    check_first_ = false;
    next_poll_ = now;
}

bool PullPolicy::wants_pull(Clock::time_point now, bool stopping) const noexcept {
    return !stopping && held_ < capacity_ && (backlog_ || pushed_ || now >= next_poll_);
}

bool PullPolicy::wants_refill(Clock::time_point now, bool stopping) const noexcept {
    // Without a queue, jobs at hand were leased for idle threads and start first.
    return queue_ && wants_pull(now, stopping) && capacity_ - held_ >= refill_at_;
}

PullPolicy::Reservation PullPolicy::reserve(bool stopping, bool results_waiting) noexcept {
    Reservation r;
    // Every cycle fills all the free room, whatever made it due.
    r.batch = stopping ? 0 : std::min(batch_size_, capacity_ - held_);
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

void PullPolicy::cycle_ended(int reserved, int batch, int got, bool failed,
                             Clock::time_point now) noexcept {
    held_ += got - reserved;
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

} // namespace gqs::detail
