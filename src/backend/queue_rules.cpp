// SPDX-License-Identifier: Apache-2.0
// The pure parts of the Queues rules: the queue-name check and the stored group weights.
#include "queue_rules.hpp"

#include "codec.hpp"

#include <gqs/message.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <span>
#include <stdexcept>

namespace gqs::detail {

void check_queue_name(const std::string& queue) {
    // The queue-name check of a pull, with a message that does not speak of pulling.
    try {
        check_queues(std::span<const std::string>(&queue, 1));
    } catch (const std::invalid_argument&) {
        std::string message = "gqs: a queue name must be 1 to 127 bytes of UTF-8 without NUL (got ";
        message += std::to_string(queue.size());
        message += " bytes)";
        throw std::invalid_argument(message);
    }
}

std::string encode_group_weights(const std::map<std::string, int>& weights) {
    if (weights.empty()) return {};
    nlohmann::json json = nlohmann::json::object();
    for (const auto& [group, weight] : weights)
        json[group] = weight;
    return json.dump();
}

std::map<std::string, int> decode_group_weights(std::string_view text) {
    std::map<std::string, int> weights;
    if (text.empty()) return weights;
    // Weights are one level deep: text nested deeper than metadata may be is not parsed (a
    // value that deep would recurse as deep when copied or destroyed).
    if (metadata_depth(text) > max_metadata_depth) return weights;
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_object()) return weights;
    for (const auto& [group, weight] : json.items()) {
        if (!weight.is_number_integer()) continue;
        const auto value = weight.get<std::int64_t>();
        if (value < std::numeric_limits<int>::min() || value > std::numeric_limits<int>::max())
            continue;
        weights.emplace(group, static_cast<int>(value));
    }
    return weights;
}

} // namespace gqs::detail
