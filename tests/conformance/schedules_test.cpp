// SPDX-License-Identifier: Apache-2.0
// Conformance: stored schedules (docs/schedules.md, "Stored schedules"): put, get, list,
// remove, pause, resume, run_now, and tick's slots, exactly once per slot.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::CatchUp;
using gqs::Status;
using gqs::TimePoint;
using gqs::test::Queue;

namespace {

gqs::Schedule hourly(std::string name, CatchUp catch_up = CatchUp::Latest) {
    gqs::Schedule s;
    s.name = std::move(name);
    s.cron = "@every 1h";
    s.catch_up = catch_up;
    s.message.queue = "reports";
    s.message.priority = 3;
    s.message.payload = std::string("pay\0load", 8);
    s.message.metadata = R"({"kind":"report"})";
    return s;
}

// A whole-second UTC time as ISO-8601, written independently of gqs's own.
std::string iso(TimePoint t) {
    using namespace std::chrono;
    const auto s = floor<seconds>(t);
    const auto day = floor<days>(s);
    const year_month_day ymd{day};
    const hh_mm_ss hms{s - day};
    char out[32];
    std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", int(ymd.year()),
                  unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                  int(hms.minutes().count()), int(hms.seconds().count()));
    return out;
}

std::string key_of(const std::string& name, TimePoint slot) {
    return "cron:" + name + ":" + iso(slot);
}

// Moves the stored next slot of every schedule `by` into the past: a stop of that long.
void stop_for(Queue& q, gqs::Duration by) {
    q.backend->exec_sql("UPDATE gqs_schedules SET next_fire = next_fire - " +
                        q.backend->sql_duration(by));
}

gqs::ScheduleInfo info(Queue& q, const std::string& name) {
    auto found = q.schedules.get(name);
    REQUIRE(found.has_value());
    return *found;
}

// The jobs of a queue by unique key.
std::map<std::string, gqs::Job> by_key(Queue& q) {
    std::map<std::string, gqs::Job> out;
    for (auto& job : q.observer.list(std::nullopt, 0))
        if (job.unique_key) out.emplace(*job.unique_key, job);
    return out;
}

} // namespace

TEST_CASE("schedules: put, get, list and remove", "[schedules][conformance]") {
    Queue q;
    CHECK(q.schedules.list().empty());
    CHECK_FALSE(q.schedules.get("nightly").has_value());
    auto s = hourly("nightly");
    s.zone = "Europe/Berlin";
    s.message.unique_key = "own-key";
    q.schedules.put(s);
    q.schedules.put(hourly("another"));

    const auto got = info(q, "nightly");
    CHECK(got.schedule.name == "nightly");
    CHECK(got.schedule.cron == "@every 1h");
    CHECK(got.schedule.zone == "Europe/Berlin");
    CHECK(got.schedule.catch_up == CatchUp::Latest);
    CHECK_FALSE(got.schedule.paused);
    CHECK(got.schedule.message.queue == "reports");
    CHECK(got.schedule.message.priority == 3);
    CHECK(got.schedule.message.payload == std::string("pay\0load", 8));
    CHECK(got.schedule.message.get<std::string>("kind") == "report");
    CHECK(got.schedule.message.unique_key == "own-key");
    REQUIRE(got.next_fire.has_value());
    // The next slot is the next whole hour after now (UTC, whatever the zone: @every).
    CHECK(std::chrono::floor<std::chrono::hours>(*got.next_fire) == *got.next_fire);
    CHECK(*got.next_fire > std::chrono::system_clock::now() - 1h);
    CHECK_FALSE(got.last_fire.has_value());
    CHECK_FALSE(got.last_job.has_value());

    const auto all = q.schedules.list();
    REQUIRE(all.size() == 2);
    CHECK(all[0].schedule.name == "another"); // by name
    CHECK(all[1].schedule.name == "nightly");

    SECTION("put replaces by name") {
        auto changed = hourly("nightly", CatchUp::All);
        changed.cron = "0 3 * * *";
        q.schedules.put(changed);
        CHECK(q.schedules.list().size() == 2);
        const auto now = info(q, "nightly");
        CHECK(now.schedule.cron == "0 3 * * *");
        CHECK(now.schedule.zone == "UTC");
        CHECK(now.schedule.catch_up == CatchUp::All);
        CHECK_FALSE(now.schedule.message.unique_key.has_value());
    }
    SECTION("remove") {
        CHECK(q.schedules.remove("nightly"));
        CHECK_FALSE(q.schedules.remove("nightly"));
        CHECK_FALSE(q.schedules.get("nightly").has_value());
        CHECK(q.schedules.list().size() == 1);
    }
}

