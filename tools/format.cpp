// SPDX-License-Identifier: Apache-2.0
// Text in and out of the gqs CLI: durations, timestamps, payload display, aligned tables.
#include "format.hpp"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <stdexcept>

namespace gqs::cli {

namespace {

using Micros = std::chrono::microseconds;

struct Unit {
    std::string_view suffix;
    std::int64_t ms;
};

// "ms" before "m", so the longer suffix wins.
constexpr std::array<Unit, 5> units = {{
    {"ms", 1},
    {"s", 1000},
    {"m", 60 * 1000},
    {"h", 60 * 60 * 1000},
    {"d", 24 * 60 * 60 * 1000},
}};

std::int64_t micros_of(TimePoint t) noexcept {
    // Division only: safe for any stored value.
    return std::chrono::duration_cast<Micros>(t.time_since_epoch()).count();
}

// Decodes one UTF-8 sequence at `i`; returns the code point and advances `i`, or -1 when
// the bytes there are not valid UTF-8 (overlong forms and surrogates included).
std::int32_t decode(std::string_view s, std::size_t& i) noexcept {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char c = byte(i);
    if (c < 0x80) {
        ++i;
        return c;
    }
    int extra = 0;
    std::int32_t cp = 0;
    std::int32_t min = 0;
    if ((c & 0xE0) == 0xC0) {
        extra = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        extra = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        extra = 3, cp = c & 0x07, min = 0x10000;
    } else {
        return -1;
    }
    if (s.size() - i <= static_cast<std::size_t>(extra)) return -1;
    for (int k = 1; k <= extra; ++k) {
        unsigned char cc = byte(i + static_cast<std::size_t>(k));
        if ((cc & 0xC0) != 0x80) return -1;
        cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
    i += static_cast<std::size_t>(extra) + 1;
    return cp;
}

// The milliseconds a duration's text spells, saturating at INT64_MAX; nullopt when the text
// is not a duration.
std::optional<std::int64_t> duration_millis(std::string_view text) {
    if (text == "0") return 0;
    if (text.empty()) return std::nullopt;
    constexpr std::int64_t saturated = INT64_MAX;
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        std::int64_t value = 0;
        std::size_t digits = 0;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
            const int digit = text[i] - '0';
            value = value > (saturated - digit) / 10 ? saturated : value * 10 + digit;
            ++i, ++digits;
        }
        if (digits == 0) return std::nullopt;
        const Unit* unit = nullptr;
        for (const auto& u : units) {
            if (text.substr(i, u.suffix.size()) == u.suffix) {
                unit = &u;
                break;
            }
        }
        if (unit == nullptr) return std::nullopt;
        i += unit->suffix.size();
        const std::int64_t part = value > saturated / unit->ms ? saturated : value * unit->ms;
        total = part > saturated - total ? saturated : total + part;
    }
    return total;
}

} // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    auto ms = duration_millis(text);
    if (!ms || *ms > max_duration.count()) return std::nullopt;
    return Duration{*ms};
}

bool duration_too_long(std::string_view text) {
    auto ms = duration_millis(text);
    return ms && *ms > max_duration.count();
}

std::string format_duration(Duration d) {
    std::int64_t ms = d.count();
    if (ms < 0) {
        // Appends, not "-" + string: GCC 12 reports a false -Wrestrict on that at -O3.
        std::string out = "-";
        out += format_duration(Duration{ms == INT64_MIN ? INT64_MAX : -ms});
        return out;
    }
    auto two = [](std::int64_t big, const char* big_unit, std::int64_t small,
                  const char* small_unit) {
        std::string out = std::to_string(big) + big_unit;
        if (small != 0) out += std::to_string(small) + small_unit;
        return out;
    };
    constexpr std::int64_t second = 1000, minute = 60 * second, hour = 60 * minute, day = 24 * hour;
    if (ms < second) return std::to_string(ms) + "ms";
    if (ms < minute) {
        // One decimal, truncated: 12.5s; 12s when the tenths are zero.
        std::int64_t tenths = ms / 100;
        std::string out = std::to_string(tenths / 10);
        if (tenths % 10 != 0) {
            out += '.';
            out += std::to_string(tenths % 10);
        }
        return out + "s";
    }
    if (ms < hour) return two(ms / minute, "m", ms % minute / second, "s");
    if (ms < day) return two(ms / hour, "h", ms % hour / minute, "m");
    return two(ms / day, "d", ms % day / hour, "h");
}

