// SPDX-License-Identifier: Apache-2.0
// Conformance: Puller (pull, each transition and its error, release, fencing, concurrency).
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <algorithm>
#include <set>
#include <thread>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

namespace {

// Pulls the only job with a short lease, then waits until its lease has expired and
// `other` re-pulled it. Returns {stale, fresh}.
std::pair<gqs::Job, gqs::Job> steal(Queue& q, gqs::Puller& other) {
    auto first = q.puller.pull(1, 1ms);
    REQUIRE(first.size() == 1);
    std::vector<gqs::Job> second;
    REQUIRE(gqs::test::wait_until([&] {
        second = other.pull(1, 1h);
        return !second.empty();
    }));
    REQUIRE(second[0].id == first[0].id);
    return {first[0], second[0]};
}

} // namespace

TEST_CASE("puller: pull leases a job as Processing with attempts + 1", "[puller][conformance]") {
    Queue q;
    auto m = q.push("x");
    auto before = std::chrono::system_clock::now();
    auto jobs = q.puller.pull(5, 30s);
    REQUIRE(jobs.size() == 1);
    auto& job = jobs[0];
    CHECK(job.id == m.id);
    CHECK(job.status == Status::Processing);
    CHECK(job.attempts == 1);
    REQUIRE(job.locked_until.has_value());
    CHECK(*job.locked_until >= before + 30s - 1ms);
    CHECK(*job.locked_until - job.updated_at == 30s);
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Processing);
    CHECK(stored.locked_until == job.locked_until);
    CHECK(stored.updated_at == job.updated_at);
    CHECK(q.puller.pull(5, 30s).empty()); // leased: not eligible again
}

TEST_CASE("puller: bad arguments throw and change nothing", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    CHECK_THROWS_AS((void)q.puller.pull(0, 1s), std::invalid_argument);
    CHECK_THROWS_AS((void)q.puller.pull(-3, 1s), std::invalid_argument);
    CHECK_THROWS_AS((void)q.puller.pull(1, 0ms), std::invalid_argument);
    CHECK_THROWS_AS((void)q.puller.pull(1, -5ms), std::invalid_argument);
    CHECK(q.stored(m.id).status == Status::Pending);
    auto job = q.puller.pull(1, 10s).at(0);
    auto until = job.locked_until;
    CHECK_THROWS_AS(q.puller.extend_lock(job, 0ms), std::invalid_argument);
    CHECK_THROWS_AS(q.puller.requeue(job, -1ms), std::invalid_argument);
    CHECK(q.stored(m.id).locked_until == until);
    CHECK(q.stored(m.id).status == Status::Processing);
}

TEST_CASE("puller: pull orders by next_run_at and honours the batch size",
          "[puller][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(20);
    q.pusher.push_batch(msgs);
    auto all = q.puller.pull(20, 10s);
    REQUIRE(all.size() == 20);
    // Give each job a distinct next_run_at, in an order unrelated to the ids: requeue job i
    // with a backoff of ((i * 7) % 20) * 5ms, then wait until the last of them has come.
    gqs::TimePoint last{};
    for (std::size_t i = 0; i < all.size(); ++i) {
        q.puller.requeue(all[i], static_cast<int>((i * 7) % 20) * 5ms);
        last = std::max(last, q.stored(all[i].id).next_run_at);
    }
    REQUIRE(gqs::test::wait_until([&] { return std::chrono::system_clock::now() > last; }));
    std::vector<gqs::Job> pulled;
    for (int round = 0; round < 4; ++round) {
        auto got = q.puller.pull(6, 10s);
        CHECK(got.size() == (round < 3 ? 6u : 2u));
        pulled.insert(pulled.end(), got.begin(), got.end());
    }
    REQUIRE(pulled.size() == 20);
    CHECK(std::is_sorted(pulled.begin(), pulled.end(),
                         [](auto& a, auto& b) { return a.next_run_at < b.next_run_at; }));
    std::set<gqs::Uuid> ids;
    for (auto& j : pulled)
        ids.insert(j.id);
    CHECK(ids.size() == 20);
    CHECK(q.puller.pull(6, 10s).empty());
}

TEST_CASE("puller: complete marks Done and clears the lease", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.puller.pull(1, 10s).at(0);
    q.puller.complete(job);
    CHECK(job.status == Status::Done);
    CHECK_FALSE(job.locked_until.has_value());
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Done);
    CHECK_FALSE(stored.locked_until.has_value());
    CHECK(stored.updated_at == job.updated_at);
    CHECK(stored.attempts == 1);
    CHECK_THROWS_AS(q.puller.complete(job), gqs::CompleteFailed); // already Done
}

