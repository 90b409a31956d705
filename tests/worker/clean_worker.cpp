// SPDX-License-Identifier: Apache-2.0
// Tests of gqs::CleanWorker over every backend.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/clean_worker.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

using namespace gqs;
using namespace gqs::test;

namespace {

// A Cleaner that forwards to another one, records its calls, and can fail or block.
class ProbeCleaner final : public Cleaner {
public:
    explicit ProbeCleaner(Cleaner& inner) : inner_(inner) {}

    /// The next n calls throw StorageError (SQLITE_BUSY) without forwarding.
    std::atomic<int> failing{0};
    /// If set, every call blocks until it is set (and `entered` is set on entry).
    Signal* hold = nullptr;
    Signal entered;
    /// Bumped when a call ends, whether it succeeded or threw.
    Counter calls;

    std::int64_t clean(std::optional<Status> status, std::optional<TimePoint> before) override {
        {
            std::lock_guard lock(mutex_);
            statuses_.push_back(status);
            befores_.push_back(before);
        }
        if (hold != nullptr) {
            entered.set();
            hold->wait();
        }
        struct Bump {
            Counter& counter;
            ~Bump() { counter.bump(); }
        } bump{calls};
        if (take_one(failing)) throw busy_error("clean");
        return inner_.clean(status, before);
    }

    std::vector<std::optional<TimePoint>> befores() const {
        std::lock_guard lock(mutex_);
        return befores_;
    }
    std::vector<std::optional<Status>> statuses() const {
        std::lock_guard lock(mutex_);
        return statuses_;
    }

private:
    Cleaner& inner_;
    mutable std::mutex mutex_;
    std::vector<std::optional<Status>> statuses_;
    std::vector<std::optional<TimePoint>> befores_;
};

// A queue holding one job in each state.
struct Mixed {
    Queue queue;
    Uuid done = queue.push("done").id;
    Uuid dead = queue.push("dead").id;
    Uuid processing = queue.push("processing").id;
    Uuid pending = queue.push("pending", std::chrono::hours(1)).id;

    Mixed() {
        for (Job& job : queue.puller.pull(3, std::chrono::hours(1))) {
            if (job.id == done) queue.puller.complete(job);
            if (job.id == dead) queue.puller.kill(job);
        }
    }

    std::set<Uuid> remaining() {
        std::set<Uuid> ids;
        for (const Job& job : queue.observer.list(std::nullopt, 0))
            ids.insert(job.id);
        return ids;
    }
};

} // namespace

TEST_CASE("clean worker: deletes only the jobs of its status", "[clean_worker][worker]") {
    Mixed mixed;
    REQUIRE(mixed.queue.has_status(mixed.done, Status::Done));
    REQUIRE(mixed.queue.has_status(mixed.dead, Status::Dead));
    REQUIRE(mixed.queue.has_status(mixed.processing, Status::Processing));
    REQUIRE(mixed.queue.has_status(mixed.pending, Status::Pending));
    ProbeCleaner probe(mixed.queue.cleaner);
    LogCapture log;
    CleanConfig config{
        .status = Status::Done, .interval = std::chrono::hours(1), .older_than = std::nullopt};
    std::set<Uuid> expected;

    SECTION("Done") {
        config.status = Status::Done;
        expected = {mixed.dead, mixed.processing, mixed.pending};
    }
    SECTION("Dead") {
        config.status = Status::Dead;
        expected = {mixed.done, mixed.processing, mixed.pending};
    }
    SECTION("nullopt means both") {
        config.status = std::nullopt;
        expected = {mixed.processing, mixed.pending};
    }
    CleanWorker cleaner(probe, config, log.logger());
    cleaner.start();
    REQUIRE(probe.calls.wait_for(1));
    cleaner.stop(patience);

    CHECK(mixed.remaining() == expected);
    REQUIRE_FALSE(probe.befores().empty());
    CHECK_FALSE(probe.befores().front().has_value());
    CHECK(probe.statuses().front() == config.status);
    INFO(log.text());
    CHECK(log.count(LogLevel::Info, "deleted") == 1);
}

TEST_CASE("clean worker: with older_than, keeps jobs updated within it", "[clean_worker][worker]") {
    Mixed mixed;
    ProbeCleaner probe(mixed.queue.cleaner);
    LogCapture log;
    CleanConfig config{
        .status = std::nullopt, .interval = std::chrono::hours(1), .older_than = Duration::zero()};
    std::set<Uuid> expected;
    SECTION("older than an hour: the new jobs stay") {
        config.older_than = std::chrono::hours(1);
        expected = {mixed.done, mixed.dead, mixed.processing, mixed.pending};
    }
    SECTION("older than 0: jobs finished before now go") {
        expected = {mixed.processing, mixed.pending};
    }
    SECTION("an age past the epoch keeps everything") {
        config.older_than = Duration::max();
        expected = {mixed.done, mixed.dead, mixed.processing, mixed.pending};
    }
    const auto earliest = std::chrono::system_clock::now();
    CleanWorker cleaner(probe, config, log.logger());
    cleaner.start();
    REQUIRE(probe.calls.wait_for(1));
    cleaner.stop(patience);
    const auto latest = std::chrono::system_clock::now();

    CHECK(mixed.remaining() == expected);
    const auto before = probe.befores().front();
    REQUIRE(before.has_value());
    const Duration age = config.older_than.value();
    if (age == Duration::max()) {
        CHECK(*before == TimePoint{});
    } else {
        CHECK(*before >= earliest - age);
        CHECK(*before <= latest - age);
    }
}

