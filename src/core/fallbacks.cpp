// SPDX-License-Identifier: Apache-2.0
// Generic forms of the batched and summarising operations, for a backend that chooses them.
#include <gqs/interfaces.hpp>

#include <stdexcept>

namespace gqs {

void check_settlements(std::span<const Settlement> settlements) {
    for (const auto& s : settlements) {
        if (s.job == nullptr) throw std::invalid_argument("gqs: settle: null job");
        if (s.action == Action::Requeue && s.backoff.count() < 0)
            throw std::invalid_argument("gqs: settle: negative backoff");
    }
}

std::vector<std::exception_ptr> settle_one_by_one(Puller& puller,
                                                  std::span<const Settlement> settlements) {
    check_settlements(settlements);
    std::vector<std::exception_ptr> results(settlements.size());
    for (std::size_t i = 0; i < settlements.size(); ++i) {
        const auto& s = settlements[i];
        try {
            switch (s.action) {
            case Action::Complete: puller.complete(*s.job); break;
            case Action::Requeue: puller.requeue(*s.job, s.backoff); break;
            case Action::Kill: puller.kill(*s.job); break;
            case Action::Release: puller.release(*s.job); break;
            }
        } catch (...) {
            results[i] = std::current_exception();
        }
    }
    return results;
}

std::vector<Job> settle_then_pull(Puller& puller, std::span<const Settlement> settlements,
                                  std::vector<std::exception_ptr>& results, int batch,
                                  Duration lock) {
    results = puller.settle(settlements);
    if (batch <= 0) return {};
    return puller.pull(batch, lock);
}

std::vector<Job> list_after_by_scan(Observer& observer, Status status, int limit,
                                    const Cursor& after) {
    std::vector<Job> page;
    for (auto& job : observer.list(status, 0)) {
        if (job.created_at < after.created_at ||
            (job.created_at == after.created_at && job.id <= after.id))
            continue;
        page.push_back(std::move(job));
        if (limit > 0 && static_cast<int>(page.size()) == limit) break;
    }
    return page;
}

Stats stats_by_scan(Observer& observer) {
    Stats s;
    s.at = std::chrono::system_clock::now();
    for (const auto& job : observer.list(Status::Unknown, 0)) {
        switch (job.status) {
        case Status::Pending:
            ++s.pending;
            if (job.next_run_at <= s.at) {
                if (!s.oldest_ready || job.next_run_at < *s.oldest_ready)
                    s.oldest_ready = job.next_run_at;
            } else if (!s.next_scheduled || job.next_run_at < *s.next_scheduled) {
                s.next_scheduled = job.next_run_at;
            }
            break;
        case Status::Processing:
            ++s.processing;
            if (job.locked_until && *job.locked_until < s.at) ++s.expired_leases;
            break;
        case Status::Done: ++s.done; break;
        case Status::Dead: ++s.dead; break;
        case Status::Unknown: break;
        }
    }
    return s;
}

} // namespace gqs