TEST_CASE("puller: requeue makes the job Pending after the backoff", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.puller.pull(1, 10s).at(0);
    q.puller.requeue(job, 1h);
    CHECK(job.status == Status::Pending);
    CHECK_FALSE(job.locked_until.has_value());
    CHECK(job.next_run_at - job.updated_at == 1h);
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Pending);
    CHECK(stored.next_run_at == job.next_run_at);
    CHECK(q.puller.pull(1, 10s).empty());                      // not before the backoff
    CHECK_THROWS_AS(q.puller.requeue(job, 0ms), gqs::JobLost); // no longer leased
}

TEST_CASE("puller: a requeued job is pulled again with the next attempt", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.puller.pull(1, 10s).at(0);
    q.puller.requeue(job, 0ms);
    auto again = q.puller.pull(1, 10s).at(0);
    CHECK(again.id == m.id);
    CHECK(again.attempts == 2);
}

TEST_CASE("puller: kill takes a leased or a Pending job to Dead", "[puller][conformance]") {
    Queue q;
    SECTION("leased") {
        auto m = q.push();
        auto job = q.puller.pull(1, 10s).at(0);
        q.puller.kill(job);
        CHECK(job.status == Status::Dead);
        CHECK_FALSE(job.locked_until.has_value());
        CHECK(q.stored(m.id).status == Status::Dead);
        CHECK_THROWS_AS(q.puller.kill(job), gqs::JobLost);
    }
    SECTION("pending") {
        auto m = q.push();
        auto job = q.stored(m.id);
        q.puller.kill(job);
        CHECK(q.stored(m.id).status == Status::Dead);
        CHECK(q.puller.pull(1, 10s).empty());
    }
    SECTION("a Pending snapshot that was pulled since is refused") {
        auto m = q.push();
        auto snapshot = q.stored(m.id);
        auto leased = q.puller.pull(1, 10s).at(0);
        CHECK_THROWS_AS(q.puller.kill(snapshot), gqs::JobLost);
        CHECK(q.stored(m.id).status == Status::Processing);
        q.puller.complete(leased);
    }
}

TEST_CASE("puller: release gives a lease back without counting the attempt",
          "[puller][conformance]") {
    Queue q;
    auto first = q.push("first");
    auto second = q.push("second");
    auto pushed = q.stored(first.id);
    auto leased = q.puller.pull(2, 10s);
    REQUIRE(leased.size() == 2);
    gqs::Job job = leased[0];
    REQUIRE(job.id == first.id);
    q.puller.release(job);
    CHECK(job.status == Status::Pending);
    CHECK(job.attempts == 0);
    CHECK_FALSE(job.locked_until.has_value());
    auto stored = q.stored(first.id);
    CHECK(stored.status == Status::Pending);
    CHECK(stored.attempts == 0);
    CHECK_FALSE(stored.locked_until.has_value());
    // It keeps its place in line: first again, ahead of anything pushed later.
    CHECK(stored.next_run_at == pushed.next_run_at);
    q.push("third");
    auto again = q.puller.pull(1, 10s);
    REQUIRE(again.size() == 1);
    CHECK(again[0].id == first.id);
    CHECK(again[0].attempts == 1);

    SECTION("a second release, or a release of a Pending job, throws JobLost") {
        CHECK_THROWS_AS(q.puller.release(job), gqs::JobLost);
        auto pending = q.stored(q.push("fourth").id);
        CHECK_THROWS_AS(q.puller.release(pending), gqs::JobLost);
        CHECK(q.stored(pending.id).status == Status::Pending);
    }
    SECTION("a stale holder cannot release the new lease") {
        gqs::Job stale = leased[1];
        ++stale.attempts; // as if it were re-pulled by someone else since
        CHECK_THROWS_AS(q.puller.release(stale), gqs::JobLost);
        CHECK(q.stored(second.id).status == Status::Processing);
        CHECK(q.stored(second.id).attempts == 1);
    }
    SECTION("in a settle group, one entry each") {
        std::vector<gqs::Settlement> s{{gqs::lease_of(leased[1]), gqs::Action::Release, {}},
                                       {gqs::lease_of(again[0]), gqs::Action::Complete, {}}};
        auto results = q.puller.settle(s);
        CHECK(results[0].applied());
        CHECK_FALSE(results[0].next_run_at.has_value()); // a release keeps its place in line
        CHECK(results[1].applied());
        CHECK(q.stored(second.id).status == Status::Pending);
        CHECK(q.stored(second.id).attempts == 0);
        CHECK(q.stored(first.id).status == Status::Done);
    }
}

TEST_CASE("puller: extend_lock moves the lease end", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.puller.pull(1, 1s).at(0);
    q.puller.extend_lock(job, 1h);
    REQUIRE(job.locked_until.has_value());
    CHECK(*job.locked_until - job.updated_at == 1h);
    CHECK(q.stored(m.id).locked_until == job.locked_until);
    CHECK(job.status == Status::Processing);
}

