// SPDX-License-Identifier: Apache-2.0
// Tests of cron expressions, zones and next_fire (gqs/cron.hpp) and validate(Schedule).
#include "catch.hpp"

#include <gqs/cron.hpp>
#include <gqs/schedule.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <latch>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

using gqs::TimePoint;

namespace {

// "2026-03-29T01:00:00Z" or "2026-01-01T00:00:00.050Z" as a TimePoint (UTC).
TimePoint at(const char* iso) {
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    int ms = 0;
    const int n = std::sscanf(iso, "%d-%u-%uT%d:%d:%d.%dZ", &y, &mo, &d, &h, &mi, &s, &ms);
    REQUIRE(n >= 6);
    const std::chrono::sys_days day{std::chrono::year(y) / std::chrono::month(mo) /
                                    std::chrono::day(d)};
    return TimePoint(day) + std::chrono::hours(h) + std::chrono::minutes(mi) +
           std::chrono::seconds(s) + std::chrono::milliseconds(ms);
}

// The inverse of at(), milliseconds only when there are some; "none" for nullopt.
std::string iso(std::optional<TimePoint> t) {
    if (!t) return "none";
    const auto day = std::chrono::floor<std::chrono::days>(*t);
    const std::chrono::year_month_day ymd(day);
    const auto ms = std::chrono::floor<std::chrono::milliseconds>(*t - day).count();
    std::array<char, 128> text{}; // room for any value GCC can imagine (-Wformat-truncation)
    const long long seconds = ms / 1000;
    if (ms % 1000 == 0) {
        std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02lld:%02lld:%02lldZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), seconds / 3600, seconds / 60 % 60,
                      seconds % 60);
    } else {
        std::snprintf(text.data(), text.size(), "%04d-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), seconds / 3600, seconds / 60 % 60,
                      seconds % 60, static_cast<long long>(ms % 1000));
    }
    return text.data();
}

// The next 5 fire times after `after`, each found from the one before.
std::vector<std::string> next_five(std::string_view cron, std::string_view zone,
                                   const char* after) {
    std::vector<std::string> times;
    std::optional<TimePoint> t = at(after);
    for (int i = 0; i < 5 && t; ++i) {
        t = gqs::next_fire(cron, zone, *t);
        times.push_back(iso(t));
    }
    return times;
}

struct Row {
    const char* cron;
    const char* zone;
    const char* after;
    std::vector<std::string> expected;
};

// The message of the std::invalid_argument fn throws, or "" when it throws none.
template <class Fn>
std::string error_of(Fn fn) {
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

std::string cron_error(std::string_view cron, std::string_view zone = "UTC") {
    return error_of([&] { (void)gqs::next_fire(cron, zone, at("2026-01-01T00:00:00Z")); });
}

// Each expected time was worked out by hand and checked against a brute-force walk over
// UTC minutes in Python's zoneinfo (fire when the local wall clock matches, not on a repeated
// hour's second pass), never against this code.
void check_rows(const std::vector<Row>& rows) {
    for (const auto& row : rows) {
        INFO(row.cron << " in " << row.zone << " after " << row.after);
        CHECK(next_five(row.cron, row.zone, row.after) == row.expected);
    }
}

} // namespace

TEST_CASE("cron: month ends and the days short months lack", "[cron]") {
    check_rows({
        {"0 12 28-31 * *",
         "UTC",
         "2026-01-30T00:00:00Z",
         {"2026-01-30T12:00:00Z", "2026-01-31T12:00:00Z", "2026-02-28T12:00:00Z",
          "2026-03-28T12:00:00Z", "2026-03-29T12:00:00Z"}},
        // The 31st: February, April and June have none.
        {"0 0 31 * *",
         "UTC",
         "2026-01-01T00:00:00Z",
         {"2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z",
          "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"}},
        // The 29th: February 2027 has none.
        {"0 0 29 * *",
         "UTC",
         "2027-01-15T00:00:00Z",
         {"2027-01-29T00:00:00Z", "2027-03-29T00:00:00Z", "2027-04-29T00:00:00Z",
          "2027-05-29T00:00:00Z", "2027-06-29T00:00:00Z"}},
    });
}

