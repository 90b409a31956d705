// SPDX-License-Identifier: Apache-2.0
// Hooks: callbacks a Worker makes as it works, for logs and metrics.
#pragma once

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/time.hpp>

#include <chrono>
#include <functional>

namespace gqs {

/// Callbacks a Worker makes as it works (WorkerConfig::hooks); each may be empty. They are
/// called synchronously on the worker's threads, several at once, never with the worker's lock
/// held: they must be thread-safe, quick and must not block (count, log, or hand off to
/// another thread). An exception a hook throws is logged and ignored. Value type.
struct Hooks {
    /// A handler is about to run `job`.
    std::function<void(const Job& job)> on_start;
    /// The handler of `job` returned or threw, and the worker will store `action` (Complete,
    /// Requeue, Kill or Snooze); `ran`: how long the handler took; `waited`: from the job's
    /// next_run_at (the database's clock) to its start (this machine's clock; zero if negative).
    std::function<void(const Job& job, Action action, std::chrono::microseconds ran,
                       std::chrono::microseconds waited)>
        on_finish;
    /// The worker learned that another holder has the job now (an extension or a settle
    /// found the lease gone): its handler is asked to stop, its result dropped.
    std::function<void(const Lease& lease)> on_lease_lost;
    /// A call to the database failed (a cycle's store and pull, or a lease extension); the
    /// worker retries as its documentation says.
    std::function<void(const StorageError& error)> on_storage_error;
    /// A pull returned `count` jobs (0 included) in `took` (with the results stored in the same
    /// call).
    std::function<void(int count, std::chrono::microseconds took)> on_pull;
};

} // namespace gqs
