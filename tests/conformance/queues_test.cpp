// SPDX-License-Identifier: Apache-2.0
// Conformance: named queues and priorities (docs/design.md section 7, "Queues, priorities,
// unique keys, error history, snooze and cancel"): what a pull takes and in what order, what a
// push refuses, and the per-queue stats.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"

#include <gqs/worker.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

namespace {

gqs::Message message(std::string queue, int priority, std::string payload = "p") {
    gqs::Message m;
    m.queue = std::move(queue);
    m.priority = priority;
    m.payload = std::move(payload);
    return m;
}

std::vector<std::string> payloads(const std::vector<gqs::Job>& jobs) {
    std::vector<std::string> out;
    for (const auto& job : jobs)
        out.push_back(job.payload);
    return out;
}

} // namespace

TEST_CASE("queues: a pull takes the lowest priority number first, then the oldest, across "
          "queues",
          "[queues][conformance]") {
    Queue q;
    q.pusher.push(message("a", 5, "a5"));
    q.pusher.push(message("b", 0, "b0"));
    q.pusher.push(message("a", 0, "a0"));
    q.pusher.push(message("c", 9, "c9"));
    q.pusher.push(message("c", 5, "c5"));
    SECTION("one batch") {
        CHECK(payloads(q.puller.pull(10, 1h)) ==
              std::vector<std::string>{"b0", "a0", "a5", "c5", "c9"});
    }
    SECTION("one at a time") {
        std::vector<std::string> order;
        while (true) {
            auto jobs = q.puller.pull(1, 1h);
            if (jobs.empty()) break;
            order.push_back(jobs[0].payload);
        }
        CHECK(order == std::vector<std::string>{"b0", "a0", "a5", "c5", "c9"});
    }
    SECTION("the queues named") {
        const std::vector<std::string> served{"c", "a"};
        CHECK(payloads(q.puller.pull(10, 1h, served)) ==
              std::vector<std::string>{"a0", "a5", "c5", "c9"});
        CHECK(q.observer.list(Status::Pending, 0).size() == 1); // b0 was not taken
    }
}

TEST_CASE("queues: a pull serves only the queues it names", "[queues][conformance]") {
    Queue q;
    auto a = q.pusher.push(message("a", 0)).id;
    auto b = q.pusher.push(message("b", 0)).id;
    const std::vector<std::string> only_b{"b"}, nobody{"nobody"}, both{"a", "b"};
    if (q.puller.capabilities().cheap_ready_check) {
        CHECK(q.puller.has_ready(only_b));
        CHECK_FALSE(q.puller.has_ready(nobody));
    }
    CHECK(q.puller.pull(10, 1h, nobody).empty());
    auto jobs = q.puller.pull(10, 1h, only_b);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == b);
    CHECK(jobs[0].queue == "b");
    CHECK(q.stored(a).status == Status::Pending);
    // Expired leases are served by queue too.
    q.puller.complete(jobs[0]);
    auto leased = q.puller.pull(1, 1ms, both);
    REQUIRE(leased.size() == 1);
    CHECK(leased[0].id == a);
    REQUIRE(gqs::test::wait_until([&] { return q.observer.stats().expired_leases == 1; }));
    CHECK(q.puller.pull(1, 1h, only_b).empty());
    const std::vector<std::string> only_a{"a"};
    auto again = q.puller.pull(1, 1h, only_a);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == a);
    CHECK(again[0].attempts == 2);
}

TEST_CASE("queues: delayed jobs of a better priority do not hide ready ones",
          "[queues][conformance]") {
    Queue q;
    std::vector<gqs::Message> wall(200);
    for (auto& m : wall)
        m.priority = 0;
    q.pusher.push_batch(wall, 1h);
    std::vector<gqs::Message> ready(3);
    for (auto& m : ready)
        m.priority = 5;
    q.pusher.push_batch(ready);
    auto jobs = q.puller.pull(10, 1h);
    REQUIRE(jobs.size() == 3);
    for (const auto& job : jobs)
        CHECK(job.priority == 5);
    if (q.puller.capabilities().cheap_ready_check) CHECK_FALSE(q.puller.has_ready());
}

TEST_CASE("queues: a job keeps its queue and priority through its life", "[queues][conformance]") {
    Queue q;
    auto m = message("mail", 3);
    q.pusher.push(m);
    auto stored = q.stored(m.id);
    CHECK(stored.queue == "mail");
    CHECK(stored.priority == 3);
    auto jobs = q.puller.pull(1, 1h);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].queue == "mail");
    CHECK(jobs[0].priority == 3);
    q.puller.requeue(jobs[0], 0ms);
    CHECK(q.stored(m.id).queue == "mail");
    CHECK(q.stored(m.id).priority == 3);
    // The default: queue "default", priority 0.
    auto plain = q.push();
    CHECK(q.stored(plain.id).queue == "default");
    CHECK(q.stored(plain.id).priority == 0);
}

