// SPDX-License-Identifier: Apache-2.0
// ResultBuffer and the reading of a cycle's settle results.
#include "results.hpp"

#include "backend/rules.hpp"
#include "worker/background.hpp"

#include <algorithm>
#include <string>
#include <utility>

namespace gqs::detail {

void ResultBuffer::add(Finished finished, Clock::time_point now) {
    if (waiting_.empty()) since_ = now;
    waiting_.push_back(std::move(finished));
}

std::vector<Finished> ResultBuffer::take() noexcept {
    std::vector<Finished> all;
    all.swap(waiting_);
    return all;
}

void ResultBuffer::put_back(std::vector<Finished> again, bool storage_failed,
                            Clock::time_point now) {
    if (waiting_.empty() && !again.empty()) since_ = now;
    for (Finished& f : again)
        waiting_.push_back(std::move(f));
    retry_at_ = storage_failed ? now + retry_pause_ : Clock::time_point{};
}

void ResultBuffer::clear() noexcept {
    waiting_.clear();
    since_ = {};
    retry_at_ = {};
}

ResultBuffer::Clock::time_point ResultBuffer::due_at() const noexcept {
    return std::max(since_ + group_delay_, retry_at_);
}

std::vector<Finished> unsettled(std::vector<Finished> done,
                                const std::vector<SettleResult>& results, const Logger& logger,
                                std::chrono::steady_clock::time_point now, bool giving_up) {
    std::vector<Finished> again;
    for (std::size_t i = 0; i < done.size(); ++i) {
        if (i >= results.size()) continue;
        Finished& f = done[i];
        const std::string id = f.lease.id.to_string();
        if (results[i].applied()) {
            // Storage turned the retry (or release, snooze, kill) of a cancelled job into Dead.
            if (results[i].cancelled)
                log(logger, LogLevel::Warning, "job ", id,
                    ": cancelled by an operator, so it is dead instead");
            continue;
        }
        const char* verb = verb_of(f.action);
        if (results[i].status == SettleStatus::LeaseLost) {
            log(logger, LogLevel::Warning, "job ", id, ": lease lost before it could ", verb, " (",
                results[i].error, "); leaving it to its new holder");
            continue;
        }
        // A release or snooze is not tried again: it takes the attempt back, so the job's
        // attempts return to a value they had before, and a retry after one that did commit
        // (but was reported as failed) could match the next holder's lease. Left alone, the
        // job runs again once its lease expires, with this attempt counted.
        const bool gives_attempt_back = f.action == Action::Release || f.action == Action::Snooze;
        // Others are fenced by an attempt only this worker holds, so they are tried for as
        // long as no one else can have the job: a database restart of a few seconds must not
        // make finished jobs run again.
        const bool retry = !gives_attempt_back && !giving_up && now < f.expires;
        ++f.tries;
        if (f.tries == 1 || !retry) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(f.expires - now);
            log(logger, LogLevel::Error, "job ", id, ": cannot ", verb, ": ", results[i].error,
                retry ? "; trying again while its lease lasts (" + std::to_string(left.count()) +
                            " ms more unless extended)"
                      : std::string());
        } else {
            log(logger, LogLevel::Debug, "job ", id, ": cannot ", verb, " (try ", f.tries,
                "): ", results[i].error);
        }
        if (retry) {
            again.push_back(std::move(f));
        } else {
            log(logger, LogLevel::Error, "job ", id,
                ": left Processing; it runs again once its lease expires");
        }
    }
    return again;
}

} // namespace gqs::detail
