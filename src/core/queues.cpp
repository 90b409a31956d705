// SPDX-License-Identifier: Apache-2.0
// validate(QueueLimits): the checks limits pass before any backend stores them.
#include <gqs/queues.hpp>

#include "backend/codec.hpp"

#include <cmath>
#include <cstdio>
#include <span>
#include <stdexcept>
#include <string>

namespace gqs {

namespace {

constexpr int max_group_weight = 1000;

[[noreturn]] void refuse(const char* what, const std::string& got) {
    std::string message = "gqs: queue limits: ";
    message += what;
    message += " (got ";
    message += got;
    message += ")";
    throw std::invalid_argument(message);
}

void at_least_one(const std::optional<int>& value, const char* what) {
    if (value && *value < 1) refuse(what, std::to_string(*value));
}

std::string shown(double value) {
    char text[32];
    (void)std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

} // namespace

void validate(const QueueLimits& limits) {
    at_least_one(limits.max_running, "max_running must be at least 1");
    if (limits.rate && !(std::isfinite(*limits.rate) && *limits.rate > 0))
        refuse("rate must be a finite number of starts per second above 0", shown(*limits.rate));
    if (limits.burst < 1) refuse("burst must be at least 1", std::to_string(limits.burst));
    at_least_one(limits.max_running_per_key, "max_running_per_key must be at least 1");
    for (const auto& [group, weight] : limits.group_weights) {
        // A group name follows the queue-name rule; that check is gqs's one UTF-8 checker.
        try {
            detail::check_queues(std::span<const std::string>(&group, 1));
        } catch (const std::invalid_argument&) {
            std::string got = std::to_string(group.size());
            got += " bytes";
            refuse("a group name must be 1 to 127 bytes of UTF-8 without NUL", got);
        }
        if (weight < 1 || weight > max_group_weight) {
            std::string what = "the weight of group \"";
            what += group;
            what += "\" must be 1 to 1000";
            refuse(what.c_str(), std::to_string(weight));
        }
    }
    if ((limits.fair_share || !limits.group_weights.empty()) && limits.max_running_per_key)
        refuse("fair share (fair_share or group_weights) and max_running_per_key cannot be "
               "combined yet",
               "max_running_per_key " + std::to_string(*limits.max_running_per_key));
}

} // namespace gqs