TEST_CASE("queues: bad queue names, priorities and keys are refused and store nothing",
          "[queues][conformance]") {
    Queue q;
    auto bad = GENERATE(as<std::string>{}, "empty queue", "long queue", "invalid UTF-8 queue",
                        "NUL in queue", "priority -1", "priority 10", "empty key", "long key",
                        "NUL in key");
    INFO(bad);
    gqs::Message m;
    if (bad == "empty queue") m.queue = "";
    if (bad == "long queue") m.queue = std::string(128, 'q');
    if (bad == "invalid UTF-8 queue") m.queue = "caf\xC3";
    if (bad == "NUL in queue") m.queue = std::string("a\0b", 3);
    if (bad == "priority -1") m.priority = -1;
    if (bad == "priority 10") m.priority = 10;
    if (bad == "empty key") m.unique_key = "";
    if (bad == "long key") m.unique_key = std::string(1025, 'k');
    if (bad == "NUL in key") m.unique_key = std::string("k\0", 2);
    CHECK_THROWS_AS(q.pusher.push(m), std::invalid_argument);
    std::vector<gqs::Message> batch(3);
    batch[1] = m;
    CHECK_THROWS_AS(q.pusher.push_batch(batch), std::invalid_argument);
    CHECK(q.observer.list(std::nullopt, 0).empty());
    // The limits themselves are fine.
    gqs::Message edge;
    edge.queue = std::string(127, 'q');
    edge.priority = 9;
    edge.unique_key = std::string(1024, 'k');
    CHECK_FALSE(q.pusher.push(edge).duplicate);
    CHECK(q.stored(edge.id).queue.size() == 127);
}

TEST_CASE("queues: a pull or worker naming a bad queue is refused", "[queues][conformance]") {
    Queue q;
    const std::vector<std::string> empty_name{""}, too_long{std::string(128, 'x')};
    CHECK_THROWS_AS(q.puller.pull(1, 1h, empty_name), std::invalid_argument);
    CHECK_THROWS_AS(q.puller.pull(1, 1h, too_long), std::invalid_argument);
    gqs::WorkerConfig config;
    config.queues = empty_name;
    CHECK_THROWS_AS(gqs::validate(config), std::invalid_argument);
}

TEST_CASE("stats: per-queue counts add up to the totals", "[queues][stats][conformance]") {
    Queue q;
    for (int i = 0; i < 3; ++i)
        q.pusher.push(message("a", 0));
    for (int i = 0; i < 2; ++i)
        q.pusher.push(message("b", 1));
    q.pusher.push(message("b", 1), 1h);
    const std::vector<std::string> only_a{"a"}, only_b{"b"};
    auto a = q.puller.pull(2, 1h, only_a);
    REQUIRE(a.size() == 2);
    q.puller.complete(a[0]);
    auto b = q.puller.pull(1, 1h, only_b);
    REQUIRE(b.size() == 1);
    q.puller.kill(b[0]);
    const auto s = q.observer.stats();
    REQUIRE(s.queues.size() == 2);
    const auto& qa = s.queues.at("a");
    const auto& qb = s.queues.at("b");
    CHECK(qa.pending == 1);
    CHECK(qa.processing == 1);
    CHECK(qa.done == 1);
    CHECK(qa.dead == 0);
    CHECK(qa.oldest_ready.has_value());
    CHECK_FALSE(qa.next_scheduled.has_value());
    CHECK(qb.pending == 2);
    CHECK(qb.processing == 0);
    CHECK(qb.dead == 1);
    CHECK(qb.next_scheduled.has_value());
    CHECK(s.pending == qa.pending + qb.pending);
    CHECK(s.processing == 1);
    CHECK(s.done == 1);
    CHECK(s.dead == 1);
    CHECK(s.next_scheduled == qb.next_scheduled);
    CHECK(s.oldest_ready == std::min(*qa.oldest_ready, *qb.oldest_ready));
}

TEST_CASE("queues: a worker serves only WorkerConfig::queues", "[queues][worker][conformance]") {
    Queue q;
    // The other queue's job is older: a worker that ignored its queues would take it first.
    auto other = q.pusher.push(message("other", 0)).id;
    auto mine = q.pusher.push(message("mine", 0)).id;
    gqs::test::Signal done;
    gqs::WorkerConfig config;
    config.concurrency = 1;
    config.pull_interval = 10ms;
    config.queues = {"mine"};
    std::vector<gqs::Uuid> seen;
    std::mutex seen_mutex;
    {
        gqs::Worker worker(
            q.puller,
            [&](const gqs::Job& job, std::stop_token) {
                std::lock_guard lock(seen_mutex);
                seen.push_back(job.id);
                if (job.id == mine) done.set();
            },
            config);
        worker.start();
        REQUIRE(done.wait());
        REQUIRE(gqs::test::wait_until([&] { return q.stored(mine).status == Status::Done; }));
        worker.stop(gqs::test::patience);
    }
    CHECK(seen == std::vector<gqs::Uuid>{mine});
    CHECK(q.stored(other).status == Status::Pending);
}
