// SPDX-License-Identifier: Apache-2.0
// The rules of the Puller's calls, written once over a backend's data layer.
#pragma once

#include "codec.hpp"
#include "rules.hpp"
#include "settle.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <span>
#include <string>
#include <vector>

namespace gqs::detail {

// A backend's Puller store is its dialect for leasing and settling. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   std::vector<Job> pull(int batch, Duration lock, std::span<const std::string> queues);
//       leases up to `batch` jobs (in any order), leaving out cancelled ones that went Dead
//   bool extend(Job& job, Duration lock);
//       moves the lease's end and updates job.cancel_requested, locked_until and updated_at;
//       false when the caller's lease is gone
//   std::vector<SettleResult> settle(std::span<const Settlement>);
//       one transaction (or statement); lost leases marked per entry; throws StorageError
//       with nothing stored
//   std::vector<SettleResult> settle_and_pull(std::span<const Settlement>, int batch,
//                                             Duration lock, std::span<const std::string>,
//                                             std::vector<Job>& jobs);
//       both in one transaction; throws StorageError with nothing committed
//   bool has_ready(std::span<const std::string> queues);
//       a read-only look: could a pull of these queues now return a job
//
// each called with the lock held and its arguments checked.

/// A pull whose arguments were checked: the jobs in the order a pull promises.
template <class Store>
std::vector<Job> pull_checked(Store& store, int batch, Duration lock,
                              std::span<const std::string> queues) {
    std::vector<Job> jobs;
    store.locked([&] { jobs = store.pull(batch, lock, queues); });
    sort_pulled(jobs);
    return jobs;
}

/// Puller::pull.
template <class Store>
std::vector<Job> pull_with(Store& store, int batch, Duration lock,
                           std::span<const std::string> queues) {
    check_pull(batch, lock);
    check_queues(queues);
    return pull_checked(store, batch, lock, queues);
}

/// Puller::extend_lock: LockLost when the caller's lease is gone.
template <class Store>
void extend_with(Store& store, Job& job, Duration lock) {
    check_lock(lock, "extend_lock lock");
    bool extended = false;
    store.locked([&] { extended = store.extend(job, lock); });
    if (!extended) throw LockLost(lease_lost_message("extend the lease of", lease_of(job)));
}

/// A settle whose settlements were checked: a storage failure fails every entry (nothing was
/// stored).
template <class Store>
std::vector<SettleResult> settle_checked(Store& store, std::span<const Settlement> settlements) {
    if (settlements.empty()) return {};
    try {
        std::vector<SettleResult> results;
        store.locked([&] { results = store.settle(settlements); });
        return results;
    } catch (const StorageError& e) {
        return failed_settlements(settlements.size(), e);
    }
}

/// Puller::settle.
template <class Store>
std::vector<SettleResult> settle_with(Store& store, std::span<const Settlement> settlements) {
    check_settlements(settlements);
    return settle_checked(store, settlements);
}

/// Puller::settle_and_pull: with no batch only settles, with no settlements only pulls, else
/// both in one transaction. If that fails on storage, nothing was committed: the settlements
/// matter more than the next lease, so they are stored on their own, and the failure is
/// thrown as pull() would throw it (after `results` got the settlements' own results).
template <class Store>
std::vector<Job> settle_and_pull_with(Store& store, std::span<const Settlement> settlements,
                                      std::vector<SettleResult>& results, int batch, Duration lock,
                                      std::span<const std::string> queues) {
    check_queues(queues);
    check_settlements(settlements);
    if (batch <= 0) {
        results = settle_checked(store, settlements);
        return {};
    }
    check_pull(batch, lock);
    if (settlements.empty()) {
        results.clear();
        return pull_checked(store, batch, lock, queues);
    }
    std::vector<Job> jobs;
    try {
        store.locked(
            [&] { results = store.settle_and_pull(settlements, batch, lock, queues, jobs); });
    } catch (const StorageError&) {
        results = settle_checked(store, settlements);
        throw;
    }
    sort_pulled(jobs);
    return jobs;
}

/// Puller::has_ready.
template <class Store>
bool has_ready_with(Store& store, std::span<const std::string> queues) {
    check_queues(queues);
    bool ready = false;
    store.locked([&] { ready = store.has_ready(queues); });
    return ready;
}

} // namespace gqs::detail
