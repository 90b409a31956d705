// SPDX-License-Identifier: Apache-2.0
// The pure parts of the Queues rules: the queue-name check and the stored group weights.
#include "queue_rules.hpp"

#include "codec.hpp"

#include <gqs/message.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
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

Bucket refill(const QueueGate& gate, std::int64_t now_us) noexcept {
    if (!gate.rate) return {std::numeric_limits<double>::infinity(), now_us};
    const auto burst = static_cast<double>(gate.burst);
    if (!gate.tokens || !gate.refilled_us || !std::isfinite(*gate.tokens)) return {burst, now_us};
    const double stored = std::clamp(*gate.tokens, 0.0, burst);
    if (now_us <= *gate.refilled_us) return {stored, *gate.refilled_us};
    const double elapsed_s = static_cast<double>(now_us - *gate.refilled_us) / 1e6;
    return {std::min(burst, stored + *gate.rate * elapsed_s), now_us};
}

int allowed_starts(const QueueGate& gate, const Bucket& bucket, int running, int wanted) noexcept {
    if (gate.paused || wanted <= 0) return 0;
    double allowed = wanted;
    if (gate.max_running)
        allowed = std::min(allowed, static_cast<double>(*gate.max_running - running));
    allowed = std::min(allowed, std::floor(bucket.tokens));
    return allowed <= 0 ? 0 : static_cast<int>(allowed);
}

std::chrono::milliseconds until_token(const Bucket& bucket, double rate) noexcept {
    if (bucket.tokens >= 1) return std::chrono::milliseconds::zero();
    const double ms = std::ceil((1.0 - bucket.tokens) / rate * 1000.0);
    // A day at most: a rate this slow is a configuration to look at, not a wait to compute.
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::clamp(ms, 1.0, 86'400'000.0)));
}

} // namespace gqs::detail
