// SPDX-License-Identifier: Apache-2.0
// Cron expressions and their fire times in a time zone (the tz database through date-tz).
#include <gqs/cron.hpp>

#include <date/date.h>
#include <date/tz.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace gqs {

namespace {

// An error message quotes the expression; a huge one is cut, not copied whole.
constexpr std::size_t max_quoted_bytes = 100;

// At most max_quoted_bytes of `text`, for a message.
std::string shown(std::string_view text) {
    std::string quoted(text.substr(0, max_quoted_bytes));
    if (text.size() > max_quoted_bytes) quoted += "...";
    return quoted;
}

[[noreturn]] void fail(std::string_view expression, const std::string& what) {
    throw std::invalid_argument(std::string("gqs: cron: ") + what + " (in \"" + shown(expression) +
                                "\")");
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> fields;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && is_space(text[i]))
            ++i;
        const std::size_t start = i;
        while (i < text.size() && !is_space(text[i]))
            ++i;
        if (i > start) fields.push_back(text.substr(start, i - start));
    }
    return fields;
}

bool equal_ignoring_case(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

bool all_digits(std::string_view text) {
    if (text.empty()) return false;
    for (const char c : text) {
        if (c < '0' || c > '9') return false;
    }
    return true;
}

// A run of digits as an int; nullopt when it does not fit (it is then out of any range).
std::optional<int> to_int(std::string_view digits) {
    int value = 0;
    const auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (error != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
    return value;
}

constexpr std::array<std::string_view, 12> month_names = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
constexpr std::array<std::string_view, 7> weekday_names = {"SUN", "MON", "TUE", "WED",
                                                           "THU", "FRI", "SAT"};

// One of the five fields: its name for messages, its values, and the names it accepts (the
// first name stands for `min`).
struct Field {
    const char* name;
    int min;
    int max;
    const std::string_view* names;
    std::size_t name_count;
};

constexpr std::array<Field, 5> fields = {{
    {"minute", 0, 59, nullptr, 0},
    {"hour", 0, 23, nullptr, 0},
    {"day-of-month", 1, 31, nullptr, 0},
    {"month", 1, 12, month_names.data(), month_names.size()},
    // 7 is Sunday too; `*` means 0-6.
    {"day-of-week", 0, 7, weekday_names.data(), weekday_names.size()},
}};

std::string range_text(const Field& field) {
    return std::to_string(field.min) + "-" + std::to_string(field.max);
}

int parse_value(std::string_view expression, const Field& field, std::string_view token) {
    if (all_digits(token)) {
        const auto value = to_int(token);
        if (!value || *value < field.min || *value > field.max)
            fail(expression,
                 std::string(field.name) + ": " + shown(token) + " is out of " + range_text(field));
        return *value;
    }
    for (std::size_t i = 0; i < field.name_count; ++i) {
        if (equal_ignoring_case(token, field.names[i])) return field.min + static_cast<int>(i);
    }
    fail(expression, std::string(field.name) + ": \"" + shown(token) + "\" is not a number" +
                         (field.names != nullptr ? " or a name" : ""));
}

// The values one field allows, one bit each.
std::uint64_t parse_field(std::string_view expression, const Field& field, std::string_view text) {
    std::uint64_t bits = 0;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = text.substr(
            start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (item.empty())
            fail(expression,
                 std::string(field.name) + ": an empty item in \"" + shown(text) + "\"");
        const std::size_t slash = item.find('/');
        const std::string_view range = item.substr(0, slash);
        int low = field.min;
        // `*` for day-of-week is 0-6: 7 would only repeat Sunday.
        int high = field.max == 7 ? 6 : field.max;
        if (range != "*") {
            const std::size_t dash = range.find('-');
            low = parse_value(expression, field, range.substr(0, dash));
            high = dash == std::string_view::npos
                       ? low
                       : parse_value(expression, field, range.substr(dash + 1));
            if (low > high)
                fail(expression,
                     std::string(field.name) + ": the range " + shown(range) + " is reversed");
            if (slash != std::string_view::npos && dash == std::string_view::npos)
                fail(expression, std::string(field.name) + ": the step in \"" + shown(item) +
                                     "\" needs * or a range before it");
        }
        int step = 1;
        if (slash != std::string_view::npos) {
            const std::string_view step_text = item.substr(slash + 1);
            if (!all_digits(step_text))
                fail(expression, std::string(field.name) + ": the step \"" + shown(step_text) +
                                     "\" is not a number");
            const auto value = to_int(step_text);
            if (!value || *value < 1 || *value > field.max)
                fail(expression, std::string(field.name) + ": the step " + shown(step_text) +
                                     " is out of 1-" + std::to_string(field.max));
            step = *value;
        }
        const bool seven_is_sunday = field.max == 7;
        for (int v = low; v <= high; v += step)
            bits |= std::uint64_t{1} << (seven_is_sunday && v == 7 ? 0 : v);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return bits;
}

// The longest @every period: its slot arithmetic stays within TimePoint's nanoseconds.
constexpr std::int64_t max_every_ms = std::int64_t{1'000'000} * 3'600'000; // 1000000h

[[noreturn]] void fail_every(std::string_view expression, std::string_view text) {
    fail(expression, "@every: \"" + shown(text) +
                         "\" is not a duration (digits and a unit ms, s, m or h, like 50ms, 10s "
                         "or 1h30m)");
}

// "1h30m", "50ms", "10s": digits and a unit (ms s m h), repeated; the sum.
Duration parse_every(std::string_view expression, std::string_view text) {
    std::int64_t total = 0;
    std::size_t i = 0;
    while (i < text.size()) {
        const std::size_t start = i;
        while (i < text.size() && text[i] >= '0' && text[i] <= '9')
            ++i;
        if (i == start) fail_every(expression, text);
        std::int64_t number = 0;
        const bool fits =
            std::from_chars(text.data() + start, text.data() + i, number).ec == std::errc();
        std::int64_t unit = 0;
        if (text.substr(i, 2) == "ms") {
            unit = 1;
            i += 2;
        } else if (i < text.size() && (text[i] == 's' || text[i] == 'm' || text[i] == 'h')) {
            unit = text[i] == 's' ? 1'000 : text[i] == 'm' ? 60'000 : 3'600'000;
            ++i;
        } else {
            fail_every(expression, text);
        }
        if (!fits || number > (max_every_ms - total) / unit)
            fail(expression, "@every: \"" + shown(text) + "\" is longer than 1000000h");
        total += number * unit;
    }
    if (text.empty()) fail_every(expression, text);
    if (total == 0) fail(expression, "@every: the duration must be more than 0");
    return Duration(total);
}

// A time zone: nullptr stands for UTC, which needs no tz database.
const date::time_zone* find_zone(std::string_view zone) {
    if (zone == "UTC") return nullptr;
    if (zone == "local") {
        try {
            return date::current_zone();
        } catch (const std::exception&) {
            // No /etc/localtime (a bare container): the C library's localtime() means UTC then.
            return nullptr;
        }
    }
    try {
        return date::locate_zone(std::string(zone));
    } catch (const std::exception& e) {
        throw std::invalid_argument(std::string("gqs: zone: \"") + shown(zone) +
                                    "\" is not \"UTC\", \"local\" or a time zone in the system's "
                                    "tz database (" +
                                    shown(e.what()) + ")");
    }
}

// The instant a local time names: its first occurrence when the clocks fall back, none when
// it falls in a spring-forward gap (docs/schedules.md: such a time is skipped, not moved).
std::optional<date::sys_seconds> to_sys(const date::time_zone* zone, date::local_seconds local) {
    if (zone == nullptr) return date::sys_seconds(local.time_since_epoch());
    const date::local_info info = zone->get_info(local);
    if (info.result == date::local_info::nonexistent) return std::nullopt;
    // Unique: `first` is the only offset. Ambiguous: `first` is the offset before the change.
    return date::sys_seconds(local.time_since_epoch() - info.first.offset);
}

// The last whole second TimePoint holds (2262-04-11 with nanoseconds). A later instant must
// not be compared with a TimePoint: the comparison converts it to nanoseconds, and overflows.
constexpr date::sys_seconds last_second = date::floor<std::chrono::seconds>(TimePoint::max());

// The @every slot after `after`: the next multiple of `every` since the Unix epoch.
std::optional<TimePoint> next_every(Duration every, TimePoint after) {
    const auto period = std::chrono::duration_cast<TimePoint::duration>(every).count();
    const auto since_epoch = after.time_since_epoch().count();
    auto slots = since_epoch / period; // rounds toward zero: floor it for times before 1970
    if (since_epoch % period < 0) --slots;
    if (slots + 1 > std::numeric_limits<decltype(slots)>::max() / period) return std::nullopt;
    return TimePoint(TimePoint::duration((slots + 1) * period));
}

} // namespace

Cron Cron::parse(std::string_view expression) {
    const auto words = split_fields(expression);
    if (!words.empty() && words[0].starts_with('@')) {
        Cron cron;
        if (equal_ignoring_case(words[0], "@every")) {
            if (words.size() != 2)
                fail(expression, "@every takes one duration (like @every 10s), got " +
                                     std::to_string(words.size() - 1) + " words");
            cron.every_ = parse_every(expression, words[1]);
            return cron;
        }
        if (words.size() != 1)
            fail(expression,
                 "a macro stands alone, but \"" + shown(words[0]) + "\" is followed by more");
        struct Macro {
            std::string_view name;
            std::string_view expression;
        };
        constexpr std::array<Macro, 7> macros = {{{"@yearly", "0 0 1 1 *"},
                                                  {"@annually", "0 0 1 1 *"},
                                                  {"@monthly", "0 0 1 * *"},
                                                  {"@weekly", "0 0 * * 0"},
                                                  {"@daily", "0 0 * * *"},
                                                  {"@midnight", "0 0 * * *"},
                                                  {"@hourly", "0 * * * *"}}};
        for (const auto& macro : macros) {
            if (equal_ignoring_case(words[0], macro.name)) return parse(macro.expression);
        }
        fail(expression, "unknown macro \"" + shown(words[0]) +
                             "\" (known: @yearly @annually @monthly @weekly @daily @midnight "
                             "@hourly @every)");
    }
    if (words.size() != fields.size())
        fail(expression, "expected 5 fields (minute hour day-of-month month day-of-week), got " +
                             std::to_string(words.size()));
    std::array<std::uint64_t, 5> bits{};
    for (std::size_t i = 0; i < fields.size(); ++i)
        bits[i] = parse_field(expression, fields[i], words[i]);
    Cron cron;
    cron.minutes_ = bits[0];
    cron.hours_ = static_cast<std::uint32_t>(bits[1]);
    cron.days_ = static_cast<std::uint32_t>(bits[2]);
    cron.months_ = static_cast<std::uint16_t>(bits[3]);
    cron.weekdays_ = static_cast<std::uint8_t>(bits[4]);
    cron.any_day_ = words[2] == "*";
    cron.any_weekday_ = words[4] == "*";
    return cron;
}

std::optional<TimePoint> Cron::next(TimePoint after, std::string_view zone) const {
    const date::time_zone* tz = find_zone(zone);
    if (every_.count() != 0) return next_every(every_, after);

    // Fire times are whole local minutes. Walking local days, a candidate at or before
    // `after`'s local time cannot be after `after` (a repeated hour maps to its first, earlier
    // occurrence), so the walk starts there; the `> after` test below drops the rest of a
    // repeated hour when `after` is in its second occurrence. Days the month or the day
    // fields refuse cost one step each (a refused month one step), so the whole walk is at
    // most max_search_days cheap steps plus the minutes of the day that fires.
    const auto after_seconds = date::floor<std::chrono::seconds>(after);
    const date::local_seconds after_local =
        tz == nullptr ? date::local_seconds(after_seconds.time_since_epoch())
                      : tz->to_local(after_seconds);
    date::local_days day = date::floor<date::days>(after_local);
    const date::local_days last = day + date::days(max_search_days);
    while (day <= last) {
        const date::year_month_day ymd(day);
        if (((months_ >> static_cast<unsigned>(ymd.month())) & 1U) == 0) {
            day = date::local_days((ymd.year() / ymd.month() + date::months(1)) / 1);
            continue;
        }
        const bool day_ok = ((days_ >> static_cast<unsigned>(ymd.day())) & 1U) != 0;
        const bool weekday_ok = ((weekdays_ >> date::weekday(day).c_encoding()) & 1U) != 0;
        const bool fires = any_day_ || any_weekday_ ? day_ok && weekday_ok : day_ok || weekday_ok;
        if (fires) {
            for (int hour = 0; hour < 24; ++hour) {
                if (((hours_ >> hour) & 1U) == 0) continue;
                const date::local_seconds hour_start = day + std::chrono::hours(hour);
                if (hour_start + std::chrono::minutes(59) <= after_local) continue;
                for (int minute = 0; minute < 60; ++minute) {
                    if (((minutes_ >> minute) & 1U) == 0) continue;
                    const date::local_seconds local = hour_start + std::chrono::minutes(minute);
                    if (local <= after_local) continue;
                    const auto instant = to_sys(tz, local);
                    if (!instant) continue;
                    // Later candidates are later instants: none of them fits either.
                    if (*instant > last_second) return std::nullopt;
                    if (*instant > after)
                        return std::chrono::time_point_cast<TimePoint::duration>(*instant);
                }
            }
        }
        day += date::days(1);
    }
    return std::nullopt;
}

void check_zone(std::string_view zone) { (void)find_zone(zone); }

std::optional<TimePoint> next_fire(std::string_view cron, std::string_view zone, TimePoint after) {
    return Cron::parse(cron).next(after, zone);
}

} // namespace gqs
