// SPDX-License-Identifier: Apache-2.0
// ResultBuffer: handlers' results on their way to storage, and when they are due.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/logger.hpp>
#include <gqs/time.hpp>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

namespace gqs::detail {

/// A handler's result on its way to storage: the transition for its lease.
struct Finished {
    Lease lease;
    Action action = Action::Complete;
    Duration backoff{};
    std::string error; ///< the error history entry (Requeue, Kill)
    int tries = 0;     ///< stores that failed on storage so far
    /// When the lease runs out unless extended: a result that failed on storage is tried
    /// again until then (after it, another worker may hold the job).
    std::chrono::steady_clock::time_point expires = std::chrono::steady_clock::time_point::max();
    /// When the lease of a result waiting for another try is next extended.
    std::chrono::steady_clock::time_point next_extension{};
};

/// Results of returned handlers not yet stored. A cycle takes them all and stores them in
/// one transaction; a result waits at most `group_delay` for one, or `retry_pause` after a
/// storage failure. Not thread-safe: the Worker guards it with its lock.
class ResultBuffer {
public:
    using Clock = std::chrono::steady_clock;

    ResultBuffer(Duration group_delay, Duration retry_pause) noexcept
        : group_delay_(group_delay), retry_pause_(retry_pause) {}

    [[nodiscard]] bool empty() const noexcept { return waiting_.empty(); }
    [[nodiscard]] std::size_t size() const noexcept { return waiting_.size(); }

    /// Queues a result; the first of a group starts its group_delay.
    void add(Finished finished, Clock::time_point now);
    /// Every waiting result, for a cycle to store.
    [[nodiscard]] std::vector<Finished> take() noexcept;
    /// After a cycle: the results to try again go back; if any failed on storage they wait
    /// retry_pause, else nothing waits for a retry.
    void put_back(std::vector<Finished> again, bool storage_failed, Clock::time_point now);
    /// Forgets everything (a new run).
    void clear() noexcept;

    /// When the waiting results are due to be stored by whoever sees it.
    [[nodiscard]] Clock::time_point due_at() const noexcept;
    /// Results wait and are due at `now`.
    [[nodiscard]] bool due(Clock::time_point now) const noexcept {
        return !empty() && now >= due_at();
    }
    /// Results that failed on storage are not stored again before this.
    [[nodiscard]] Clock::time_point retry_at() const noexcept { return retry_at_; }

private:
    const Duration group_delay_;
    const Duration retry_pause_;
    std::vector<Finished> waiting_;
    Clock::time_point since_{};    // when waiting_ last became non-empty
    Clock::time_point retry_at_{}; // after a storage failure
};

/// Reads a cycle's SettleResults for `done` (in order) and returns the results to try again:
/// those that failed on storage while their lease lasts (Finished::expires is after `now`),
/// unless the worker is `giving_up` on storage, and that are not a release or snooze (one
/// retried after one that did commit could match the next holder's lease). Logs lost leases
/// (warning), a result's first storage failure and giving it up (error), other tries (debug).
[[nodiscard]] std::vector<Finished>
unsettled(std::vector<Finished> done, const std::vector<SettleResult>& results,
          const Logger& logger, std::chrono::steady_clock::time_point now, bool giving_up);

} // namespace gqs::detail
