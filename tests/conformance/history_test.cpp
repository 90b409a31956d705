// SPDX-License-Identifier: Apache-2.0
// Conformance: the error history, snooze and cancel (docs/design.md section 7, "Queues,
// priorities, unique keys, error history, snooze and cancel").
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"

#include <gqs/testing.hpp>
#include <gqs/worker.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

namespace {

std::vector<std::string> messages(const gqs::Job& job) {
    std::vector<std::string> out;
    for (const auto& e : job.errors)
        out.push_back(e.message);
    return out;
}

gqs::WorkerConfig quick_config() {
    gqs::WorkerConfig config;
    config.concurrency = 1;
    config.pull_interval = 10ms;
    return config;
}

} // namespace

TEST_CASE("errors: requeue and kill add entries, oldest first", "[errors][conformance]") {
    Queue q;
    auto m = q.push();
    const auto before = std::chrono::system_clock::now() - 1s;
    auto job = q.pull_one();
    q.puller.requeue(job, 0ms, "first failure");
    job = q.pull_one();
    q.puller.kill(job, "second failure");
    const auto after = std::chrono::system_clock::now() + 1s;
    auto stored = q.stored(m.id);
    REQUIRE(stored.errors.size() == 2);
    CHECK(stored.errors[0].attempt == 1);
    CHECK(stored.errors[0].message == "first failure");
    CHECK(stored.errors[1].attempt == 2);
    CHECK(stored.errors[1].message == "second failure");
    for (const auto& e : stored.errors) {
        CHECK(e.at > before);
        CHECK(e.at < after);
    }
    CHECK(stored.errors[0].at <= stored.errors[1].at);
}

TEST_CASE("errors: no message, no entry; complete adds none", "[errors][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.pull_one();
    q.puller.requeue(job, 0ms);
    job = q.pull_one();
    q.puller.complete(job);
    CHECK(q.stored(m.id).errors.empty());
}

TEST_CASE("errors: the last 20 are kept, each cut to 4 KiB of valid UTF-8",
          "[errors][conformance]") {
    Queue q;
    auto m = q.push();
    for (int i = 0; i < 25; ++i) {
        auto job = q.pull_one();
        q.puller.requeue(job, 0ms, "failure " + std::to_string(i));
    }
    auto stored = q.stored(m.id);
    REQUIRE(stored.errors.size() == gqs::max_attempt_errors);
    CHECK(stored.errors.front().message == "failure 5");
    CHECK(stored.errors.front().attempt == 6);
    CHECK(stored.errors.back().message == "failure 24");

    auto last = q.pull_one();
    q.puller.complete(last); // out of the way of the pulls below

    std::string two_byte; // U+00E9, 2 bytes each: a cut must not split one
    for (int i = 0; i < 3000; ++i)
        two_byte += "\xC3\xA9";
    auto cut = q.push();
    auto job = q.pull_one();
    REQUIRE(job.id == cut.id);
    q.puller.kill(job, two_byte);
    auto entry = q.stored(cut.id).errors.at(0).message;
    CHECK(entry.size() == gqs::max_error_bytes);
    CHECK(entry == two_byte.substr(0, gqs::max_error_bytes));

    auto bad = q.push();
    job = q.pull_one();
    REQUIRE(job.id == bad.id);
    q.puller.kill(job, std::string("bad \xFF byte"));
    CHECK(q.stored(bad.id).errors.at(0).message == "bad \xEF\xBF\xBD byte");
}

TEST_CASE("errors: a settle carries each entry's error", "[errors][settle][conformance]") {
    Queue q;
    auto a = q.push();
    auto b = q.push();
    auto jobs = q.puller.pull(2, 1h);
    REQUIRE(jobs.size() == 2);
    std::vector<gqs::Settlement> s{
        {gqs::lease_of(jobs[0]), gqs::Action::Requeue, 1h, "retry me"},
        {gqs::lease_of(jobs[1]), gqs::Action::Kill, {}, "give up"},
    };
    auto results = q.puller.settle(s);
    CHECK(results[0].applied());
    CHECK(results[1].applied());
    CHECK(messages(q.stored(a.id)) == std::vector<std::string>{"retry me"});
    CHECK(messages(q.stored(b.id)) == std::vector<std::string>{"give up"});
}

TEST_CASE("errors: a lease that ran out is recorded when the job is pulled again",
          "[errors][conformance]") {
    Queue q;
    auto m = q.push();
    (void)q.pull_one(1ms);
    std::vector<gqs::Job> again;
    REQUIRE(gqs::test::wait_until([&] {
        again = q.puller.pull(1, 1h);
        return !again.empty();
    }));
    REQUIRE(again[0].id == m.id);
    CHECK(again[0].attempts == 2);
    REQUIRE(again[0].errors.size() == 1);
    CHECK(again[0].errors[0].attempt == 1);
    CHECK(again[0].errors[0].message == "lease expired");
}

