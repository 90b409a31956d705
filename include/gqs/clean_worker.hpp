// SPDX-License-Identifier: Apache-2.0
// CleanWorker: a background thread that deletes finished jobs on a schedule.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/logger.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>

#include <memory>
#include <optional>

namespace gqs {

/// What a CleanWorker deletes and how often. Value type. The defaults delete Done jobs last
/// updated more than 24 hours ago, once a minute.
struct CleanConfig {
    /// Done, Dead, or std::nullopt for both (Status::Unknown is refused: see validate).
    std::optional<Status> status = Status::Done;
    /// Pause between two cleans; > 0.
    Duration interval{60000};
    /// Delete only jobs last updated at or before now - older_than (now: the time of each
    /// clean); >= 0. std::nullopt deletes them whatever their age.
    std::optional<Duration> older_than = Duration{24 * 60 * 60 * 1000};
};

/// Throws std::invalid_argument unless status is Done, Dead or std::nullopt, interval > 0 and
/// older_than (when set) >= 0. Thread-safety: pure function.
void validate(const CleanConfig& config);

/// Calls Cleaner::clean at start and then every `interval` on a background thread. Failures
/// are logged (Error) and retried at the next interval, never thrown. A stopped clean worker
/// can be started again. Neither copyable nor movable.
/// Thread-safety: start, stop and the destructor may be called from any thread (they are
/// serialised). The Cleaner must outlive the clean worker.
class CleanWorker {
public:
    /// A stopped clean worker. An empty `logger` means default_logger. Throws
    /// std::invalid_argument for an invalid config (see validate).
    CleanWorker(Cleaner& cleaner, CleanConfig config = {}, Logger logger = {});
    /// Stops a running clean worker and waits for a clean under way to finish.
    ~CleanWorker();
    CleanWorker(const CleanWorker&) = delete;
    CleanWorker& operator=(const CleanWorker&) = delete;
    CleanWorker(CleanWorker&&) = delete;
    CleanWorker& operator=(CleanWorker&&) = delete;

    /// Starts the thread; the first clean happens at once. Throws DoubleStarted if running,
    /// or if the previous stop() timed out and its clean is still under way.
    void start();

    /// Stops the schedule and waits up to `timeout` for a clean under way. Throws
    /// DoubleStopped if not running; StopTimeout if the clean outlives the timeout (<= 0: do
    /// not wait), in which case the thread still finishes in the background, and a later
    /// stop() waits for it again (returning once it has finished).
    void stop(Duration timeout);

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs
