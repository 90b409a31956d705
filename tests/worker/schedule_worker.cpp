// SPDX-License-Identifier: Apache-2.0
// Tests of the scheduler thread over every backend: ScheduleWorker alone, and the one a Worker
// runs (WorkerConfig::schedules). The slots themselves are the conformance suite's
// (conformance/schedules_test.cpp); several processes are the stress suites'.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"
#include "support/test_support.hpp"

#include <gqs/schedule_worker.hpp>
#include <gqs/worker.hpp>

#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

using namespace gqs;
using namespace gqs::test;

namespace {

Schedule every_50ms(std::string name, std::string queue = "ticks") {
    Schedule s;
    s.name = std::move(name);
    s.cron = "@every 50ms";
    s.catch_up = CatchUp::All;
    s.message.queue = std::move(queue);
    return s;
}

std::int64_t jobs_in(Observer& observer, const std::string& queue) {
    const auto stats = observer.stats();
    const auto it = stats.queues.find(queue);
    if (it == stats.queues.end()) return 0;
    const auto& q = it->second;
    return q.pending + q.processing + q.done + q.dead;
}

} // namespace

TEST_CASE("ScheduleConfig: recheck must be positive", "[schedule-worker]") {
    Queue q;
    CHECK_THROWS_AS(ScheduleWorker(q.schedules, ScheduleConfig{.recheck = Duration(0)}),
                    std::invalid_argument);
    CHECK_THROWS_AS(validate(ScheduleConfig{.recheck = Duration(-1)}), std::invalid_argument);
    CHECK_NOTHROW(validate(ScheduleConfig{}));
}

TEST_CASE("ScheduleWorker: pushes the due slots and wakes at once when a schedule is put",
          "[schedule-worker]") {
    Queue q;
    // An hour between reads: only the wake-up of put explains a slot pushed within the test.
    ScheduleWorker scheduler(q.schedules, ScheduleConfig{.recheck = std::chrono::hours(1)});
    scheduler.start();
    q.schedules.put(every_50ms("fast"));
    CHECK(wait_until([&] { return jobs_in(q.observer, "ticks") >= 4; }, patience));
    const auto info = q.schedules.get("fast");
    REQUIRE(info);
    CHECK(info->last_job.has_value());
    scheduler.stop(patience);
    // Stopped: no slot is pushed any more (a tick under way has committed by now).
    const auto pushed = jobs_in(q.observer, "ticks");
    q.schedules.put(every_50ms("second"));
    std::this_thread::sleep_for(std::chrono::milliseconds(200)); // four slots of each
    CHECK(jobs_in(q.observer, "ticks") == pushed);
}

TEST_CASE("ScheduleWorker: start and stop follow the lifecycle rules", "[schedule-worker]") {
    Queue q;
    ScheduleWorker scheduler(q.schedules);
    CHECK_THROWS_AS(scheduler.stop(patience), DoubleStopped);
    scheduler.start();
    CHECK_THROWS_AS(scheduler.start(), DoubleStarted);
    scheduler.stop(patience);
    CHECK_THROWS_AS(scheduler.stop(patience), DoubleStopped);
    scheduler.start(); // again, after a stop
    q.schedules.put(every_50ms("again"));
    CHECK(wait_until([&] { return jobs_in(q.observer, "ticks") >= 2; }, patience));
}

TEST_CASE("Worker: runs the stored schedules by default and runs their jobs", "[schedule-worker]") {
    Queue q;
    Counter ran;
    WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = std::chrono::minutes(10); // only wake-ups start the slot jobs
    Worker worker(
        q.puller, [&](const Job&, std::stop_token) { ran.bump(); }, config);
    worker.start();
    q.schedules.put(every_50ms("in-worker"));
    CHECK(ran.wait_for(5));
    worker.stop(patience);
    const auto info = q.schedules.get("in-worker");
    REQUIRE(info);
    REQUIRE(info->last_job);
    const auto job = q.observer.get(*info->last_job);
    REQUIRE(job);
    CHECK(job->queue == "ticks");
}

TEST_CASE("Worker: with schedules off pushes no slot", "[schedule-worker]") {
    Queue q;
    WorkerConfig config;
    config.concurrency = 1;
    config.schedules = false;
    Worker worker(
        q.puller, [](const Job&, std::stop_token) {}, config);
    worker.start();
    q.schedules.put(every_50ms("left-alone"));
    std::this_thread::sleep_for(std::chrono::milliseconds(300)); // six slots
    worker.stop(patience);
    CHECK(jobs_in(q.observer, "ticks") == 0);
    // The slots are still due, for whichever scheduler runs next.
    CHECK(q.schedules.tick() >= 1);
}