TEST_CASE("cron: 29 February fires in leap years only", "[cron]") {
    check_rows({
        {"0 0 29 2 *",
         "UTC",
         "2023-01-01T00:00:00Z",
         {"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
          "2036-02-29T00:00:00Z", "2040-02-29T00:00:00Z"}},
        // 2100 is not a leap year: the longest wait of any expression, 8 years, is found.
        {"0 0 29 2 *",
         "UTC",
         "2096-03-01T00:00:00Z",
         {"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z", "2112-02-29T00:00:00Z",
          "2116-02-29T00:00:00Z", "2120-02-29T00:00:00Z"}},
    });
}

TEST_CASE("cron: steps lists and ranges", "[cron]") {
    check_rows({
        // */7 restarts at 0 each hour: 56 then 0.
        {"*/7 * * * *",
         "UTC",
         "2026-05-01T10:50:00Z",
         {"2026-05-01T10:56:00Z", "2026-05-01T11:00:00Z", "2026-05-01T11:07:00Z",
          "2026-05-01T11:14:00Z", "2026-05-01T11:21:00Z"}},
        {"10-30/10 9-17/4 * * *",
         "UTC",
         "2026-05-01T16:00:00Z",
         {"2026-05-01T17:10:00Z", "2026-05-01T17:20:00Z", "2026-05-01T17:30:00Z",
          "2026-05-02T09:10:00Z", "2026-05-02T09:20:00Z"}},
        {"5,35 0-1 * * *",
         "UTC",
         "2026-05-01T00:05:00Z",
         {"2026-05-01T00:35:00Z", "2026-05-01T01:05:00Z", "2026-05-01T01:35:00Z",
          "2026-05-02T00:05:00Z", "2026-05-02T00:35:00Z"}},
    });
}

TEST_CASE("cron: month and weekday names in any case and 7 for Sunday", "[cron]") {
    const std::vector<std::string> sundays = {"2026-05-03T08:00:00Z", "2026-05-10T08:00:00Z",
                                              "2026-05-17T08:00:00Z", "2026-05-24T08:00:00Z",
                                              "2026-05-31T08:00:00Z"};
    check_rows({
        // 2026-01-01 is a Thursday.
        {"30 9 * JAN MON-FRI",
         "UTC",
         "2026-01-01T00:00:00Z",
         {"2026-01-01T09:30:00Z", "2026-01-02T09:30:00Z", "2026-01-05T09:30:00Z",
          "2026-01-06T09:30:00Z", "2026-01-07T09:30:00Z"}},
        {"30 9 * jan mon-fri",
         "UTC",
         "2026-01-28T00:00:00Z",
         {"2026-01-28T09:30:00Z", "2026-01-29T09:30:00Z", "2026-01-30T09:30:00Z",
          "2027-01-01T09:30:00Z", "2027-01-04T09:30:00Z"}},
        {"0 8 * * 0", "UTC", "2026-05-01T00:00:00Z", sundays},
        {"0 8 * * 7", "UTC", "2026-05-01T00:00:00Z", sundays},
        {"0 8 * * Sun", "UTC", "2026-05-01T00:00:00Z", sundays},
        {"0 8 * * 5-7",
         "UTC",
         "2026-05-01T00:00:00Z",
         {"2026-05-01T08:00:00Z", "2026-05-02T08:00:00Z", "2026-05-03T08:00:00Z",
          "2026-05-08T08:00:00Z", "2026-05-09T08:00:00Z"}},
    });
}

