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
    std::size_t blocks = 10;   // rounds over the setups that share the samples of a run
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

/// One setup of measure_schedule_ticks: schedules stored by put_tick_schedules, and what
/// moves its `every` schedules' next slot: `make_every_due(false)` an hour ahead,
/// `make_every_due(true)` just into the past (SQL on the backend's table).
struct TickSetup {
    gqs::Schedules* schedules = nullptr;
    std::function<void(bool due)> make_every_due;
};

/// One run over several setups (with and without Done jobs), interleaved in `z.blocks` rounds
/// so that a busy moment of the machine hits every setup alike. In each round, each setup in
/// turn: its `every` schedules moved an hour ahead, `z.looks / z.blocks` timed next_due_in()
/// calls with nothing due; then `z.ticks / z.blocks` times: made due, next_due_in() (untimed,
/// as the scheduler thread reads before it ticks) and a timed tick(), which must store one
/// job per `every` schedule. The medians per setup, in the setups' order.
inline std::vector<TickCost> measure_schedule_ticks(const std::vector<TickSetup>& setups,
                                                    const TickSizes& z) {
    const auto check = [](bool ok, const char* what) {
        if (!ok) throw std::runtime_error(std::string("schedule_tick: expected ") + what);
    };
    const auto us_since = [](Clock::time_point start) {
        return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    };
    std::vector<std::vector<double>> looks(setups.size());
    std::vector<std::vector<double>> ticks(setups.size());
    for (std::size_t block = 0; block < z.blocks; ++block) {
        for (std::size_t i = 0; i < setups.size(); ++i) {
            auto& schedules = *setups[i].schedules;
            setups[i].make_every_due(false);
            for (std::size_t n = 0; n < z.looks / z.blocks; ++n) {
                const auto start = Clock::now();
                const auto in = schedules.next_due_in();
                looks[i].push_back(us_since(start));
                check(in.has_value() && in->count() > 0, "nothing due on a look");
            }
            for (std::size_t n = 0; n < z.ticks / z.blocks; ++n) {
                setups[i].make_every_due(true);
                const auto in = schedules.next_due_in();
                check(in.has_value() && in->count() == 0, "a due slot before a tick");
                const auto start = Clock::now();
                const int pushed = schedules.tick();
                ticks[i].push_back(us_since(start));
                check(pushed == static_cast<int>(z.every),
                      "one job per @every schedule from a tick");
            }
        }
    }
    std::vector<TickCost> costs;
    costs.reserve(setups.size());
    for (std::size_t i = 0; i < setups.size(); ++i)
        costs.push_back({median(looks[i]), median(ticks[i])});
    return costs;
}

} // namespace gqs_bench
