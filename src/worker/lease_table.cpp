// SPDX-License-Identifier: Apache-2.0
// LeaseTable: the leases a Worker holds.
#include "lease_table.hpp"

#include <algorithm>
#include <utility>

namespace gqs::detail {

Job lease_snapshot(const Job& job) {
    Job lease;
    lease.id = job.id;
    lease.created_at = job.created_at;
    lease.updated_at = job.updated_at;
    lease.status = job.status;
    lease.attempts = job.attempts;
    lease.locked_until = job.locked_until;
    lease.next_run_at = job.next_run_at;
    return lease;
}

void LeaseTable::reset(std::size_t threads) {
    queue_.clear();
    slots_.assign(threads, Slot{});
}

void LeaseTable::add_pulled(std::vector<Job> jobs, Clock::time_point first_extension,
                            Clock::time_point expires) {
    for (Job& job : jobs)
        queue_.push_back(Pulled{std::move(job), first_extension, expires});
}

LeaseTable::Due LeaseTable::next_due(Clock::time_point now) {
    Due due;
    due.queued = queue_.end();
    for (Slot& slot : slots_) {
        if (!slot.active || slot.settling || slot.extending || slot.lost) continue;
        if (slot.next_extension <= now) {
            due.slot = &slot;
            return due;
        }
        due.next = std::min(due.next, slot.next_extension);
    }
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->extending) continue;
        if (it->next_extension <= now) {
            due.queued = it;
            return due;
        }
        due.next = std::min(due.next, it->next_extension);
    }
    return due;
}

std::vector<std::stop_source> LeaseTable::running_stops() const {
    std::vector<std::stop_source> running;
    for (const Slot& slot : slots_) {
        if (slot.active) running.push_back(slot.stop);
    }
    return running;
}

void LeaseTable::clear_extending() noexcept {
    for (Slot& slot : slots_)
        slot.extending = false;
    for (Pulled& pulled : queue_)
        pulled.extending = false;
}

bool LeaseTable::any_extending() const noexcept {
    return std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.extending; }) ||
           std::any_of(queue_.begin(), queue_.end(), [](const Pulled& p) { return p.extending; });
}

} // namespace gqs::detail
