// SPDX-License-Identifier: Apache-2.0
// The gqs CLI's commands, one function each, independent of how arguments are parsed.
#pragma once

#include "target.hpp"

#include <gqs/time.hpp>

#include <filesystem>
#include <optional>
#include <ostream>
#include <stdexcept>
#include <string>
#include <vector>

namespace gqs::cli {

/// A mistake on the command line (bad duration, status, id, JSON, queue name, priority,
/// unique key, missing argument):
/// main exits with status 2. Every other failure exits with status 1.
class UsageError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// What every command gets: the queue (a SQLite file or a PostgreSQL schema) and the output
/// form.
struct Context {
    Target target;
    /// One JSON document on `out` instead of aligned text.
    bool json = false;
    std::ostream* out = nullptr;
};

/// The message options `push` and `schedule add` share, as given on the command line.
struct MessageOptions {
    std::optional<std::string> payload;
    std::optional<std::filesystem::path> payload_file;
    std::optional<std::string> metadata;
    /// The named queue (default "default"), the priority text ("0".."9"), the unique key.
    std::optional<std::string> queue;
    std::optional<std::string> priority;
    std::optional<std::string> unique_key;
};

struct PushOptions {
    MessageOptions message;
    bool from_stdin = false;
    std::optional<std::string> delay;
    std::optional<std::string> id;
};

struct ScheduleAddOptions {
    std::string name;
    std::string cron;
    /// What each slot pushes; no payload option means an empty payload.
    MessageOptions message;
    /// "UTC", "local" or an IANA name.
    std::string zone = "UTC";
    /// latest, all or none.
    std::string catch_up = "latest";
    bool paused = false;
};

/// `queue limits NAME`'s setting options, as given (nullopt: not given, the stored value
/// stays). Numbers and `none` are parsed by run_queue_limits (usage errors).
struct QueueLimitsOptions {
    std::string queue;
    /// A whole number, or "none" (no limit).
    std::optional<std::string> max_running;
    /// Starts per second (fractional allowed), or "none" (no rate limit).
    std::optional<std::string> rate;
    /// A whole number.
    std::optional<std::string> burst;
    /// A whole number, or "none" (no limit).
    std::optional<std::string> max_running_per_key;
    /// GROUP=WEIGHT or GROUP=none (removes the group's weight), in the order given.
    std::vector<std::string> weights;
    /// "on" or "off".
    std::optional<std::string> fair_share;
};

struct ListOptions {
    std::string status = "all";
    int limit = 50;
    std::optional<std::string> after;
    /// Only this queue's jobs (filtered as the pages are read: the Observer has no filter).
    std::optional<std::string> queue;
};

struct StatsOptions {
    /// Only this queue's counts (zeros for a queue that holds no job).
    std::optional<std::string> queue;
    /// The Prometheus text format instead of a table (not with --json).
    bool prometheus = false;
};

struct GetOptions {
    std::string id;
    std::optional<std::filesystem::path> payload_out;
};

struct RetryOptions {
    std::optional<std::string> id;
    bool all_dead = false;
    std::optional<std::string> delay;
};

struct CleanOptions {
    std::string status = "all";
    std::optional<std::string> older_than;
};

/// Creates the SQLite file if needed, or the PostgreSQL schema, and gqs's tables (idempotent).
void run_init(const Context& ctx);
/// Pushes one job, or one job per non-empty line of standard input; prints the ids, or the
/// holder's id when the unique key is held.
void run_push(const Context& ctx, const PushOptions& options);
/// Counts per status, lag, next scheduled run, expired leases; in total and per queue.
void run_stats(const Context& ctx, const StatsOptions& options);
/// One page of jobs, oldest first, with their queue, priority and last error.
void run_list(const Context& ctx, const ListOptions& options);
/// Every field of one job, its error history included.
void run_get(const Context& ctx, const GetOptions& options);
/// Dead -> Pending, one job or every dead job.
void run_retry(const Context& ctx, const RetryOptions& options);
/// Pending -> Dead; a Processing job is flagged (cancel_requested) for its worker to stop.
void run_kill(const Context& ctx, const std::string& text);
/// Deletes a job that is not processing.
void run_delete(const Context& ctx, const std::string& text);
/// Deletes done and/or dead jobs, optionally only those older than a duration.
void run_clean(const Context& ctx, const CleanOptions& options);
/// Stores a schedule (adds it, or replaces the one of that name) and prints where it stands.
void run_schedule_add(const Context& ctx, const ScheduleAddOptions& options);
/// Every stored schedule: its cron, zone, queue, catch-up, state, next fire (in its zone and
/// in UTC), last fire and last job.
void run_schedule_list(const Context& ctx);
/// Stops a schedule's slots until it is resumed.
void run_schedule_pause(const Context& ctx, const std::string& name);
/// Lets a paused schedule fire again from its first slot after now.
void run_schedule_resume(const Context& ctx, const std::string& name);
/// Deletes a schedule (the jobs it pushed stay).
void run_schedule_remove(const Context& ctx, const std::string& name);
/// Pushes a schedule's message once, now; prints the job's id (or the holder's, when its
/// unique key is held).
void run_schedule_run(const Context& ctx, const std::string& name);

/// Every queue with stored limits, with them (docs/limits.md).
void run_queue_list(const Context& ctx);
/// Prints a queue's limits; with setting options, first changes those (the others keep their
/// stored value) and stores the result.
void run_queue_limits(const Context& ctx, const QueueLimitsOptions& options);
/// Sets a queue paused, keeping its other limits.
void run_queue_pause(const Context& ctx, const std::string& queue);
/// Sets a queue not paused, keeping its other limits.
void run_queue_resume(const Context& ctx, const std::string& queue);
/// Deletes a queue's stored limits; says whether it had any.
void run_queue_clear(const Context& ctx, const std::string& queue);

} // namespace gqs::cli
