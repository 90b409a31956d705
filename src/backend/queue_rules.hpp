// SPDX-License-Identifier: Apache-2.0
// The rules of Queues (the stored queue limits), written once over a backend's data layer.
#pragma once

#include <gqs/queues.hpp>

#include <chrono>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gqs::detail {

// A backend's Queues store is its dialect for the gqs_queues table, one row per configured
// queue. Each member is one statement, atomic on its own. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   void write(const std::string& queue, const QueueLimits&, const std::string& weights);
//       insert or replace by queue; `weights` is encode_group_weights' text ("" for none,
//       stored as NULL). The token bucket's state (tokens, refilled_at) is kept when rate and
//       burst are unchanged and reset to NULL otherwise
//   bool set_paused(const std::string& queue, bool paused);
//       pause: inserts the row (no other limits) when missing; resume: updates only.
//       true when a row was written
//   bool erase(const std::string& queue);                       false: no row
//   std::optional<QueueLimits> read(const std::string& queue);  nullopt: no row
//   std::vector<std::pair<std::string, QueueLimits>> read_all(); by queue, byte order
//   void announce_locked(const std::string& queue); void notify();
//       as for the Pusher's store (push.hpp)
//
// A change that may let more jobs start (set_limits, resume, clear) is announced as a push
// to the queue, so the workers of other processes look again instead of waiting for a poll.

/// Throws std::invalid_argument ("gqs: a queue name must be 1 to 127 bytes ...") unless
/// `queue` is a valid queue name: the same rule as Message::queue, the same message on every
/// backend.
void check_queue_name(const std::string& queue);

/// The group weights as stored: a JSON object of name to weight, "" when there are none.
[[nodiscard]] std::string encode_group_weights(const std::map<std::string, int>& weights);

/// The group weights from stored text. Tolerant of rows other programs wrote: text that is
/// not a JSON object gives none, and members that are not integers are skipped.
[[nodiscard]] std::map<std::string, int> decode_group_weights(std::string_view text);

/// A queue whose stored limits hold back what a pull may take or decide its order: paused,
/// with max_running, a rate, max_running_per_key or fair share. Read by the pulls (pull.hpp)
/// with the token bucket's state and the fair share's turn. Value type.
struct QueueGate {
    std::string queue;
    bool paused = false;
    std::optional<int> max_running;
    std::optional<int> max_running_per_key;
    std::optional<double> rate;
    int burst = 1;
    std::optional<double> tokens;            // the bucket's state; nullopt: never used (full)
    std::optional<std::int64_t> refilled_us; // when `tokens` was stored, µs since the epoch
    bool fair = false;                       // fair_share, or group weights stored
    std::map<std::string, int> group_weights;
    std::optional<std::string> turn_group; // the group served last ("": no group); nullopt: none
    int turn_used = 0;                     // how much of its turn turn_group has used
};

/// A token bucket at a moment: the starts it allows now, and the moment it describes.
struct Bucket {
    double tokens = 0;
    std::int64_t at_us = 0;
};

/// `gate`'s bucket refilled up to `now_us` (at most burst tokens; a new bucket is full).
/// A clock behind the stored moment refills nothing. Without a rate: unbounded tokens.
[[nodiscard]] Bucket refill(const QueueGate& gate, std::int64_t now_us) noexcept;

/// The jobs of `gate`'s queue a pull may take now: none when paused, else the least of
/// `wanted`, the free slots (max_running - running) and the whole tokens of `bucket`.
[[nodiscard]] int allowed_starts(const QueueGate& gate, const Bucket& bucket, int running,
                                 int wanted) noexcept;

/// How long until `bucket` holds one whole token at `rate` starts per second (zero if it
/// does), rounded up to a millisecond and at least one.
[[nodiscard]] std::chrono::milliseconds until_token(const Bucket& bucket, double rate) noexcept;

/// Queues::set_limits.
template <class Store>
void set_limits_with(Store& store, const std::string& queue, const QueueLimits& limits) {
    check_queue_name(queue);
    validate(limits);
    const std::string weights = encode_group_weights(limits.group_weights);
    store.locked([&] {
        store.write(queue, limits, weights);
        store.announce_locked(queue);
    });
    store.notify();
}

/// Queues::limits.
template <class Store>
QueueLimits limits_with(Store& store, const std::string& queue) {
    check_queue_name(queue);
    std::optional<QueueLimits> found;
    store.locked([&] { found = store.read(queue); });
    return found ? std::move(*found) : QueueLimits{};
}

/// Queues::pause and Queues::resume.
template <class Store>
void set_paused_with(Store& store, const std::string& queue, bool paused) {
    check_queue_name(queue);
    bool written = false;
    store.locked([&] {
        written = store.set_paused(queue, paused);
        if (written && !paused) store.announce_locked(queue);
    });
    if (written && !paused) store.notify();
}

/// Queues::clear.
template <class Store>
bool clear_with(Store& store, const std::string& queue) {
    check_queue_name(queue);
    bool erased = false;
    store.locked([&] {
        erased = store.erase(queue);
        if (erased) store.announce_locked(queue);
    });
    if (erased) store.notify();
    return erased;
}

/// Queues::list.
template <class Store>
std::vector<std::pair<std::string, QueueLimits>> list_queues_with(Store& store) {
    std::vector<std::pair<std::string, QueueLimits>> all;
    store.locked([&] { all = store.read_all(); });
    return all;
}

} // namespace gqs::detail