TEST_CASE("cron: day-of-month and day-of-week both restricted match either", "[cron]") {
    check_rows({
        // Fridays, and the 13th (a Tuesday in January 2026).
        {"0 0 13 * FRI",
         "UTC",
         "2026-01-01T00:00:00Z",
         {"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
          "2026-01-16T00:00:00Z", "2026-01-23T00:00:00Z"}},
        // Not "the first Monday": days 1-7, and every Monday.
        {"0 0 1-7 * MON",
         "UTC",
         "2026-03-01T00:00:00Z",
         {"2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z", "2026-03-04T00:00:00Z",
          "2026-03-05T00:00:00Z", "2026-03-06T00:00:00Z"}},
        // */10 is a restriction (only a bare * is not): days 1, 11, 21, 31 or Mondays.
        {"0 0 */10 * MON",
         "UTC",
         "2026-03-01T00:00:00Z",
         {"2026-03-02T00:00:00Z", "2026-03-09T00:00:00Z", "2026-03-11T00:00:00Z",
          "2026-03-16T00:00:00Z", "2026-03-21T00:00:00Z"}},
        // With one of them *, both must match: the 13th only; Saturdays of June and December.
        {"0 0 13 * *",
         "UTC",
         "2026-01-01T00:00:00Z",
         {"2026-01-13T00:00:00Z", "2026-02-13T00:00:00Z", "2026-03-13T00:00:00Z",
          "2026-04-13T00:00:00Z", "2026-05-13T00:00:00Z"}},
        {"0 0 * JUN,dec SAT",
         "UTC",
         "2026-05-20T00:00:00Z",
         {"2026-06-06T00:00:00Z", "2026-06-13T00:00:00Z", "2026-06-20T00:00:00Z",
          "2026-06-27T00:00:00Z", "2026-12-05T00:00:00Z"}},
    });
}

TEST_CASE("cron: macros", "[cron]") {
    check_rows({
        {"@hourly",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2026-05-01T11:00:00Z", "2026-05-01T12:00:00Z", "2026-05-01T13:00:00Z",
          "2026-05-01T14:00:00Z", "2026-05-01T15:00:00Z"}},
        // Midnight in Berlin (CEST, UTC+2).
        {"@daily",
         "Europe/Berlin",
         "2026-05-01T10:00:00Z",
         {"2026-05-01T22:00:00Z", "2026-05-02T22:00:00Z", "2026-05-03T22:00:00Z",
          "2026-05-04T22:00:00Z", "2026-05-05T22:00:00Z"}},
        {"@midnight",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2026-05-02T00:00:00Z", "2026-05-03T00:00:00Z", "2026-05-04T00:00:00Z",
          "2026-05-05T00:00:00Z", "2026-05-06T00:00:00Z"}},
        {"@weekly",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2026-05-03T00:00:00Z", "2026-05-10T00:00:00Z", "2026-05-17T00:00:00Z",
          "2026-05-24T00:00:00Z", "2026-05-31T00:00:00Z"}},
        {"@monthly",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2026-06-01T00:00:00Z", "2026-07-01T00:00:00Z", "2026-08-01T00:00:00Z",
          "2026-09-01T00:00:00Z", "2026-10-01T00:00:00Z"}},
        {"@YEARLY",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z",
          "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"}},
        {"  @annually ",
         "UTC",
         "2026-05-01T10:00:00Z",
         {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z", "2029-01-01T00:00:00Z",
          "2030-01-01T00:00:00Z", "2031-01-01T00:00:00Z"}},
    });
}

TEST_CASE("cron: Europe/Berlin skips the spring gap and fires once in the autumn repeat",
          "[cron][zone]") {
    check_rows({
        // 2026-03-29: 02:00 CET becomes 03:00 CEST; 02:30 does not exist that day.
        {"30 2 * * *",
         "Europe/Berlin",
         "2026-03-27T00:00:00Z",
         {"2026-03-27T01:30:00Z", "2026-03-28T01:30:00Z", "2026-03-30T00:30:00Z",
          "2026-03-31T00:30:00Z", "2026-04-01T00:30:00Z"}},
        // 01:30 CET, then 03:00 CEST straight after.
        {"*/30 * * * *",
         "Europe/Berlin",
         "2026-03-29T00:00:00Z",
         {"2026-03-29T00:30:00Z", "2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z",
          "2026-03-29T02:00:00Z", "2026-03-29T02:30:00Z"}},
        // 2026-10-25: 03:00 CEST becomes 02:00 CET; 02:30 comes twice and fires at the first
        // (00:30Z), then at 02:30 CET (01:30Z) on later days.
        {"30 2 * * *",
         "Europe/Berlin",
         "2026-10-24T00:00:00Z",
         {"2026-10-24T00:30:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
          "2026-10-27T01:30:00Z", "2026-10-28T01:30:00Z"}},
        // The second pass of 02:00 and 02:30 (01:00Z, 01:30Z) fires nothing.
        {"0,30 * * * *",
         "Europe/Berlin",
         "2026-10-24T23:45:00Z",
         {"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z",
          "2026-10-25T02:30:00Z", "2026-10-25T03:00:00Z"}},
        // `after` inside the second pass (02:10 CET): that day's 02:30 has fired already.
        {"30 2 * * *",
         "Europe/Berlin",
         "2026-10-25T01:10:00Z",
         {"2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z", "2026-10-28T01:30:00Z",
          "2026-10-29T01:30:00Z", "2026-10-30T01:30:00Z"}},
    });
}

