// SPDX-License-Identifier: Apache-2.0
// The fair share's split of a pull between groups (backend/pull.hpp: fair_quotas, in_turns,
// order_leased): pure rules, the same for every backend.
#include "backend/pull.hpp"
#include "support/catch.hpp"

#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

using gqs::detail::fair_quotas;
using gqs::detail::GroupQuota;

namespace {

// "group:quota ..." of the quotas, in order.
std::string shown(const std::vector<GroupQuota>& quotas) {
    std::string out;
    for (const auto& q : quotas)
        out += (out.empty() ? "" : " ") + q.group + ":" + std::to_string(q.quota);
    return out;
}

} // namespace

TEST_CASE("fair quotas: one job per group per turn, from the first group listed", "[unit][fair]") {
    std::optional<std::string> turn;
    int used = 0;
    std::vector<GroupQuota> turns;
    CHECK(shown(fair_quotas({"a", "b", "c"}, {}, turn, used, 7, &turns)) == "a:3 b:2 c:2");
    CHECK(shown(turns) == "a:1 b:1 c:1 a:1 b:1 c:1 a:1");
    CHECK(turn == "a");
    CHECK(used == 1);
    // A single group gets everything; no group or nothing wanted gives nothing.
    CHECK(shown(fair_quotas({"a"}, {}, turn, used, 5)) == "a:5");
    CHECK(fair_quotas({}, {}, turn, used, 5).empty());
    CHECK(fair_quotas({"a"}, {}, turn, used, 0).empty());
}

TEST_CASE("fair quotas: weights are jobs per turn and a turn carries over", "[unit][fair]") {
    const std::map<std::string, int> weights{{"a", 3}};
    std::optional<std::string> turn;
    int used = 0;
    CHECK(shown(fair_quotas({"a", "b"}, weights, turn, used, 2)) == "a:2");
    CHECK(turn == "a");
    CHECK(used == 2);
    // The next pull lists the turn's group first: it finishes its turn (1 left), then b.
    CHECK(shown(fair_quotas({"a", "b"}, weights, turn, used, 2)) == "a:1 b:1");
    CHECK(turn == "b");
    CHECK(used == 1);
    // b's turn is over: listed first, it waits for the next round.
    std::vector<GroupQuota> turns;
    CHECK(shown(fair_quotas({"b", "a"}, weights, turn, used, 5, &turns)) == "b:1 a:4");
    CHECK(shown(turns) == "a:3 b:1 a:1");
    // Over many pulls of any size, two busy groups get exactly 3:1.
    int a = 0, b = 0, total = 0;
    turn.reset();
    used = 0;
    for (int pull = 0; pull < 1000; ++pull) {
        const std::vector<std::string> order =
            turn == "b" ? std::vector<std::string>{"b", "a"} : std::vector<std::string>{"a", "b"};
        total += 1 + pull % 7;
        for (const auto& q : fair_quotas(order, weights, turn, used, 1 + pull % 7))
            (q.group == "a" ? a : b) += q.quota;
    }
    CHECK(a + b == total);
    CHECK(std::abs(a - 3 * b) <= 3); // within the last, unfinished round
}

TEST_CASE("fair order: a fair run keeps its turn order among the other jobs by age",
          "[unit][fair]") {
    const auto t0 = gqs::TimePoint{} + std::chrono::hours(24 * 365 * 50);
    auto job = [&](const char* queue, const char* group, int second) {
        gqs::Job j;
        j.id = gqs::Uuid::generate();
        j.queue = queue;
        if (group[0] != '\0') j.group = group;
        j.next_run_at = t0 + std::chrono::seconds(second);
        return j;
    };
    gqs::detail::LeasedBatch batch;
    batch.jobs.push_back(job("open", "", 5));
    // The fair run in turn order: a (age 1), b (age 9), a (age 2), b (age 10).
    batch.jobs.push_back(job("fair", "a", 1));
    batch.jobs.push_back(job("fair", "b", 9));
    batch.jobs.push_back(job("fair", "a", 2));
    batch.jobs.push_back(job("fair", "b", 10));
    batch.jobs.push_back(job("open", "", 0));
    batch.fair.push_back({1, 4});
    gqs::detail::order_leased(batch);
    std::string order;
    for (const auto& j : batch.jobs)
        order += j.queue == "open" ? "o" : *j.group;
    // The fair jobs take the places of ages 1, 2, 9 and 10, in turn order.
    CHECK(order == "oabo"
                   "ab");
}