TEST_CASE("puller: transitions of an unknown job fail with their errors", "[puller][conformance]") {
    Queue q;
    gqs::Job ghost;
    ghost.status = Status::Processing;
    ghost.attempts = 1;
    CHECK_THROWS_AS(q.puller.complete(ghost), gqs::CompleteFailed);
    CHECK_THROWS_AS(q.puller.extend_lock(ghost, 1s), gqs::LockLost);
    CHECK_THROWS_AS(q.puller.requeue(ghost, 0ms), gqs::JobLost);
    CHECK_THROWS_AS(q.puller.kill(ghost), gqs::JobLost);
    CHECK_THROWS_AS(q.puller.release(ghost), gqs::JobLost);
}

TEST_CASE("puller: an expired lease is pulled again", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto first = q.puller.pull(1, 20ms).at(0);
    std::vector<gqs::Job> second;
    REQUIRE(gqs::test::wait_until([&] {
        second = q.puller.pull(1, 10s);
        return !second.empty();
    }));
    CHECK(second[0].id == m.id);
    CHECK(second[0].attempts == first.attempts + 1);
    CHECK(second[0].status == Status::Processing);
}

TEST_CASE("puller: a stale lease holder is fenced off", "[puller][conformance][fencing]") {
    Queue q;
    auto m = q.push();
    auto other = q.open_second();
    auto [stale, fresh] = steal(q, other->puller());
    auto lease_before = q.stored(m.id).locked_until;

    CHECK_THROWS_AS(q.puller.extend_lock(stale, 1h), gqs::LockLost);
    CHECK_THROWS_AS(q.puller.complete(stale), gqs::CompleteFailed);
    CHECK_THROWS_AS(q.puller.requeue(stale, 0ms), gqs::JobLost);
    CHECK_THROWS_AS(q.puller.kill(stale), gqs::JobLost);

    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Processing);
    CHECK(stored.attempts == fresh.attempts);
    CHECK(stored.locked_until == lease_before);
    // The new holder still owns it.
    other->puller().complete(fresh);
    CHECK(q.stored(m.id).status == Status::Done);
}

TEST_CASE("puller: an expired but untaken lease can still be completed", "[puller][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.puller.pull(1, 1ms).at(0);
    REQUIRE(gqs::test::wait_until(
        [&] { return std::chrono::system_clock::now() > *job.locked_until; }));
    q.puller.complete(job);
    CHECK(q.stored(m.id).status == Status::Done);
}

namespace {

// Pulls everything with `threads` threads, thread t through pullers[t % pullers.size()],
// three at a time; returns the ids each thread got. Threads only collect.
std::vector<std::vector<gqs::Uuid>> pull_all(const std::vector<gqs::Puller*>& pullers,
                                             int threads) {
    std::vector<std::vector<gqs::Uuid>> got(static_cast<std::size_t>(threads));
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&, t] {
            auto& puller = *pullers[static_cast<std::size_t>(t) % pullers.size()];
            while (true) {
                auto batch = puller.pull(3, 1h);
                if (batch.empty()) return;
                for (auto& j : batch)
                    got[static_cast<std::size_t>(t)].push_back(j.id);
            }
        });
    for (auto& th : pool)
        th.join();
    return got;
}

// Every job was pulled exactly once across the threads.
void check_each_once(const std::vector<std::vector<gqs::Uuid>>& got, std::size_t jobs) {
    std::set<gqs::Uuid> seen;
    std::size_t total = 0;
    for (const auto& v : got) {
        total += v.size();
        seen.insert(v.begin(), v.end());
    }
    CHECK(total == jobs);
    CHECK(seen.size() == jobs);
}

} // namespace

TEST_CASE("puller: threads pulling from one connection never share a lease",
          "[puller][conformance][concurrency]") {
    Queue q;
    constexpr int jobs = 2000, threads = 4;
    std::vector<gqs::Message> msgs(jobs);
    q.pusher.push_batch(msgs);
    check_each_once(pull_all({&q.puller}, threads), jobs);
}

TEST_CASE("puller: threads pulling through two connections never share a lease",
          "[puller][conformance][concurrency]") {
    Queue q;
    auto other = q.open_second();
    constexpr int jobs = 2000, threads = 4;
    std::vector<gqs::Message> msgs(jobs);
    q.pusher.push_batch(msgs);
    check_each_once(pull_all({&q.puller, &other->puller()}, threads), jobs);
    CHECK(q.observer.list(Status::Processing, 0).size() == jobs);
    CHECK(other->observer().list(Status::Processing, 0).size() == jobs);
}