std::string format_time(TimePoint t, bool micros) {
    std::int64_t us = micros_of(t);
    std::int64_t secs = us / 1'000'000;
    std::int64_t frac = us % 1'000'000;
    if (frac < 0) frac += 1'000'000, --secs;
    auto seconds = static_cast<std::time_t>(secs);
    std::tm tm{};
    char buf[64];
    if (gmtime_r(&seconds, &tm) == nullptr ||
        std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return std::string("@")
            .append(std::to_string(us))
            .append("us"); // a year strftime cannot print
    std::string out = buf;
    if (micros) {
        std::snprintf(buf, sizeof buf, ".%06lld", static_cast<long long>(frac));
        out += buf;
    }
    return out + "Z";
}

std::string format_time_in(TimePoint t, std::string_view zone, bool micros) {
    const date::time_zone* tz = nullptr; // UTC
    if (zone == "local") {
        try {
            tz = date::current_zone();
        } catch (const std::exception&) {
            // No /etc/localtime (a bare container): UTC, as gqs::Cron reads "local" then.
        }
    } else if (zone != "UTC") {
        try {
            tz = date::locate_zone(std::string(zone));
        } catch (const std::exception& e) {
            throw std::invalid_argument(std::string("zone \"")
                                            .append(escape_text(zone, false))
                                            .append("\" is not in the system's tz database (")
                                            .append(e.what())
                                            .append(")"));
        }
    }
    std::chrono::seconds offset{0};
    if (tz != nullptr) offset = tz->get_info(std::chrono::floor<std::chrono::seconds>(t)).offset;
    std::string out = format_time(t + offset, micros);
    if (out.empty() || out.back() != 'Z') return out; // a year strftime cannot print
    out.pop_back();
    // A zone's offset is within a day: the clamp only bounds what snprintf may write.
    const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
    const int shown = static_cast<int>(std::min<long long>(minutes < 0 ? -minutes : minutes, 1439));
    char buf[32];
    std::snprintf(buf, sizeof buf, "%c%02d:%02d", minutes < 0 ? '-' : '+', shown / 60, shown % 60);
    return out + buf;
}

std::string format_relative(TimePoint t, TimePoint now) {
    // Microsecond counts are at most 2^63 / 1000, so their difference cannot overflow.
    std::int64_t diff_us = micros_of(t) - micros_of(now);
    Duration diff{diff_us / 1000};
    if (diff.count() == 0) return "now";
    if (diff.count() > 0) return std::string("in ").append(format_duration(diff));
    return format_duration(-diff) + " ago";
}

bool is_utf8(std::string_view bytes) noexcept {
    for (std::size_t i = 0; i < bytes.size();) {
        if (decode(bytes, i) < 0) return false;
    }
    return true;
}

bool is_printable_text(std::string_view bytes) noexcept {
    for (std::size_t i = 0; i < bytes.size();) {
        std::int32_t cp = decode(bytes, i);
        if (cp < 0) return false;
        if (cp < 0x20 && cp != '\t' && cp != '\n') return false;
        // DEL and the C1 controls (U+0080..U+009F: U+009B is a terminal's CSI).
        if (cp >= 0x7F && cp <= 0x9F) return false;
    }
    return true;
}

std::string escape_text(std::string_view text, bool ascii) {
    std::string out;
    out.reserve(text.size());
    char buf[16];
    for (std::size_t i = 0; i < text.size();) {
        const std::size_t start = i;
        const std::int32_t cp = decode(text, i);
        if (cp < 0) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
            out += buf;
            ++i;
        } else if (cp == '\t') {
            out += "\\t";
        } else if (cp == '\n') {
            out += "\\n";
        } else if (cp == '\r') {
            out += "\\r";
        } else if (cp < 0x20 || cp == 0x7F) {
            std::snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned>(cp));
            out += buf;
        } else if (cp < 0x7F || (!ascii && cp > 0x9F)) {
            out.append(text.substr(start, i - start));
        } else {
            // C1 controls (U+0080..U+009F) always, other non-ASCII characters when `ascii`.
            std::snprintf(buf, sizeof buf, cp > 0xFFFF ? "\\U%08x" : "\\u%04x",
                          static_cast<unsigned>(cp));
            out += buf;
        }
    }
    return out;
}