TEST_CASE("schedules: unknown names throw ScheduleNotFound, the same everywhere",
          "[schedules][conformance]") {
    Queue q;
    for (int action = 0; action < 3; ++action) {
        try {
            if (action == 0) q.schedules.pause("nope");
            if (action == 1) q.schedules.resume("nope");
            if (action == 2) (void)q.schedules.run_now("nope");
            FAIL("no exception for an unknown schedule");
        } catch (const gqs::ScheduleNotFound& e) {
            CHECK(std::string(e.what()) == "gqs: no schedule named \"nope\"");
        }
    }
    CHECK_FALSE(q.schedules.remove("nope"));
    CHECK(q.count() == 0);
}

TEST_CASE("schedules: an invalid schedule is refused and nothing is stored",
          "[schedules][conformance]") {
    Queue q;
    auto bad = hourly("bad");
    SECTION("cron") { bad.cron = "0 0 32 * *"; }
    SECTION("zone") { bad.zone = "Mars/Olympus"; }
    SECTION("name") { bad.name = ""; }
    SECTION("long name") { bad.name = std::string(128, 'n'); }
    SECTION("queue") { bad.message.queue = ""; }
    SECTION("priority") { bad.message.priority = 10; }
    SECTION("metadata that is not an object") { bad.message.metadata = "[1, 2]"; }
    SECTION("metadata that is not JSON") { bad.message.metadata = "{"; }
    CHECK_THROWS_AS(q.schedules.put(bad), std::invalid_argument);
    CHECK(q.schedules.list().empty());
}

TEST_CASE("schedules: run_now pushes one job now, outside the slots", "[schedules][conformance]") {
    Queue q;
    q.schedules.put(hourly("report"));
    const auto before = info(q, "report");
    std::atomic<int> woken{0};
    auto sub = q.puller.on_push([&] { ++woken; });
    const auto r = q.schedules.run_now("report");
    CHECK_FALSE(r.duplicate);
    const auto job = q.stored(r.id);
    CHECK(job.status == Status::Pending);
    CHECK(job.queue == "reports");
    CHECK(job.priority == 3);
    CHECK(job.payload == std::string("pay\0load", 8));
    CHECK(job.get<std::string>("gqs_schedule") == "report");
    CHECK(job.get<std::string>("kind") == "report");
    CHECK_FALSE(job.get<std::string>("gqs_slot").has_value());
    CHECK_FALSE(job.unique_key.has_value());
    CHECK(woken >= 1);
    const auto after = info(q, "report");
    CHECK(after.next_fire == before.next_fire);
    CHECK_FALSE(after.last_fire.has_value());
    CHECK_FALSE(after.last_job.has_value());
    // Runnable now.
    CHECK(q.pull_one().id == r.id);
}

TEST_CASE("schedules: tick pushes each due slot once, with its key and metadata",
          "[schedules][conformance]") {
    Queue q;
    CHECK(q.schedules.tick() == 0);
    q.schedules.put(hourly("report"));
    CHECK(q.schedules.tick() == 0); // nothing due yet
    const auto next = *info(q, "report").next_fire;
    stop_for(q, 1h); // the slot `next - 1h` is due now
    CHECK(q.schedules.next_due_in() == gqs::Duration{0});
    std::atomic<int> woken{0};
    auto sub = q.puller.on_push([&] { ++woken; });
    REQUIRE(q.schedules.tick() == 1);
    CHECK(woken >= 1);
    const auto slot = next - 1h;
    const auto jobs = by_key(q);
    REQUIRE(jobs.size() == 1);
    const auto& job = jobs.begin()->second;
    CHECK(jobs.begin()->first == key_of("report", slot));
    CHECK(job.get<std::string>("gqs_schedule") == "report");
    CHECK(job.get<std::string>("gqs_slot") == iso(slot));
    CHECK(job.get<std::string>("kind") == "report");
    CHECK(job.queue == "reports");
    CHECK(job.priority == 3);
    CHECK(job.status == Status::Pending);
    const auto after = info(q, "report");
    CHECK(after.next_fire == next);
    CHECK(after.last_fire == slot);
    CHECK(after.last_job == job.id);
    // Twice: nothing more.
    CHECK(q.schedules.tick() == 0);
    CHECK(q.count() == 1);
    // Even after the job finished (its key is free again), the slot is not pushed again.
    auto leased = q.pull_one();
    q.puller.complete(leased);
    CHECK(q.schedules.tick() == 0);
    CHECK(q.count() == 1);
    const auto due_in = q.schedules.next_due_in();
    REQUIRE(due_in.has_value());
    CHECK(*due_in > gqs::Duration{0});
    CHECK(*due_in <= 1h);
}

