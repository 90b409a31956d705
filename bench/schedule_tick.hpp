// SPDX-License-Identifier: Apache-2.0
// The schedule_tick line of both benchmark programs (issue 23): what the scheduler thread
// (src/worker/schedule_loop.cpp) costs per wake with 10,000 stored schedules, of which only
// a few fall due: a look (next_due_in) with nothing due, and a tick that pushes the due slots.
// Backend-neutral: each program brings its Schedules and the SQL that makes the @every
// schedules due.
#pragma once

#include "support.hpp"

#include <gqs/cron.hpp>
#include <gqs/schedule.hpp>
#include <gqs/schedules.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gqs_bench {

/// How big the schedule_tick line is.
struct TickSizes {
    std::size_t schedules = 10'000; // stored, `every` of them "@every 1s", the rest far away
    std::size_t every = 10;
    std::size_t looks = 2'000; // next_due_in() samples with nothing due, per run
    std::size_t ticks = 200;   // tick() samples with the `every` schedules due, per run
};

/// The cron expression of the "@every" schedules: their slots are the ones a tick pushes.
inline constexpr const char* tick_every_cron = "@every 1s";

/// The median costs of one run, in microseconds.
struct TickCost {
    double look_us = 0; // next_due_in() with nothing due
    double tick_us = 0; // tick() with the `every` schedules due, one slot each
};

/// Stores `z.schedules` schedules through `schedules`: `z.every` named "every-N" with
/// tick_every_cron, the others daily, weekly, monthly or yearly in five zones, each chosen so
/// that its first slot is more than an hour away (none falls due while the line runs).
inline void put_tick_schedules(gqs::Schedules& schedules, const TickSizes& z) {
    constexpr std::array<std::string_view, 5> crons = {"@daily", "0 3 * * MON", "30 4 1 * *",
                                                       "15 2 * * SUN", "0 0 1 1 *"};
    constexpr std::array<std::string_view, 5> zones = {"UTC", "Europe/Berlin", "America/New_York",
                                                       "Asia/Tokyo", "Australia/Sydney"};
    const auto soonest = std::chrono::system_clock::now() + std::chrono::hours(1);
    const std::string payload(100, 'x');
    for (std::size_t i = 0; i < z.schedules; ++i) {
        gqs::Schedule schedule;
        schedule.message.metadata = metadata_text;
        schedule.message.payload = payload;
        if (i < z.every) {
            schedule.name = "every-" + std::to_string(i);
            schedule.cron = tick_every_cron;
        } else {
            schedule.name = "far-" + std::to_string(i);
            schedule.zone = zones[(i / crons.size()) % zones.size()];
            for (std::size_t k = 0; k < crons.size(); ++k) {
                schedule.cron = crons[(i + k) % crons.size()];
                const auto first =
                    gqs::next_fire(schedule.cron, schedule.zone, std::chrono::system_clock::now());
                if (first && *first > soonest) break;
            }
        }
        schedules.put(schedule);
    }
}

/// One run on schedules stored by put_tick_schedules: `make_every_due(false)` moves the
/// `every` schedules' next slot an hour ahead, `make_every_due(true)` just into the past (SQL
/// on the backend's table). First `z.looks` timed next_due_in() calls with nothing due, then
/// `z.ticks` times: make them due, next_due_in() (untimed, as the scheduler thread reads
/// before it ticks) and a timed tick(), which must store one job per `every` schedule.
inline TickCost measure_schedule_tick(gqs::Schedules& schedules, const TickSizes& z,
                                      const std::function<void(bool due)>& make_every_due) {
    const auto check = [](bool ok, const char* what) {
        if (!ok) throw std::runtime_error(std::string("schedule_tick: expected ") + what);
    };
    const auto us_since = [](Clock::time_point start) {
        return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    };
    make_every_due(false);
    std::vector<double> looks;
    looks.reserve(z.looks);
    for (std::size_t i = 0; i < z.looks; ++i) {
        const auto start = Clock::now();
        const auto in = schedules.next_due_in();
        looks.push_back(us_since(start));
        check(in.has_value() && in->count() > 0, "nothing due on a look");
    }
    std::vector<double> ticks;
    ticks.reserve(z.ticks);
    for (std::size_t i = 0; i < z.ticks; ++i) {
        make_every_due(true);
        const auto in = schedules.next_due_in();
        check(in.has_value() && in->count() == 0, "a due slot before a tick");
        const auto start = Clock::now();
        const int pushed = schedules.tick();
        ticks.push_back(us_since(start));
        check(pushed == static_cast<int>(z.every), "one job per @every schedule from a tick");
    }
    return {median(std::move(looks)), median(std::move(ticks))};
}

} // namespace gqs_bench
