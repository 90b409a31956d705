// SPDX-License-Identifier: Apache-2.0
// Job identifiers: 16-byte UUIDs, generated time-ordered (UUIDv7 layout).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace gqs {

/// A 128-bit identifier. Value type; comparison is byte-wise, so ids made by generate()
/// sort by creation time.
class Uuid {
public:
    using Bytes = std::array<std::uint8_t, 16>;

    /// The nil UUID (all zero bytes).
    constexpr Uuid() noexcept = default;
    /// Wraps 16 raw bytes as they are.
    constexpr explicit Uuid(const Bytes& bytes) noexcept : bytes_(bytes) {}

    /// A new UUIDv7: 48-bit Unix milliseconds, then a per-thread counter and 62 random bits.
    /// Ids from one thread strictly increase; ids are unique across threads and processes
    /// with overwhelming probability. Thread-safety: safe to call from any thread.
    [[nodiscard]] static Uuid generate();

    /// Parses the canonical 8-4-4-4-12 hex form (either case); nullopt on anything else.
    /// Thread-safety: pure function.
    [[nodiscard]] static constexpr std::optional<Uuid> parse(std::string_view text) noexcept;

    /// The canonical 36-character lowercase form.
    [[nodiscard]] std::string to_string() const;

    /// The raw bytes, network order.
    [[nodiscard]] constexpr const Bytes& bytes() const noexcept { return bytes_; }

    /// True for the nil UUID.
    [[nodiscard]] constexpr bool is_nil() const noexcept { return *this == Uuid{}; }

    friend constexpr bool operator==(const Uuid&, const Uuid&) noexcept = default;
    friend constexpr std::strong_ordering operator<=>(const Uuid&, const Uuid&) noexcept = default;

private:
    Bytes bytes_{};
};

constexpr std::optional<Uuid> Uuid::parse(std::string_view text) noexcept {
    if (text.size() != 36) return std::nullopt;
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    Bytes b{};
    std::size_t pos = 0;
    for (std::size_t i = 0; i < 16; ++i) {
        if (pos == 8 || pos == 13 || pos == 18 || pos == 23) {
            if (text[pos] != '-') return std::nullopt;
            ++pos;
        }
        int hi = hex(text[pos]);
        int lo = hex(text[pos + 1]);
        if (hi < 0 || lo < 0) return std::nullopt;
        b[i] = static_cast<std::uint8_t>(hi * 16 + lo);
        pos += 2;
    }
    return Uuid(b);
}

inline std::string Uuid::to_string() const {
    constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < 16; ++i) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
        out.push_back(digits[bytes_[i] >> 4]);
        out.push_back(digits[bytes_[i] & 0x0F]);
    }
    return out;
}

} // namespace gqs

/// Hashes a Uuid for unordered containers.
template <>
struct std::hash<gqs::Uuid> {
    std::size_t operator()(const gqs::Uuid& id) const noexcept {
        // The bytes are already well mixed (time + random); fold them.
        std::uint64_t hi = 0, lo = 0;
        for (std::size_t i = 0; i < 8; ++i)
            hi = (hi << 8) | id.bytes()[i];
        for (std::size_t i = 8; i < 16; ++i)
            lo = (lo << 8) | id.bytes()[i];
        return static_cast<std::size_t>(lo ^ (hi * 0x9E3779B97F4A7C15ULL));
    }
};
