// SPDX-License-Identifier: Apache-2.0
// Queue rules every backend applies the same way.
#include "rules.hpp"

#include <gqs/errors.hpp>

#include <string>

namespace gqs::detail {

const char* verb_of(Action action) noexcept {
    switch (action) {
    case Action::Complete: return "complete";
    case Action::Requeue: return "requeue";
    case Action::Release: return "release";
    case Action::Snooze: return "snooze";
    case Action::Kill: break;
    }
    return "kill";
}

std::pair<Status, Status> clean_statuses(Status status) {
    switch (status) {
    case Status::Unknown: return {Status::Done, Status::Dead};
    case Status::Done:
    case Status::Dead: return {status, status};
    case Status::Pending:
    case Status::Processing: break;
    }
    throw BadStatus("gqs: clean takes Done, Dead or Unknown (both), not " +
                    std::string(to_string(status)));
}

void explain_no_match(const Uuid& id, const char* action, const char* wanted,
                      std::optional<Status> found) {
    if (!found) throw JobLost("gqs: " + std::string(action) + ": no job " + id.to_string());
    throw BadStatus("gqs: " + std::string(action) + ": job " + id.to_string() + " is " +
                    std::string(to_string(*found)) + "; " + action + " takes " + wanted);
}

} // namespace gqs::detail