TEST_CASE("cron: America/New_York across both changes", "[cron][zone]") {
    check_rows({
        // 2026-03-08: EST (UTC-5) becomes EDT (UTC-4).
        {"0 9 * * MON-FRI",
         "America/New_York",
         "2026-03-06T00:00:00Z",
         {"2026-03-06T14:00:00Z", "2026-03-09T13:00:00Z", "2026-03-10T13:00:00Z",
          "2026-03-11T13:00:00Z", "2026-03-12T13:00:00Z"}},
        // 2026-11-01: 01:30 comes twice; the first is 01:30 EDT.
        {"30 1 * * *",
         "America/New_York",
         "2026-10-31T12:00:00Z",
         {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z", "2026-11-03T06:30:00Z",
          "2026-11-04T06:30:00Z", "2026-11-05T06:30:00Z"}},
    });
}

TEST_CASE("cron: Australia/Lord_Howe and its 30-minute daylight saving", "[cron][zone]") {
    check_rows({
        // 2026-10-04: 02:00 (UTC+10:30) becomes 02:30 (UTC+11); 02:00 and 02:15 do not exist.
        {"*/15 * * * *",
         "Australia/Lord_Howe",
         "2026-10-03T15:00:00Z",
         {"2026-10-03T15:15:00Z", "2026-10-03T15:30:00Z", "2026-10-03T15:45:00Z",
          "2026-10-03T16:00:00Z", "2026-10-03T16:15:00Z"}},
        {"15 2 * * *",
         "Australia/Lord_Howe",
         "2026-10-02T00:00:00Z",
         {"2026-10-02T15:45:00Z", "2026-10-04T15:15:00Z", "2026-10-05T15:15:00Z",
          "2026-10-06T15:15:00Z", "2026-10-07T15:15:00Z"}},
        // 2026-04-05: 02:00 (UTC+11) becomes 01:30 (UTC+10:30); 01:30 to 02:00 comes twice.
        {"*/15 * * * *",
         "Australia/Lord_Howe",
         "2026-04-04T14:20:00Z",
         {"2026-04-04T14:30:00Z", "2026-04-04T14:45:00Z", "2026-04-04T15:30:00Z",
          "2026-04-04T15:45:00Z", "2026-04-04T16:00:00Z"}},
        {"45 1 * * *",
         "Australia/Lord_Howe",
         "2026-04-03T00:00:00Z",
         {"2026-04-03T14:45:00Z", "2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z",
          "2026-04-06T15:15:00Z", "2026-04-07T15:15:00Z"}},
    });
}

