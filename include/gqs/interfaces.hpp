// SPDX-License-Identifier: Apache-2.0
// The storage-agnostic queue interfaces. Backends implement them; Worker uses them.
#pragma once

#include <gqs/job.hpp>
#include <gqs/message.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>
#include <gqs/uuid.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace gqs {

/// Puts new jobs into the queue, Pending, runnable after `delay`.
class Pusher {
public:
    virtual ~Pusher() = default;
    /// Stores one job. Throws DuplicateJob if the id exists, std::invalid_argument on a
    /// negative delay, StorageError on storage failure; nothing is stored on failure.
    virtual void push(const Message& message, Duration delay = {}) = 0;
    /// Stores all jobs in one transaction, or none of them (same errors as push; an id
    /// repeated inside the batch is a DuplicateJob too).
    virtual void push_batch(std::span<const Message> messages, Duration delay = {}) = 0;
};

/// Leases jobs and moves leased jobs to their next state. Every transition acts only on
/// the lease the caller holds (fenced by Job::attempts): a stale holder gets an error,
/// never a silent success. On success the caller's Job is updated to match storage.
class Puller {
public:
    virtual ~Puller() = default;
    /// Leases up to `batch` runnable jobs (Pending, or Processing with an expired lease,
    /// and next_run_at <= now) for `lock`, oldest next_run_at first. Each pulled job is
    /// Processing with attempts + 1. Throws std::invalid_argument if batch <= 0 or lock <= 0.
    [[nodiscard]] virtual std::vector<Job> pull(int batch, Duration lock) = 0;
    /// Moves the lease end to now + lock. Throws LockLost if the caller's lease is gone,
    /// std::invalid_argument if lock <= 0.
    virtual void extend_lock(Job& job, Duration lock) = 0;
    /// Marks the job Done. Throws CompleteFailed if the caller's lease is gone.
    virtual void complete(Job& job) = 0;
    /// Puts the job back to Pending, runnable after `backoff` (the Go Return). Throws
    /// JobLost if the caller's lease is gone, std::invalid_argument on a negative backoff.
    virtual void requeue(Job& job, Duration backoff) = 0;
    /// Marks a leased (by the caller) or Pending job Dead. Throws JobLost otherwise.
    virtual void kill(Job& job) = 0;
};

/// Reads jobs without changing them.
class Observer {
public:
    virtual ~Observer() = default;
    /// The job with this id, or nullopt if there is none.
    [[nodiscard]] virtual std::optional<Job> get(const Uuid& id) = 0;
    /// Jobs with this status (Unknown: any), oldest created first (ties by id);
    /// at most `limit` of them, or all when limit <= 0.
    [[nodiscard]] virtual std::vector<Job> list(Status status, int limit) = 0;
};

/// Deletes finished jobs.
class Cleaner {
public:
    virtual ~Cleaner() = default;
    /// Deletes Done (or Dead; Unknown: both) jobs, only those last updated at or before
    /// `before` when given. Returns how many were deleted. Throws BadStatus for Pending or
    /// Processing.
    [[nodiscard]] virtual std::int64_t clean(Status status, std::optional<TimePoint> before) = 0;
};

} // namespace gqs
