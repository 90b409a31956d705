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
        return {Outcome::Kill, e.what()};
    } catch (const std::exception& e) {
        return {Outcome::Failure, e.what()};
    } catch (...) {
        return {Outcome::Failure, "an exception not derived from std::exception"};
    }
}

Decision decide(const BackoffConfig& backoff, std::uint32_t attempts, Outcome outcome,
                double jitter) noexcept {
    switch (outcome) {
    case Outcome::Success: return {Action::Complete, {}, false};
    case Outcome::Kill: return {Action::Kill, {}, false};
    case Outcome::Failure:
        if (retries_spent(backoff, attempts)) return {Action::Kill, {}, true};
        return {Action::Requeue, backoff_interval(backoff, attempts, jitter), false};
    }
    return {Action::Complete, {}, false};
}

Decision decide(const BackoffConfig& backoff, std::uint32_t attempts, Outcome outcome) {
    if (outcome != Outcome::Failure || retries_spent(backoff, attempts))
        return decide(backoff, attempts, outcome, 0.5);
    return {Action::Requeue, backoff_interval(backoff, attempts), false};
}

} // namespace gqs::detail
