// SPDX-License-Identifier: Apache-2.0
// Conformance: fair share by Message::group (docs/limits.md, "Fair share"): within a queue and
// a priority, the pulls serve the groups with ready jobs round-robin, each up to its weight
// per turn, the turn kept in the database for every connection; work-conserving.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/test_support.hpp"

#include <gqs/queues.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::QueueLimits;
using gqs::test::Queue;

namespace {

// Pushes `n` jobs of queue "fair" in group `group` (none when empty), in one batch.
void push_group(Queue& q, const std::string& group, int n, int priority = 0) {
    std::vector<gqs::Message> batch(static_cast<std::size_t>(n));
    for (auto& m : batch) {
        m.queue = "fair";
        m.priority = priority;
        if (!group.empty()) m.group = group;
    }
    (void)q.pusher.push_batch(batch);
}

QueueLimits fair(std::map<std::string, int> weights = {}) {
    QueueLimits l;
    l.fair_share = true;
    l.group_weights = std::move(weights);
    return l;
}

std::map<std::string, int> by_group(const std::vector<gqs::Job>& jobs) {
    std::map<std::string, int> counts;
    for (const auto& j : jobs)
        ++counts[j.group.value_or("")];
    return counts;
}

std::string group_of(const std::vector<gqs::Job>& jobs) {
    REQUIRE(jobs.size() == 1);
    return jobs[0].group.value_or("-");
}

const std::vector<std::string> fair_queue{"fair"};

} // namespace

TEST_CASE("fair pulls: groups are served round-robin across pulls and connections",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 10); // the oldest jobs, all of one group
    push_group(q, "b", 10);
    push_group(q, "c", 10);
    q.queues.set_limits("fair", fair());
    std::string order;
    auto second = q.open_second();
    for (int i = 0; i < 9; ++i) {
        auto& puller = i % 2 == 0 ? q.puller : second->puller();
        order += group_of(puller.pull(1, 1h, fair_queue));
    }
    CHECK(order == "abcabcabc");
    // A bigger batch: one of each group per turn, from where the turn stopped, and the batch
    // in turn order (a Worker starts its jobs in that order).
    std::string batch;
    for (const auto& j : q.puller.pull(6, 1h, fair_queue))
        batch += j.group.value_or("-");
    CHECK(batch == "abcabc");
}

TEST_CASE("fair pulls: a single group gets the whole batch",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "only", 50);
    q.queues.set_limits("fair", fair());
    CHECK(q.puller.pull(20, 1h, fair_queue).size() == 20);
    CHECK(q.puller.pull(40, 1h).size() == 30);
    CHECK(q.puller.pull(40, 1h).empty());
}

TEST_CASE("fair pulls: weights give a group that many jobs per turn",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 40);
    push_group(q, "b", 40);
    q.queues.set_limits("fair", fair({{"a", 3}}));
    CHECK(by_group(q.puller.pull(8, 1h, fair_queue)) ==
          std::map<std::string, int>{{"a", 6}, {"b", 2}});
    // One at a time, the turn carries over between pulls: a, a, a, b, ...
    std::string order;
    for (int i = 0; i < 8; ++i)
        order += group_of(q.puller.pull(1, 1h, fair_queue));
    CHECK(order == "aaabaaab");
}

TEST_CASE("fair pulls: a batch that ends inside a turn continues it next time",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 20);
    push_group(q, "b", 20);
    q.queues.set_limits("fair", fair({{"a", 4}, {"b", 2}}));
    int a = 0, b = 0;
    for (int i = 0; i < 10; ++i) {
        const auto counts = by_group(q.puller.pull(3, 1h, fair_queue));
        a += counts.count("a") ? counts.at("a") : 0;
        b += counts.count("b") ? counts.at("b") : 0;
    }
    CHECK(a == 20);
    CHECK(b == 10);
}

TEST_CASE("fair pulls: priorities come first, then the groups",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 5, 5);
    push_group(q, "b", 2, 0); // pushed later, better priority
    push_group(q, "c", 1, 5);
    q.queues.set_limits("fair", fair());
    auto jobs = q.puller.pull(4, 1h, fair_queue);
    REQUIRE(jobs.size() == 4);
    CHECK(by_group(jobs) == std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 1}});
    for (const auto& j : jobs)
        if (j.group == "b") CHECK(j.priority == 0);
}

TEST_CASE("fair pulls: jobs without a group take turns as one group",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 10);
    push_group(q, "", 3);
    push_group(q, "b", 1);
    q.queues.set_limits("fair", fair());
    CHECK(by_group(q.puller.pull(6, 1h, fair_queue)) ==
          std::map<std::string, int>{{"", 3}, {"a", 2}, {"b", 1}});
    CHECK(by_group(q.puller.pull(20, 1h, fair_queue)) == std::map<std::string, int>{{"a", 8}});
}

