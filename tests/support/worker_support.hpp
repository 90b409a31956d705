// SPDX-License-Identifier: Apache-2.0
// For tests of the Worker and other users of the interfaces, on any backend: a log capture,
// a Puller that counts calls and injects failures, and an idle Worker.
#pragma once

#include "sync.hpp"
#include "test_support.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/worker.hpp>

#include <set>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gqs::test {

using namespace std::chrono_literals;

/// Collects what a worker logs. Thread-safe; must outlive the worker it is given to.
class LogCapture {
public:
    Logger logger() {
        return [this](LogLevel level, std::string_view message) {
            std::lock_guard lock(mutex_);
            lines_.emplace_back(level, std::string(message));
        };
    }
    /// How many messages of this level contain `needle` ("" matches any).
    std::size_t count(LogLevel level, std::string_view needle = "") const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(lines_.begin(), lines_.end(), [&](const auto& line) {
                return line.first == level && line.second.find(needle) != std::string::npos;
            }));
    }
    /// Every message, one per line, for failure output.
    std::string text() const {
        std::lock_guard lock(mutex_);
        std::string out;
        for (const auto& [level, message] : lines_) {
            out += to_string(level);
            out += ": ";
            out += message;
            out += '\n';
        }
        return out;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<LogLevel, std::string>> lines_;
};

/// The error a busy database gives (SQLITE_BUSY), as a test double throws it (on any
/// backend: the Worker only looks at its kind).
inline StorageError busy_error(const char* what) {
    return StorageError(std::string("injected: database is locked in ") + what,
                        StorageErrorKind::Busy, "SQLITE_BUSY", 5, 5);
}

/// A Puller that forwards to another one, counts calls, records transitions, and can inject
/// failures. Thread-safe.
class ProbePuller final : public Puller {
public:
    explicit ProbePuller(Puller& inner) : inner_(inner) {}

    /// The next n calls of each kind throw StorageError (SQLITE_BUSY) without forwarding.
    std::atomic<int> failing_pulls{0};
    std::atomic<int> failing_extends{0};
    std::atomic<int> failing_completes{0};
    /// Whole settle calls that throw (a storage error before anything was applied).
    std::atomic<int> failing_settles{0};
    /// While set, extend_lock throws LockLost without forwarding.
    std::atomic<bool> lose_locks{false};
    /// While set, the database "does not answer": extend_lock, pulls and settles that store
    /// something throw StorageError (SQLITE_BUSY) without forwarding.
    std::atomic<bool> down{false};
    /// If set, extend_lock blocks until this is set, then throws StorageError: a call that
    /// waits for a database that does not answer.
    Signal* hold_extends = nullptr;
    /// If set, the first pull blocks until this is set (and `pull_entered` is set on entry).
    Signal* hold_first_pull = nullptr;
    Signal pull_entered;

    /// settle() reports these jobs' entries as lost leases (CompleteFailed/JobLost) without
    /// forwarding them. Set before the worker starts.
    std::set<Uuid> lose_on_settle;

    std::atomic<int> pulls{0};
    /// Pulls that returned (a worker whose first pull is done and found nothing is idle).
    std::atomic<int> pulls_done{0};
    std::atomic<int> extends{0};
    std::atomic<int> largest_batch{0};
    std::atomic<int> has_ready_calls{0};
    std::atomic<int> settle_calls{0};
    std::atomic<int> largest_settle{0};
    /// The longest settle_and_pull call that pulled, in microseconds.
    std::atomic<std::int64_t> longest_pull_us{0};

    /// An attempted transition: the verb, the job's attempts and id, the requeue backoff.
    struct Transition {
        std::string verb;
        std::uint32_t attempts;
        Uuid id;
        Duration backoff;
    };
    std::vector<Transition> transitions() const {
        std::lock_guard lock(mutex_);
        return transitions_;
    }
    /// How many transitions with this verb were attempted.
    std::size_t count(std::string_view verb) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(transitions_.begin(), transitions_.end(),
                          [&](const auto& t) { return t.verb == verb; }));
    }

    std::vector<Job> pull(int batch, Duration lock,
                          std::span<const std::string> queues = {}) override {
        before_pull(batch);
        auto jobs = inner_.pull(batch, lock, queues);
        ++pulls_done;
        return jobs;
    }
    void extend_lock(Job& job, Duration lock) override {
        ++extends;
        if (lose_locks) throw LockLost("injected: lease lost");
        if (hold_extends != nullptr) {
            hold_extends->wait();
            throw busy_error("extend_lock (held)");
        }
        if (down || take_one(failing_extends)) throw busy_error("extend_lock");
        inner_.extend_lock(job, lock);
    }
    std::vector<SettleResult> settle(std::span<const Settlement> settlements) override {
        std::vector<SettleResult> results;
        const Forward forward = intercept(settlements, results);
        merge(forward, inner_.settle(forward.settlements), results);
        return results;
    }
    // The worker's path: one call to the inner puller's settle_and_pull (one transaction),
    // with the failures injected that settle() and pull() would inject.
    std::vector<Job> settle_and_pull(std::span<const Settlement> settlements,
                                     std::vector<SettleResult>& results, int batch, Duration lock,
                                     std::span<const std::string> queues = {}) override {
        std::vector<SettleResult> mine;
        const Forward forward = intercept(settlements, mine);
        if (batch > 0) {
            try {
                before_pull(batch);
            } catch (...) {
                // A pull that fails: the settlements are applied on their own first.
                merge(forward, inner_.settle(forward.settlements), mine);
                results = std::move(mine);
                throw;
            }
        }
        std::vector<SettleResult> inner;
        const auto start = std::chrono::steady_clock::now();
        auto jobs = inner_.settle_and_pull(forward.settlements, inner, batch, lock, queues);
        if (batch > 0) {
            ++pulls_done;
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start)
                                .count();
            std::int64_t seen_us = longest_pull_us.load();
            while (us > seen_us && !longest_pull_us.compare_exchange_weak(seen_us, us)) {
            }
        }
        merge(forward, inner, mine);
        results = std::move(mine);
        return jobs;
    }
    Subscription on_push(std::function<void()> notify) override {
        return inner_.on_push(std::move(notify));
    }
    bool has_ready(std::span<const std::string> queues = {}) override {
        ++has_ready_calls;
        return inner_.has_ready(queues);
    }
    PullerCapabilities capabilities() const noexcept override { return inner_.capabilities(); }
    std::optional<Duration> limit_wait() const noexcept override { return inner_.limit_wait(); }

