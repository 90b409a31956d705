// SPDX-License-Identifier: Apache-2.0
// ScheduleWorker: a background thread that pushes the stored schedules' slots as they fall due.
#pragma once

#include <gqs/logger.hpp>
#include <gqs/schedules.hpp>
#include <gqs/time.hpp>

#include <memory>

namespace gqs {

/// How a scheduler thread runs (a ScheduleWorker, or the one inside a Worker). Value type.
struct ScheduleConfig {
    /// The longest the scheduler sleeps between two reads of the stored schedules, however far
    /// off their next slots are: a change that woke no one (made through another SQLite
    /// Connection, or while PostgreSQL's wake-up was reconnecting) is seen within it. Also the
    /// pause after a failed tick. > 0.
    Duration recheck{1000};
};

/// Throws std::invalid_argument unless recheck > 0. Thread-safety: pure function.
void validate(const ScheduleConfig& config);

/// Runs Schedules::tick on a background thread whenever a slot of a stored schedule falls due:
/// it sleeps until the earliest next slot (at most `recheck`), and wakes early when a schedule
/// changes (Schedules::on_change). Any number of schedulers, in any number of processes, may
/// run over one database: each slot is pushed once. Failures are logged (Error) and retried
/// after `recheck`, never thrown. A stopped schedule worker can be started again. Neither
/// copyable nor movable.
/// Thread-safety: start, stop and the destructor may be called from any thread (they are
/// serialised). The Schedules must outlive the schedule worker.
class ScheduleWorker {
public:
    /// A stopped schedule worker. An empty `logger` means default_logger. Throws
    /// std::invalid_argument for an invalid config (see validate).
    explicit ScheduleWorker(Schedules& schedules, ScheduleConfig config = {}, Logger logger = {});
    /// Stops a running schedule worker and waits for a tick under way to finish.
    ~ScheduleWorker();
    ScheduleWorker(const ScheduleWorker&) = delete;
    ScheduleWorker& operator=(const ScheduleWorker&) = delete;
    ScheduleWorker(ScheduleWorker&&) = delete;
    ScheduleWorker& operator=(ScheduleWorker&&) = delete;

    /// Starts the thread; it reads the schedules (and ticks what is due) at once. Throws
    /// DoubleStarted if running, or if the previous stop() timed out and its tick is still
    /// under way.
    void start();

    /// Stops the thread and waits up to `timeout` for a tick under way. Throws DoubleStopped
    /// if not running; StopTimeout if the tick outlives the timeout (<= 0: do not wait), in
    /// which case the thread still finishes in the background, and a later stop() waits for
    /// it again (returning once it has finished). A slot a tick pushed is pushed whole
    /// (the job and the schedule's advance commit together) or not at all.
    void stop(Duration timeout);

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs
