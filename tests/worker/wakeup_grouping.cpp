// SPDX-License-Identifier: Apache-2.0
// The worker's fast paths: woken by an in-process push, polling with a read while idle, and
// settling the results of concurrent handlers together.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <set>

using namespace gqs;
using namespace gqs::test;
using namespace std::chrono_literals;

TEST_CASE("worker: an in-process push wakes an idle worker at once", "[worker][wakeup]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = std::chrono::hours(1); // only a wake-up can start the job in time
    Signal ran;
    LogCapture log;
    Worker worker(
        probe, [&](const Job&, std::stop_token) { ran.set(); }, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return probe.pulls >= 1; })); // the start-up pull, empty
    queue.push();
    CHECK(ran.wait());
    worker.stop(patience);
}

TEST_CASE("worker: an idle worker polls with a read, never a write", "[worker][wakeup]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = 2ms;
    LogCapture log;
    Worker worker(
        probe, [](const Job&, std::stop_token) {}, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return probe.has_ready_calls >= 20; }));
    CHECK(probe.pulls == 1); // the start-up pull only: every later poll found nothing ready
    // A job pushed by another connection (no wake-up) is found by the next poll.
    auto other = queue.open_second();
    Message m;
    other->pusher().push(m);
    REQUIRE(wait_until([&] { return queue.has_status(m.id, Status::Done); }));
    worker.stop(patience);
    CHECK(probe.pulls >= 2);
}

TEST_CASE("worker: a push to a queue it does not serve costs a worker a read, not a write",
          "[worker][wakeup][queues]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    WorkerConfig config;
    config.concurrency = 1;
    config.pull_interval = std::chrono::hours(1); // only wake-ups make it look
    config.queues = {"mine"};
    Signal ran;
    LogCapture log;
    Worker worker(
        probe, [&](const Job&, std::stop_token) { ran.set(); }, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return probe.pulls >= 1; })); // the start-up pull, empty
    for (int i = 0; i < 10; ++i) {
        Message other;
        other.queue = "theirs";
        const int checks = probe.has_ready_calls;
        queue.pusher.push(other);
        // Each wake-up is answered by has_ready(), which finds nothing of its queues.
        REQUIRE(wait_until([&] { return probe.has_ready_calls > checks; }));
    }
    CHECK(probe.pulls == 1);
    // Its own queue's push is still taken at once.
    Message mine;
    mine.queue = "mine";
    queue.pusher.push(mine);
    CHECK(ran.wait());
    worker.stop(patience);
}

TEST_CASE("worker: grouped settlements give each job its own result", "[worker][grouping]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    std::vector<Message> messages(40);
    queue.pusher.push_batch(messages);
    for (std::size_t i = 0; i < messages.size(); i += 4)
        probe.lose_on_settle.insert(messages[i].id);
    WorkerConfig config;
    config.concurrency = 4;
    config.pull_interval = 5ms;
    config.lock_timeout = std::chrono::hours(1);
    Counter ran;
    LogCapture log;
    Worker worker(
        probe, [&](const Job&, std::stop_token) { ran.bump(); }, config, log.logger());
    worker.start();
    REQUIRE(ran.wait_for(40));
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == 30; }));
    worker.stop(patience);
    INFO(log.text());
    CHECK(queue.count(Status::Processing) == 10); // lost on settle: left to a new holder
    for (const auto& id : probe.lose_on_settle)
        CHECK(queue.has_status(id, Status::Processing));
    CHECK(log.count(LogLevel::Warning, "lease lost before it could complete") == 10);
}

TEST_CASE("worker: stop while an empty pull is in flight returns", "[worker][stop]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    Signal release;
    probe.hold_first_pull = &release;
    WorkerConfig config;
    config.concurrency = 3;
    LogCapture log;
    Worker worker(
        probe, [](const Job&, std::stop_token) {}, config, log.logger());
    worker.start();
    REQUIRE(probe.pull_entered.wait());
    // stop() waits for the pull; let the pull finish (empty) once stop has asked to stop.
    std::thread releaser([&] {
        wait_until([&] { return log.count(LogLevel::Debug, "worker stopping") > 0; });
        release.set();
    });
    CHECK_NOTHROW(worker.stop(patience));
    releaser.join();
}
