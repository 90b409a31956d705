// SPDX-License-Identifier: Apache-2.0
// What a handler's run means for its job: the one rule Worker and testing::work_one share.
#pragma once

#include <gqs/backoff.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/worker.hpp>

#include <cstdint>
#include <stop_token>
#include <string>

namespace gqs::detail {

/// How a handler's run ended.
enum class Outcome : std::uint8_t { Success, Kill, Failure, Snooze };

/// A handler's run: how it ended and, unless it returned, the exception's message.
struct RunResult {
    Outcome outcome = Outcome::Success;
    std::string error;
    Duration snooze{}; ///< for Outcome::Snooze: the delay the handler asked for
};

/// Runs `handler` on this thread and catches whatever it throws. Never throws.
RunResult run_handler(const Handler& handler, const Job& job, std::stop_token stop) noexcept;

/// The transition to store for a run: Complete, Kill, or Requeue after `backoff`.
struct Decision {
    Action action = Action::Complete;
    Duration backoff{};
    bool retries_spent = false; ///< a failure turned into Kill because no retry is left
    std::string error;          ///< the error history entry to store (Requeue, Kill)
};

/// Pure: returning completes; gqs::Kill kills; any other failure requeues with the backoff
/// of the job's attempt, or kills once max_retries retries are spent. `jitter` in [0, 1]
/// picks the backoff's jitter (see backoff_interval).
[[nodiscard]] Decision decide(const BackoffConfig& backoff, std::uint32_t attempts, Outcome outcome,
                              double jitter) noexcept;

/// decide() for a whole run, with a random jitter, as the Worker uses it: a snooze is
/// Action::Snooze after its delay; the error entry is the exception's message ("killed: "
/// before a gqs::Kill's). Thread-safety: any thread.
[[nodiscard]] Decision decide(const BackoffConfig& backoff, std::uint32_t attempts,
                              const RunResult& run);

} // namespace gqs::detail
