// SPDX-License-Identifier: Apache-2.0
// The storage-agnostic queue interfaces. Backends implement them; Worker uses them.
#pragma once

#include <gqs/job.hpp>
#include <gqs/message.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>
#include <gqs/uuid.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gqs {

class Schedules;

/// What a push did with one message.
struct PushResult {
    /// The stored job: the message's id, or, for a duplicate, the id of the job that holds
    /// its unique key (always a job that exists).
    Uuid id;
    /// True when the message's unique key was held by a Pending or Processing job of its
    /// queue, so nothing was stored.
    bool duplicate = false;
    friend bool operator==(const PushResult&, const PushResult&) = default;
};

/// Puts new jobs into the queue, Pending, runnable after `delay`.
class Pusher {
public:
    virtual ~Pusher() = default;
    /// Stores one job, unless its unique key is held (see PushResult; the key is checked
    /// first, so pushing a stored message again returns its own id as a duplicate while it is
    /// live). Throws DuplicateJob if the id exists otherwise, std::invalid_argument on a negative
    /// delay, a bad queue, priority or unique key, or metadata nested deeper than
    /// max_metadata_depth, holding NUL or with no JSON form, StorageError on storage failure;
    /// nothing is stored on failure.
    virtual PushResult push(const Message& message, Duration delay = {}) = 0;
    /// Stores the jobs in one transaction, or none of them (same errors as push; an id
    /// repeated inside the batch is a DuplicateJob too). One result per message, in order; a
    /// second message with the same queue and unique key is a duplicate of the first.
    virtual std::vector<PushResult> push_batch(std::span<const Message> messages,
                                               Duration delay = {}) = 0;
};

/// What to do with a leased job, for Puller::settle. Release is for a job leased but never
/// started: Pending again at its old place in line, the attempt not counted (Puller::release).
/// Snooze is Pending again after the settlement's backoff, the attempt not counted
/// (Puller::snooze).
enum class Action : std::uint8_t { Complete, Requeue, Kill, Release, Snooze };

/// The lease a transition acts on: the job, the attempts its pull counted (the fencing token:
/// once the lease ran out and another pull took the job, a stale holder's attempts no longer
/// match), and the status the holder saw (Processing; Pending only to kill a job that was
/// never pulled). Value type.
struct Lease {
    Uuid id;
    std::uint32_t attempts = 0;
    Status status = Status::Processing;
    friend bool operator==(const Lease&, const Lease&) = default;
};

/// The lease a Job snapshot stands for.
[[nodiscard]] inline Lease lease_of(const Job& job) noexcept {
    return {job.id, job.attempts, job.status};
}

/// One transition for Puller::settle.
struct Settlement {
    Lease lease;
    Action action = Action::Complete;
    /// For Action::Requeue and Action::Snooze: how long until the job is runnable again (>= 0).
    Duration backoff{};
    /// For Action::Requeue and Action::Kill: the entry added to the job's error history (none
    /// when empty); cut to max_error_bytes of valid UTF-8.
    std::string error{};
};

/// How one settlement ended.
enum class SettleStatus : std::uint8_t {
    Applied,       ///< stored
    LeaseLost,     ///< the lease was gone (as LeaseLost from the single call); nothing changed
    StorageFailed, ///< storage failed (as StorageError from the single call); nothing changed
};

/// What became of one settlement.
struct SettleResult {
    SettleStatus status = SettleStatus::Applied;
    /// Why it was not applied: the message the single call would have thrown.
    std::string error;
    /// When applied: the job's updated_at as stored (the backend's clock).
    TimePoint updated_at{};
    /// When applied by Requeue or Snooze: when the job is runnable again.
    std::optional<TimePoint> next_run_at;
    /// When applied: the job had been cancelled (Admin::cancel), so a Requeue, Kill, Snooze or
    /// Release made it Dead with the error "cancelled".
    bool cancelled = false;
    /// When StorageFailed: the StorageError itself (rethrow it to read its kind() and
    /// native_code()); may be null for a result made by a test double.
    std::exception_ptr storage_error;
    /// True when the settlement was stored.
    [[nodiscard]] bool applied() const noexcept { return status == SettleStatus::Applied; }
};

