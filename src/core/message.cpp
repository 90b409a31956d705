// SPDX-License-Identifier: Apache-2.0
// Message::set and Message::get for scalars: nlohmann::json stays out of <gqs/message.hpp>.
#include <gqs/message.hpp>

#include "backend/codec.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace gqs {

namespace {

using nlohmann::json;

// metadata parsed, or a discarded value when it is not JSON. Text nesting deeper than
// max_metadata_depth is never parsed: the value built (and its copies) would recurse as deep.
json parse(const std::string& metadata) {
    if (metadata_depth(metadata) > max_metadata_depth) return json(json::value_t::discarded);
    return json::parse(metadata, nullptr, /*allow_exceptions=*/false);
}

// The metadata set() changes: an empty object for empty or `null` metadata.
json object_to_change(const std::string& metadata) {
    if (metadata.empty()) return json::object();
    json object = parse(metadata);
    if (object.is_null()) return json::object();
    if (!object.is_object())
        throw std::invalid_argument(
            std::string("gqs: Message::set: the metadata is not a JSON object") +
            (object.is_discarded() ? " (not JSON, or nested deeper than max_metadata_depth)" : ""));
    return object;
}

// metadata[key] = value, rewriting metadata only when every step succeeded.
Message& set_value(Message& message, std::string_view key, json value) {
    json object = object_to_change(message.metadata);
    object[std::string(key)] = std::move(value);
    try {
        message.metadata = object.dump();
    } catch (const json::type_error&) {
        // dump() refuses strings, keys included, that are not valid UTF-8.
        throw std::invalid_argument("gqs: Message::set: the key \"" + std::string(key) +
                                    "\" or its value is not valid UTF-8");
    }
    return message;
}

// metadata[key], or nullopt when metadata is not an object holding key.
std::optional<json> value_at(const std::string& metadata, std::string_view key) {
    if (metadata.empty()) return std::nullopt;
    json object = parse(metadata);
    if (!object.is_object()) return std::nullopt;
    auto it = object.find(key);
    if (it == object.end()) return std::nullopt;
    return std::move(*it);
}

// A whole number as T when `value` holds one within T's range (2.0 is one, 2.5 is not).
template <class T>
std::optional<T> whole_number(const json& value) {
    if (value.is_number_unsigned()) {
        const auto n = value.get<std::uint64_t>();
        if (n > static_cast<std::uint64_t>(std::numeric_limits<T>::max())) return std::nullopt;
        return static_cast<T>(n);
    }
    if (value.is_number_integer()) {
        const auto n = value.get<std::int64_t>();
        if (std::is_unsigned_v<T> && n < 0) return std::nullopt;
        return static_cast<T>(n);
    }
    if (value.is_number_float()) {
        const double d = value.get<double>();
        // Both bounds are powers of two, exact as doubles; max() + 1 is 2^63 or 2^64.
        constexpr double above =
            static_cast<double>((std::numeric_limits<T>::max() >> 1) + 1) * 2.0;
        constexpr double lowest = static_cast<double>(std::numeric_limits<T>::min());
        if (!(d >= lowest && d < above) || std::trunc(d) != d) return std::nullopt;
        return static_cast<T>(d);
    }
    return std::nullopt;
}

} // namespace

std::size_t metadata_depth(std::string_view text) noexcept {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

Message& Message::set(std::string_view key, std::string_view value) {
    return set_value(*this, key, json(std::string(value)));
}

Message& Message::set(std::string_view key, const char* value) {
    if (value == nullptr)
        throw std::invalid_argument("gqs: Message::set: a null const char* for key \"" +
                                    std::string(key) + "\"");
    return set(key, std::string_view(value));
}

Message& Message::set(std::string_view key, bool value) { return set_value(*this, key, value); }

Message& Message::set(std::string_view key, double value) {
    if (!std::isfinite(value))
        throw std::invalid_argument("gqs: Message::set: the value for key \"" + std::string(key) +
                                    "\" is " + (std::isnan(value) ? "NaN" : "infinity") +
                                    ", which JSON cannot hold");
    return set_value(*this, key, value);
}

Message& Message::set_integer(std::string_view key, std::int64_t value) {
    return set_value(*this, key, value);
}

Message& Message::set_unsigned(std::string_view key, std::uint64_t value) {
    return set_value(*this, key, value);
}

std::optional<std::string> Message::get_string(std::string_view key) const {
    auto value = value_at(metadata, key);
    if (!value || !value->is_string()) return std::nullopt;
    return std::move(value->get_ref<std::string&>());
}

std::optional<bool> Message::get_bool(std::string_view key) const {
    auto value = value_at(metadata, key);
    if (!value || !value->is_boolean()) return std::nullopt;
    return value->get<bool>();
}

std::optional<std::int64_t> Message::get_integer(std::string_view key) const {
    auto value = value_at(metadata, key);
    if (!value) return std::nullopt;
    return whole_number<std::int64_t>(*value);
}

std::optional<std::uint64_t> Message::get_unsigned(std::string_view key) const {
    auto value = value_at(metadata, key);
    if (!value) return std::nullopt;
    return whole_number<std::uint64_t>(*value);
}

std::optional<double> Message::get_double(std::string_view key) const {
    auto value = value_at(metadata, key);
    if (!value || !value->is_number()) return std::nullopt;
    return value->get<double>();
}

} // namespace gqs