TEST_CASE("snooze: pending again after the delay, the attempt not counted, no entry",
          "[snooze][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.pull_one();
    REQUIRE(job.attempts == 1);
    CHECK_THROWS_AS(q.puller.snooze(job, -1ms), std::invalid_argument);
    const auto before = std::chrono::system_clock::now();
    q.puller.snooze(job, 1h);
    CHECK(job.status == Status::Pending);
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Pending);
    CHECK(stored.attempts == 0);
    CHECK(stored.errors.empty());
    CHECK(stored.next_run_at > before + 59min);
    CHECK_FALSE(stored.locked_until.has_value());
    CHECK(q.puller.pull(1, 1h).empty());
    // A snooze through settle, with no delay: runnable at once, same attempt number again.
    auto other = q.push();
    job = q.pull_one();
    REQUIRE(job.id == other.id);
    std::vector<gqs::Settlement> s{{gqs::lease_of(job), gqs::Action::Snooze, 0ms}};
    auto results = q.puller.settle(s);
    REQUIRE(results[0].applied());
    REQUIRE(results[0].next_run_at.has_value());
    job = q.pull_one();
    CHECK(job.id == other.id);
    CHECK(job.attempts == 1);
    // A stale holder cannot snooze.
    auto stale = job;
    ++stale.attempts;
    CHECK_THROWS_AS(q.puller.snooze(stale, 0ms), gqs::JobLost);
}

TEST_CASE("cancel: a pending job is dead at once", "[cancel][conformance]") {
    Queue q;
    auto m = q.push();
    q.admin.cancel(m.id);
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Dead);
    CHECK(messages(stored) == std::vector<std::string>{"cancelled"});
}

TEST_CASE("cancel: a running job is flagged; its holder sees it and decides the outcome",
          "[cancel][conformance]") {
    Queue q;
    auto m = q.push();
    auto job = q.pull_one();
    q.admin.cancel(m.id);
    auto stored = q.stored(m.id);
    CHECK(stored.status == Status::Processing);
    CHECK(stored.cancel_requested);
    q.admin.cancel(m.id); // again: still flagged, no error
    CHECK_FALSE(job.cancel_requested);
    q.puller.extend_lock(job, 1h);
    CHECK(job.cancel_requested);
    const auto how =
        GENERATE(as<std::string>{}, "complete", "requeue", "kill", "snooze", "release");
    INFO(how);
    if (how == "complete") {
        q.puller.complete(job); // the handler finished first: Done
        CHECK(job.status == Status::Done);
        CHECK(q.stored(m.id).status == Status::Done);
        CHECK(q.stored(m.id).errors.empty());
        return;
    }
    if (how == "requeue") q.puller.requeue(job, 0ms, "handler gave up");
    if (how == "kill") q.puller.kill(job, "handler killed it");
    if (how == "snooze") q.puller.snooze(job, 0ms);
    if (how == "release") q.puller.release(job);
    CHECK(job.status == Status::Dead); // the caller's snapshot says what was stored
    stored = q.stored(m.id);
    CHECK(stored.status == Status::Dead);
    CHECK(job.attempts == stored.attempts);
    CHECK(messages(stored) == std::vector<std::string>{"cancelled"});
    CHECK(q.puller.pull(1, 1h).empty());
}

TEST_CASE("cancel: a flagged job whose holder died goes Dead when its lease runs out",
          "[cancel][conformance]") {
    Queue q;
    auto m = q.push();
    (void)q.pull_one(1ms);
    q.admin.cancel(m.id);
    // Either the cancel saw the lease already run out (Dead at once), or a pull after it ran
    // out finishes the job off; no pull ever hands it out again.
    REQUIRE(gqs::test::wait_until([&] {
        CHECK(q.puller.pull(1, 1h).empty());
        return q.stored(m.id).status == Status::Dead;
    }));
    CHECK(messages(q.stored(m.id)) == std::vector<std::string>{"cancelled"});
    CHECK(q.observer.stats().expired_leases == 0);
}

TEST_CASE("worker: a handler's failures are recorded on its job", "[errors][worker][conformance]") {
    Queue q;
    auto m = q.push();
    auto config = quick_config();
    config.backoff.initial_interval = 1ms;
    config.backoff.max_interval = 1ms;
    gqs::test::Counter runs;
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job&, std::stop_token) {
            const int run = runs.bump();
            if (run == 1) throw std::runtime_error("first try failed");
            if (run == 2) throw 42;
            throw gqs::Kill("no point going on");
        },
        config);
    worker.start();
    REQUIRE(gqs::test::wait_until([&] { return q.stored(m.id).status == Status::Dead; }));
    worker.stop(gqs::test::patience);
    auto stored = q.stored(m.id);
    REQUIRE(stored.errors.size() == 3);
    CHECK(stored.errors[0].message == "first try failed");
    CHECK(stored.errors[1].message.find("unknown exception") == 0);
    CHECK(stored.errors[2].message == "killed: no point going on");
    CHECK(stored.errors[2].attempt == 3);
}

