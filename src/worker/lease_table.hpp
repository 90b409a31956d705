// SPDX-License-Identifier: Apache-2.0
// LeaseTable: the leases a Worker holds, and which one is next due for an extension.
#pragma once

#include <gqs/job.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <stop_token>
#include <vector>

namespace gqs::detail {

/// A leased job not yet started: on its way to an idle thread, or queued (config.prefetch).
/// The lease keeper extends its lease like a running job's.
struct Pulled {
    Job job;
    std::chrono::steady_clock::time_point next_extension; // from the time taken before the pull
    std::chrono::steady_clock::time_point expires;        // when its lease runs out unextended
    bool extending = false;                               // the keeper is inside extend_lock for it
};

/// One handler thread's running job, as the lease keeper sees it.
struct Slot {
    bool active = false;    // a job is leased to this thread
    bool settling = false;  // its handler returned: no more extensions
    bool extending = false; // the keeper is inside extend_lock for it
    bool lost = false;      // extend_lock said the lease is gone
    bool at_risk = false;   // the watchdog asked its handler to stop: the lease may run out
    Job lease;              // see lease_snapshot
    std::stop_source stop{std::nostopstate};
    std::chrono::steady_clock::time_point next_extension{};
    std::chrono::steady_clock::time_point expires{}; // when its lease runs out unextended
};

/// What the lease keeper works on: the job's identity and lease, without payload and
/// metadata. The handler reads its own copy of the job meanwhile, so the two never share
/// an object.
[[nodiscard]] Job lease_snapshot(const Job& job);

/// The leases a Worker holds: one slot per handler thread (its running job) and the queue
/// of jobs leased but not started, each with when its lease is next extended. Entries of the
/// queue stay where they are (a std::list) while the keeper extends one without the lock.
/// Not thread-safe: the Worker guards it with its lock.
class LeaseTable {
public:
    using Clock = std::chrono::steady_clock;

    /// A new run with `threads` empty slots and an empty queue.
    void reset(std::size_t threads);
    [[nodiscard]] std::vector<Slot>& slots() noexcept { return slots_; }
    [[nodiscard]] std::list<Pulled>& queue() noexcept { return queue_; }
    [[nodiscard]] const std::list<Pulled>& queue() const noexcept { return queue_; }

    /// Queues the jobs of a pull; their first extension is due at `first_extension`, and
    /// their leases run out at `expires` unless extended.
    void add_pulled(std::vector<Job> jobs, Clock::time_point first_extension,
                    Clock::time_point expires);

    /// The lease to extend now: a running job's first, else a queued one; neither when
    /// none is due, and then `next` is when the first will be (time_point::max() if none).
    struct Due {
        Slot* slot = nullptr;
        std::list<Pulled>::iterator queued;
        Clock::time_point next = Clock::time_point::max();
        [[nodiscard]] bool any(const LeaseTable& table) const noexcept {
            return slot != nullptr || queued != table.queue_.end();
        }
    };
    [[nodiscard]] Due next_due(Clock::time_point now);

    /// The stop sources of the handlers running now.
    [[nodiscard]] std::vector<std::stop_source> running_stops() const;
    /// After the keeper failed: no lease is being extended any more.
    void clear_extending() noexcept;
    /// Whether the keeper is inside extend_lock for some lease now.
    [[nodiscard]] bool any_extending() const noexcept;

private:
    std::vector<Slot> slots_;
    std::list<Pulled> queue_;
};

} // namespace gqs::detail