std::string hex_dump(std::string_view bytes) {
    std::string out;
    char buf[32];
    for (std::size_t line = 0; line < bytes.size(); line += 16) {
        std::snprintf(buf, sizeof buf, "%08zx ", line);
        out += buf;
        std::string ascii;
        for (std::size_t k = 0; k < 16; ++k) {
            if (k == 8) out += ' ';
            if (line + k < bytes.size()) {
                auto c = static_cast<unsigned char>(bytes[line + k]);
                std::snprintf(buf, sizeof buf, " %02x", c);
                out += buf;
                ascii += c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '.';
            } else {
                out += "   ";
            }
        }
        out += "  |" + ascii + "|\n";
    }
    return out;
}

std::string base64(std::string_view bytes) {
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[k]));
    };
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += alphabet[v >> 6 & 63];
        out += alphabet[v & 63];
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        std::uint32_t v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0);
        out += alphabet[v >> 18 & 63];
        out += alphabet[v >> 12 & 63];
        out += rest == 2 ? alphabet[v >> 6 & 63] : '=';
        out += '=';
    }
    return out;
}

std::string truncate(std::string_view text, std::size_t width) {
    if (text.size() <= width) return std::string(text);
    if (width <= 3) return std::string(text.substr(0, width));
    return std::string(text.substr(0, width - 3)) + "...";
}

std::string shell_word(const std::string& text) {
    bool plain = !text.empty();
    for (char c : text) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '/' || c == '.' || c == '_' || c == '-' || c == '+' || c == ':';
        plain = plain && ok;
    }
    if (plain) return text;
    std::string quoted = "'";
    for (char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

Table::Table(std::vector<std::string> headers)
    : headers_(std::move(headers)), align_(headers_.size(), Align::Left) {}

Table& Table::align_right(std::size_t column) {
    align_.at(column) = Align::Right;
    return *this;
}

void Table::add(std::vector<std::string> row) {
    if (row.size() != headers_.size()) throw std::logic_error("Table::add: wrong cell count");
    rows_.push_back(std::move(row));
}

void Table::print(std::ostream& out, bool with_header) const {
    std::vector<std::size_t> width(headers_.size(), 0);
    auto measure = [&](const std::vector<std::string>& row) {
        for (std::size_t c = 0; c < row.size(); ++c)
            width[c] = std::max(width[c], row[c].size());
    };
    if (with_header) measure(headers_);
    for (const auto& row : rows_)
        measure(row);
    auto line = [&](const std::vector<std::string>& row) {
        std::string text;
        for (std::size_t c = 0; c < row.size(); ++c) {
            const bool last = c + 1 == row.size();
            std::string pad(width[c] - row[c].size(), ' ');
            if (align_[c] == Align::Right) {
                text += pad + row[c];
            } else {
                text += row[c];
                if (!last) text += pad;
            }
            if (!last) text += "  ";
        }
        // Empty or short last cells would leave padding behind: trim it.
        text.erase(text.find_last_not_of(' ') + 1);
        out << text << '\n';
    };
    if (with_header) line(headers_);
    for (const auto& row : rows_)
        line(row);
}

} // namespace gqs::cli
