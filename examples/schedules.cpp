// SPDX-License-Identifier: Apache-2.0
// Stored schedules: a cron expression checked with next_fire, two schedules put, a Worker that
// runs their slots (its scheduler thread is on by default), run_now, pause and list.
#include <gqs/cron.hpp>
#include <gqs/schedules.hpp>
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>

using namespace std::chrono_literals;

namespace {

// A time as UTC text, for the output.
std::string utc(gqs::TimePoint t) {
    const auto secs = std::chrono::floor<std::chrono::seconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(secs);
    const std::chrono::year_month_day ymd{day};
    const std::chrono::hh_mm_ss hms{secs - day};
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02u-%02u %02d:%02d:%02d UTC", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
    return out;
}

int run(int argc, char** argv) {
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-schedules-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Schedules schedules(db);
    gqs::sqlite::Puller puller(db);

    // An expression can be tested without a database: Mondays at 9 in Berlin.
    const auto monday =
        gqs::next_fire("0 9 * * MON", "Europe/Berlin", std::chrono::system_clock::now());
    std::cout << "next Monday 9:00 in Berlin: " << (monday ? utc(*monday) : "never") << "\n";

    // Stored schedules: every process that opens the database sees them, and any number of
    // them may run the slots (each slot is pushed once).
    gqs::Schedule heartbeat;
    heartbeat.name = "heartbeat";
    heartbeat.cron = "@every 100ms";
    heartbeat.message.queue = "maintenance";
    heartbeat.message.set("task", "heartbeat");
    schedules.put(heartbeat);

    gqs::Schedule report;
    report.name = "weekly-report";
    report.cron = "0 9 * * MON";
    report.zone = "Europe/Berlin";
    report.catch_up = gqs::CatchUp::Latest; // after downtime: the latest missed report, once
    report.message.queue = "reports";
    schedules.put(report);

    std::mutex mutex;
    std::condition_variable cv;
    int heartbeats = 0;
    int reports = 0;
    gqs::Worker worker(puller, [&](const gqs::Job& job, std::stop_token) {
        // The schedule and the slot are in the job's metadata; run_now's job has no slot.
        const auto name = job.get<std::string>("gqs_schedule").value_or("?");
        const auto slot = job.get<std::string>("gqs_slot");
        std::lock_guard lock(mutex);
        if (name == "heartbeat") {
            if (++heartbeats <= 3) std::cout << "heartbeat for slot " << slot.value_or("?") << "\n";
        } else if (name == "weekly-report") {
            ++reports;
            std::cout << "weekly-report run now (slot: " << slot.value_or("none") << ")\n";
        }
        cv.notify_all();
    });
    worker.start(); // runs the schedules too (WorkerConfig::schedules)

    const auto pushed = schedules.run_now("weekly-report"); // an operator's "run it now"
    std::cout << "run_now pushed a job: " << (pushed.duplicate ? "no" : "yes") << "\n";
    {
        std::unique_lock lock(mutex);
        if (!cv.wait_for(lock, 30s, [&] { return heartbeats >= 3 && reports == 1; })) {
            std::cerr << "the scheduled jobs did not run\n";
            return 1;
        }
    }
    schedules.pause("heartbeat"); // no slot from now on, in any process, until resume
    worker.stop(30s);

    for (const auto& info : schedules.list()) {
        std::cout << info.schedule.name << " (" << info.schedule.cron << ", " << info.schedule.zone
                  << ")";
        if (info.schedule.paused)
            std::cout << " paused\n";
        else
            std::cout << ", next: " << (info.next_fire ? utc(*info.next_fire) : "none") << "\n";
    }
    std::cout << "heartbeat ran " << (heartbeats >= 3 ? "at least 3" : "too few")
              << " slots, weekly-report ran " << reports << " time\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