TEST_CASE("schedules: catch-up after a one-hour stop", "[schedules][conformance]") {
    Queue q;
    auto s = hourly("every10");
    s.cron = "*/10 * * * *";
    s.message.metadata.clear();
    SECTION("All pushes every missed slot") {
        s.catch_up = CatchUp::All;
        q.schedules.put(s);
        const auto next = *info(q, "every10").next_fire;
        stop_for(q, 1h);
        const int pushed = q.schedules.tick();
        // The stop missed next-60m ... next-10m (and `next` too if the clock passed it since).
        const auto now_next = *info(q, "every10").next_fire;
        REQUIRE((now_next == next || now_next == next + 10min));
        const auto jobs = by_key(q);
        CHECK(pushed == static_cast<int>(jobs.size()));
        std::set<std::string> expected;
        for (auto slot = next - 1h; slot < now_next; slot += 10min)
            expected.insert(key_of("every10", slot));
        CHECK(expected.size() >= 6);
        std::set<std::string> got;
        for (const auto& [key, job] : jobs) {
            got.insert(key);
            CHECK(job.metadata.find("gqs_slot") != std::string::npos);
        }
        CHECK(got == expected);
        CHECK(info(q, "every10").last_fire == now_next - 10min);
    }
    SECTION("Latest pushes the latest missed slot once") {
        q.schedules.put(s); // Latest is the default
        const auto next = *info(q, "every10").next_fire;
        stop_for(q, 1h);
        CHECK(q.schedules.tick() == 1);
        const auto now_next = *info(q, "every10").next_fire;
        REQUIRE((now_next == next || now_next == next + 10min));
        const auto jobs = by_key(q);
        REQUIRE(jobs.size() == 1);
        CHECK(jobs.begin()->first == key_of("every10", now_next - 10min));
        CHECK(info(q, "every10").last_job == jobs.begin()->second.id);
    }
    SECTION("None skips them and waits for the next slot") {
        s.catch_up = CatchUp::None;
        q.schedules.put(s);
        const auto next = *info(q, "every10").next_fire;
        stop_for(q, 1h);
        CHECK(q.schedules.tick() == 0);
        CHECK(q.count() == 0);
        const auto now_next = *info(q, "every10").next_fire;
        CHECK((now_next == next || now_next == next + 10min));
        CHECK_FALSE(info(q, "every10").last_fire.has_value());
        // A tick that comes late to one slot is not a missed slot: it pushes.
        stop_for(q, 10min);
        CHECK(q.schedules.tick() == 1);
    }
}

TEST_CASE("schedules: put again with the same timing keeps the missed slots",
          "[schedules][conformance]") {
    Queue q;
    auto s = hourly("report", CatchUp::All);
    q.schedules.put(s);
    const auto next = *info(q, "report").next_fire;
    stop_for(q, 3h);
    // A process starts and declares its schedules again: another payload, the same timing.
    s.message.payload = "v2";
    q.schedules.put(s);
    CHECK(info(q, "report").next_fire == next - 3h);
    CHECK(q.schedules.tick() >= 3);
    for (const auto& [key, job] : by_key(q))
        CHECK(job.payload == "v2");
    SECTION("another cron starts from now") {
        stop_for(q, 3h);
        s.cron = "0 * * * *";
        q.schedules.put(s);
        CHECK(q.schedules.tick() == 0);
        CHECK(*info(q, "report").next_fire > std::chrono::system_clock::now() - 1h);
    }
    SECTION("put paused, then unpaused, starts from now") {
        stop_for(q, 3h);
        s.paused = true;
        q.schedules.put(s);
        s.paused = false;
        q.schedules.put(s);
        CHECK(q.schedules.tick() == 0);
    }
}

TEST_CASE("schedules: All pushes at most the 100 latest slots", "[schedules][conformance]") {
    Queue q;
    auto s = hourly("hourly", CatchUp::All);
    q.schedules.put(s);
    const auto next = *info(q, "hourly").next_fire;
    stop_for(q, 150h);
    const int pushed = q.schedules.tick();
    const auto now_next = *info(q, "hourly").next_fire;
    REQUIRE((now_next == next || now_next == next + 1h));
    CHECK(pushed == static_cast<int>(gqs::max_catch_up_slots));
    const auto jobs = by_key(q);
    CHECK(jobs.size() == gqs::max_catch_up_slots);
    CHECK(jobs.count(key_of("hourly", now_next - 1h)) == 1);
    CHECK(jobs.count(key_of("hourly", now_next - 100h)) == 1);
    CHECK(jobs.count(key_of("hourly", now_next - 101h)) == 0);
}

