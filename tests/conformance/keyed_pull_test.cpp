// SPDX-License-Identifier: Apache-2.0
// Conformance: the pulls honour max_running_per_key (docs/limits.md): at most N jobs of one
// concurrency key hold a live lease at once, across connections; other keys' jobs, and jobs
// without a key, are taken meanwhile.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/queues.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::QueueLimits;
using gqs::test::Queue;

namespace {

// Pushes `n` jobs of `queue` with concurrency key `key` (none when empty), in one batch.
std::vector<gqs::Uuid> push_keyed(Queue& q, const std::string& queue, const std::string& key,
                                  int n) {
    std::vector<gqs::Message> batch(static_cast<std::size_t>(n));
    std::vector<gqs::Uuid> ids;
    for (auto& m : batch) {
        m.queue = queue;
        if (!key.empty()) m.concurrency_key = key;
        ids.push_back(m.id);
    }
    (void)q.pusher.push_batch(batch);
    return ids;
}

QueueLimits per_key(int n) {
    QueueLimits l;
    l.max_running_per_key = n;
    return l;
}

std::map<std::string, int> by_key(const std::vector<gqs::Job>& jobs) {
    std::map<std::string, int> counts;
    for (const auto& j : jobs)
        ++counts[j.concurrency_key.value_or("")];
    return counts;
}

std::vector<std::string> only(const std::string& queue) { return {queue}; }

} // namespace

TEST_CASE("keyed pulls: a key gets no more than max_running_per_key at once",
          "[queues][limits][keys][conformance]") {
    Queue q;
    push_keyed(q, "api", "a", 5);
    push_keyed(q, "api", "b", 1);
    push_keyed(q, "api", "", 3);
    q.queues.set_limits("api", per_key(2));
    auto first = q.puller.pull(20, 1h, only("api"));
    const auto counts = by_key(first);
    CHECK(counts.at("a") == 2);
    CHECK(counts.at("b") == 1);
    CHECK(counts.at("") == 3); // jobs without a key are not capped
    CHECK(first.size() == 6);
    // Every key is at its cap or empty: nothing more, and an idle worker's look agrees.
    CHECK(q.puller.pull(20, 1h, only("api")).empty());
    CHECK_FALSE(q.puller.has_ready(only("api")));
    CHECK(q.puller.pull(20, 1h).empty());
    // One of "a" finishes: one more of "a" may start, for any connection.
    auto done = std::find_if(first.begin(), first.end(),
                             [](const gqs::Job& j) { return j.concurrency_key == "a"; });
    REQUIRE(done != first.end());
    q.puller.complete(*done);
    auto second = q.open_second();
    CHECK(second->puller().has_ready(only("api")));
    auto next = second->puller().pull(20, 1h);
    REQUIRE(next.size() == 1);
    CHECK(next[0].concurrency_key == "a");
}

TEST_CASE("keyed pulls: a key's backlog does not hold back the other keys",
          "[queues][limits][keys][conformance]") {
    Queue q;
    // More of "hot" than any window of candidates, all older than the one job of "cold".
    push_keyed(q, "api", "hot", 300);
    const auto cold = push_keyed(q, "api", "cold", 1);
    q.queues.set_limits("api", per_key(1));
    auto first = q.puller.pull(1, 1h, only("api"));
    REQUIRE(first.size() == 1);
    CHECK(first[0].concurrency_key == "hot");
    auto second = q.puller.pull(1, 1h, only("api"));
    REQUIRE(second.size() == 1);
    CHECK(second[0].id == cold[0]);
}

TEST_CASE("keyed pulls: a batch goes on past a window of one key's jobs",
          "[queues][limits][keys][conformance]") {
    // The batch asks for more than "hot" may give, and the first candidates are all "hot".
    Queue r;
    push_keyed(r, "api", "hot", 300);
    push_keyed(r, "api", "warm", 300);
    const auto cool = push_keyed(r, "api", "cool", 1);
    r.queues.set_limits("api", per_key(2));
    auto batch = r.puller.pull(10, 1h, only("api"));
    const auto counts = by_key(batch);
    CHECK(counts.at("hot") == 2);
    CHECK(counts.at("warm") == 2);
    CHECK(counts.at("cool") == 1);
    CHECK(batch.size() == 5);
}

