// SPDX-License-Identifier: Apache-2.0
// A message: what a producer pushes.
#pragma once

#include <gqs/uuid.hpp>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace gqs {

/// The deepest metadata a push stores: arrays and objects nested at most this many levels (a
/// scalar is depth 0, `[1]` depth 1). Deeper metadata is refused with std::invalid_argument
/// before anything is stored, on every backend; a deeper row another program wrote reads
/// back as its raw JSON text (a JSON string), so no read recurses as deep as its input.
inline constexpr std::size_t max_metadata_depth = 128;

/// What a producer pushes: an id, JSON metadata and binary-safe payload bytes.
/// Value type; not synchronised.
struct Message {
    /// Unique per queue; a fresh time-ordered id by default.
    Uuid id = Uuid::generate();
    /// Free-form JSON (null or an object in practice); stored as JSON text.
    nlohmann::json metadata;
    /// Opaque bytes; NUL bytes and any size SQLite accepts are kept as they are.
    std::string payload;
    /// The named queue the job joins: 1..127 bytes of UTF-8 without NUL (push throws
    /// std::invalid_argument otherwise). Workers choose the queues they serve.
    std::string queue = "default";
    /// 0 runs first, 9 last; push throws std::invalid_argument outside 0..9.
    int priority = 0;
    /// While a Pending or Processing job of the same queue holds this key, a push with it
    /// stores nothing and returns that job's id (PushResult::duplicate). 1..1024 bytes of
    /// UTF-8 without NUL when set (std::invalid_argument otherwise).
    std::optional<std::string> unique_key;

    /// Sets metadata[key] = value (metadata becomes an object if it was null).
    /// Throws nlohmann::json::type_error if metadata holds a non-object value.
    template <class T>
    Message& set(std::string_view key, T&& value) {
        metadata[std::string(key)] = std::forward<T>(value);
        return *this;
    }

    /// metadata[key] converted to T, or nullopt when metadata is not an object, the key is
    /// missing, or the value does not convert to T.
    template <class T>
    [[nodiscard]] std::optional<T> get(std::string_view key) const {
        if (!metadata.is_object()) return std::nullopt;
        auto it = metadata.find(key);
        if (it == metadata.end()) return std::nullopt;
        try {
            return it->template get<T>();
        } catch (const nlohmann::json::exception&) {
            return std::nullopt;
        }
    }
};

} // namespace gqs
