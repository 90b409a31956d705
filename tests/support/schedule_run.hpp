// SPDX-License-Identifier: Apache-2.0
// Schedulers in several processes (issue 23), for every backend: 3 worker processes with the
// default config (each runs a scheduler thread) serve one `@every 50ms` schedule with
// CatchUp::All over 200 slots and more. One process SIGKILLs itself 100 us into a tick that
// has a due slot (gqs_stress_child's KILL_TICK) and is started again; the schedule's message is
// changed, then the schedule is paused, while they run. Checks: every slot from the first to the
// last pushed exactly once (the jobs run and finish, so a slot pushed twice would be a second row:
// its unique key frees once the first is Done), no job of the old message once put() returned, no
// job at all once pause() returned.
#pragma once

#include "support/catch.hpp"
#include "support/kill_point_run.hpp"
#include "support/test_support.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/schedules.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <signal.h>

namespace gqs::test {

namespace schedule_detail {

/// The slot of a job's unique key `cron:<name>:<ISO-8601 UTC with optional fraction>`, in
/// µs since the epoch, parsed here independently of gqs's own writer; -1 if it does not parse.
inline std::int64_t slot_of(const std::string& key, const std::string& name) {
    const std::string prefix = "cron:" + name + ":";
    if (!key.starts_with(prefix)) return -1;
    const std::string iso = key.substr(prefix.size());
    int y = 0;
    unsigned mo = 0;
    unsigned d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    int used = 0;
    if (std::sscanf(iso.c_str(), "%d-%u-%uT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6)
        return -1;
    std::int64_t micros = 0;
    std::size_t at = static_cast<std::size_t>(used);
    if (at < iso.size() && iso[at] == '.') {
        std::int64_t scale = 100000;
        for (++at; at < iso.size() && iso[at] >= '0' && iso[at] <= '9'; ++at, scale /= 10)
            micros += (iso[at] - '0') * scale;
    }
    if (iso.substr(at) != "Z") return -1;
    using namespace std::chrono;
    const sys_days date{year{y} / month{mo} / day{d}};
    const auto at_time = date + hours{h} + minutes{mi} + seconds{s};
    return duration_cast<microseconds>(at_time.time_since_epoch()).count() + micros;
}

/// The jobs of schedule `name`: slot (µs) -> how many rows.
inline std::map<std::int64_t, int> slots(Observer& observer, const std::string& name) {
    std::map<std::int64_t, int> found;
    for (const Job& job : observer.list(std::nullopt, 0)) {
        if (!job.unique_key) continue;
        const auto slot = slot_of(*job.unique_key, name);
        if (slot >= 0) ++found[slot];
    }
    return found;
}

inline std::int64_t jobs_in(Observer& observer, const std::string& queue) {
    const auto stats = observer.stats();
    const auto it = stats.queues.find(queue);
    if (it == stats.queues.end()) return 0;
    return it->second.pending + it->second.processing + it->second.done + it->second.dead;
}

} // namespace schedule_detail

/// Runs the processes on `db` (gqs_stress_child's DB argument, a fresh queue), whose jobs
/// `observer` and whose schedules `schedules` read (another connection), logs in `dir`.
inline void schedule_run(const std::string& db, Observer& observer, Schedules& schedules,
                         const std::filesystem::path& dir) {
    using namespace std::chrono_literals;
    using schedule_detail::jobs_in;
    const std::string child = GQS_STRESS_CHILD;
    const std::string name = "every50";
    Schedule schedule;
    schedule.name = name;
    schedule.cron = "@every 50ms";
    schedule.catch_up = CatchUp::All;
    schedule.message.queue = "slots";
    schedules.put(schedule);

    std::vector<Child> workers;
    auto start = [&](int i, const std::string& kill_tick) {
        const auto out =
            dir / ("scheduler" + std::to_string(i) + "-" + std::to_string(workers.size()) + ".out");
        std::vector<std::string> args{"schedule", db, name};
        if (!kill_tick.empty()) args.push_back(kill_tick);
        workers.push_back(spawn(child, args, out));
        const bool ready =
            wait_until([&] { return read_file(out).find("ready") != std::string::npos; }, 60s);
        INFO(read_file(out));
        REQUIRE(ready);
    };
    // The first kills itself in its 30th tick, while the tick runs; it is started again.
    start(0, "30");
    start(1, "");
    start(2, "");
    auto total = [&] { return jobs_in(observer, "slots") + jobs_in(observer, "slots2"); };
    const auto killed = wait_exit(workers[0], std::chrono::seconds(120));
    INFO(read_file(workers[0].output));
    REQUIRE(killed == 128 + SIGKILL);
    start(0, "");

    // The message changed while they run: once put() returned, no slot pushes the old one.
    REQUIRE(wait_until([&] { return total() >= 140; }, 120s));
    schedule.message.queue = "slots2";
    schedules.put(schedule);
    const auto old_jobs = jobs_in(observer, "slots");

    // Paused while they run: once pause() returned, no slot at all. The processes then exit.
    REQUIRE(wait_until([&] { return total() >= 200 && jobs_in(observer, "slots2") >= 20; }, 120s));
    schedules.pause(name);
    const auto at_pause = total();
    for (std::size_t i = 0; i < workers.size(); ++i) {
        if (i == 0) continue; // the killed one, waited for above
        const auto status = wait_exit(workers[i], std::chrono::seconds(120));
        INFO(read_file(workers[i].output));
        CHECK(status == 0);
    }
    CHECK(jobs_in(observer, "slots") == old_jobs);
    CHECK(total() == at_pause);

    const auto found = schedule_detail::slots(observer, name);
    REQUIRE(found.size() >= 200);
    std::int64_t previous = -1;
    int doubled = 0;
    int gaps = 0;
    for (const auto& [slot, rows] : found) {
        if (rows != 1) ++doubled;
        if (previous >= 0 && slot - previous != 50000) {
            ++gaps;
            UNSCOPED_INFO("gap after slot " << previous << ": next " << slot);
        }
        previous = slot;
    }
    INFO(found.size() << " slots, " << total() << " jobs");
    CHECK(doubled == 0);
    CHECK(gaps == 0);
    CHECK(static_cast<std::int64_t>(found.size()) == total());
}

} // namespace gqs::test
