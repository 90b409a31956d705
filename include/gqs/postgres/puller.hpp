// SPDX-License-Identifier: Apache-2.0
// gqs::Puller over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>

namespace gqs::postgres {

/// How a Puller uses the server.
struct PullerOptions {
    /// When a settle_and_pull has at least 8 results to store and pulls at least 8 jobs of
    /// queues without limits (a busy Worker's cycle), the results are stored on a second
    /// server session while the pull runs on the Connection, so that the server works on
    /// both at once. That session is opened the first time it is needed, with the
    /// Connection's conninfo and Options; while it cannot be opened, both run on the
    /// Connection. false: one session only.
    bool settle_session = true;
};

/// Leases and transitions jobs in the schema's `jobs` table. A pull is one statement that
/// locks the rows it takes with FOR UPDATE SKIP LOCKED, so pullers on any number of
/// connections and machines never share a lease; every transition is fenced by the job's
/// attempts; all times are the server's. Keep batches at or under 1,000 (larger ones work,
/// but lock up to a batch of rows per queue served for the statement's length).
/// Thread-safety: safe from any thread; shares the Connection's lock. Throws
/// std::invalid_argument for a null connection.
class Puller final : public gqs::Puller {
public:
    explicit Puller(std::shared_ptr<Connection> connection, PullerOptions options = {});
    [[nodiscard]] std::vector<Job> pull(int batch, Duration lock,
                                        std::span<const std::string> queues = {}) override;
    void extend_lock(Job& job, Duration lock) override;
    /// All settlements in one statement (one commit). A storage failure fails every entry.
    [[nodiscard]] std::vector<SettleResult>
    settle(std::span<const Settlement> settlements) override;
    /// Both in one transaction; or, for a busy cycle of queues without limits, the settlements
    /// on a second session at the same time (PullerOptions::settle_session). If the pull
    /// fails, the settlements are stored (alone), then the error is thrown.
    [[nodiscard]] std::vector<Job>
    settle_and_pull(std::span<const Settlement> settlements, std::vector<SettleResult>& results,
                    int batch, Duration lock, std::span<const std::string> queues = {}) override;
    /// Notifies after every push committed through the same Connection object, and after
    /// pushes of other connections and processes to the same schema (LISTEN on a connection
    /// of its own while callbacks are registered; after it reconnects, once more). The first
    /// registration returns once that LISTEN is in place (or failed: then polls find the
    /// jobs until a retry succeeds), so no push committed after it goes unheard.
    [[nodiscard]] Subscription on_push(std::function<void()> notify) override;
    /// A read-only query over the ready indexes.
    [[nodiscard]] bool has_ready(std::span<const std::string> queues = {}) override;
    /// Both: push notifications and a cheap has_ready.
    [[nodiscard]] PullerCapabilities capabilities() const noexcept override;
    /// Interrupts the calls already begun on this Connection (of any gqs object) and on the
    /// Puller's second session: their session is closed, and the next call connects again.
    void interrupt() noexcept override;
    /// A postgres::Schedules over the same Connection (the schedules stored with the jobs).
    [[nodiscard]] std::shared_ptr<gqs::Schedules> schedules() override;
    /// See gqs::Puller::limit_wait.
    [[nodiscard]] std::optional<Duration> limit_wait() const noexcept override;

private:
    /// The second session for a settle_and_pull of `settlements` and `batch`, or null when
    /// that call should use the Connection alone.
    std::shared_ptr<Connection> lane_for(std::size_t settlements, int batch);

    std::shared_ptr<Connection> connection_;
    PullerOptions options_;
    std::mutex lane_mutex_;
    std::shared_ptr<Connection> lane_;                 // by lane_mutex_; null until needed
    bool lane_opening_ = false;                        // by lane_mutex_
    std::chrono::steady_clock::time_point lane_retry_; // by lane_mutex_: after a failed open
    std::atomic<std::int64_t> limit_wait_ms_{-1};      // < 0: no limit held jobs back
    std::atomic<bool> gated_{false};                   // the last pull found a gate on its queues
};

} // namespace gqs::postgres
