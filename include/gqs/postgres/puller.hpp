// SPDX-License-Identifier: Apache-2.0
// gqs::Puller over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace gqs::postgres {

/// Leases and transitions jobs in the schema's `jobs` table. A pull is one statement that
/// locks the rows it takes with FOR UPDATE SKIP LOCKED, so pullers on any number of
/// connections and machines never share a lease; every transition is fenced by the job's
/// attempts; all times are the server's. Keep batches at or under 1,000 (larger ones work,
/// but lock up to a batch of rows per queue served for the statement's length).
/// Thread-safety: safe from any thread; shares the Connection's lock. Throws
/// std::invalid_argument for a null connection.
class Puller final : public gqs::Puller {
public:
    explicit Puller(std::shared_ptr<Connection> connection);
    [[nodiscard]] std::vector<Job> pull(int batch, Duration lock,
                                        std::span<const std::string> queues = {}) override;
    void extend_lock(Job& job, Duration lock) override;
    /// All settlements in one statement (one commit). A storage failure fails every entry.
    [[nodiscard]] std::vector<SettleResult>
    settle(std::span<const Settlement> settlements) override;
    /// Both in one transaction. If it fails, the settlements are retried alone, then the
    /// error is thrown.
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
    /// Interrupts the calls already begun on this Connection (of any gqs object): their
    /// session is closed, and the next call connects again.
    void interrupt() noexcept override;
    /// A postgres::Schedules over the same Connection (the schedules stored with the jobs).
    [[nodiscard]] std::shared_ptr<gqs::Schedules> schedules() override;
    /// See gqs::Puller::limit_wait.
    [[nodiscard]] std::optional<Duration> limit_wait() const noexcept override;

private:
    std::shared_ptr<Connection> connection_;
    std::atomic<std::int64_t> limit_wait_ms_{-1}; // < 0: no limit held jobs back
    std::atomic<bool> gated_{false};              // the last pull found a gate on its queues
};

} // namespace gqs::postgres