TEST_CASE("cron: @every slots are multiples of the period since the epoch in any zone", "[cron]") {
    check_rows({
        {"@every 50ms",
         "UTC",
         "2026-01-01T00:00:00.020Z",
         {"2026-01-01T00:00:00.050Z", "2026-01-01T00:00:00.100Z", "2026-01-01T00:00:00.150Z",
          "2026-01-01T00:00:00.200Z", "2026-01-01T00:00:00.250Z"}},
        {"@every 10s",
         "UTC",
         "2026-05-01T10:50:05Z",
         {"2026-05-01T10:50:10Z", "2026-05-01T10:50:20Z", "2026-05-01T10:50:30Z",
          "2026-05-01T10:50:40Z", "2026-05-01T10:50:50Z"}},
        {"@every 1h30m",
         "Europe/Berlin",
         "2026-01-01T00:00:00Z",
         {"2026-01-01T01:30:00Z", "2026-01-01T03:00:00Z", "2026-01-01T04:30:00Z",
          "2026-01-01T06:00:00Z", "2026-01-01T07:30:00Z"}},
        {"@every 1m30s",
         "UTC",
         "2026-05-01T10:50:00Z",
         {"2026-05-01T10:51:00Z", "2026-05-01T10:52:30Z", "2026-05-01T10:54:00Z",
          "2026-05-01T10:55:30Z", "2026-05-01T10:57:00Z"}},
        // 7 minutes do not divide an hour: 10:53 is 4232459 * 420 s since the epoch.
        {"@every 7m",
         "Australia/Lord_Howe",
         "2026-05-01T10:50:00Z",
         {"2026-05-01T10:53:00Z", "2026-05-01T11:00:00Z", "2026-05-01T11:07:00Z",
          "2026-05-01T11:14:00Z", "2026-05-01T11:21:00Z"}},
        // Nor do 7 hours divide a day.
        {"@every 7h",
         "UTC",
         "2026-05-01T10:50:00Z",
         {"2026-05-01T11:00:00Z", "2026-05-01T18:00:00Z", "2026-05-02T01:00:00Z",
          "2026-05-02T08:00:00Z", "2026-05-02T15:00:00Z"}},
        {"@every 1h",
         "UTC",
         "1969-12-31T22:30:00Z",
         {"1969-12-31T23:00:00Z", "1970-01-01T00:00:00Z", "1970-01-01T01:00:00Z",
          "1970-01-01T02:00:00Z", "1970-01-01T03:00:00Z"}},
    });
}

TEST_CASE("cron: the fire time is strictly after and on a whole minute", "[cron]") {
    CHECK(iso(gqs::next_fire("* * * * *", "UTC", at("2026-05-01T12:00:00Z"))) ==
          "2026-05-01T12:01:00Z");
    CHECK(iso(gqs::next_fire("* * * * *", "UTC", at("2026-05-01T12:00:59.999Z"))) ==
          "2026-05-01T12:01:00Z");
    CHECK(iso(gqs::next_fire("0 0 * * *", "UTC", at("2026-12-31T23:59:30Z"))) ==
          "2027-01-01T00:00:00Z");
    CHECK(iso(gqs::next_fire("@every 1s", "UTC", at("2026-05-01T12:00:00Z"))) ==
          "2026-05-01T12:00:01Z");
}

TEST_CASE("cron: an expression that never fires gives nullopt", "[cron]") {
    // A bounded search: months that cannot match are skipped a month at a time.
    CHECK_FALSE(gqs::next_fire("0 0 30 2 *", "UTC", at("2026-01-01T00:00:00Z")));
    CHECK_FALSE(gqs::next_fire("0 0 31 2,4,6,9,11 *", "Europe/Berlin", at("2026-01-01T00:00:00Z")));
    // A fire time past TimePoint's end (2262-04-11 with nanoseconds) is none too.
    CHECK_FALSE(gqs::next_fire("0 0 1 1 *", "UTC", at("2262-01-01T00:00:00Z")));
    CHECK_FALSE(gqs::next_fire("@every 1000000h", "UTC", at("2262-01-01T00:00:00Z")));
    // The parsed form answers the same.
    const auto cron = gqs::Cron::parse("0 0 30 2 *");
    CHECK_FALSE(cron.next(at("2026-01-01T00:00:00Z"), "UTC"));
    CHECK_FALSE(cron.every());
    CHECK(gqs::Cron::parse("@every 1h30m").every() == std::chrono::minutes(90));
}

TEST_CASE("cron: the ends of TimePoint are answered without overflow", "[cron]") {
    for (const char* cron : {"* * * * *", "0 0 29 2 *", "@every 1ms", "@every 1000000h"}) {
        for (const char* zone : {"UTC", "Europe/Berlin", "Australia/Lord_Howe"}) {
            INFO(cron << " in " << zone);
            CHECK_FALSE(gqs::next_fire(cron, zone, TimePoint::max()));
            const auto first = gqs::next_fire(cron, zone, TimePoint::min());
            REQUIRE(first);
            CHECK(*first > TimePoint::min());
        }
    }
    CHECK(iso(gqs::next_fire("@every 1ms", "UTC", TimePoint::max() - std::chrono::hours(1))) !=
          "none");
}

