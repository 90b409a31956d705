// SPDX-License-Identifier: Apache-2.0
// The pure parts of the Schedules rules: which slots a tick pushes for each catch-up policy,
// how a slot is written, and what its job carries.
#include "backend/schedule_rules.hpp"

#include "support/catch.hpp"

#include <gqs/cron.hpp>
#include <gqs/schedule.hpp>

#include <chrono>
#include <string>

using namespace std::chrono;
using gqs::CatchUp;
using gqs::Cron;
using gqs::TimePoint;
using gqs::detail::plan_slots;

namespace {

const TimePoint noon = sys_days(year(2026) / 3 / 28) + hours(12); // 12:00 UTC

} // namespace

TEST_CASE("schedule plan: the slots due at now, per catch-up policy", "[schedules][unit]") {
    const auto cron = Cron::parse("*/10 * * * *");
    const TimePoint first = noon - hours(1); // 11:00; now 12:05: 11:00 ... 12:00 are due
    const TimePoint now = noon + minutes(5);
    SECTION("All: every one, oldest first") {
        const auto plan = plan_slots(cron, "UTC", first, CatchUp::All, now);
        REQUIRE(plan.slots.size() == 7);
        CHECK(plan.slots.front() == first);
        CHECK(plan.slots.back() == noon);
        CHECK(plan.next == noon + minutes(10));
    }
    SECTION("Latest: the latest one") {
        const auto plan = plan_slots(cron, "UTC", first, CatchUp::Latest, now);
        REQUIRE(plan.slots.size() == 1);
        CHECK(plan.slots[0] == noon);
        CHECK(plan.next == noon + minutes(10));
    }
    SECTION("None: none of them") {
        const auto plan = plan_slots(cron, "UTC", first, CatchUp::None, now);
        CHECK(plan.slots.empty());
        CHECK(plan.next == noon + minutes(10));
    }
    SECTION("None: one due slot is a late tick, not a missed slot") {
        const auto plan = plan_slots(cron, "UTC", noon, CatchUp::None, now);
        REQUIRE(plan.slots.size() == 1);
        CHECK(plan.slots[0] == noon);
    }
    SECTION("a slot exactly at now is due") {
        const auto plan = plan_slots(cron, "UTC", noon, CatchUp::All, noon);
        REQUIRE(plan.slots.size() == 1);
        CHECK(plan.next == noon + minutes(10));
    }
    SECTION("nothing due") {
        const auto plan = plan_slots(cron, "UTC", noon + minutes(10), CatchUp::All, now);
        CHECK(plan.slots.empty());
        CHECK(plan.next == noon + minutes(10));
    }
}

TEST_CASE("schedule plan: All keeps the latest 100, for calendar and @every expressions",
          "[schedules][unit]") {
    for (const char* expression : {"* * * * *", "@every 1m"}) {
        INFO(expression);
        const auto cron = Cron::parse(expression);
        const auto plan = plan_slots(cron, "UTC", noon - hours(5), CatchUp::All, noon);
        REQUIRE(plan.slots.size() == gqs::max_catch_up_slots);
        CHECK(plan.slots.back() == noon);
        CHECK(plan.slots.front() == noon - minutes(99));
        CHECK(plan.next == noon + minutes(1));
        const auto latest = plan_slots(cron, "UTC", noon - hours(5), CatchUp::Latest, noon);
        REQUIRE(latest.slots.size() == 1);
        CHECK(latest.slots[0] == noon);
        CHECK(plan_slots(cron, "UTC", noon - hours(5), CatchUp::None, noon).slots.empty());
    }
    // @every jumps instead of walking: a year of 50 ms slots.
    const auto fast = Cron::parse("@every 50ms");
    const auto plan = plan_slots(fast, "UTC", noon - days(365), CatchUp::All, noon);
    REQUIRE(plan.slots.size() == gqs::max_catch_up_slots);
    CHECK(plan.slots.back() == noon);
    CHECK(plan.next == noon + milliseconds(50));
    CHECK(plan_slots(fast, "UTC", noon - days(365), CatchUp::None, noon).slots.empty());
}

TEST_CASE("schedule plan: an expression that never fires again", "[schedules][unit]") {
    const auto cron = Cron::parse("0 0 30 2 *");
    const auto plan = plan_slots(cron, "UTC", noon, CatchUp::All, noon);
    CHECK(plan.slots.size() == 1);
    CHECK_FALSE(plan.next.has_value());
}

TEST_CASE("schedule plan: slots as UTC ISO-8601", "[schedules][unit]") {
    CHECK(gqs::detail::iso_slot(noon) == "2026-03-28T12:00:00Z");
    CHECK(gqs::detail::iso_slot(noon + milliseconds(50)) == "2026-03-28T12:00:00.050Z");
    CHECK(gqs::detail::iso_slot(noon + microseconds(7)) == "2026-03-28T12:00:00.000007Z");
    CHECK(gqs::detail::iso_slot(TimePoint{}) == "1970-01-01T00:00:00Z");
}

TEST_CASE("schedule plan: a slot's message", "[schedules][unit]") {
    gqs::Schedule s;
    s.name = "nightly";
    s.cron = "0 3 * * *";
    s.message.metadata = R"({"kind":"report"})";
    s.message.unique_key = "mine";
    const auto slot = gqs::detail::slot_message(s, noon);
    CHECK(slot.id != s.message.id);
    CHECK(slot.unique_key == "cron:nightly:2026-03-28T12:00:00Z");
    CHECK(slot.get<std::string>("gqs_schedule") == "nightly");
    CHECK(slot.get<std::string>("gqs_slot") == "2026-03-28T12:00:00Z");
    CHECK(slot.get<std::string>("kind") == "report");
    const auto now = gqs::detail::slot_message(s, std::nullopt);
    CHECK(now.unique_key == "mine");
    CHECK(now.get<std::string>("gqs_schedule") == "nightly");
    CHECK_FALSE(now.get<std::string>("gqs_slot").has_value());
}