/// Keeps a Puller::on_push registration alive; unregisters when destroyed or reset.
/// Move-only. Thread-safety: destroy it from any thread, not concurrently with itself.
class Subscription {
public:
    Subscription() = default;
    /// Wraps the function that cancels the registration (called once, at most).
    explicit Subscription(std::function<void()> cancel) : cancel_(std::move(cancel)) {}
    Subscription(Subscription&& other) noexcept : cancel_(std::exchange(other.cancel_, {})) {}
    Subscription& operator=(Subscription&& other) noexcept {
        if (this != &other) {
            reset();
            cancel_ = std::exchange(other.cancel_, {});
        }
        return *this;
    }
    Subscription(const Subscription&) = delete;
    Subscription& operator=(const Subscription&) = delete;
    ~Subscription() { reset(); }
    /// Unregisters now; after it returns the callback is not running and never runs again.
    void reset() noexcept {
        if (cancel_) std::exchange(cancel_, {})();
    }

private:
    std::function<void()> cancel_;
};

/// What a Puller can do beyond what every backend must. A backend states these instead of
/// faking them, and the Worker adapts.
struct PullerCapabilities {
    /// on_push calls back after pushes committed through this backend in this process; without
    /// it, on_push returns an empty Subscription and workers find new jobs by polling.
    bool push_notifications = false;
    /// has_ready is a cheap read that never takes a write lock; without it, has_ready always
    /// answers true and the Worker does not call it (its idle polls are pulls).
    bool cheap_ready_check = false;
};

/// Leases jobs and moves leased jobs to their next state. Every transition acts only on
/// the lease the caller holds (fenced by Job::attempts): a stale holder gets an error,
/// never a silent success. On success the caller's Job is updated to match storage.
/// The single transitions (complete, requeue, kill, snooze, release) are one settle() of one
/// entry, the same for every backend; the virtual members are what a backend provides (see
/// docs/design.md, "The backend seam").
class Puller {
public:
    virtual ~Puller() = default;
    /// Leases up to `batch` runnable jobs (Pending, or Processing with an expired lease,
    /// and next_run_at <= now) of the given queues (empty: every queue) for `lock`, lowest
    /// priority number first, then oldest next_run_at, within the limits stored for the queues
    /// (docs/limits.md: a paused queue gives none, a limited one no more than its free slots
    /// and tokens allow). Each pulled job is Processing with
    /// attempts + 1; a job whose lease had expired gets the error "lease expired" (a cancelled
    /// one goes Dead instead, with "cancelled", and is not returned). Throws
    /// std::invalid_argument if batch <= 0, lock <= 0 or a queue name is invalid.
    [[nodiscard]] virtual std::vector<Job> pull(int batch, Duration lock,
                                                std::span<const std::string> queues = {}) = 0;
    /// Moves the lease end to now + lock and refreshes job.cancel_requested. Throws LockLost
    /// if the caller's lease is gone, std::invalid_argument if lock <= 0.
    virtual void extend_lock(Job& job, Duration lock) = 0;
    /// Marks the job Done. Throws CompleteFailed if the caller's lease is gone, StorageError
    /// if storage failed (nothing changed).
    void complete(Job& job);
    /// Puts the job back to Pending, runnable after `backoff` (the Go Return), adding `error`
    /// (if not empty) to its error history. A cancelled job goes Dead ("cancelled") instead.
    /// Throws JobLost if the caller's lease is gone, std::invalid_argument on a negative
    /// backoff, StorageError if storage failed (nothing changed).
    void requeue(Job& job, Duration backoff, std::string_view error = {});
    /// Marks a leased (by the caller) or Pending job Dead, adding `error` (if not empty) to its
    /// error history. Throws JobLost otherwise.
    void kill(Job& job, std::string_view error = {});
    /// Puts a leased job back to Pending, runnable after `delay`, without counting the attempt
    /// or recording an error (a handler's gqs::Snooze). A cancelled job goes Dead instead.
    /// Throws JobLost if the caller's lease is gone, std::invalid_argument on a negative delay.
    /// As with release, no copy of the job may be used for a transition afterwards.
    void snooze(Job& job, Duration delay);
    /// Gives back a lease whose job never ran: Pending again, runnable at once, and the
    /// attempt the pull counted is taken back. Throws JobLost if the caller's lease is gone.
    /// The next pull hands out the same attempts again, so no copy of the released job may
    /// be used for a transition afterwards.
    void release(Job& job);