private:
    struct Forward {
        std::vector<Settlement> settlements; // passed on to the inner puller
        std::vector<std::size_t> where;      // their places in the caller's span
    };

    // Counts a settle call, records its transitions and injects failures: `results` gets one
    // entry per settlement with the injected ones filled in; the others are returned, to be
    // forwarded. Throws like a settle that fails as a whole (failing_settles).
    Forward intercept(std::span<const Settlement> settlements, std::vector<SettleResult>& results) {
        ++settle_calls;
        if (!settlements.empty() && (down || take_one(failing_settles))) throw busy_error("settle");
        int seen = largest_settle.load();
        const int size = static_cast<int>(settlements.size());
        while (size > seen && !largest_settle.compare_exchange_weak(seen, size)) {
        }
        results.assign(settlements.size(), SettleResult{});
        Forward forward;
        for (std::size_t i = 0; i < settlements.size(); ++i) {
            const Settlement& s = settlements[i];
            static constexpr const char* verbs[] = {"complete", "requeue", "kill", "release",
                                                    "snooze"};
            record(verbs[static_cast<int>(s.action)], s.lease, s.backoff);
            if (lose_on_settle.count(s.lease.id)) {
                results[i].status = SettleStatus::LeaseLost;
                results[i].error = "injected: lost";
            } else if (s.action == Action::Complete && take_one(failing_completes)) {
                results[i].status = SettleStatus::StorageFailed;
                results[i].error = busy_error("complete").what();
                results[i].storage_error = std::make_exception_ptr(busy_error("complete"));
            } else {
                forward.settlements.push_back(s);
                forward.where.push_back(i);
            }
        }
        return forward;
    }

    static void merge(const Forward& forward, const std::vector<SettleResult>& inner,
                      std::vector<SettleResult>& results) {
        for (std::size_t k = 0; k < forward.where.size() && k < inner.size(); ++k)
            results[forward.where[k]] = inner[k];
    }

    // Counts a pull, holds the first one when asked to, and throws an injected failure.
    void before_pull(int batch) {
        const int call = ++pulls;
        int seen = largest_batch.load();
        while (batch > seen && !largest_batch.compare_exchange_weak(seen, batch)) {
        }
        if (call == 1 && hold_first_pull != nullptr) {
            pull_entered.set();
            hold_first_pull->wait();
        }
        if (down || take_one(failing_pulls)) throw busy_error("pull");
    }

    void record(const char* verb, const Lease& lease, Duration backoff = {}) {
        std::lock_guard lock(mutex_);
        transitions_.push_back({verb, lease.attempts, lease.id, backoff});
    }

    Puller& inner_;
    mutable std::mutex mutex_;
    std::vector<Transition> transitions_;
};

/// A worker config for wake-up tests: 2 threads and a pull_interval of 10 minutes, so that only
/// a wake-up explains a job starting within a test's deadline.
inline WorkerConfig idle_config() {
    WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = std::chrono::minutes(10);
    return config;
}

/// A started Worker (idle_config(), so only a wake-up explains a start)
/// on `puller` through a ProbePuller, whose handler counts starts. The constructor returns
/// once the worker's first pull has returned: the worker is idle. Stops in the destructor.
struct IdleWorker {
    explicit IdleWorker(Puller& puller) : probe(puller) {
        worker.emplace(
            probe, [this](const Job&, std::stop_token) { started.bump(); }, idle_config());
        worker->start();
        if (!wait_until([this] { return probe.pulls_done.load() >= 1; }))
            throw std::runtime_error("the worker's first pull did not return");
    }
    ~IdleWorker() {
        try {
            worker->stop(std::chrono::seconds(30));
        } catch (...) {
        }
    }
    IdleWorker(const IdleWorker&) = delete;
    IdleWorker& operator=(const IdleWorker&) = delete;

    ProbePuller probe;
    Counter started;              // handler starts
    std::optional<Worker> worker; // declared last: stopped before the rest goes
};

} // namespace gqs::test
