// SPDX-License-Identifier: Apache-2.0
// One run of each workload, for gqs and for the raw baseline. Each run builds a fresh database.
#pragma once

#include "keyed_drain.hpp"
#include "limited_pull.hpp"
#include "schedule_tick.hpp"
#include "support.hpp"

#include <array>
#include <cstddef>
#include <vector>

namespace gqs_bench {

/// How big each workload is (full run or --quick).
struct Sizes {
    std::size_t push = 20'000;
    std::size_t push_batch = 100'000;
    std::size_t batch = 1'000;
    std::size_t push_unique = 20'000;
    std::size_t pull_complete_1 = 20'000;
    std::size_t pull_complete_100 = 100'000;
    std::size_t drain = 100'000;
    std::size_t drain_ceiling = 20'000; // raw pull(c) + complete c, the worker's ceiling
    std::size_t latency_samples = 1'000;
    double latency_budget_s = 10; // per run; a worker that polls slowly gets fewer samples
    std::size_t scale_done = 1'000'000;
    std::size_t scale_jobs = 100'000;
    std::size_t backlog_small = 1'000;
    std::size_t backlog_large = 100'000;
    std::size_t backlog_measured = 2'000; // also backlog_queues'
    std::size_t queues_small = 1'000;     // backlog_queues: ready jobs over q0..q9
    std::size_t queues_large = 100'000;
    std::size_t wall = 100'000;     // priority_wall: delayed jobs at priority 0
    std::size_t wall_ready = 1'000; // ready jobs at priority 5, all pulled
    double idle_window_s = 10;
    std::size_t memory_small = 1'000;
    std::size_t memory_large = 1'000'000;
    std::size_t memory_jobs = 20'000;
    TickSizes tick;                  // schedule_tick: schedules, looks and ticks per run
    std::size_t tick_done = 100'000; // schedule_tick: the Done jobs of its second setup

