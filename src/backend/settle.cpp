// SPDX-License-Identifier: Apache-2.0
// Settlement rules every backend applies the same way.
#include "settle.hpp"

#include <stdexcept>

namespace gqs::detail {

void check_settlements(std::span<const Settlement> settlements) {
    for (const auto& s : settlements) {
        if ((s.action == Action::Requeue || s.action == Action::Snooze) && s.backoff.count() < 0)
            throw std::invalid_argument("gqs: settle: negative backoff");
    }
}

void apply_settlement(Job& job, Action action, const SettleResult& result) noexcept {
    if (!result.applied()) return;
    switch (action) {
    case Action::Complete: job.status = Status::Done; break;
    case Action::Requeue: job.status = Status::Pending; break;
    case Action::Kill: job.status = Status::Dead; break;
    case Action::Release:
    case Action::Snooze:
        job.status = Status::Pending;
        // A cancelled job goes Dead instead, and keeps its attempts (see statements.hpp).
        if (job.attempts > 0 && !result.cancelled) --job.attempts;
        break;
    }
    if (result.cancelled) job.status = Status::Dead;
    job.locked_until.reset();
    if (result.next_run_at) job.next_run_at = *result.next_run_at;
    job.updated_at = result.updated_at;
}

std::vector<SettleResult> failed_settlements(std::size_t count, const StorageError& error) {
    SettleResult failed;
    failed.status = SettleStatus::StorageFailed;
    failed.error = error.what();
    failed.storage_error = std::current_exception();
    return std::vector<SettleResult>(count, failed);
}

namespace {

void earliest(std::optional<TimePoint>& into, std::optional<TimePoint> t) {
    if (t && (!into || *t < *into)) into = t;
}

} // namespace

void sum_queues(Stats& s) {
    static_cast<QueueStats&>(s) = {};
    for (const auto& [name, q] : s.queues) {
        s.pending += q.pending;
        s.processing += q.processing;
        s.done += q.done;
        s.dead += q.dead;
        s.expired_leases += q.expired_leases;
        earliest(s.oldest_ready, q.oldest_ready);
        earliest(s.next_scheduled, q.next_scheduled);
    }
}

} // namespace gqs::detail
