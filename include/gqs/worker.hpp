// SPDX-License-Identifier: Apache-2.0
// Worker: a pool of threads that leases jobs, runs a handler on each and settles the result.
#pragma once

#include <gqs/backoff.hpp>
#include <gqs/hooks.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/logger.hpp>
#include <gqs/time.hpp>

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <vector>

namespace gqs {

/// How a Worker runs. Value type; the defaults suit jobs of up to a few seconds.
struct WorkerConfig {
    /// Handler threads, and so the most jobs running at once; > 0.
    int concurrency = 4;
    /// `prefetch` value: the worker sizes its local queue from what it measures (the default).
    static constexpr int adaptive = -1;
    /// Jobs the worker may lease ahead of its threads (its local queue): `adaptive`, or a fixed
    /// count >= 0 (0: it leases only for idle threads). Adaptive: up to batch_size, as many as
    /// its threads start within about four pull round trips at their recent handler times, and
    /// never more than they start within lock_timeout / 4; none before a handler has returned,
    /// and none for handlers much slower than a pull. A queue lets one transaction store and
    /// lease many short jobs; queued jobs keep their leases extended, and at stop those not
    /// started are released (Pending again, attempt not counted). Other workers cannot take a
    /// queued job.
    int prefetch = adaptive;
    /// The most jobs one pull leases (a pull also takes no more than the free room: idle
    /// threads plus free prefetch places), and the adaptive queue's limit; > 0.
    int batch_size = 256;
    /// Pause between pulls while the queue has nothing runnable, or after a failed pull; > 0.
    /// A pull that filled its whole batch is followed by the next one as soon as a thread is idle.
    Duration pull_interval{500};
    /// Lease of each pulled job, extended every lock_timeout / 2 while its handler runs; > 0.
    Duration lock_timeout{30000};
    /// When and how often a failed job is retried.
    BackoffConfig backoff;
    /// The named queues this worker serves (each a valid queue name); empty: every queue.
    std::vector<std::string> queues;
    /// Callbacks as jobs start and finish, pulls return and errors happen (see Hooks).
    Hooks hooks;
    /// Runs a scheduler thread in the worker (a ScheduleWorker with the default
    /// ScheduleConfig) when the Puller's backend stores schedules (Puller::schedules): the
    /// default, as any number of processes may run one. false leaves the slots to a
    /// ScheduleWorker or another process.
    bool schedules = true;
};

/// Throws std::invalid_argument when a field of `config` is outside the range its comment
/// gives (including its backoff). Thread-safety: pure function.
void validate(const WorkerConfig& config);

/// Processes one job. Returning marks the job Done; throwing gqs::Kill marks it Dead;
/// throwing gqs::Snooze(d) puts it back for `d` without counting the attempt; any other
/// exception retries it per the backoff (its what() joins the job's error history). `stop` is
/// requested when the worker stops or the job's lease is lost; the handler should then return or
/// throw soon. Beware: returning marks the job Done even after `stop` was requested, so a handler
/// that stops early must throw to have its job run again later, e.g. `if (stop.stop_requested())
/// throw std::runtime_error("stopped early");` (that counts as a failed attempt, retried with the
/// backoff). Delivery is at-least-once, so a handler must be idempotent. Called from several
/// threads at once.
using Handler = std::function<void(const Job& job, std::stop_token stop)>;

/// Leases runnable jobs from a Puller and runs `handler` on each in its own thread, at most
/// `concurrency` at a time, and holds at most `concurrency + prefetch` leases (with an adaptive
/// prefetch, `concurrency + batch_size`), extending each
/// every lock_timeout / 2 while its job runs or waits in the local queue. A result waits at
/// most a few milliseconds to be stored (grouped with others in one transaction).
/// A job whose lease is lost (LockLost) is left to its new holder: its handler's stop token
/// is requested and its result dropped. Storage errors are logged and retried, never thrown.
/// A stopped worker can be started again. Neither copyable nor movable.
/// Thread-safety: start, stop and the destructor may be called from any thread (they are
/// serialised), but not from one of this worker's handlers (stop() refuses with
/// std::logic_error; to stop from a handler, signal another thread that calls stop()). The Puller
/// must be safe to use from several threads at once (gqs::sqlite::Puller is) and, like everything
/// the handler uses, must outlive the worker.
class Worker {
public:
    /// A stopped worker. An empty `logger` means default_logger. Throws std::invalid_argument
    /// for an empty handler or an invalid config (see validate).
    Worker(Puller& puller, Handler handler, WorkerConfig config = {}, Logger logger = {});
    /// Stops a running worker and waits for its handlers, however long they take, and for
    /// their results to be stored (a result that fails is tried while its lease lasts).
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;
    Worker(Worker&&) = delete;
    Worker& operator=(Worker&&) = delete;

    /// Starts the threads; the first pull happens at once. Throws DoubleStarted if the worker
    /// is running, or if the previous stop() timed out and a handler of that run is still busy
    /// (try again later). Throws std::system_error if a thread cannot be created.
    void start();

    /// Stops pulling, requests every running handler's stop token, and waits up to `timeout`
    /// for the handlers to return and their jobs to be settled. Throws StopTimeout if handlers
    /// outlive the timeout (<= 0: do not wait): the worker keeps stopping in the background
    /// and still settles those jobs, and calling stop() again waits for that again (it
    /// returns once the stop has finished). If a call was waiting for the database when the
    /// timeout passed, it is interrupted (Puller::interrupt) and results that cannot be
    /// stored are given up (their jobs run again once their leases expire), so the stop
    /// finishes once the handlers have returned. Throws DoubleStopped if the worker is neither
    /// running nor stopping; std::logic_error, at once and changing nothing, when called from
    /// one of this worker's own handlers (it would wait for itself). Jobs leased but not
    /// started (the local queue, or a pull under way when stop() is called) are released:
    /// Pending again, their attempt not counted.
    void stop(Duration timeout);

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs
