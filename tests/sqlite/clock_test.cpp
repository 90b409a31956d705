// SPDX-License-Identifier: Apache-2.0
// Options::clock: leases, delays and backoffs follow the Connection's clock, so tests move
// time instead of waiting for it.
#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::TempDb;

namespace {

// A clock the test moves by hand. Thread-safe.
class ManualClock {
public:
    [[nodiscard]] gqs::TimePoint now() const {
        return gqs::TimePoint(std::chrono::microseconds(micros_.load()));
    }
    void advance(gqs::Duration d) {
        micros_ += std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    }
    [[nodiscard]] gqs::sqlite::Options options() const {
        gqs::sqlite::Options o;
        o.clock = [this] { return now(); };
        return o;
    }

private:
    // A year after the epoch: far from the real time, so a stamp from the system clock could
    // not pass for it. Whole microseconds, what storage keeps.
    std::atomic<std::int64_t> micros_{
        std::chrono::microseconds(std::chrono::hours(24 * 365)).count()};
};

struct ClockQueue {
    ManualClock clock;
    TempDb tmp;
    std::shared_ptr<gqs::sqlite::Connection> db = open();
    gqs::sqlite::Pusher pusher{db};
    gqs::sqlite::Puller puller{db};
    gqs::sqlite::Observer observer{db};

    std::shared_ptr<gqs::sqlite::Connection> open() {
        auto c = gqs::sqlite::Connection::open(tmp.path(), clock.options());
        gqs::sqlite::init_db(*c);
        return c;
    }
    gqs::Job stored(const gqs::Uuid& id) {
        auto job = observer.get(id);
        REQUIRE(job.has_value());
        return *job;
    }
};

} // namespace

TEST_CASE("clock: jobs are stamped with the Connection's clock", "[clock][sqlite]") {
    ClockQueue q;
    gqs::Message m;
    q.pusher.push(m, 5min);
    auto job = q.stored(m.id);
    CHECK(job.created_at == q.clock.now());
    CHECK(job.next_run_at == q.clock.now() + 5min);
}

TEST_CASE("clock: a lease runs out when the clock passes it, without waiting",
          "[clock][sqlite][fencing]") {
    ClockQueue q;
    gqs::Message m;
    q.pusher.push(m);
    auto first = q.puller.pull(1, 30s);
    REQUIRE(first.size() == 1);
    gqs::sqlite::Puller other(q.open());
    q.clock.advance(30s); // locked_until is not yet in the past
    CHECK_FALSE(q.puller.has_ready());
    CHECK(other.pull(1, 30s).empty());
    q.clock.advance(1ms);
    CHECK(q.puller.has_ready());
    auto second = other.pull(1, 30s);
    REQUIRE(second.size() == 1);
    CHECK(second[0].attempts == 2);
    CHECK_THROWS_AS(q.puller.complete(first[0]), gqs::CompleteFailed); // fenced off
    other.complete(second[0]);
    CHECK(q.stored(m.id).status == Status::Done);
}

TEST_CASE("clock: a delay and a requeue backoff end exactly when due", "[clock][sqlite]") {
    ClockQueue q;
    gqs::Message m;
    q.pusher.push(m, 1h);
    q.clock.advance(1h - 1ms);
    CHECK(q.puller.pull(1, 1min).empty());
    q.clock.advance(1ms);
    auto jobs = q.puller.pull(1, 1min);
    REQUIRE(jobs.size() == 1);
    q.puller.requeue(jobs[0], 10min);
    q.clock.advance(10min - 1ms);
    CHECK(q.puller.pull(1, 1min).empty());
    q.clock.advance(1ms);
    CHECK(q.puller.pull(1, 1min).size() == 1);
}

TEST_CASE("clock: a worker's retry waits its backoff on the queue's clock", "[clock][worker]") {
    ClockQueue q;
    gqs::Message m;
    q.pusher.push(m);
    gqs::WorkerConfig config;
    config.concurrency = 1;
    config.pull_interval = 5ms;
    config.backoff.initial_interval = 1h;
    config.backoff.max_interval = 1h;
    config.backoff.randomization_factor = 0; // exactly an hour
    std::atomic<int> runs{0};
    gqs::Worker worker(
        q.puller,
        [&](const gqs::Job&, std::stop_token) {
            if (++runs == 1) throw std::runtime_error("first run fails");
        },
        config, [](gqs::LogLevel, std::string_view) {});
    worker.start();
    REQUIRE(gqs::test::wait_until([&] {
        auto job = q.observer.get(m.id);
        return job && job->status == Status::Pending && job->attempts == 1;
    }));
    const auto failed_at = q.clock.now();
    CHECK(q.stored(m.id).next_run_at == failed_at + 1h);
    // The worker polls on, but an hour of the queue's clock has not passed.
    q.clock.advance(1h - 1ms);
    CHECK_FALSE(q.puller.has_ready());
    q.clock.advance(1ms);
    REQUIRE(gqs::test::wait_until([&] { return q.stored(m.id).status == Status::Done; }));
    worker.stop(30s);
    CHECK(runs == 2);
}
