// SPDX-License-Identifier: Apache-2.0
// How every backend stores times and metadata, and checks its arguments: written once.
#pragma once

#include <gqs/job.hpp>
#include <gqs/message.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::detail {

// ---- time: storage keeps INTEGER microseconds since the Unix epoch (UTC) ------------------

using Micros = std::chrono::microseconds;

inline std::int64_t to_micros(TimePoint t) noexcept {
    return std::chrono::duration_cast<Micros>(t.time_since_epoch()).count();
}
inline TimePoint from_micros(std::int64_t us) noexcept {
    // TimePoint may count finer than microseconds (nanoseconds with libstdc++): a time
    // another program wrote far out of range saturates instead of overflowing.
    constexpr auto max_us = std::chrono::duration_cast<Micros>(TimePoint::duration::max()).count();
    constexpr auto min_us = std::chrono::duration_cast<Micros>(TimePoint::duration::min()).count();
    us = std::clamp<std::int64_t>(us, min_us, max_us);
    return TimePoint(std::chrono::duration_cast<TimePoint::duration>(Micros(us)));
}
/// The current time, already truncated to what storage keeps.
inline std::int64_t now_micros() noexcept { return to_micros(std::chrono::system_clock::now()); }

/// now + d in microseconds, saturating instead of overflowing for huge durations.
inline std::int64_t add_micros(std::int64_t now, Duration d) noexcept {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    constexpr std::int64_t per_ms = 1000;
    std::int64_t ms = d.count();
    if (ms > (max - now) / per_ms) return max;
    return now + ms * per_ms;
}

// ---- metadata: JSON text ------------------------------------------------------------------

/// The metadata text to store: "" (stored as NULL) for empty metadata and for `null`,
/// otherwise message.metadata as it is. Throws std::invalid_argument, naming the job (and
/// where the value is), for what a push refuses on every backend: text that is not JSON
/// (invalid UTF-8 and NUL bytes included), nesting deeper than max_metadata_depth, and a NUL
/// character escaped in a string or key (PostgreSQL's jsonb cannot hold it). Parses without
/// recursion and builds no value, whatever the text's depth.
std::string encode_metadata(const Message& message);

/// The Status a stored status code (1..4) stands for; Status::Unknown for any other value
/// (a row another program wrote).
[[nodiscard]] constexpr Status status_of_code(std::int64_t code) noexcept {
    return code >= 1 && code <= 4 ? static_cast<Status>(code) : Status::Unknown;
}

// ---- error history: a JSON array of {"at": micros, "attempt": n, "message": text} ----------

/// `message` as stored in the error history: invalid UTF-8 replaced by U+FFFD, cut to at most
/// max_error_bytes on a character boundary.
std::string error_entry(std::string_view message);
/// The error history as stored to AttemptErrors, oldest first, at most the last
/// max_attempt_errors. Tolerant: text that is not a JSON array (or nests deeper than
/// max_metadata_depth) gives no entries, and an entry without its fields is read with what
/// it has.
std::vector<AttemptError> decode_errors(std::string_view text);

// ---- queues, priorities, unique keys ------------------------------------------------------

/// Each queue name once, sorted: a name given twice must not take two of a pull's places
/// (nor lock a queue's rows twice).
[[nodiscard]] std::vector<std::string> distinct_queues(std::span<const std::string> queues);

/// Puts pulled jobs in the order a pull promises: lowest priority number first, then oldest
/// next_run_at, then id (a statement's RETURNING gives rows in no promised order).
void sort_pulled(std::vector<Job>& jobs);

/// Throws std::invalid_argument, naming the job, unless the message's queue, priority, unique
/// key, concurrency key and group are within what Message promises.
void check_message(const Message& message);
/// Throws std::invalid_argument unless every name is a valid queue name.
void check_queues(std::span<const std::string> queues);
/// The queue names as a JSON array of strings, each once (how a backend binds a list).
std::string encode_queues(std::span<const std::string> queues);

// ---- argument checks, the same message for every backend -----------------------------------

/// Throws std::invalid_argument("gqs: <what> must not be negative") for a negative delay.
void check_delay(Duration delay, const char* what);
/// Throws std::invalid_argument unless batch > 0 and lock > 0.
void check_pull(int batch, Duration lock);
/// Throws std::invalid_argument("gqs: <what> must be positive") unless lock > 0.
void check_lock(Duration lock, const char* what);

} // namespace gqs::detail
