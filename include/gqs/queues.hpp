// SPDX-License-Identifier: Apache-2.0
// Queues: the limits stored per queue in a queue's database (max running, rate, pause, weights).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gqs {

/// The limits of one queue, as stored (docs/limits.md). The default value is "no limits": a
/// queue never configured has it. Pulls honour every field (docs/limits.md).
/// Value type; not synchronised (const members may run concurrently with each other).
struct QueueLimits {
    /// The most jobs of the queue running at once (Processing with a live lease); >= 1.
    std::optional<int> max_running;
    /// A token bucket of job starts per second (fractional allowed); finite and > 0.
    std::optional<double> rate;
    /// The token bucket's size: how many starts may follow each other at once; >= 1.
    int burst = 1;
    /// The most running jobs of the queue that share one concurrency key; >= 1.
    std::optional<int> max_running_per_key;
    /// A paused queue is not pulled.
    bool paused = false;
    /// Serve the queue's ready jobs round-robin across their Message::group (fair share);
    /// implied by a non-empty group_weights. Not combined with max_running_per_key.
    bool fair_share = false;
    /// Fair-share weights by group name (a group not listed weighs 1); each 1..1000, each
    /// name 1..127 bytes of UTF-8 without NUL.
    std::map<std::string, int> group_weights;

    /// Equal when every field is.
    friend bool operator==(const QueueLimits&, const QueueLimits&) = default;
};

/// Throws std::invalid_argument, naming the field and the value, unless `limits` can be
/// stored: max_running, max_running_per_key and burst >= 1, rate finite and > 0, each group
/// weight 1..1000 and each group name 1..127 bytes of UTF-8 without NUL, and not both fair
/// share (fair_share or group weights) and max_running_per_key. Thread-safe.
void validate(const QueueLimits& limits);

/// The queue limits stored in a queue's database, the same for every process that opens it
/// (docs/limits.md). Each backend has one (`sqlite::Queues`, `postgres::Queues`) over its
/// Connection. Each operation is one atomic statement. Every member throws
/// std::invalid_argument for a queue name that is not 1..127 bytes of UTF-8 without NUL
/// (nothing stored), and StorageError if the database fails.
/// Thread-safety: every member is safe from any thread and from several processes at once.
class Queues {
public:
    virtual ~Queues() = default;
    /// Replaces every limit of `queue` with `limits` (validate's message, nothing stored, if
    /// they are invalid). The token bucket's state is kept when rate and burst are unchanged,
    /// and starts again full otherwise.
    virtual void set_limits(const std::string& queue, const QueueLimits& limits) = 0;
    /// The limits of `queue`; a queue never configured (or cleared) has QueueLimits{}.
    [[nodiscard]] virtual QueueLimits limits(const std::string& queue) = 0;
    /// Sets `queue` paused, keeping its other limits (storing the queue if it had none).
    /// No-op if paused already.
    virtual void pause(const std::string& queue) = 0;
    /// Sets `queue` not paused, keeping its other limits. No-op if not paused; a queue never
    /// configured stays unconfigured (it is not paused).
    virtual void resume(const std::string& queue) = 0;
    /// Deletes every limit of `queue` (back to QueueLimits{}); false if it had none stored.
    virtual bool clear(const std::string& queue) = 0;
    /// Every queue with stored limits, with them, by name (byte order).
    [[nodiscard]] virtual std::vector<std::pair<std::string, QueueLimits>> list() = 0;
};

} // namespace gqs
