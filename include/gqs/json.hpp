// SPDX-License-Identifier: Apache-2.0
// Opt-in: a Message's metadata as nlohmann::json, for any JSON Message::set and Message::get
// do not cover (arrays, nested objects, user types). Everything here is inline: libgqs itself
// names no nlohmann type, so the nlohmann version and settings of the including file are the
// ones used. Include it only where it is needed: it costs every file that includes it the
// compile time of <nlohmann/json.hpp>.
#pragma once

#include <gqs/message.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace gqs {

// Helpers of the functions below; not part of the API.
namespace json_detail {

// A key as a JSON pointer token (RFC 6901): `~` and `/` escaped.
inline std::string pointer_token(std::string_view key) {
    std::string out;
    for (const char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

// Where the walk stands in one array or object: `at` is the child being looked at.
struct Frame {
    const nlohmann::json* node;
    nlohmann::json::const_iterator at;
    std::size_t index; // of `at`, for arrays (an array iterator has no key)
};

// `prefix`, then the JSON pointer the first `levels` frames lead to ("/" for nothing at all);
// built only for the value a refusal names, never per level.
inline std::string pointer_of(std::string_view prefix, const std::vector<Frame>& frames,
                              std::size_t levels) {
    std::string out(prefix);
    for (std::size_t i = 0; i < levels; ++i) {
        const auto& f = frames[i];
        out += '/';
        out += f.node->is_array() ? std::to_string(f.index) : pointer_token(f.at.key());
    }
    return out.empty() ? "/" : out;
}

inline bool holds_nul(const std::string& text) { return text.find('\0') != std::string::npos; }

// Why a scalar cannot be stored ("" when it can). JSON has no NaN, no infinities and no
// binary values: nlohmann::json would write them as `null` and `{"bytes":…}`.
inline const char* unstorable(const nlohmann::json& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::number_float: {
        const double d = value.get<double>();
        if (std::isfinite(d)) return "";
        return std::isnan(d) ? "NaN" : "infinity";
    }
    case nlohmann::json::value_t::binary: return "binary";
    default: return "";
    }
}

// Throws std::invalid_argument, naming the job and where the value is, for what a push
// refuses: nesting deeper than max_metadata_depth, NUL in a string or key, NaN, infinities and
// binary values. `value` sits at `prefix` (a JSON pointer, "" for the whole metadata), inside
// `above` arrays and objects. One walk with its own stack: the depth comes from the caller's
// input, and nlohmann::json's dump(), copy and == recurse once per level, so nothing recursive
// may touch the value before its depth is known to be bounded.
inline void check_storable(const nlohmann::json& value, const Uuid& id,
                           std::string_view prefix = {}, std::size_t above = 0) {
    const auto refuse = [&](const std::string& why) {
        throw std::invalid_argument("gqs: metadata of job " + id.to_string() + " " + why);
    };
    const auto too_deep = [&] {
        refuse("nests arrays and objects deeper than " + std::to_string(max_metadata_depth) +
               " levels (gqs::max_metadata_depth)");
    };
    const auto no_json_form = [&](const std::string& where, const char* what) {
        refuse("cannot be stored as JSON: the value at " + where + " (" + what +
               ") has no JSON form");
    };
    // The same refusal on every backend: PostgreSQL's jsonb cannot hold U+0000.
    const auto nul = [&](const std::string& what) {
        refuse("holds a NUL character (\\u0000) in " + what +
               ", which gqs does not store (PostgreSQL's jsonb cannot)");
    };
    std::vector<Frame> frames;
    if (!value.is_structured()) {
        if (const char* what = unstorable(value); *what != '\0')
            no_json_form(pointer_of(prefix, frames, 0), what);
        if (value.is_string() && holds_nul(value.get_ref<const std::string&>()))
            nul("the string at " + pointer_of(prefix, frames, 0));
        return;
    }
    if (above + 1 > max_metadata_depth) too_deep();
    frames.push_back({&value, value.cbegin(), 0});
    while (!frames.empty()) {
        Frame& top = frames.back();
        if (top.at == top.node->cend()) {
            frames.pop_back();
            if (!frames.empty()) {
                ++frames.back().at;
                ++frames.back().index;
            }
            continue;
        }
        if (top.node->is_object() && holds_nul(top.at.key()))
            nul("a key of the object at " + pointer_of(prefix, frames, frames.size() - 1));
        const nlohmann::json& child = *top.at;
        if (child.is_structured()) {
            if (above + frames.size() + 1 > max_metadata_depth) too_deep();
            frames.push_back({&child, child.cbegin(), 0}); // `top` is invalid from here
            continue;
        }
        if (const char* what = unstorable(child); *what != '\0')
            no_json_form(pointer_of(prefix, frames, frames.size()), what);
        if (child.is_string() && holds_nul(child.get_ref<const std::string&>()))
            nul("the string at " + pointer_of(prefix, frames, frames.size()));
        ++top.at;
        ++top.index;
    }
}

} // namespace json_detail

/// message.metadata parsed: null when it is empty; a JSON string holding the raw text when it
/// is not JSON or nests deeper than max_metadata_depth (a row another program wrote), so no
/// read builds a value deeper than a push accepts. Such a string may hold invalid UTF-8: dump
/// it with an error_handler_t other than strict. Throws only std::bad_alloc.
[[nodiscard]] inline nlohmann::json metadata_json(const Message& message) {
    const std::string& text = message.metadata;
    if (text.empty()) return nullptr;
    if (metadata_depth(text) > max_metadata_depth) return nlohmann::json(text);
    auto value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return nlohmann::json(text);
    return value;
}

/// Sets message.metadata to value's compact JSON text; null makes it empty (no metadata).
/// Throws std::invalid_argument, leaving message unchanged, for what push would refuse:
/// nesting deeper than max_metadata_depth, NaN, infinities, binary values, NUL in a string or
/// key, invalid UTF-8. Never recurses deeper than max_metadata_depth, whatever value's depth.
inline void set_metadata_json(Message& message, const nlohmann::json& value) {
    json_detail::check_storable(value, message.id);
    if (value.is_null()) {
        message.metadata.clear();
        return;
    }
    try {
        message.metadata = value.dump();
    } catch (const nlohmann::json::type_error& e) {
        // dump() refuses strings, keys included, that are not valid UTF-8.
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: " + e.what());
    }
}

/// metadata[key] converted to T, for any T nlohmann::json converts to; nullopt as
/// Message::get: when metadata is empty, not a JSON object (or nests deeper than
/// max_metadata_depth), the key is missing, or the value does not convert to T.
template <class T>
[[nodiscard]] std::optional<T> get_json(const Message& message, std::string_view key) {
    const nlohmann::json metadata = metadata_json(message);
    if (!metadata.is_object()) return std::nullopt;
    const auto it = metadata.find(key);
    if (it == metadata.end()) return std::nullopt;
    try {
        return it->template get<T>();
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

/// metadata[key] = value, for any value nlohmann::json converts from; empty metadata becomes
/// an object. Returns message. Throws std::invalid_argument, leaving message unchanged, if
/// metadata is not a JSON object, and for what set_metadata_json refuses.
template <class T>
Message& set_json(Message& message, std::string_view key, T&& value) {
    nlohmann::json metadata = metadata_json(message);
    if (metadata.is_null()) metadata = nlohmann::json::object();
    if (!metadata.is_object())
        throw std::invalid_argument("gqs::set_json: the metadata of job " + message.id.to_string() +
                                    " is not a JSON object");
    // A JSON value is checked before it is copied in: a copy recurses once per level.
    if constexpr (std::is_same_v<std::remove_cvref_t<T>, nlohmann::json>) {
        std::string at(1, '/');
        at += json_detail::pointer_token(key);
        json_detail::check_storable(value, message.id, at, 1);
    }
    metadata[std::string(key)] = std::forward<T>(value);
    set_metadata_json(message, metadata);
    return message;
}

} // namespace gqs
