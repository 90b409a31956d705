// SPDX-License-Identifier: Apache-2.0
// Generic forms of the batched and summarising operations, for a backend that chooses them.
#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <stdexcept>

namespace gqs {

void check_settlements(std::span<const Settlement> settlements) {
    for (const auto& s : settlements) {
        if (s.action == Action::Requeue && s.backoff.count() < 0)
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
        job.status = Status::Pending;
        if (job.attempts > 0) --job.attempts;
        break;
    }
    job.locked_until.reset();
    if (result.next_run_at) job.next_run_at = *result.next_run_at;
    job.updated_at = result.updated_at;
}

std::vector<SettleResult> Puller::complete_batch(std::span<Job> jobs) {
    std::vector<Settlement> all;
    all.reserve(jobs.size());
    for (const auto& job : jobs)
        all.push_back({lease_of(job), Action::Complete, {}});
    auto results = settle(all);
    for (std::size_t i = 0; i < jobs.size() && i < results.size(); ++i)
        apply_settlement(jobs[i], Action::Complete, results[i]);
    return results;
}

std::vector<SettleResult> settle_one_by_one(Puller& puller,
                                            std::span<const Settlement> settlements) {
    check_settlements(settlements);
    std::vector<SettleResult> results(settlements.size());
    for (std::size_t i = 0; i < settlements.size(); ++i) {
        const auto& s = settlements[i];
        // The single calls take a Job: one that stands for the lease.
        Job job;
        job.id = s.lease.id;
        job.attempts = s.lease.attempts;
        job.status = s.lease.status;
        SettleResult& r = results[i];
        try {
            switch (s.action) {
            case Action::Complete: puller.complete(job); break;
            case Action::Requeue: puller.requeue(job, s.backoff); break;
            case Action::Kill: puller.kill(job); break;
            case Action::Release: puller.release(job); break;
            }
            r.updated_at = job.updated_at;
            if (s.action == Action::Requeue) r.next_run_at = job.next_run_at;
        } catch (const LeaseLost& e) {
            r = {SettleStatus::LeaseLost, e.what(), {}, std::nullopt};
        } catch (const std::exception& e) {
            r = {SettleStatus::StorageFailed, e.what(), {}, std::nullopt};
        }
    }
    return results;
}

std::vector<Job> settle_then_pull(Puller& puller, std::span<const Settlement> settlements,
                                  std::vector<SettleResult>& results, int batch, Duration lock) {
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
