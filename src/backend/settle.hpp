// SPDX-License-Identifier: Apache-2.0
// Settlement rules every backend follows: the argument check, the per-entry results of a
// failed transaction, a Job brought in line with its settlement.
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

} // namespace gqs::detail