TEST_CASE("fair pulls: a big group's backlog delays a small group by one turn",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 2000);
    q.queues.set_limits("fair", fair());
    CHECK(q.puller.pull(4, 1h, fair_queue).size() == 4);
    for (const char* g : {"b", "c", "d", "e"})
        push_group(q, g, 10);
    // Batches of 4 until every job of b..e is leased: a gets one job per turn, as each of them.
    int a_after = 0, small = 0;
    while (small < 40) {
        auto jobs = q.puller.pull(4, 1h, fair_queue);
        REQUIRE(jobs.size() == 4);
        for (const auto& j : jobs)
            (j.group == "a" ? a_after : small) += 1;
    }
    // 10 turns of a (one per round of b..e's 10 each), and the last batch's 3 after them.
    CHECK(a_after <= 13);
}

TEST_CASE("fair pulls: an expired lease is leased again", "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 1);
    q.queues.set_limits("fair", fair());
    auto held = q.puller.pull(1, 200ms, fair_queue);
    REQUIRE(held.size() == 1);
    push_group(q, "b", 1);
    std::vector<gqs::Job> again;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        // b is taken at once; a's job comes back once its lease is over.
        auto got = q.puller.pull(2, 1h, fair_queue);
        again.insert(again.end(), got.begin(), got.end());
        if (std::any_of(again.begin(), again.end(),
                        [&](const gqs::Job& j) { return j.id == held[0].id; }))
            break;
        std::this_thread::sleep_for(10ms);
    }
    CHECK(by_group(again) == std::map<std::string, int>{{"a", 1}, {"b", 1}});
    for (const auto& j : again)
        if (j.id == held[0].id) CHECK(j.attempts == 2);
}

TEST_CASE("fair pulls: max_running and the rate hold with fair share",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 10);
    push_group(q, "b", 10);
    QueueLimits limits = fair();
    limits.max_running = 4;
    q.queues.set_limits("fair", limits);
    auto jobs = q.puller.pull(10, 1h);
    CHECK(by_group(jobs) == std::map<std::string, int>{{"a", 2}, {"b", 2}});
    CHECK(q.puller.pull(10, 1h).empty());
    CHECK_FALSE(q.puller.has_ready(fair_queue));
    q.puller.complete(jobs[0]);
    CHECK(q.puller.has_ready(fair_queue));
    CHECK(q.puller.pull(10, 1h).size() == 1);
}

TEST_CASE("fair pulls: group weights alone turn fair share on and the limits read back",
          "[queues][limits][fair][conformance]") {
    Queue q;
    push_group(q, "a", 10);
    push_group(q, "b", 10);
    QueueLimits weights;
    weights.group_weights = {{"b", 2}};
    q.queues.set_limits("fair", weights);
    CHECK(q.queues.limits("fair") == weights);
    CHECK(by_group(q.puller.pull(3, 1h, fair_queue)) ==
          std::map<std::string, int>{{"a", 1}, {"b", 2}});
    const auto on = fair();
    q.queues.set_limits("fair", on);
    CHECK(q.queues.limits("fair").fair_share);
    // Not combined with max_running_per_key: the same message on every backend.
    QueueLimits both = on;
    both.max_running_per_key = 1;
    CHECK_THROWS_WITH(q.queues.set_limits("fair", both),
                      "gqs: queue limits: fair share (fair_share or group_weights) and "
                      "max_running_per_key cannot be combined yet (got max_running_per_key 1)");
    CHECK(q.queues.limits("fair") == on);
    // Cleared: the order is the pull's again (oldest first).
    q.queues.clear("fair");
    CHECK(by_group(q.puller.pull(5, 1h, fair_queue)) == std::map<std::string, int>{{"a", 5}});
}

TEST_CASE("fair pulls: threads on two connections share the groups evenly",
          "[queues][limits][fair][conformance]") {
    Queue q;
    for (const char* g : {"a", "b", "c", "d"})
        push_group(q, g, 100);
    q.queues.set_limits("fair", fair());
    auto second = q.open_second();
    std::mutex mutex;
    std::set<std::string> seen;
    std::map<std::string, int> counts;
    int taken = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto& puller = t % 2 == 0 ? q.puller : second->puller();
            for (;;) {
                {
                    std::lock_guard lock(mutex);
                    if (taken >= 200) return;
                }
                auto jobs = puller.pull(5, 1h, fair_queue);
                std::lock_guard lock(mutex);
                for (const auto& j : jobs) {
                    seen.insert(j.id.to_string());
                    ++counts[*j.group];
                    ++taken;
                }
            }
        });
    }
    for (auto& t : threads)
        t.join();
    // The pulls take turns on the queue's row, so together they are one round-robin: every
    // group within one of the others, whatever thread took what.
    CHECK(static_cast<int>(seen.size()) == taken);
    REQUIRE(counts.size() == 4);
    for (const auto& [group, n] : counts)
        CHECK(std::abs(n - taken / 4) <= 1);
}