TEST_CASE("cron: threads asking for the same new zone at once get the same answers",
          "[cron][zone]") {
    // The first use of a zone loads its file; every thread starts at once to race that load.
    constexpr int threads = 4;
    const TimePoint after = at("2026-05-01T00:00:00Z"); // at() asserts: not on the threads
    std::latch start(threads);
    std::vector<std::string> answers(threads);
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&, i] {
            start.arrive_and_wait();
            try {
                answers[static_cast<std::size_t>(i)] =
                    iso(gqs::next_fire("30 2 * * *", "Asia/Kathmandu", after));
            } catch (const std::exception& e) {
                answers[static_cast<std::size_t>(i)] = e.what();
            }
        });
    }
    for (auto& thread : pool)
        thread.join();
    // 02:30 in Kathmandu (UTC+5:45) is 20:45 UTC the day before.
    for (const auto& answer : answers)
        CHECK(answer == "2026-05-01T20:45:00Z");
}

TEST_CASE("cron: zones UTC local and IANA names are known", "[cron][zone]") {
    CHECK_NOTHROW(gqs::check_zone("UTC"));
    CHECK_NOTHROW(gqs::check_zone("local"));
    CHECK_NOTHROW(gqs::check_zone("Europe/Berlin"));
    CHECK_NOTHROW(gqs::check_zone("Australia/Lord_Howe"));
    CHECK(gqs::next_fire("0 0 * * *", "local", at("2026-05-01T10:00:00Z")).has_value());
    for (const char* zone : {"Mars/Olympus_Mons", "", "utc ", "Europe/Berlin/..", "../etc"}) {
        INFO(zone);
        const auto message = error_of([&] { gqs::check_zone(zone); });
        CHECK(message.find(std::string("zone: \"") + zone + "\"") != std::string::npos);
        CHECK(cron_error("0 0 * * *", zone).find(std::string("zone: \"") + zone + "\"") !=
              std::string::npos);
    }
    // @every ignores the zone but does not accept a bad one.
    CHECK(cron_error("@every 1m", "Nowhere/Town").find("Nowhere/Town") != std::string::npos);
}

TEST_CASE("cron: a bad expression names its field and what is wrong", "[cron]") {
    struct Bad {
        const char* cron;
        const char* names; // a part of the message
    };
    const std::vector<Bad> bad = {
        {"60 * * * *", "cron: minute: 60 is out of 0-59"},
        {"* 24 * * *", "cron: hour: 24 is out of 0-23"},
        {"* * 0 * *", "cron: day-of-month: 0 is out of 1-31"},
        {"0 0 32 * *", "cron: day-of-month: 32 is out of 1-31"},
        {"* * * 0 *", "cron: month: 0 is out of 1-12"},
        {"* * * 13 *", "cron: month: 13 is out of 1-12"},
        {"* * * * 8", "cron: day-of-week: 8 is out of 0-7"},
        {"99999999999999999999 * * * *", "cron: minute: 99999999999999999999 is out of 0-59"},
        {"1-70 * * * *", "cron: minute: 70 is out of 0-59"},
        {"*/0 * * * *", "cron: minute: the step 0 is out of 1-59"},
        {"* */25 * * *", "cron: hour: the step 25 is out of 1-23"},
        {"* * * * */x", "cron: day-of-week: the step \"x\" is not a number"},
        {"* * * * 1-5/", "cron: day-of-week: the step \"\" is not a number"},
        {"5/10 * * * *", "cron: minute: the step in \"5/10\" needs * or a range"},
        {"* 5-3 * * *", "cron: hour: the range 5-3 is reversed"},
        {"* * * DEC-JAN *", "cron: month: the range DEC-JAN is reversed"},
        {"* * * * FRI-MON", "cron: day-of-week: the range FRI-MON is reversed"},
        {"x * * * *", "cron: minute: \"x\" is not a number"},
        {"* * * MON *", "cron: month: \"MON\" is not a number or a name"},
        {"* * * * JAN", "cron: day-of-week: \"JAN\" is not a number or a name"},
        {"* * * * MONDAY", "cron: day-of-week: \"MONDAY\" is not a number or a name"},
        {"* * -1 * *", "cron: day-of-month: \"\" is not a number"},
        {"1,,2 * * * *", "cron: minute: an empty item in \"1,,2\""},
        {"* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week), got 4"},
        {"* * * * * *", "got 6"},
        {"", "got 0"},
        {"   ", "got 0"},
        {"@every 0s", "cron: @every: the duration must be more than 0"},
        {"@every 0h0m", "cron: @every: the duration must be more than 0"},
        {"@every 10", "cron: @every: \"10\" is not a duration"},
        {"@every 1d", "cron: @every: \"1d\" is not a duration"},
        {"@every -1s", "cron: @every: \"-1s\" is not a duration"},
        {"@every", "cron: @every takes one duration"},
        {"@every 1s 2s", "cron: @every takes one duration"},
        {"@every 1000001h", "cron: @every: \"1000001h\" is longer than 1000000h"},
        {"@every 99999999999999999999ms", "is longer than 1000000h"},
        {"@fortnightly", "cron: unknown macro \"@fortnightly\""},
        {"@daily 1", "cron: a macro stands alone"},
    };
    for (const auto& b : bad) {
        INFO("expression: \"" << b.cron << "\"");
        const auto message = cron_error(b.cron);
        INFO("message: " << message);
        CHECK(message.find(b.names) != std::string::npos);
        CHECK_THROWS_AS(gqs::Cron::parse(b.cron), std::invalid_argument);
    }
}