    [[nodiscard]] static Sizes for_mode(bool quick);
};

// Each function runs one measurement on a fresh database and returns jobs per second.
// `done_rows` Done jobs are inserted before the ready ones (the scale workload).

double gqs_push(const Settings& s, std::size_t n);
double raw_push(const Settings& s, std::size_t n);

double gqs_push_batch(const Settings& s, std::size_t n, std::size_t batch);
double raw_push_batch(const Settings& s, std::size_t n, std::size_t batch);

/// `n` single pushes, each with a unique key of its own (so never a duplicate).
double gqs_push_unique(const Settings& s, std::size_t n);
double raw_push_unique(const Settings& s, std::size_t n);

/// `ready` jobs are waiting; `measured` of them are pulled one at a time and completed.
double gqs_pull_complete_1(const Settings& s, std::size_t ready, std::size_t measured);
double raw_pull_complete_1(const Settings& s, std::size_t ready, std::size_t measured);

/// `n` ready jobs pulled `batch` at a time, each batch completed in one transaction.
double gqs_pull_complete_batch(const Settings& s, std::size_t n, int batch,
                               std::size_t done_rows = 0);
double raw_pull_complete_batch(const Settings& s, std::size_t n, int batch,
                               std::size_t done_rows = 0);

/// `backlog` ready jobs pushed one by one round-robin over queues q0..q9, then `measured`
/// more round-robin over q1, q4 and q7; `measured` jobs are pulled one at a time from q1, q4
/// and q7 (pull(1, lock, {"q1", "q4", "q7"})) and completed.
double gqs_pull_complete_queues(const Settings& s, std::size_t backlog, std::size_t measured);
double raw_pull_complete_queues(const Settings& s, std::size_t backlog, std::size_t measured);

/// `wall` jobs at priority 0 delayed by an hour, then `ready` ready jobs at priority 5; the
/// `ready` jobs are pulled one at a time (from every queue) and completed.
double gqs_pull_complete_wall(const Settings& s, std::size_t wall, std::size_t ready);
double raw_pull_complete_wall(const Settings& s, std::size_t wall, std::size_t ready);

/// The most a worker that leases no more than `c` jobs at a time can do with gqs's SQL: each
/// transaction completes the `c` jobs of the previous one and pulls the next `c`.
double raw_worker_ceiling(const Settings& s, std::size_t n, int c);
/// The same loop through gqs's Puller::settle_and_pull on one thread: what a worker could do
/// without any cost of its own threads.
double gqs_worker_ceiling(const Settings& s, std::size_t n, int c);

/// How a drain's ready jobs got into the database (never timed).
enum class DrainJobs {
    Filled,          ///< the raw INSERT, through a connection closed before the worker's opens
    PushedHere,      ///< gqs push_batch of Sizes::batch through the Connection the worker uses
    PushedElsewhere, ///< the same pushes through another Connection, closed before
};

/// A gqs::Worker with a no-op handler drains `n` ready jobs: default config but for
/// `concurrency`, and with `queue` > 0 that queue and a batch_size of `queue`. `batch` is
/// the push_batch size when `jobs` is pushed.
double gqs_worker_drain(const Settings& s, std::size_t n, int concurrency, int queue = 0,
                        DrainJobs jobs = DrainJobs::Filled, std::size_t batch = 1000);

/// Push-to-handler-start latencies in microseconds, for an idle worker; at most `samples`,
/// fewer if `budget_s` seconds run out first.
std::vector<double> gqs_latency(const Settings& s, std::size_t samples, double budget_s);

/// The same with the pushes made by another process (this program started again with
/// xproc_pusher_flag): push call there to handler start here, in microseconds. The worker's
/// pull_interval is 10 minutes, so only a wake-up explains a start. With a `period`, one push
/// every `period` (from the first); without, each 2 ms after the previous handler started.
std::vector<double> gqs_latency_xproc(const Settings& s, std::size_t samples, double budget_s,
                                      std::chrono::microseconds period = {});

/// argv[1] that makes the benchmark program the pusher process of gqs_latency_xproc.
inline constexpr const char* xproc_pusher_flag = "--xproc-pusher";
/// The pusher process: pushes one job to `db` per byte read from stdin, until end of file.
int run_xproc_pusher(const char* db, const char* synchronous);

/// `processes` worker processes (this program started again with xproc_drainer_flag; 4
/// threads each, the default config, no-op handler) drain `n` ready jobs from one file: jobs
/// per second from the go to the last Done.
double gqs_drain_processes(const Settings& s, std::size_t n, int processes);

/// argv[1] that makes the benchmark program a drainer process of gqs_drain_processes.
inline constexpr const char* xproc_drainer_flag = "--xproc-drainer";
/// The drainer process: opens `db`, runs a Worker from the first byte read from stdin until
/// end of file.
int run_xproc_drainer(const char* db, const char* synchronous);

/// What an idle worker on an empty queue cost over one measurement window.
struct IdleResult {
    double cpu_percent = 0;      // process CPU time / wall time x 100 (of one core)
    std::size_t polls = 0;       // has_ready() calls
    std::size_t write_polls = 0; // pull() and settle_and_pull() calls with batch > 0
    double seconds = 0;          // the window's wall time
};

/// A gqs::Worker (default config, no-op handler) on an empty queue, measured for `window_s`
/// seconds after its first pull.
IdleResult gqs_idle(const Settings& s, double window_s);

/// Heap in use (KiB) gained from before a worker starts (default config, no-op handler) to
/// the most seen while it handles `jobs` jobs, with `backlog` more jobs ready than it takes.
double gqs_memory_growth_kib(const Settings& s, std::size_t backlog, std::size_t jobs);

/// schedule_tick: for each count in `done`, a fresh database that holds that many Done jobs
/// (inserted as the scale workload's) and `z.schedules` schedules put through
/// gqs::sqlite::Schedules; then measure_schedule_ticks over them (one Connection each).
/// limited_pull (bench/limited_pull.hpp): jobs per second of each of limited_pull_queues, on
/// one fresh database.
LimitedPullRates gqs_limited_pull(const Settings& s, const LimitedPullSizes& z);

/// keyed_drain (bench/keyed_drain.hpp): jobs per second without keys and with them.
std::array<double, 2> gqs_keyed_drain(const Settings& s, const KeyedDrainSizes& z);

std::vector<TickCost> gqs_schedule_tick(const Settings& s, const TickSizes& z,
                                        const std::vector<std::size_t>& done);

/// True when the worker workloads are compiled in (gqs/worker.hpp exists).
bool have_worker() noexcept;

} // namespace gqs_bench