TEST_CASE("keyed pulls: priority and age order hold within the keys' caps",
          "[queues][limits][keys][conformance]") {
    Queue q;
    gqs::Message low;
    low.queue = "api";
    low.concurrency_key = "x";
    low.priority = 5;
    gqs::Message high;
    high.queue = "api";
    high.concurrency_key = "x";
    high.priority = 1;
    (void)q.pusher.push(low);
    (void)q.pusher.push(high);
    q.queues.set_limits("api", per_key(1));
    auto jobs = q.puller.pull(5, 1h, only("api"));
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].id == high.id); // the better priority, though pushed later
}

TEST_CASE("keyed pulls: a lease that runs out frees its key",
          "[queues][limits][keys][conformance]") {
    Queue q;
    const auto ids = push_keyed(q, "api", "k", 2);
    q.queues.set_limits("api", per_key(1));
    auto held = q.puller.pull(2, 200ms, only("api"));
    REQUIRE(held.size() == 1);
    CHECK(q.puller.pull(2, 1h, only("api")).empty());
    // As a worker whose process died: the key frees once the lease is over, and the job whose
    // lease ran out is leased again before the younger one (the pull's order).
    std::vector<gqs::Job> again;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (again.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(10ms);
        again = q.puller.pull(2, 1h, only("api"));
    }
    REQUIRE(again.size() == 1);
    CHECK(std::chrono::system_clock::now() >= *held[0].locked_until);
    CHECK(again[0].concurrency_key == "k");
}

TEST_CASE("keyed pulls: max_running and the keys' caps hold together",
          "[queues][limits][keys][conformance]") {
    Queue q;
    push_keyed(q, "api", "a", 4);
    push_keyed(q, "api", "b", 4);
    push_keyed(q, "api", "c", 4);
    QueueLimits limits = per_key(2);
    limits.max_running = 3;
    q.queues.set_limits("api", limits);
    auto jobs = q.puller.pull(10, 1h);
    CHECK(jobs.size() == 3);
    for (const auto& [key, n] : by_key(jobs))
        CHECK(n <= 2);
    CHECK(q.puller.pull(10, 1h).empty());
    // Clearing the limits opens the queue: the rest come at once.
    q.queues.clear("api");
    CHECK(q.puller.pull(20, 1h).size() == 9);
}

TEST_CASE("keyed pulls: threads on two connections never run two of a key at once",
          "[queues][limits][keys][conformance]") {
    Queue q;
    constexpr int keys = 8;
    constexpr int per = 10;
    for (int k = 0; k < keys; ++k)
        push_keyed(q, "api", gqs::test::numbered("k", k), per);
    q.queues.set_limits("api", per_key(1));
    auto second = q.open_second();
    std::mutex mutex;
    std::map<std::string, int> running;
    std::atomic<int> worst{0};
    std::atomic<int> finished{0};
    auto work = [&](gqs::Puller& puller) {
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (finished < keys * per && std::chrono::steady_clock::now() < deadline) {
            auto jobs = puller.pull(3, 1h, only("api"));
            if (jobs.empty()) {
                std::this_thread::yield();
                continue;
            }
            {
                std::lock_guard lock(mutex);
                for (const auto& j : jobs) {
                    const int now = ++running[*j.concurrency_key];
                    int seen = worst.load();
                    while (now > seen && !worst.compare_exchange_weak(seen, now)) {
                    }
                }
            }
            std::this_thread::sleep_for(1ms);
            for (auto& j : jobs) {
                {
                    std::lock_guard lock(mutex);
                    --running[*j.concurrency_key];
                }
                puller.complete(j);
                ++finished;
            }
        }
    };
    std::thread t1([&] { work(q.puller); });
    std::thread t2([&] { work(q.puller); });
    std::thread t3([&] { work(second->puller()); });
    std::thread t4([&] { work(second->puller()); });
    t1.join();
    t2.join();
    t3.join();
    t4.join();
    CHECK(finished == keys * per);
    CHECK(worst == 1);
}