    /// Applies many transitions at once; a backend may group them into one transaction.
    /// Returns one result per settlement, in order: a lost lease fails only its own entry;
    /// a storage failure fails the entries it kept from being stored. Throws only for a
    /// negative backoff (std::invalid_argument, nothing applied).
    [[nodiscard]] virtual std::vector<SettleResult>
    settle(std::span<const Settlement> settlements) = 0;

    /// Completes every job through settle(), updating each completed Job as complete() does;
    /// same results.
    [[nodiscard]] std::vector<SettleResult> complete_batch(std::span<Job> jobs);

    /// settle(settlements), then pull(batch, lock, queues) when batch > 0; a backend may do both in
    /// one transaction (one commit per worker cycle). `results` gets settle's per-entry
    /// results before anything is thrown; a failure of the pull throws as pull() does, after
    /// the settlements were applied (or failed) on their own.
    [[nodiscard]] virtual std::vector<Job>
    settle_and_pull(std::span<const Settlement> settlements, std::vector<SettleResult>& results,
                    int batch, Duration lock, std::span<const std::string> queues = {}) = 0;

    /// Calls `notify` whenever jobs were pushed through this backend in this process (after
    /// they are committed), so an idle worker can pull at once. `notify` runs on the
    /// pushing thread and must be quick and not throw. A backend without push notifications
    /// (see capabilities) returns an empty Subscription.
    [[nodiscard]] virtual Subscription on_push(std::function<void()> notify) = 0;

    /// A cheap read-only check that a pull of these queues (empty: every queue) now could
    /// return a job; false positives allowed, false negatives not. Lets an idle worker poll
    /// without taking a write lock. A backend without a cheap check (see capabilities) answers
    /// true.
    [[nodiscard]] virtual bool has_ready(std::span<const std::string> queues = {}) = 0;

    /// What this backend can do beyond the operations above. Thread-safety: any thread.
    [[nodiscard]] virtual PullerCapabilities capabilities() const noexcept = 0;

    /// Makes the calls already begun on this puller's storage (waiting for the database, or
    /// for another call that is) give up soon with StorageError (ConnectionLost); later calls
    /// are not affected. A Worker calls it when its stop timed out, so that a database that
    /// never answers cannot keep it from stopping. The default does nothing (for a backend
    /// whose waits are short anyway). Thread-safety: any thread; never blocks.
    virtual void interrupt() noexcept {}

    /// After this puller's last pull or settle_and_pull returned fewer jobs than asked because
    /// a queue limit (docs/limits.md) held ready jobs back: how long until that limit may let
    /// one start (a token of its rate, or the end of a running job's lease). nullopt (the
    /// default) when no limit held jobs back. A Worker polls again after it at the latest.
    /// A Puller that wraps another should forward it. Thread-safety: any thread; it
    /// describes whichever call finished last.
    [[nodiscard]] virtual std::optional<Duration> limit_wait() const noexcept {
        return std::nullopt;
    }

    /// The schedules stored with this puller's jobs, for the scheduler thread a Worker runs
    /// (WorkerConfig::schedules); nullptr (the default) for a backend without stored
    /// schedules. Thread-safety: any thread.
    [[nodiscard]] virtual std::shared_ptr<Schedules> schedules() { return nullptr; }
};

