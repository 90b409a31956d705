// SPDX-License-Identifier: Apache-2.0
// gqs::Puller over SQLite.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/sqlite/connection.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

namespace gqs::sqlite {

/// Leases and transitions jobs in the `jobs` table; every transition is one statement,
/// fenced by the job's attempts. Thread-safety: safe from any thread; shares the
/// Connection's lock. Throws std::invalid_argument for a null connection.
class Puller final : public gqs::Puller {
public:
    explicit Puller(std::shared_ptr<Connection> connection);
    ~Puller() override;
    Puller(const Puller&) = delete;
    Puller& operator=(const Puller&) = delete;
    [[nodiscard]] std::vector<Job> pull(int batch, Duration lock,
                                        std::span<const std::string> queues = {}) override;
    void extend_lock(Job& job, Duration lock) override;
    /// All settlements in one transaction (one commit). A storage failure fails every entry.
    [[nodiscard]] std::vector<SettleResult>
    settle(std::span<const Settlement> settlements) override;
    /// Both in one transaction. If it fails, the settlements are retried alone, then the
    /// error is thrown.
    [[nodiscard]] std::vector<Job>
    settle_and_pull(std::span<const Settlement> settlements, std::vector<SettleResult>& results,
                    int batch, Duration lock, std::span<const std::string> queues = {}) override;
    /// Notifies after every push committed through the same Connection object, and (for a
    /// database file) soon after another connection or process commits a job that is ready,
    /// while this Connection has a Puller whose last pull was not a full batch.
    [[nodiscard]] Subscription on_push(std::function<void()> notify) override;
    /// A read-only query; never takes the write lock.
    [[nodiscard]] bool has_ready(std::span<const std::string> queues = {}) override;
    /// Both: push notifications (through the same Connection at once; from other connections
    /// and processes through the Connection's watcher) and a cheap has_ready.
    [[nodiscard]] PullerCapabilities capabilities() const noexcept override;
    /// A sqlite::Schedules over the same Connection (the schedules stored with the jobs).
    [[nodiscard]] std::shared_ptr<gqs::Schedules> schedules() override;
    /// See gqs::Puller::limit_wait.
    [[nodiscard]] std::optional<Duration> limit_wait() const noexcept override;

private:
    std::shared_ptr<Connection> connection_;
    std::atomic<std::int64_t> limit_wait_ms_{-1}; // < 0: no limit held jobs back
    // Its last pull got fewer jobs than it asked for: the Connection's watcher then wakes
    // push subscribers for jobs other connections commit.
    std::atomic<bool> hungry_{false};
};

} // namespace gqs::sqlite
