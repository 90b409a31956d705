// SPDX-License-Identifier: Apache-2.0
// Conformance: the pulls honour the stored queue limits (docs/limits.md): pause, max_running
// counted from live leases, and the token bucket, the same on every backend.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/queues.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::QueueLimits;
using gqs::test::Queue;

namespace {

void push_many(Queue& q, const std::string& queue, int n) {
    gqs::test::push_to(q.pusher, queue, n);
}

int in_queue_count(const std::vector<gqs::Job>& jobs, const std::string& queue) {
    return static_cast<int>(std::count_if(jobs.begin(), jobs.end(),
                                          [&](const gqs::Job& j) { return j.queue == queue; }));
}

std::vector<std::string> only(const std::string& queue) { return {queue}; }

QueueLimits max_running(int n) {
    QueueLimits l;
    l.max_running = n;
    return l;
}

} // namespace

TEST_CASE("limits in pulls: a paused queue gives no job", "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "slow", 3);
    push_many(q, "fast", 2);
    q.queues.pause("slow");
    CHECK(q.puller.pull(10, 1h, only("slow")).empty());
    CHECK_FALSE(q.puller.has_ready(only("slow")));
    CHECK_FALSE(q.puller.limit_wait()); // paused: nothing to wait for but a resume
    // A pull of every queue takes the others' jobs only.
    auto all = q.puller.pull(10, 1h);
    CHECK(all.size() == 2);
    CHECK(in_queue_count(all, "fast") == 2);
    CHECK_FALSE(q.puller.has_ready());
    q.queues.resume("slow");
    CHECK(q.puller.has_ready());
    CHECK(q.puller.pull(10, 1h, only("slow")).size() == 3);
}

TEST_CASE("limits in pulls: a paused queue's expired leases stay where they are",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "p", 2);
    auto first = q.puller.pull(2, 1ms, only("p"));
    REQUIRE(first.size() == 2);
    q.queues.pause("p");
    // Wait for the leases to run out, then nothing is taken while paused.
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::system_clock::now() <= *first[0].locked_until + 5ms &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(1ms);
    CHECK(q.puller.pull(10, 1h).empty());
    CHECK(q.puller.pull(10, 1h, only("p")).empty());
    q.queues.resume("p");
    CHECK(q.puller.pull(10, 1h).size() == 2);
}

TEST_CASE("limits in pulls: max_running caps the running jobs across connections",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "api", 10);
    push_many(q, "other", 3);
    q.queues.set_limits("api", max_running(2));
    auto second = q.open_second();
    auto mine = q.puller.pull(5, 1h, only("api"));
    CHECK(mine.size() == 2);
    // Held back by the limit: the wait is at most until a running job's lease ends.
    REQUIRE(q.puller.limit_wait());
    CHECK(*q.puller.limit_wait() > gqs::Duration::zero());
    CHECK(*q.puller.limit_wait() <= gqs::Duration(1h));
    CHECK(second->puller().pull(5, 1h, only("api")).empty());
    CHECK_FALSE(second->puller().has_ready(only("api")));
    // Every queue: the open one's jobs, none more of the limited one.
    auto all = second->puller().pull(10, 1h);
    CHECK(all.size() == 3);
    CHECK(in_queue_count(all, "api") == 0);
    // One finishes: one slot frees, for any connection.
    q.puller.complete(mine[0]);
    CHECK(second->puller().has_ready(only("api")));
    auto next = second->puller().pull(5, 1h);
    REQUIRE(next.size() == 1);
    CHECK(next[0].queue == "api");
    CHECK(q.puller.pull(5, 1h).empty());
}

TEST_CASE("limits in pulls: a settle that frees a slot lets its own pull take it",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "api", 5);
    q.queues.set_limits("api", max_running(1));
    auto held = q.puller.pull(3, 1h);
    REQUIRE(held.size() == 1);
    std::vector<gqs::Settlement> done{{gqs::lease_of(held[0]), gqs::Action::Complete, {}, {}}};
    std::vector<gqs::SettleResult> results;
    auto next = q.puller.settle_and_pull(done, results, 3, 1h);
    REQUIRE(results.size() == 1);
    CHECK(results[0].status == gqs::SettleStatus::Applied);
    CHECK(next.size() == 1);
}