TEST_CASE("cron: a huge bad expression or zone is quoted cut short", "[cron]") {
    const std::string garbage(100000, 'x');
    const auto message = cron_error(garbage + " * * * *");
    CHECK(message.find("cron: minute: \"xxx") != std::string::npos);
    CHECK(message.size() < 1000);
    const auto zone_message = cron_error("* * * * *", garbage);
    CHECK(zone_message.find("zone: \"xxx") != std::string::npos);
    CHECK(zone_message.size() < 1000);
}

TEST_CASE("cron: validate checks a schedule's name expression zone and message",
          "[cron][schedule]") {
    gqs::Schedule schedule;
    schedule.name = "nightly report";
    schedule.cron = "0 3 * * *";
    schedule.zone = "Europe/Berlin";
    CHECK_NOTHROW(gqs::validate(schedule));
    CHECK(schedule.catch_up == gqs::CatchUp::Latest);
    CHECK_FALSE(schedule.paused);

    SECTION("the name") {
        for (const std::string& name :
             {std::string(), std::string(128, 'n'), std::string("a\0b", 3), std::string("\xC3")}) {
            schedule.name = name;
            CHECK(error_of([&] {
                      gqs::validate(schedule);
                  }).find("schedule name must be 1 to 127 bytes of UTF-8 without NUL") !=
                  std::string::npos);
        }
        schedule.name = std::string(127, 'n');
        CHECK_NOTHROW(gqs::validate(schedule));
        schedule.name = "Zeitplan \xC3\xBC";
        CHECK_NOTHROW(gqs::validate(schedule));
    }
    SECTION("the expression") {
        schedule.cron = "0 0 32 * *";
        const auto message = error_of([&] { gqs::validate(schedule); });
        CHECK(message.find("schedule \"nightly report\"") != std::string::npos);
        CHECK(message.find("day-of-month: 32 is out of 1-31") != std::string::npos);
    }
    SECTION("the zone") {
        schedule.zone = "Europe/Atlantis";
        CHECK(error_of([&] { gqs::validate(schedule); }).find("Europe/Atlantis") !=
              std::string::npos);
    }
    SECTION("the message") {
        schedule.message.priority = 10;
        CHECK(error_of([&] { gqs::validate(schedule); }).find("priority") != std::string::npos);
        schedule.message.priority = 0;
        schedule.message.metadata = "{not json";
        CHECK(error_of([&] { gqs::validate(schedule); }).find("JSON") != std::string::npos);
    }
}
