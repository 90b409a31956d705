// SPDX-License-Identifier: Apache-2.0
// A message: what a producer pushes.
#pragma once

#include <gqs/uuid.hpp>

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

namespace gqs {

/// The deepest metadata a push stores: arrays and objects nested at most this many levels (a
/// scalar is depth 0, `[1]` depth 1). Deeper metadata is refused with std::invalid_argument
/// before anything is stored, on every backend; no read of a deeper row another program wrote
/// parses it (Message::get gives nullopt, gqs::metadata_json the raw text as a JSON string).
inline constexpr std::size_t max_metadata_depth = 128;

/// How deeply JSON `text` nests arrays and objects, counted from its brackets outside strings
/// without parsing: exact for JSON, never less than what a parse of `text` would build. Any
/// text; thread-safe.
[[nodiscard]] std::size_t metadata_depth(std::string_view text) noexcept;

/// A type Message::get reads and Message::set writes without <gqs/json.hpp>.
template <class T>
concept MetadataScalar = std::same_as<T, std::string> || std::same_as<T, bool> ||
    std::integral<T> || std::floating_point<T>;

/// What a producer pushes: an id, JSON metadata and binary-safe payload bytes.
/// Value type; not synchronised (const members may run concurrently with each other).
struct Message {
    /// Unique per queue; a fresh time-ordered id by default.
    Uuid id = Uuid::generate();
    /// The metadata as JSON text: empty for none, otherwise one JSON value, an object in
    /// practice. Empty text and the text `null` are both stored as NULL and read back empty.
    /// push refuses, with std::invalid_argument and the same message on every backend, text
    /// that is not JSON (UTF-8), nests deeper than max_metadata_depth or escapes NUL (\u0000).
    /// Read back as the backend stores it: SQLite keeps the text as pushed, PostgreSQL's
    /// jsonb reformats it (compare parsed values, not texts). Other JSON: <gqs/json.hpp>.
    std::string metadata;
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
    /// Jobs of a queue sharing this key count against the queue's `max_running_per_key`
    /// (docs/limits.md). 1..127 bytes of UTF-8 without NUL when set (push throws
    /// std::invalid_argument otherwise, the same message on every backend). A Schedule's
    /// message must not carry it (validate(Schedule) refuses it: schedules do not store it yet).
    std::optional<std::string> concurrency_key;
    /// The tenant this job belongs to: a fair-share queue (QueueLimits::fair_share,
    /// docs/limits.md) serves its groups round-robin. 1..127 bytes of UTF-8 without NUL when set
    /// (push throws std::invalid_argument otherwise, the same message on every backend). A
    /// Schedule's message must not carry it (validate(Schedule) refuses it: schedules do not
    /// store it yet).
    std::optional<std::string> group;

    /// Sets metadata[key] = value and returns *this: empty (or `null`) metadata becomes an
    /// object, an existing key is replaced, and metadata is rewritten as compact JSON text.
    /// Throws std::invalid_argument, leaving metadata unchanged, if metadata is not a JSON
    /// object (or nests deeper than max_metadata_depth), if the key or a string value is not
    /// valid UTF-8, for a null `const char*` and for a non-finite double.
    Message& set(std::string_view key, std::string_view value);
    Message& set(std::string_view key, const char* value);
    Message& set(std::string_view key, bool value);
    Message& set(std::string_view key, double value);
    template <std::integral T>
    requires(!std::same_as<T, bool>) Message& set(std::string_view key, T value) {
        if constexpr (std::is_signed_v<T>) {
            return set_integer(key, static_cast<std::int64_t>(value));
        } else {
            return set_unsigned(key, static_cast<std::uint64_t>(value));
        }
    }

    /// metadata[key] as T, or nullopt when metadata is empty, not a JSON object (or nests
    /// deeper than max_metadata_depth), the key is missing, or the value is not a T: a string
    /// for std::string, true/false for bool, a number for the arithmetic types (for an
    /// integral T a whole number within T's range; for float, within its range). Never
    /// throws but std::bad_alloc. Any other T: gqs::get_json in <gqs/json.hpp>.
    template <MetadataScalar T>
    [[nodiscard]] std::optional<T> get(std::string_view key) const {
        if constexpr (std::same_as<T, std::string>) {
            return get_string(key);
        } else if constexpr (std::same_as<T, bool>) {
            return get_bool(key);
        } else if constexpr (std::floating_point<T>) {
            const auto value = get_double(key);
            if (!value) return std::nullopt;
            if constexpr (sizeof(T) < sizeof(double)) {
                // Converting a double outside T's range would be undefined.
                if (*value > std::numeric_limits<T>::max() ||
                    *value < std::numeric_limits<T>::lowest())
                    return std::nullopt;
            }
            return static_cast<T>(*value);
        } else if constexpr (std::is_signed_v<T>) {
            const auto value = get_integer(key);
            if (!value || *value < static_cast<std::int64_t>(std::numeric_limits<T>::min()) ||
                *value > static_cast<std::int64_t>(std::numeric_limits<T>::max()))
                return std::nullopt;
            return static_cast<T>(*value);
        } else {
            const auto value = get_unsigned(key);
            if (!value || *value > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                return std::nullopt;
            return static_cast<T>(*value);
        }
    }

private:
    // The out-of-line halves of set and get (src/core/message.cpp), one per JSON type.
    Message& set_integer(std::string_view key, std::int64_t value);
    Message& set_unsigned(std::string_view key, std::uint64_t value);
    [[nodiscard]] std::optional<std::string> get_string(std::string_view key) const;
    [[nodiscard]] std::optional<bool> get_bool(std::string_view key) const;
    [[nodiscard]] std::optional<std::int64_t> get_integer(std::string_view key) const;
    [[nodiscard]] std::optional<std::uint64_t> get_unsigned(std::string_view key) const;
    [[nodiscard]] std::optional<double> get_double(std::string_view key) const;
};

} // namespace gqs