TEST_CASE("limits in pulls: a lease that runs out frees its slot",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "api", 3);
    q.queues.set_limits("api", max_running(1));
    auto held = q.puller.pull(3, 200ms, only("api"));
    REQUIRE(held.size() == 1);
    CHECK(q.puller.pull(3, 1h, only("api")).empty());
    const auto wait = q.puller.limit_wait();
    REQUIRE(wait);
    CHECK(*wait <= gqs::Duration(300));
    // As a worker whose process died: its slot comes back once its lease is over.
    std::vector<gqs::Job> again;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (again.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
        again = q.puller.pull(3, 1h, only("api"));
    }
    REQUIRE(again.size() == 1);
    CHECK(std::chrono::system_clock::now() >= *held[0].locked_until);
}

TEST_CASE("limits in pulls: the token bucket allows a burst then the rate",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "mail", 40);
    QueueLimits l;
    l.rate = 20;
    l.burst = 3;
    q.queues.set_limits("mail", l);
    const auto start = std::chrono::steady_clock::now();
    CHECK(q.puller.pull(10, 1h, only("mail")).size() == 3); // a full bucket: the burst
    auto none = q.puller.pull(10, 1h, only("mail"));
    CHECK(none.size() <= 1); // a token may have come meanwhile
    REQUIRE(q.puller.limit_wait());
    CHECK(*q.puller.limit_wait() <= gqs::Duration(50)); // one token per 50 ms
    // Pulled as fast as possible for 500 ms: the burst plus 20 per second, never more.
    int started = 3 + static_cast<int>(none.size());
    while (std::chrono::steady_clock::now() - start < 500ms) {
        if (auto w = q.puller.limit_wait()) std::this_thread::sleep_for(*w);
        started += static_cast<int>(q.puller.pull(10, 1h, only("mail")).size());
    }
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(started <= 3 + static_cast<int>(20 * elapsed) + 1);
    CHECK(started >= 3 + 5); // at least half the rate, however slow the machine
    // The bucket is in the database: another connection shares it.
    auto second = q.open_second();
    int more = static_cast<int>(second->puller().pull(10, 1h, only("mail")).size());
    more += static_cast<int>(q.puller.pull(10, 1h, only("mail")).size());
    CHECK(more <= 2);
}

TEST_CASE("limits in pulls: clearing the limits opens the queue again",
          "[queues][limits][conformance]") {
    Queue q;
    push_many(q, "api", 4);
    q.queues.set_limits("api", max_running(1));
    CHECK(q.puller.pull(4, 1h).size() == 1);
    CHECK(q.puller.pull(4, 1h).empty());
    CHECK(q.queues.clear("api"));
    CHECK(q.puller.pull(4, 1h).size() == 3);
    CHECK_FALSE(q.puller.limit_wait());
}

TEST_CASE("limits in pulls: threads on two connections never exceed max_running",
          "[queues][limits][conformance]") {
    Queue q;
    constexpr int limit = 3;
    constexpr int jobs = 120;
    push_many(q, "api", jobs);
    q.queues.set_limits("api", max_running(limit));
    auto second = q.open_second();
    std::atomic<int> held{0};
    std::atomic<int> most{0};
    std::atomic<int> done{0};
    std::atomic<bool> failed{false};
    auto run = [&](gqs::Puller& puller) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (done.load() < jobs && std::chrono::steady_clock::now() < deadline) {
            std::vector<gqs::Job> got;
            try {
                got = puller.pull(2, 1h, only("api"));
            } catch (const std::exception&) {
                failed = true;
                return;
            }
            if (got.empty()) {
                std::this_thread::yield();
                continue;
            }
            // Counted after the pull committed, uncounted before the completion commits: never
            // above what the database counts, so above the limit only if the pulls broke it.
            const int now =
                held.fetch_add(static_cast<int>(got.size())) + static_cast<int>(got.size());
            int seen = most.load();
            while (now > seen && !most.compare_exchange_weak(seen, now)) {
            }
            for (auto& job : got) {
                held.fetch_sub(1);
                try {
                    puller.complete(job);
                } catch (const std::exception&) {
                    failed = true;
                }
                done.fetch_add(1);
            }
        }
    };
    {
        std::vector<std::jthread> threads;
        threads.emplace_back([&] { run(q.puller); });
        threads.emplace_back([&] { run(q.puller); });
        threads.emplace_back([&] { run(second->puller()); });
        threads.emplace_back([&] { run(second->puller()); });
    }
    CHECK_FALSE(failed.load());
    CHECK(done.load() == jobs);
    CHECK(most.load() <= limit);
    CHECK(most.load() >= 1);
}