TEST_CASE("clean worker: cleans every interval and survives storage errors",
          "[clean_worker][worker]") {
    Mixed mixed;
    ProbeCleaner probe(mixed.queue.cleaner);
    probe.failing = 2;
    LogCapture log;
    CleanWorker cleaner(
        probe, {.status = Status::Done, .interval = Duration(10), .older_than = std::nullopt},
        log.logger());
    cleaner.start();
    REQUIRE(probe.calls.wait_for(4));
    cleaner.stop(patience);
    INFO(log.text());
    CHECK(log.count(LogLevel::Error, "failed") == 2);
    CHECK_FALSE(mixed.queue.observer.get(mixed.done).has_value());
    CHECK(mixed.queue.observer.get(mixed.dead).has_value());
}

TEST_CASE("clean worker: start twice or stop when not running throws", "[clean_worker][worker]") {
    Mixed mixed;
    ProbeCleaner probe(mixed.queue.cleaner);
    LogCapture log;
    const CleanConfig config{
        .status = Status::Done, .interval = std::chrono::hours(1), .older_than = std::nullopt};

    SECTION("lifecycle errors, and a restart") {
        CleanWorker cleaner(probe, config, log.logger());
        CHECK_THROWS_AS(cleaner.stop(patience), DoubleStopped);
        cleaner.start();
        CHECK_THROWS_AS(cleaner.start(), DoubleStarted);
        REQUIRE(probe.calls.wait_for(1));
        cleaner.stop(patience);
        CHECK_THROWS_AS(cleaner.stop(patience), DoubleStopped);
        cleaner.start(); // cleans again at once
        REQUIRE(probe.calls.wait_for(2));
        cleaner.stop(patience);
    }

    SECTION("destroying a running clean worker stops it") {
        {
            CleanWorker cleaner(probe, config, log.logger());
            cleaner.start();
            REQUIRE(probe.calls.wait_for(1));
        }
        CHECK(probe.calls.value() == 1);
    }
}

TEST_CASE("clean worker: stop throws StopTimeout while a clean is under way",
          "[clean_worker][worker]") {
    Mixed mixed;
    ProbeCleaner probe(mixed.queue.cleaner);
    Signal hold;
    probe.hold = &hold;
    LogCapture log;
    CleanWorker cleaner(
        probe,
        {.status = Status::Done, .interval = std::chrono::hours(1), .older_than = std::nullopt},
        log.logger());
    cleaner.start();
    REQUIRE(probe.entered.wait());
    CHECK_THROWS_AS(cleaner.stop(Duration(10)), StopTimeout);
    CHECK_THROWS_AS(cleaner.start(), DoubleStarted); // its clean is still under way
    SECTION("a second stop waits for the stop to finish") {
        CHECK_THROWS_AS(cleaner.stop(Duration::zero()), StopTimeout); // still under way
        hold.set();
        cleaner.stop(patience); // returns once the clean has finished
        CHECK(probe.calls.value() == 1);
        CHECK_FALSE(mixed.queue.observer.get(mixed.done).has_value());
        CHECK_THROWS_AS(cleaner.stop(patience), DoubleStopped);
    }
    SECTION("or it starts again once the clean is done") {
        hold.set();
        REQUIRE(probe.calls.wait_for(1));
        CHECK_FALSE(mixed.queue.observer.get(mixed.done).has_value());
        REQUIRE(wait_until([&] {
            try {
                cleaner.start();
                return true;
            } catch (const DoubleStarted&) {
                return false;
            }
        }));
        REQUIRE(probe.calls.wait_for(2));
        cleaner.stop(patience);
    }
}

TEST_CASE("clean worker: rejects an invalid configuration", "[clean_worker][worker]") {
    Queue queue;
    CHECK_NOTHROW(validate(CleanConfig{}));
    // The defaults: Done jobs older than a day.
    CHECK(CleanConfig{}.status == Status::Done);
    CHECK(CleanConfig{}.older_than == std::chrono::hours(24));
    CHECK_NOTHROW(validate(CleanConfig{.status = std::nullopt, .older_than = std::nullopt}));
    CleanConfig config;
    SECTION("Pending") { config.status = Status::Pending; }
    SECTION("Processing") { config.status = Status::Processing; }
    SECTION("Unknown: nullopt says both") { config.status = Status::Unknown; }
    SECTION("a value outside the enum") { config.status = static_cast<Status>(9); }
    SECTION("interval 0") { config.interval = Duration::zero(); }
    SECTION("negative older_than") { config.older_than = Duration(-1); }
    CHECK_THROWS_AS(validate(config), std::invalid_argument);
    CHECK_THROWS_AS(CleanWorker(queue.cleaner, config), std::invalid_argument);
}
