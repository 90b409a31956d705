// SPDX-License-Identifier: Apache-2.0
// Cron expressions and time zones: when a schedule fires (docs/schedules.md).
#pragma once

#include <gqs/time.hpp>

#include <cstdint>
#include <optional>
#include <string_view>

namespace gqs {

/// How far ahead next_fire and Cron::next look: local days after the day of `after`. It
/// covers the longest wait of any expression that fires at all (29 February: 2096 to 2104).
inline constexpr int max_search_days = 8 * 366 + 1;

/// A parsed cron expression: 5 fields (minute hour day-of-month month day-of-week), a macro
/// (@yearly @annually @monthly @weekly @daily @midnight @hourly) or `@every <duration>`.
/// Syntax and rules: docs/schedules.md. Value type; const members are thread-safe.
class Cron {
public:
    /// The expression parsed. Throws std::invalid_argument naming the field and the value
    /// that is wrong ("gqs: cron: day-of-month: 32 is out of 1-31 ...").
    [[nodiscard]] static Cron parse(std::string_view expression);

    /// The first fire time strictly after `after` in `zone` ("UTC", "local" or an IANA name),
    /// or nullopt when there is none within max_search_days (or before TimePoint's end).
    /// A local time that does not exist (spring forward) is skipped; one that occurs twice
    /// (fall back) fires once, at its first occurrence. `@every` slots are multiples of its
    /// period since the Unix epoch, whatever the zone. Throws std::invalid_argument naming an
    /// unknown zone. Thread-safe.
    [[nodiscard]] std::optional<TimePoint> next(TimePoint after, std::string_view zone) const;

    /// The period of an `@every` expression; nullopt for a calendar expression.
    [[nodiscard]] std::optional<Duration> every() const noexcept {
        if (every_.count() == 0) return std::nullopt;
        return every_;
    }

private:
    Cron() = default;

    // One bit per allowed value: minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-6
    // (Sunday 0). A zero every_ means a calendar expression.
    std::uint64_t minutes_ = 0;
    std::uint32_t hours_ = 0;
    std::uint32_t days_ = 0;
    std::uint16_t months_ = 0;
    std::uint8_t weekdays_ = 0;
    // Whether day-of-month / day-of-week was written `*`: when neither was, a day matches if
    // either field matches (Vixie cron), otherwise both must.
    bool any_day_ = true;
    bool any_weekday_ = true;
    Duration every_{0};
};

/// Throws std::invalid_argument naming `zone` unless it is "UTC", "local" (the system's zone
/// from /etc/localtime; UTC when the system names none, as the C library does) or a name in
/// the system's tz database (IANA, e.g. "Europe/Berlin"). Thread-safe.
void check_zone(std::string_view zone);

/// The first time strictly after `after` at which `cron` fires in `zone`: Cron::parse(cron)
/// then Cron::next(after, zone). Pure; throws std::invalid_argument naming the field or the
/// zone. Thread-safe.
[[nodiscard]] std::optional<TimePoint> next_fire(std::string_view cron, std::string_view zone,
                                                 TimePoint after);

} // namespace gqs
