// SPDX-License-Identifier: Apache-2.0
// What a handler's run means for its job.
#include "decision.hpp"

#include <gqs/errors.hpp>

#include <exception>
#include <utility>

namespace gqs::detail {

RunResult run_handler(const Handler& handler, const Job& job, std::stop_token stop) noexcept {
    try {
        handler(job, std::move(stop));
        return {Outcome::Success, {}};
    } catch (const Kill& e) {
        return {Outcome::Kill, e.what(), {}};
    } catch (const Snooze& e) {
        return {Outcome::Snooze, {}, e.delay()};
    } catch (const std::exception& e) {
        return {Outcome::Failure, e.what(), {}};
    } catch (...) {
        return {Outcome::Failure, "unknown exception (not derived from std::exception)", {}};
    }
}

Decision decide(const BackoffConfig& backoff, std::uint32_t attempts, Outcome outcome,
                double jitter) noexcept {
    switch (outcome) {
    case Outcome::Success: return {Action::Complete, {}, false, {}};
    case Outcome::Kill: return {Action::Kill, {}, false, {}};
    case Outcome::Snooze: return {Action::Snooze, {}, false, {}};
    case Outcome::Failure:
        if (retries_spent(backoff, attempts)) return {Action::Kill, {}, true, {}};
        return {Action::Requeue, backoff_interval(backoff, attempts, jitter), false, {}};
    }
    return {Action::Complete, {}, false, {}};
}

Decision decide(const BackoffConfig& backoff, std::uint32_t attempts, const RunResult& run) {
    Decision d;
    if (run.outcome != Outcome::Failure || retries_spent(backoff, attempts)) {
        d = decide(backoff, attempts, run.outcome, 0.5);
    } else {
        d = {Action::Requeue, backoff_interval(backoff, attempts), false, {}};
    }
    switch (run.outcome) {
    case Outcome::Success: break;
    case Outcome::Snooze: d.backoff = run.snooze; break;
    case Outcome::Kill: d.error = "killed: " + run.error; break;
    case Outcome::Failure: d.error = run.error; break;
    }
    return d;
}

} // namespace gqs::detail
