// SPDX-License-Identifier: Apache-2.0
// gqs::testing::work_one: the Worker's decision, on the calling thread.
#include "decision.hpp"

#include <gqs/testing.hpp>

#include <stdexcept>
#include <utility>

namespace gqs::testing {

WorkResult work_one(Puller& puller, const Handler& handler, const WorkerConfig& config) {
    if (!handler) throw std::invalid_argument("gqs::testing::work_one: the handler is empty");
    validate(config);
    auto jobs = puller.pull(1, config.lock_timeout, config.queues);
    if (jobs.empty()) return {};
    Job& job = jobs.front();
    WorkResult result;
    result.job = job;
    const std::stop_source never_requested;
    const detail::RunResult run = detail::run_handler(handler, job, never_requested.get_token());
    const detail::Decision decision = detail::decide(config.backoff, job.attempts, run);
    result.action = decision.action;
    result.backoff = decision.backoff;
    result.error = run.error;
    switch (decision.action) {
    case Action::Complete: puller.complete(job); break;
    case Action::Requeue: puller.requeue(job, decision.backoff, decision.error); break;
    case Action::Kill: puller.kill(job, decision.error); break;
    case Action::Release: puller.release(job); break;
    case Action::Snooze: puller.snooze(job, decision.backoff); break;
    }
    return result;
}

} // namespace gqs::testing