TEST_CASE("schedules: a paused schedule pushes nothing; resume starts from now",
          "[schedules][conformance]") {
    Queue q;
    q.schedules.put(hourly("report", CatchUp::All));
    q.schedules.put(hourly("other", CatchUp::All));
    q.schedules.pause("report");
    q.schedules.pause("report"); // again: no-op
    CHECK(info(q, "report").schedule.paused);
    stop_for(q, 5h);
    CHECK(q.schedules.tick() >= 5); // "other" only
    for (const auto& [key, job] : by_key(q))
        CHECK(key.rfind("cron:other:", 0) == 0);
    const auto count = q.count();
    CHECK(q.schedules.tick() == 0);
    q.schedules.resume("report");
    const auto resumed = info(q, "report");
    CHECK_FALSE(resumed.schedule.paused);
    REQUIRE(resumed.next_fire.has_value());
    // The slots that passed while paused are not pushed.
    CHECK(*resumed.next_fire > std::chrono::system_clock::now() - 1h);
    CHECK(q.schedules.tick() == 0);
    CHECK(q.count() == count);
    q.schedules.resume("report"); // not paused: no-op
    CHECK(info(q, "report").next_fire == resumed.next_fire);
    // Paused schedules are not what the next slot is waited for.
    q.schedules.pause("report");
    q.schedules.pause("other");
    CHECK_FALSE(q.schedules.next_due_in().has_value());
}

TEST_CASE("schedules: two connections ticking at once push each slot exactly once",
          "[schedules][conformance][concurrency]") {
    Queue q;
    constexpr int schedules = 12;
    constexpr int hours = 40;
    std::map<std::string, TimePoint> next;
    for (int i = 0; i < schedules; ++i) {
        auto s = hourly(std::string("s").append(std::to_string(i)), CatchUp::All);
        s.message.metadata.clear();
        q.schedules.put(s);
        next[s.name] = *info(q, s.name).next_fire;
    }
    stop_for(q, std::chrono::hours(hours));
    auto second = q.open_second();
    auto third = q.open_second();
    std::atomic<int> pushed{0};
    std::atomic<int> failures{0};
    std::atomic<int> ready{0};
    std::atomic<bool> ticking{true};
    std::vector<std::string> errors(3);
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, t] {
                auto& schedules_of = t == 0 ? q.schedules : second->schedules();
                ++ready;
                while (ready.load() < 2)
                    std::this_thread::yield();
                try {
                    // Each ticks until nothing is due: together they push every slot.
                    for (int n = 1; n > 0;) {
                        n = schedules_of.tick();
                        pushed += n;
                    }
                } catch (const std::exception& e) {
                    ++failures;
                    errors[static_cast<std::size_t>(t)] = e.what();
                }
            });
        }
        // Meanwhile jobs are completed, freeing their keys: a slot pushed twice would then
        // be a second job, not a duplicate.
        threads.emplace_back([&] {
            try {
                for (;;) {
                    const bool last = !ticking.load(); // the tickers are done: one more pass
                    auto jobs = third->puller().pull(50, 1h);
                    for (auto& job : jobs)
                        third->puller().complete(job);
                    if (last && jobs.empty()) break;
                }
            } catch (const std::exception& e) {
                ++failures;
                errors[2] = e.what();
            }
        });
        threads[0].join();
        threads[1].join();
        ticking = false;
    }
    INFO(errors[0] << " | " << errors[1] << " | " << errors[2]);
    CHECK(failures.load() == 0);
    std::map<std::string, int> per_key;
    for (const auto& job : q.observer.list(std::nullopt, 0)) {
        REQUIRE(job.unique_key.has_value());
        ++per_key[*job.unique_key];
    }
    std::size_t expected = 0;
    for (const auto& [name, first] : next) {
        const auto now_next = *info(q, name).next_fire;
        REQUIRE((now_next == first || now_next == first + 1h));
        for (auto slot = first - std::chrono::hours(hours); slot < now_next; slot += 1h) {
            ++expected;
            CHECK(per_key[key_of(name, slot)] == 1);
        }
    }
    CHECK(per_key.size() == expected);
    CHECK(pushed.load() == static_cast<int>(expected));
    CHECK(q.count() == expected);
}

TEST_CASE("schedules: a stored row gqs cannot read stops firing and blocks no other",
          "[schedules][conformance]") {
    Queue q;
    q.schedules.put(hourly("broken"));
    q.schedules.put(hourly("fine"));
    SECTION("a zone") {
        q.backend->exec_sql("UPDATE gqs_schedules SET zone = 'Mars/Olympus' WHERE name = 'broken'");
    }
    SECTION("metadata that is not an object") {
        q.backend->exec_sql("UPDATE gqs_schedules SET metadata = '[1]' WHERE name = 'broken'");
    }
    stop_for(q, 1h);
    CHECK(q.schedules.tick() == 1);
    for (const auto& [key, job] : by_key(q))
        CHECK(key.rfind("cron:fine:", 0) == 0);
    CHECK_FALSE(info(q, "broken").next_fire.has_value());
    CHECK(q.schedules.tick() == 0);
}
