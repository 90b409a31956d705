// SPDX-License-Identifier: Apache-2.0
// Generic forms of the batched and summarising operations, for a backend that chooses them.
#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <stdexcept>

namespace gqs {

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
        // A cancelled job goes Dead instead, and keeps its attempts (see sql.hpp).
        if (job.attempts > 0 && !result.cancelled) --job.attempts;
        break;
    }
    if (result.cancelled) job.status = Status::Dead;
    job.locked_until.reset();
    if (result.next_run_at) job.next_run_at = *result.next_run_at;
    job.updated_at = result.updated_at;
}

std::vector<SettleResult> Puller::complete_batch(std::span<Job> jobs) {
    std::vector<Settlement> all;
    all.reserve(jobs.size());
    for (const auto& job : jobs)
        all.push_back({lease_of(job), Action::Complete, {}, {}});
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
            case Action::Requeue: puller.requeue(job, s.backoff, s.error); break;
            case Action::Kill: puller.kill(job, s.error); break;
            case Action::Release: puller.release(job); break;
            case Action::Snooze: puller.snooze(job, s.backoff); break;
            }
            r.updated_at = job.updated_at;
            r.cancelled = s.action != Action::Complete && job.status == Status::Dead &&
                          s.action != Action::Kill;
            if ((s.action == Action::Requeue || s.action == Action::Snooze) && !r.cancelled)
                r.next_run_at = job.next_run_at;
        } catch (const LeaseLost& e) {
            r = {};
            r.status = SettleStatus::LeaseLost;
            r.error = e.what();
        } catch (const std::exception& e) {
            r = {};
            r.status = SettleStatus::StorageFailed;
            r.error = e.what();
        }
    }
    return results;
}

std::vector<Job> settle_then_pull(Puller& puller, std::span<const Settlement> settlements,
                                  std::vector<SettleResult>& results, int batch, Duration lock,
                                  std::span<const std::string> queues) {
    results = puller.settle(settlements);
    if (batch <= 0) return {};
    return puller.pull(batch, lock, queues);
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

namespace {

void earliest(std::optional<TimePoint>& into, std::optional<TimePoint> t) {
    if (t && (!into || *t < *into)) into = t;
}

// Adds one job to its queue's counts.
void count_job(QueueStats& q, const Job& job, TimePoint at) {
    switch (job.status) {
    case Status::Pending:
        ++q.pending;
        earliest(job.next_run_at <= at ? q.oldest_ready : q.next_scheduled, job.next_run_at);
        break;
    case Status::Processing:
        ++q.processing;
        if (job.locked_until && *job.locked_until < at) ++q.expired_leases;
        break;
    case Status::Done: ++q.done; break;
    case Status::Dead: ++q.dead; break;
    case Status::Unknown: break;
    }
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

Stats stats_by_scan(Observer& observer) {
    Stats s;
    s.at = std::chrono::system_clock::now();
    for (const auto& job : observer.list(Status::Unknown, 0))
        count_job(s.queues[job.queue], job, s.at);
    sum_queues(s);
    return s;
}

} // namespace gqs
