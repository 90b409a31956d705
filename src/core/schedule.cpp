// SPDX-License-Identifier: Apache-2.0
// validate(Schedule): the checks a schedule passes before any backend stores it.
#include <gqs/schedule.hpp>

#include "backend/codec.hpp"

#include <span>
#include <stdexcept>
#include <string>

namespace gqs {

void validate(const Schedule& schedule) {
    // A schedule name follows the queue-name rule (1..127 bytes of UTF-8 without NUL); the
    // queue-name check is the one UTF-8 checker gqs has, so it is asked and its message
    // replaced with one that names the schedule.
    try {
        detail::check_queues(std::span<const std::string>(&schedule.name, 1));
    } catch (const std::invalid_argument&) {
        throw std::invalid_argument("gqs: a schedule name must be 1 to 127 bytes of UTF-8 "
                                    "without NUL (got " +
                                    std::to_string(schedule.name.size()) + " bytes)");
    }
    const std::string which = "gqs: schedule \"" + schedule.name + "\": ";
    try {
        (void)Cron::parse(schedule.cron);
        check_zone(schedule.zone);
        detail::check_message(schedule.message);
        // The schedules' table has no columns for them yet: refused rather than dropped.
        if (schedule.message.concurrency_key || schedule.message.group)
            throw std::invalid_argument("a schedule's message cannot carry a concurrency key "
                                        "or a group yet");
        (void)detail::encode_metadata(schedule.message);
        // Each slot's job gains two metadata keys: the metadata must be an object (or none).
        Message probe = schedule.message;
        probe.set("gqs_schedule", schedule.name);
    } catch (const std::invalid_argument& e) {
        throw std::invalid_argument(which + e.what());
    }
}

} // namespace gqs
