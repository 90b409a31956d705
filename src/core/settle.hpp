// SPDX-License-Identifier: Apache-2.0
// The skeleton of Puller::settle_and_pull that every backend with a combined transaction
// follows; the backend supplies the transactions.
#pragma once

#include "codec.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <span>
#include <vector>

namespace gqs::detail {

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
