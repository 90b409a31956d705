// SPDX-License-Identifier: Apache-2.0
// Queue rules every backend applies the same way: what list and clean take, why an action
// failed.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/status.hpp>
#include <gqs/uuid.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

namespace gqs::detail {

/// The action's verb in messages: "complete", "requeue", "kill", "release".
[[nodiscard]] const char* verb_of(Action action) noexcept;

/// The message of a transition whose lease is gone: "gqs: cannot <verb> job <id> (attempt
/// n): it is gone, finished, or leased by someone else".
[[nodiscard]] std::string lease_lost_message(const char* verb, const Lease& lease);

/// Throws what a single transition (complete, requeue, ...) throws when its lease is gone:
/// CompleteFailed for Complete, JobLost otherwise.
[[noreturn]] void throw_lease_lost(Action action, const Lease& lease);

/// One row of a backend's stats query, added to `stats.queues[queue]`: the count of jobs
/// with `status` (1..4; others are ignored), and for Pending the times, for Processing the
/// expired leases.
void add_stats_row(Stats& stats, std::string queue, std::int64_t status, std::int64_t count,
                   std::int64_t expired, std::optional<TimePoint> oldest_ready,
                   std::optional<TimePoint> next_scheduled);

/// The status code Observer::list and list_after bind: 0 (any) for nullopt, else the status's
/// stored number. Throws std::invalid_argument for Status::Unknown (nullopt says "any").
[[nodiscard]] std::int64_t list_status_code(std::optional<Status> status);

/// The statuses Cleaner::clean(status) deletes, as a pair (equal when one): Done, Dead, or both
/// for nullopt. Throws std::invalid_argument for Status::Unknown (nullopt says "both"),
/// BadStatus for Pending, Processing or a value outside the enum.
[[nodiscard]] std::pair<Status, Status> clean_statuses(std::optional<Status> status);

/// What every backend's Transaction throws when used after it ended: std::logic_error
/// "gqs: <who>: the transaction has ended".
[[noreturn]] void throw_ended(const char* who);

/// What every backend's Transaction throws when the application's own COMMIT or ROLLBACK
/// through its handle ended it: std::logic_error "gqs: <who>: the transaction was ended by a
/// statement of the application (COMMIT or ROLLBACK through its handle)".
[[noreturn]] void throw_ended_by_app(const char* who);

/// What every backend's Transaction throws for a Pusher of another Connection:
/// std::invalid_argument "gqs: <who>: the transaction is open on another Connection".
[[noreturn]] void throw_other_connection(const char* who);

/// What every backend class throws for a null Connection: std::invalid_argument
/// "gqs: <who> needs a connection".
[[noreturn]] void throw_null_connection(const char* who);

/// After an Admin action matched no row: throws JobLost when the job does not exist
/// (`found` is nullopt), else BadStatus naming its status and what `action` takes (`wanted`,
/// e.g. "a dead job"). Backends call it with the status read in the action's transaction.
[[noreturn]] void explain_no_match(const Uuid& id, const char* action, const char* wanted,
                                   std::optional<Status> found);

} // namespace gqs::detail
