// SPDX-License-Identifier: Apache-2.0
// Settlement rules every backend follows: the argument check, the per-entry results of a
// failed transaction, a Job brought in line with its settlement, and the skeleton of
// Puller::settle_and_pull around a backend's one-transaction form.
#pragma once

#include "codec.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <span>
#include <vector>

namespace gqs::detail {

/// Throws std::invalid_argument for a negative backoff: the argument check of every
/// Puller::settle. Thread-safety: pure function.
void check_settlements(std::span<const Settlement> settlements);

/// Brings a Job snapshot in line with an applied settlement of its lease, as the single calls
/// update the caller's Job; does nothing unless result.applied().
void apply_settlement(Job& job, Action action, const SettleResult& result) noexcept;

/// `count` StorageFailed results for a settle whose transaction failed with `error` (nothing
/// stored). Call it inside the catch block: each result keeps std::current_exception().
[[nodiscard]] std::vector<SettleResult> failed_settlements(std::size_t count,
                                                           const StorageError& error);

/// Sets the totals of `stats` (counts and times) from its per-queue entries.
void sum_queues(Stats& stats);

/// Puller::settle_and_pull's contract around a backend's one-transaction form: checks the
/// arguments (nothing applied if bad); with no batch only settles, with no settlements only
/// pulls; else runs `both(jobs)` (settle and pull in one transaction, returning the results
/// and filling `jobs`). If that fails on storage, nothing was committed: the settlements
/// matter more than the next lease, so they are stored on their own (`settle`), and the
/// failure is thrown as pull() would throw it.
template <class Settle, class Pull, class Both>
std::vector<Job> settle_and_pull_with(std::span<const Settlement> settlements,
                                      std::vector<SettleResult>& results, int batch, Duration lock,
                                      Settle&& settle, Pull&& pull, Both&& both) {
    check_settlements(settlements);
    if (batch <= 0) {
        results = settle(settlements);
        return {};
    }
    check_pull(batch, lock);
    if (settlements.empty()) {
        results.clear();
        return pull(batch, lock);
    }
    std::vector<Job> jobs;
    try {
        results = both(jobs);
    } catch (const StorageError&) {
        results = settle(settlements);
        throw;
    }
    return jobs;
}

} // namespace gqs::detail