/// Where a page of Observer::list ended: the last job's (created_at, id).
struct Cursor {
    TimePoint created_at{};
    Uuid id;
};

/// Counts and times of jobs: of one named queue (Stats::queues), or of all of them (Stats).
struct QueueStats {
    std::int64_t pending = 0;
    std::int64_t processing = 0;
    std::int64_t done = 0;
    std::int64_t dead = 0;
    /// Processing jobs whose lease has run out (their worker died or stalled): pulled again.
    std::int64_t expired_leases = 0;
    /// next_run_at of the runnable Pending job that has waited longest; the read's time minus
    /// this is the lag. nullopt when no Pending job is runnable.
    std::optional<TimePoint> oldest_ready;
    /// The earliest next_run_at still in the future (delayed or backing-off jobs).
    std::optional<TimePoint> next_scheduled;
};

/// A cheap summary of the queue as of `at`: the totals (the QueueStats fields) and each named
/// queue's share of them.
struct Stats : QueueStats {
    TimePoint at{};
    /// Per named queue that holds any job; the totals sum them.
    std::map<std::string, QueueStats, std::less<>> queues;
};

/// Reads jobs without changing them.
class Observer {
public:
    virtual ~Observer() = default;
    /// The job with this id, or nullopt if there is none.
    [[nodiscard]] virtual std::optional<Job> get(const Uuid& id) = 0;
    /// Jobs with this status (std::nullopt: any status), oldest created first (ties by id);
    /// at most `limit` of them, or all when limit <= 0. Throws std::invalid_argument for
    /// Status::Unknown (not a status to filter by), StorageError on storage failure.
    [[nodiscard]] virtual std::vector<Job> list(std::optional<Status> status, int limit) = 0;

    /// The page of list(status, limit) that starts after `after` (the last job of the
    /// previous page; see cursor_of). Same errors as list.
    [[nodiscard]] virtual std::vector<Job> list_after(std::optional<Status> status, int limit,
                                                      const Cursor& after) = 0;

    /// Counts and times of the queue, from one cheap read.
    [[nodiscard]] virtual Stats stats() = 0;
};

/// The cursor that continues a listing after `job`.
[[nodiscard]] inline Cursor cursor_of(const Job& job) { return Cursor{job.created_at, job.id}; }

/// Operator actions on single jobs, for tools and admin pages. Each is atomic. An unknown id
/// throws JobLost; a job in a state the action does not take throws BadStatus.
class Admin {
public:
    virtual ~Admin() = default;
    /// Dead -> Pending with attempts reset to 0, runnable after `delay` (its error history is
    /// kept). Throws UniqueConflict if its unique key is held by a live job of its queue.
    virtual void retry(const Uuid& id, Duration delay = {}) = 0;
    /// Every Dead job -> Pending as retry() does, in one transaction; returns how many. A job
    /// whose unique key is held by a live job stays Dead.
    virtual std::int64_t retry_all_dead(Duration delay = {}) = 0;
    /// Pending -> Dead at once. Processing: flags the job; the worker holding it sees the flag
    /// at its next lease extension and requests the handler's stop token. If the handler then
    /// returns, the job is Done; if it fails or its lease runs out, it is Dead ("cancelled").
    /// A flagged job is never pulled again.
    virtual void cancel(const Uuid& id) = 0;
    /// Deletes a job that is not Processing (a leased job may be running right now).
    virtual void remove(const Uuid& id) = 0;
};

/// Deletes finished jobs.
class Cleaner {
public:
    virtual ~Cleaner() = default;
    /// Deletes Done or Dead jobs (std::nullopt: both), only those last updated at or before
    /// `before` when given. Returns how many were deleted. Throws BadStatus for Pending or
    /// Processing, std::invalid_argument for Status::Unknown, StorageError on storage failure.
    [[nodiscard]] virtual std::int64_t clean(std::optional<Status> status,
                                             std::optional<TimePoint> before) = 0;
};

} // namespace gqs
