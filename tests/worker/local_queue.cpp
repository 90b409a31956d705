// SPDX-License-Identifier: Apache-2.0
// Tests of WorkerConfig::prefetch: jobs leased ahead of the threads, kept leased, released at
// stop; the adaptive queue's length.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

using namespace gqs;
using namespace gqs::test;

namespace {

WorkerConfig queued_config(int concurrency, int queue, int batch) {
    WorkerConfig config;
    config.concurrency = concurrency;
    config.prefetch = queue;
    config.batch_size = batch;
    config.pull_interval = 10ms;
    config.lock_timeout = 10s;
    config.backoff.initial_interval = Duration(1);
    config.backoff.max_interval = Duration(10);
    config.backoff.randomization_factor = 0.0;
    return config;
}

} // namespace

TEST_CASE("worker: with a queue it leases up to concurrency + queue jobs and releases the "
          "unstarted ones at stop",
          "[worker][queue][stop]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    for (int i = 0; i < 10; ++i)
        queue.push("job " + std::to_string(i));
    Counter running;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token stop) {
            running.bump();
            wait_for_stop(stop);
        },
        queued_config(2, 3, 10), log.logger());
    worker.start();
    REQUIRE(running.wait_for(2));
    // Two running, three queued: never more.
    REQUIRE(wait_until([&] { return queue.count(Status::Processing) == 5; }));
    worker.stop(patience);
    INFO(log.text());

    CHECK(running.value() == 2);
    CHECK(probe.largest_batch <= 5);
    CHECK(probe.count("release") == 3);
    CHECK(queue.count(Status::Processing) == 0);
    CHECK(queue.count(Status::Done) == 2);
    const auto pending = queue.observer.list(Status::Pending, 0);
    CHECK(pending.size() == 8);
    for (const Job& job : pending) {
        CHECK(job.attempts == 0);
        CHECK_FALSE(job.locked_until.has_value());
    }
}

TEST_CASE("worker: queued jobs keep their leases while they wait for a thread",
          "[worker][queue][lease]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid first = queue.push("block").id;
    const Uuid second = queue.push("quick").id;
    auto session = queue.open_second(); // another connection, as another process has
    Puller& other = session->puller();

    WorkerConfig config = queued_config(1, 1, 4);
    config.lock_timeout = 300ms;
    Signal started;
    Signal release;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token) {
            if (job.payload == "block") {
                started.set();
                release.wait();
            }
        },
        config, log.logger());
    worker.start();
    REQUIRE(started.wait());
    REQUIRE(queue.count(Status::Processing) == 2); // the second job waits in the local queue

    // Four lease lengths of tries from another connection: neither job may be taken.
    bool stolen = false;
    Signal never;
    const auto until = std::chrono::steady_clock::now() + 4 * config.lock_timeout;
    while (!stolen && std::chrono::steady_clock::now() < until) {
        stolen = !other.pull(1, config.lock_timeout).empty();
        never.wait(25ms); // pacing, not synchronisation
    }
    release.set();
    INFO(log.text());
    REQUIRE_FALSE(stolen);
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == 2; }));
    worker.stop(patience);
    CHECK(queue.stored(first).attempts == 1);
    CHECK(queue.stored(second).attempts == 1);
    CHECK(probe.extends >= 2);
}

TEST_CASE("worker: a result does not wait behind a long queued job", "[worker][queue]") {
    Queue queue;
    const Uuid quick = queue.push("quick").id;
    queue.push("block");
    Signal release;
    LogCapture log;
    // One thread: after the quick job it runs the blocking one, so the quick job's result can
    // only be stored by someone else meanwhile (the lease keeper).
    Worker worker(
        queue.puller,
        [&](const Job& job, std::stop_token) {
            // Longer than the wait below: the result must be stored while this still runs.
            if (job.payload == "block") release.wait(2 * patience);
        },
        queued_config(1, 2, 4), log.logger());
    worker.start();
    const bool stored = wait_until([&] { return queue.has_status(quick, Status::Done); }, patience);
    release.set();
    worker.stop(patience);
    INFO(log.text());
    CHECK(stored);
    CHECK(queue.count(Status::Done) == 2);
}

TEST_CASE("worker: with a queue every job of a backlog runs once", "[worker][queue]") {
    constexpr int n = 300;
    Queue queue;
    ProbePuller probe(queue.puller);
    std::vector<Message> messages(n);
    for (int i = 0; i < n; ++i)
        messages[static_cast<std::size_t>(i)].payload = std::to_string(i);
    queue.pusher.push_batch(messages);
    std::vector<std::atomic<int>> runs(n);
    Counter handled;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token) {
            runs[static_cast<std::size_t>(std::stoi(job.payload))].fetch_add(1);
            handled.bump();
        },
        queued_config(2, 16, 16), log.logger());
    worker.start();
    REQUIRE(handled.wait_for(n));
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == n; }));
    worker.stop(patience);
    INFO(log.text());
    for (const auto& r : runs)
        CHECK(r.load() == 1);
    for (const Job& job : queue.observer.list(Status::Done, 0))
        CHECK(job.attempts == 1);
    // It leased ahead of its two threads.
    CHECK(probe.largest_batch > 2);
    CHECK(probe.count("release") == 0);
}

TEST_CASE("worker: by default short handlers get a local queue", "[worker][queue][adaptive]") {
    constexpr int n = 2000;
    Queue queue;
    ProbePuller probe(queue.puller);
    queue.pusher.push_batch(std::vector<Message>(n));
    Counter handled;
    LogCapture log;
    WorkerConfig config = queued_config(4, WorkerConfig::adaptive, 256);
    Worker worker(
        probe, [&](const Job&, std::stop_token) { handled.bump(); }, config, log.logger());
    worker.start();
    REQUIRE(handled.wait_for(n));
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == n; }));
    worker.stop(patience);
    INFO(log.text());
    CHECK(handled.value() == n);
    // It leased ahead of its four threads, and never more than its batch.
    CHECK(probe.largest_batch > 4);
    CHECK(probe.largest_batch <= 256);
}

TEST_CASE("worker: by default handlers much slower than a pull lease nothing ahead",
          "[worker][queue][adaptive]") {
    constexpr int n = 8;
    Queue queue;
    ProbePuller probe(queue.puller);
    queue.pusher.push_batch(std::vector<Message>(n));
    Counter handled;
    std::atomic<std::size_t> most_processing{0};
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            const std::size_t now = queue.count(Status::Processing);
            std::size_t seen = most_processing.load();
            while (now > seen && !most_processing.compare_exchange_weak(seen, now)) {
            }
            // The work: 300 ms, far longer than a pull's round trip (a queue would need round
            // trips of 19 ms or more).
            std::this_thread::sleep_for(300ms);
            handled.bump();
        },
        queued_config(4, WorkerConfig::adaptive, 256), log.logger());
    worker.start();
    REQUIRE(handled.wait_for(n));
    worker.stop(patience);
    INFO(log.text());
    // A queue holds what 4 threads start within four round trips of the slowest pull seen
    // (the estimate averages them): none unless a pull took 19 ms or more (seen under TSan).
    const auto slowest = std::chrono::microseconds(probe.longest_pull_us.load());
    const auto allowed = static_cast<int>(4 * slowest * 4 / 300ms);
    INFO("slowest pull " << slowest.count() << " us: a queue of up to " << allowed);
    CHECK(probe.largest_batch <= 4 + allowed);
    CHECK(most_processing.load() <= static_cast<std::size_t>(4 + allowed));
    CHECK(queue.count(Status::Done) == n);
}