TEST_CASE("worker: a handler that throws Snooze puts its job back without an attempt",
          "[snooze][worker][conformance]") {
    Queue q;
    auto m = q.push();
    gqs::test::Counter runs;
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job& job, std::stop_token) {
            runs.bump();
            if (job.attempts == 1) throw gqs::Snooze(1h);
        },
        quick_config());
    worker.start();
    REQUIRE(gqs::test::wait_until([&] {
        auto job = q.stored(m.id);
        return job.status == Status::Pending && job.next_run_at > std::chrono::system_clock::now();
    }));
    worker.stop(gqs::test::patience);
    auto stored = q.stored(m.id);
    CHECK(stored.attempts == 0);
    CHECK(stored.errors.empty());
    CHECK(stored.next_run_at > std::chrono::system_clock::now() + 50min);
    CHECK(runs.value() == 1);
}

TEST_CASE("testing: work_one reports and stores a snooze", "[snooze][conformance]") {
    Queue q;
    auto m = q.push();
    auto result = gqs::testing::work_one(
        q.puller, [](const gqs::Job&, std::stop_token) { throw gqs::Snooze(2h); });
    REQUIRE(result);
    CHECK(result.action == gqs::Action::Snooze);
    CHECK(result.backoff == 2h);
    CHECK(q.stored(m.id).status == Status::Pending);
    CHECK(q.stored(m.id).attempts == 0);
}

TEST_CASE("cancel: reaches a running handler's stop token through its worker",
          "[cancel][worker][conformance]") {
    Queue q;
    auto m = q.push();
    const bool handler_returns = GENERATE(false, true);
    INFO((handler_returns ? "the handler returns" : "the handler throws"));
    auto config = quick_config();
    config.lock_timeout = 2s; // extended (and the flag read) every second
    gqs::test::Signal started;
    gqs::test::Signal stopped;
    std::chrono::steady_clock::time_point cancelled_at, stop_seen_at;
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job&, std::stop_token stop) {
            started.set();
            if (!gqs::test::wait_for_stop(stop)) return;
            stop_seen_at = std::chrono::steady_clock::now();
            stopped.set();
            if (!handler_returns) throw std::runtime_error("stopped early");
        },
        config);
    worker.start();
    REQUIRE(started.wait());
    cancelled_at = std::chrono::steady_clock::now();
    q.admin.cancel(m.id);
    REQUIRE(stopped.wait());
    const auto want = handler_returns ? Status::Done : Status::Dead;
    REQUIRE(gqs::test::wait_until([&] { return q.stored(m.id).status == want; }));
    worker.stop(gqs::test::patience);
    // At the next extension, lock_timeout / 2 after the last: well inside the lease.
    CHECK(stop_seen_at - cancelled_at < config.lock_timeout);
    if (!handler_returns) CHECK(messages(q.stored(m.id)) == std::vector<std::string>{"cancelled"});
}

TEST_CASE("cancel: a job waiting in a worker's local queue is given back and goes Dead",
          "[cancel][worker][conformance]") {
    Queue q;
    auto running = q.push("running");
    auto waiting = q.push("waiting");
    auto config = quick_config();
    config.prefetch = 1;         // the second job waits, leased, in the local queue
    config.lock_timeout = 400ms; // extended (and the flag read) every 200 ms
    gqs::test::Signal started, release;
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job& job, std::stop_token) {
            if (job.id != running.id) return;
            started.set();
            (void)release.wait(); // (no Catch assertions on a worker's thread)
        },
        config);
    worker.start();
    REQUIRE(started.wait());
    REQUIRE(
        gqs::test::wait_until([&] { return q.stored(waiting.id).status == Status::Processing; }));
    // Cancelled from another connection, as an operator's tool in another process would.
    auto other = q.open_second();
    other->admin().cancel(waiting.id);
    REQUIRE(gqs::test::wait_until([&] { return q.stored(waiting.id).status == Status::Dead; }));
    release.set();
    REQUIRE(gqs::test::wait_until([&] { return q.stored(running.id).status == Status::Done; }));
    worker.stop(gqs::test::patience);
    other.reset();
    CHECK(messages(q.stored(waiting.id)) == std::vector<std::string>{"cancelled"});
    CHECK(q.stored(waiting.id).attempts == 1);
}

TEST_CASE("cancel: a handler that ignores the stop loses its lease and the job goes Dead",
          "[cancel][worker][conformance]") {
    Queue q;
    auto m = q.push();
    auto config = quick_config();
    config.lock_timeout = 400ms; // extended every 200 ms until the cancel is seen, then never
    gqs::test::Signal started, release;
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job&, std::stop_token) {
            started.set();
            (void)release.wait(); // ignores the stop token (no Catch assertions on this thread)
        },
        config);
    worker.start();
    REQUIRE(started.wait());
    q.admin.cancel(m.id);
    // The worker's only thread is busy, so another puller (as another worker would) finds
    // the lease run out and finishes the job off; it never hands the job out.
    auto other = q.open_second();
    REQUIRE(gqs::test::wait_until([&] {
        CHECK(other->puller().pull(1, 1h).empty());
        return q.stored(m.id).status == Status::Dead;
    }));
    release.set(); // the late return cannot make it Done
    worker.stop(gqs::test::patience);
    other.reset();
    CHECK(q.stored(m.id).status == Status::Dead);
    CHECK(messages(q.stored(m.id)) == std::vector<std::string>{"cancelled"});
}
