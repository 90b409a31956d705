// SPDX-License-Identifier: Apache-2.0
// The pure parts of the Schedules rules: which slots a tick pushes, and what each pushes.
#include "schedule_rules.hpp"

#include <chrono>
#include <cstdio>
#include <deque>

namespace gqs::detail {

namespace {

using std::chrono::duration_cast;
using std::chrono::microseconds;

// The walk below, for an `@every` schedule, starts near `now` instead of at `first`: its
// slots are multiples of the period, so the ones a long stop missed need no walk (an
// `@every 50ms` schedule stopped for a day missed 1.7 million). `skipped` counts the slots
// jumped over. A calendar expression fires at most once a minute; it is walked.
TimePoint jump_start(const Cron& cron, TimePoint first, TimePoint now, std::int64_t& skipped) {
    const auto every = cron.every();
    if (!every || now < first) return first;
    const auto period = duration_cast<microseconds>(*every).count();
    const auto first_us = to_micros(first);
    const auto now_us = to_micros(now);
    const auto behind = (now_us - first_us) / period; // whole periods from first to now
    const auto keep = static_cast<std::int64_t>(max_catch_up_slots) + 1;
    if (behind <= keep) return first;
    skipped = behind - keep;
    return from_micros(first_us + skipped * period);
}

} // namespace

SlotPlan plan_slots(const Cron& cron, const std::string& zone, TimePoint first, CatchUp catch_up,
                    TimePoint now) {
    std::int64_t count = 0;
    std::deque<TimePoint> recent; // the last max_catch_up_slots due slots
    std::optional<TimePoint> slot = jump_start(cron, first, now, count);
    while (slot && *slot <= now) {
        ++count;
        recent.push_back(*slot);
        if (recent.size() > max_catch_up_slots) recent.pop_front();
        slot = cron.next(*slot, zone);
    }
    SlotPlan plan;
    plan.next = slot;
    if (recent.empty()) return plan;
    switch (catch_up) {
    case CatchUp::All: plan.slots.assign(recent.begin(), recent.end()); break;
    case CatchUp::Latest: plan.slots.push_back(recent.back()); break;
    case CatchUp::None:
        // One due slot is a tick that came late, not a missed slot: it is pushed.
        if (count == 1) plan.slots.push_back(recent.back());
        break;
    }
    return plan;
}

std::string iso_slot(TimePoint slot) {
    using namespace std::chrono;
    const auto us = time_point_cast<microseconds>(slot);
    const auto day = floor<days>(us);
    const year_month_day ymd{day};
    const hh_mm_ss<microseconds> t{us - day};
    const auto fraction = t.subseconds().count();
    char out[48];
    int n =
        std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02d",
                      static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                      static_cast<unsigned>(ymd.day()), static_cast<int>(t.hours().count()),
                      static_cast<int>(t.minutes().count()), static_cast<int>(t.seconds().count()));
    if (fraction % 1000 != 0) {
        n += std::snprintf(out + n, sizeof out - static_cast<std::size_t>(n), ".%06lld",
                           static_cast<long long>(fraction));
    } else if (fraction != 0) {
        n += std::snprintf(out + n, sizeof out - static_cast<std::size_t>(n), ".%03lld",
                           static_cast<long long>(fraction / 1000));
    }
    return std::string(out, static_cast<std::size_t>(n)) + "Z";
}

Message slot_message(const Schedule& schedule, std::optional<TimePoint> slot) {
    Message message = schedule.message;
    message.id = Uuid::generate();
    message.set("gqs_schedule", schedule.name);
    if (slot) {
        const auto iso = iso_slot(*slot);
        message.set("gqs_slot", iso);
        message.unique_key = "cron:" + schedule.name + ":" + iso;
    }
    return message;
}

void throw_schedule_not_found(const std::string& name) {
    throw ScheduleNotFound("gqs: no schedule named \"" + name + "\"");
}

} // namespace gqs::detail
