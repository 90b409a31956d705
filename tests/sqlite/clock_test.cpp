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
#include <set>
#include <string>

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

TEST_CASE("clock: schedules put, tick and wait by the Connection's clock",
          "[sqlite][clock][schedules]") {
    ClockQueue q;
    gqs::sqlite::Schedules schedules(q.db);
    const gqs::TimePoint start = q.clock.now(); // 1971-01-01T00:00:00Z
    q.clock.advance(30min);
    gqs::Schedule s;
    s.name = "hourly";
    s.cron = "0 * * * *";
    s.catch_up = gqs::CatchUp::All;
    schedules.put(s);
    CHECK(schedules.get("hourly")->next_fire == start + 1h);
    CHECK(schedules.next_due_in() == 30min);
    CHECK(schedules.tick() == 0);
    q.clock.advance(3h + 10min); // 03:40: 01:00, 02:00 and 03:00 are due
    CHECK(schedules.next_due_in() == gqs::Duration{0});
    CHECK(schedules.tick() == 3);
    std::set<std::string> keys;
    for (const auto& job : q.observer.list(Status::Pending, 0)) {
        keys.insert(job.unique_key.value_or(""));
        CHECK(job.created_at == q.clock.now());
        CHECK(job.next_run_at == q.clock.now());
    }
    CHECK(keys == std::set<std::string>{"cron:hourly:1971-01-01T01:00:00Z",
                                        "cron:hourly:1971-01-01T02:00:00Z",
                                        "cron:hourly:1971-01-01T03:00:00Z"});
    const auto info = schedules.get("hourly");
    CHECK(info->next_fire == start + 4h);
    CHECK(info->last_fire == start + 3h);
    CHECK(schedules.tick() == 0);
    CHECK(schedules.next_due_in() == 20min);
    // Resumed after a pause of two hours: from the clock's now, nothing of the pause pushed.
    schedules.pause("hourly");
    q.clock.advance(2h);
    schedules.resume("hourly");
    CHECK(schedules.get("hourly")->next_fire == start + 6h);
    CHECK(schedules.tick() == 0);
}
