// SPDX-License-Identifier: Apache-2.0
// Tests of WorkerConfig::hooks over every backend: what a Worker reports as it works.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

using namespace gqs;
using namespace gqs::test;

namespace {

WorkerConfig hooks_config() {
    WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = 10ms;
    config.lock_timeout = 10s;
    config.backoff = {.max_retries = 1,
                      .initial_interval = Duration(1),
                      .max_interval = Duration(1),
                      .multiplier = 1.0,
                      .randomization_factor = 0.0};
    return config;
}

// What the hooks saw, from every thread.
struct Seen {
    std::mutex mutex;
    std::vector<std::string> started; // payloads
    std::map<std::string, std::vector<Action>> finished;
    std::vector<Uuid> lost;
    std::vector<std::string> storage_errors;
    int pulls = 0;
    int pulled = 0;
    bool negative_time = false;

    Hooks hooks() {
        Hooks h;
        h.on_start = [this](const Job& job) {
            std::lock_guard lock(mutex);
            started.push_back(job.payload);
        };
        h.on_finish = [this](const Job& job, Action action, std::chrono::microseconds ran,
                             std::chrono::microseconds waited) {
            std::lock_guard lock(mutex);
            finished[job.payload].push_back(action);
            negative_time = negative_time || ran.count() < 0 || waited.count() < 0;
        };
        h.on_lease_lost = [this](const Lease& lease) {
            std::lock_guard lock(mutex);
            lost.push_back(lease.id);
        };
        h.on_storage_error = [this](const StorageError& e) {
            std::lock_guard lock(mutex);
            storage_errors.emplace_back(e.what());
        };
        h.on_pull = [this](int count, std::chrono::microseconds took) {
            std::lock_guard lock(mutex);
            ++pulls;
            pulled += count;
            negative_time = negative_time || took.count() < 0;
        };
        return h;
    }
};

} // namespace

TEST_CASE("worker hooks: each start and finish with its outcome and each pull", "[worker][hooks]") {
    Queue queue;
    for (const char* payload : {"ok", "fails", "kill", "snooze"})
        queue.push(payload);
    Seen seen;
    WorkerConfig config = hooks_config();
    config.hooks = seen.hooks();
    LogCapture log;
    std::atomic<bool> snoozed{false};
    Worker worker(
        queue.puller,
        [&](const Job& job, std::stop_token) {
            if (job.payload == "fails") throw std::runtime_error("scripted failure");
            if (job.payload == "kill") throw Kill("scripted kill");
            // A snooze does not count the attempt: only the first run snoozes.
            if (job.payload == "snooze" && !snoozed.exchange(true)) throw Snooze(Duration(1));
        },
        config, log.logger());
    worker.start();
    // ok, kill, snooze done after its second run, fails dead after its retry.
    REQUIRE(wait_until([&] { return queue.count(Status::Done) + queue.count(Status::Dead) == 4; }));
    worker.stop(patience);
    INFO(log.text());
    std::lock_guard lock(seen.mutex);
    CHECK(seen.started.size() == 6);
    CHECK(seen.finished["ok"] == std::vector<Action>{Action::Complete});
    CHECK(seen.finished["fails"] == std::vector<Action>{Action::Requeue, Action::Kill});
    CHECK(seen.finished["kill"] == std::vector<Action>{Action::Kill});
    CHECK(seen.finished["snooze"] == std::vector<Action>{Action::Snooze, Action::Complete});
    CHECK(seen.pulls >= 1);
    CHECK(seen.pulled == 6);
    CHECK_FALSE(seen.negative_time);
    CHECK(seen.lost.empty());
    CHECK(seen.storage_errors.empty());
}

TEST_CASE("worker hooks: a lost lease and a failed store are reported", "[worker][hooks]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push("held").id;
    Seen seen;
    WorkerConfig config = hooks_config();
    config.concurrency = 1;
    config.lock_timeout = 200ms; // extended after 100 ms
    config.hooks = seen.hooks();
    probe.lose_locks = true;
    probe.failing_settles = 1;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token stop) {
            if (job.attempts != 1) return;
            wait_for_stop(stop);
            probe.lose_locks = false;
        },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    INFO(log.text());
    std::lock_guard lock(seen.mutex);
    CHECK(std::count(seen.lost.begin(), seen.lost.end(), id) >= 1);
    REQUIRE(seen.storage_errors.size() == 1);
    CHECK(seen.storage_errors[0].find("injected") != std::string::npos);
}

TEST_CASE("worker hooks: a hook that throws is logged and the work goes on", "[worker][hooks]") {
    Queue queue;
    for (int i = 0; i < 3; ++i)
        queue.push();
    WorkerConfig config = hooks_config();
    config.hooks.on_start = [](const Job&) { throw std::runtime_error("hook failure"); };
    LogCapture log;
    Counter ran;
    Worker worker(
        queue.puller, [&](const Job&, std::stop_token) { ran.bump(); }, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == 3; }));
    worker.stop(patience);
    CHECK(ran.value() == 3);
    CHECK(log.text().find("hooks callback threw: hook failure") != std::string::npos);
}
