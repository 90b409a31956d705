// SPDX-License-Identifier: Apache-2.0
// Testing handlers without threads: one job, run on the calling thread, settled as a Worker would.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/time.hpp>
#include <gqs/worker.hpp>

#include <optional>
#include <string>

namespace gqs::testing {

/// What work_one did. Converts to false when no job was runnable.
struct WorkResult {
    /// The job as the handler saw it (after the pull: Processing, attempts counted);
    /// nullopt when nothing was runnable.
    std::optional<Job> job;
    /// What was stored: Complete (returned), Kill (gqs::Kill, or no retries left), Snooze
    /// (gqs::Snooze) or Requeue (any other exception, retries left).
    Action action = Action::Complete;
    /// The wait before the job runs again: for Requeue the backoff of the job's attempt (with
    /// jitter), for Snooze the handler's delay.
    Duration backoff{};
    /// The exception's what() when the handler threw; empty when it returned.
    std::string error;

    /// True when a job was run.
    explicit operator bool() const noexcept { return job.has_value(); }
};

/// Pulls one runnable job of config.queues (leased for config.lock_timeout), runs `handler` on the
/// calling thread with a stop token that is never requested, and stores the outcome exactly as a
/// Worker with `config` would: complete, requeue with the backoff, or kill. No threads, no lease
/// extension, no logging: a handler's unit test is deterministic. Returns an empty result when
/// nothing is runnable. Throws what the Puller throws (StorageError; LeaseLost if the handler
/// outlived lock_timeout and another worker took the job meanwhile) and std::invalid_argument for
/// an empty handler or an invalid config. Thread-safety: as the Puller's calls.
[[nodiscard]] WorkResult work_one(Puller& puller, const Handler& handler,
                                  const WorkerConfig& config = {});

} // namespace gqs::testing
