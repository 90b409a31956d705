// SPDX-License-Identifier: Apache-2.0
// Queue rules every backend applies the same way.
#include "rules.hpp"

#include <gqs/errors.hpp>

#include <stdexcept>
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

std::string lease_lost_message(const char* verb, const Lease& lease) {
    return std::string("gqs: cannot ") + verb + " job " + lease.id.to_string() + " (attempt " +
           std::to_string(lease.attempts) + "): it is gone, finished, or leased by someone else";
}

void throw_lease_lost(Action action, const Lease& lease) {
    if (action == Action::Complete) throw CompleteFailed(lease_lost_message("complete", lease));
    throw JobLost(lease_lost_message(verb_of(action), lease));
}

void add_stats_row(Stats& stats, std::string queue, std::int64_t status, std::int64_t count,
                   std::int64_t expired, std::optional<TimePoint> oldest_ready,
                   std::optional<TimePoint> next_scheduled) {
    auto& q = stats.queues[std::move(queue)];
    switch (status) {
    case 1:
        q.pending = count;
        q.oldest_ready = oldest_ready;
        q.next_scheduled = next_scheduled;
        break;
    case 2:
        q.processing = count;
        q.expired_leases = expired;
        break;
    case 3: q.done = count; break;
    case 4: q.dead = count; break;
    default: break;
    }
}

std::int64_t list_status_code(std::optional<Status> status) {
    if (!status) return 0;
    if (*status == Status::Unknown)
        throw std::invalid_argument(
            "gqs: list: Status::Unknown is not a status to filter by; pass std::nullopt for any");
    return static_cast<std::int64_t>(*status);
}

std::pair<Status, Status> clean_statuses(std::optional<Status> status) {
    if (!status) return {Status::Done, Status::Dead};
    switch (*status) {
    case Status::Unknown:
        throw std::invalid_argument("gqs: clean: Status::Unknown is not a status to clean; pass "
                                    "std::nullopt for both Done and Dead");
    case Status::Done:
    case Status::Dead: return {*status, *status};
    case Status::Pending:
    case Status::Processing: break;
    }
    throw BadStatus("gqs: clean takes Done, Dead or std::nullopt (both), not " +
                    std::string(to_string(*status)));
}

void throw_ended(const char* who) {
    throw std::logic_error(std::string("gqs: ") + who + ": the transaction has ended");
}

void throw_ended_by_app(const char* who) {
    throw std::logic_error(std::string("gqs: ") + who +
                           ": the transaction was ended by a statement of the application "
                           "(COMMIT or ROLLBACK through its handle)");
}

void throw_other_connection(const char* who) {
    throw std::invalid_argument(std::string("gqs: ") + who +
                                ": the transaction is open on another Connection");
}

void throw_null_connection(const char* who) {
    throw std::invalid_argument(std::string("gqs: ") + who + " needs a connection");
}

void explain_no_match(const Uuid& id, const char* action, const char* wanted,
                      std::optional<Status> found) {
    if (!found) throw JobLost("gqs: " + std::string(action) + ": no job " + id.to_string());
    throw BadStatus("gqs: " + std::string(action) + ": job " + id.to_string() + " is " +
                    std::string(to_string(*found)) + "; " + action + " takes " + wanted);
}

} // namespace gqs::detail
