// SPDX-License-Identifier: Apache-2.0
// The Puller's calls that are the same for every backend: each single transition is one
// settlement through the backend's settle().
#include "backend/codec.hpp"
#include "backend/rules.hpp"
#include "backend/settle.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <exception>
#include <string>

namespace gqs {

namespace {

// Settles the caller's lease of `job`; on success updates `job` as storage now has it.
void transition(Puller& puller, Job& job, Action action, Duration backoff, std::string_view error) {
    const Settlement s{lease_of(job), action, backoff, std::string(error)};
    const auto results = puller.settle(std::span(&s, 1));
    if (results.size() != 1)
        throw std::logic_error("gqs: a backend's settle returned " +
                               std::to_string(results.size()) + " results for 1 settlement");
    const SettleResult& r = results.front();
    switch (r.status) {
    case SettleStatus::Applied: detail::apply_settlement(job, action, r); return;
    case SettleStatus::LeaseLost: detail::throw_lease_lost(action, s.lease);
    case SettleStatus::StorageFailed:
        if (r.storage_error) std::rethrow_exception(r.storage_error);
        throw StorageError(r.error, StorageErrorKind::Other);
    }
    throw std::logic_error("gqs: a backend's settle returned an unknown status");
}

} // namespace

void Puller::complete(Job& job) { transition(*this, job, Action::Complete, {}, {}); }

void Puller::requeue(Job& job, Duration backoff, std::string_view error) {
    detail::check_delay(backoff, "requeue backoff");
    transition(*this, job, Action::Requeue, backoff, error);
}

void Puller::kill(Job& job, std::string_view error) {
    transition(*this, job, Action::Kill, {}, error);
}

void Puller::snooze(Job& job, Duration delay) {
    detail::check_delay(delay, "snooze delay");
    transition(*this, job, Action::Snooze, delay, {});
}

void Puller::release(Job& job) { transition(*this, job, Action::Release, {}, {}); }

std::vector<SettleResult> Puller::complete_batch(std::span<Job> jobs) {
    std::vector<Settlement> all;
    all.reserve(jobs.size());
    for (const auto& job : jobs)
        all.push_back({lease_of(job), Action::Complete, {}, {}});
    auto results = settle(all);
    for (std::size_t i = 0; i < jobs.size() && i < results.size(); ++i)
        detail::apply_settlement(jobs[i], Action::Complete, results[i]);
    return results;
}

} // namespace gqs
