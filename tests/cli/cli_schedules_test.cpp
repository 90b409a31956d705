// SPDX-License-Identifier: Apache-2.0
// The gqs tool's `schedule` commands (issue 23): add, list, pause, resume, remove and run
// over the stored schedules of the backend under test.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <gqs/errors.hpp>
#include <gqs/schedule.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using gqs::test::CliQueue;
using gqs::test::contains;
using gqs::test::id_of;
using gqs::test::line_starting;
using nlohmann::json;

namespace {

void check_usage_error(const gqs::test::CliResult& r, const std::string& fragment) {
    gqs::test::check_failure(r, gqs::test::cli_usage, fragment);
}

void check_failed(const gqs::test::CliResult& r, const std::string& fragment) {
    gqs::test::check_failure(r, gqs::test::cli_failed, fragment);
}

// `t` as the CLI's JSON writes a UTC time: 2026-12-14T08:00:00.000000Z.
std::string iso_utc(gqs::TimePoint t) {
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
    const auto seconds = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(us % 1'000'000));
    return std::string(buf).append(frac).append("Z");
}

// Monday 09:00 in Berlin: 08:00 UTC in winter (+01:00), 07:00 UTC in summer (+02:00).
constexpr const char* weekly_cron = "0 9 * * MON";

// `gqs schedule add weekly '0 9 * * MON' --queue reports --zone Europe/Berlin ...`
gqs::test::CliResult add_weekly(const CliQueue& q, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"schedule", "add",     "weekly", weekly_cron,
                                  "--queue",  "reports", "--zone", "Europe/Berlin"};
    args.insert(args.end(), extra.begin(), extra.end());
    return q.run(args);
}

// The one schedule named `name` in a `schedule list --json` document.
json listed(const json& list, const std::string& name) {
    REQUIRE(list.is_array());
    for (const auto& s : list) {
        if (s.at("name") == name) return s;
    }
    FAIL("no schedule " << name << " in " << list.dump());
    return {};
}

} // namespace

TEST_CASE("cli: schedule add then list shows the next fire in its zone and in UTC",
          "[cli][schedules]") {
    CliQueue q;
    auto added = add_weekly(q, {"--payload", "report", "--priority", "3"});
    INFO(added.err);
    REQUIRE(added.status == 0);
    CHECK(contains(added.out, "added schedule weekly (0 9 * * MON in Europe/Berlin"));
    CHECK(contains(added.out, "next fire: "));

    // What the library stored.
    auto stored = q.schedules.get("weekly");
    REQUIRE(stored.has_value());
    CHECK(stored->schedule.cron == weekly_cron);
    CHECK(stored->schedule.zone == "Europe/Berlin");
    CHECK(stored->schedule.message.queue == "reports");
    CHECK(stored->schedule.message.priority == 3);
    CHECK(stored->schedule.message.payload == "report");
    CHECK(stored->schedule.catch_up == gqs::CatchUp::Latest);
    CHECK(!stored->schedule.paused);
    REQUIRE(stored->next_fire.has_value());
    // A Monday (1970-01-01 was a Thursday).
    const auto days = std::chrono::floor<std::chrono::days>(*stored->next_fire);
    CHECK((days.time_since_epoch().count() + 4) % 7 == 1);
    const std::string next_utc = iso_utc(*stored->next_fire);

    SECTION("--json") {
        const auto list = q.run_json({"schedule", "list"});
        REQUIRE(list.size() == 1);
        const auto s = listed(list, "weekly");
        CHECK(s.at("cron") == weekly_cron);
        CHECK(s.at("zone") == "Europe/Berlin");
        CHECK(s.at("queue") == "reports");
        CHECK(s.at("priority") == 3);
        CHECK(s.at("catch_up") == "latest");
        CHECK(s.at("paused") == false);
        CHECK(s.at("next_fire") == next_utc);
        CHECK(s.at("last_fire").is_null());
        CHECK(s.at("last_job").is_null());
        // 09:00 on Berlin's wall clock, the same day, with the offset that makes it that UTC.
        const auto local = s.at("next_fire_local").get<std::string>();
        INFO(local << " / " << next_utc);
        const bool winter = contains(next_utc, "T08:00:00.000000Z");
        const bool summer = contains(next_utc, "T07:00:00.000000Z");
        CHECK(winter != summer);
        CHECK(local.substr(0, 10) == next_utc.substr(0, 10));
        CHECK(local.substr(10) == (winter ? "T09:00:00.000000+01:00" : "T09:00:00.000000+02:00"));
    }
    SECTION("text") {
        auto r = q.run({"schedule", "list"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "NAME"));
        CHECK(contains(r.out, "NEXT FIRE (ZONE)"));
        CHECK(contains(r.out, "NEXT FIRE (UTC)"));
        const auto row = line_starting(r.out, "weekly ");
        INFO(r.out);
        CHECK(contains(row, weekly_cron));
        CHECK(contains(row, "Europe/Berlin"));
        CHECK(contains(row, "reports"));
        CHECK(contains(row, "latest"));
        CHECK(contains(row, "active"));
        // 2026-12-14T09:00:00+01:00 and 2026-12-14T08:00:00Z
        const std::string day = next_utc.substr(0, 10);
        // No std::regex: GCC 12 warns inside it (-Wmaybe-uninitialized) under the asan preset.
        CHECK((contains(row, day + "T09:00:00+01:00") || contains(row, day + "T09:00:00+02:00")));
        CHECK(contains(row, next_utc.substr(0, 19) + "Z"));
    }
}

TEST_CASE("cli: schedule add takes the message as push does", "[cli][schedules]") {
    CliQueue q;
    SECTION("--payload-file and --metadata") {
        const auto file = q.files.dir() / "payload.bin";
        const std::string bytes("\x00\x01"
                                "binary"
                                "\xff",
                                9);
        {
            std::ofstream out(file, std::ios::binary);
            out << bytes;
        }
        auto r = q.run({"schedule", "add", "nightly", "@daily", "--queue", "batch",
                        "--payload-file", file.string(), "--metadata", R"({"kind":"nightly"})",
                        "--catch-up", "all", "--zone", "UTC"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto stored = q.schedules.get("nightly");
        REQUIRE(stored.has_value());
        CHECK(stored->schedule.message.payload == bytes);
        CHECK(stored->schedule.catch_up == gqs::CatchUp::All);
        const auto s = listed(q.run_json({"schedule", "list"}), "nightly");
        CHECK(s.at("metadata") == json{{"kind", "nightly"}});
        CHECK(s.at("payload_size") == bytes.size());
        CHECK(s.at("catch_up") == "all");
        CHECK(s.at("next_fire_local") ==
              s.at("next_fire").get<std::string>().substr(0, 26) + "+00:00");
    }
    SECTION("no payload is an empty one") {
        auto r = q.run({"schedule", "add", "tick", "@every 10m", "--queue", "ticks"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(q.schedules.get("tick")->schedule.message.payload.empty());
    }
    SECTION("adding a name again replaces it") {
        REQUIRE(add_weekly(q).status == 0);
        auto doc = q.run_json(
            {"schedule", "add", "weekly", "@hourly", "--queue", "other", "--catch-up", "none"});
        CHECK(doc.at("replaced") == true);
        CHECK(doc.at("cron") == "@hourly");
        CHECK(doc.at("zone") == "UTC");
        CHECK(doc.at("catch_up") == "none");
        CHECK(q.schedules.list().size() == 1);
        CHECK(q.schedules.get("weekly")->schedule.message.queue == "other");
    }
    SECTION("--paused stores it paused") {
        auto r = add_weekly(q, {"--paused"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "next fire: - (paused)"));
        CHECK(q.schedules.get("weekly")->schedule.paused);
    }
}

TEST_CASE("cli: schedule pause and resume show in list", "[cli][schedules]") {
    CliQueue q;
    REQUIRE(add_weekly(q).status == 0);

    auto paused = q.run({"schedule", "pause", "weekly"});
    INFO(paused.err);
    REQUIRE(paused.status == 0);
    CHECK(contains(paused.out, "paused schedule weekly"));
    CHECK(q.schedules.get("weekly")->schedule.paused);
    auto s = listed(q.run_json({"schedule", "list"}), "weekly");
    CHECK(s.at("paused") == true);
    // A paused schedule fires at no time: resume picks its next slot.
    CHECK(s.at("next_fire").is_null());
    CHECK(s.at("next_fire_local").is_null());
    auto text = q.run({"schedule", "list"});
    CHECK(contains(line_starting(text.out, "weekly "), " paused "));

    // Pausing again is a no-op.
    CHECK(q.run({"schedule", "pause", "weekly"}).status == 0);

    auto resumed = q.run_json({"schedule", "resume", "weekly"});
    CHECK(resumed.at("resumed") == "weekly");
    CHECK(resumed.at("next_fire").is_string());
    CHECK(!q.schedules.get("weekly")->schedule.paused);
    s = listed(q.run_json({"schedule", "list"}), "weekly");
    CHECK(s.at("paused") == false);
    CHECK(s.at("next_fire") == resumed.at("next_fire"));
    CHECK(s.at("next_fire_local").is_string());
    text = q.run({"schedule", "list"});
    CHECK(contains(line_starting(text.out, "weekly "), " active "));

    auto doc = q.run_json({"schedule", "pause", "weekly"});
    CHECK(doc == json{{"paused", "weekly"}});
}

TEST_CASE("cli: schedule run pushes the message now", "[cli][schedules]") {
    CliQueue q;
    REQUIRE(add_weekly(q, {"--payload", "report", "--metadata", R"({"kind":"weekly"})"}).status ==
            0);

    auto r = q.run({"schedule", "run", "weekly"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    const auto lines = gqs::test::lines(r.out);
    REQUIRE(lines.size() == 1);
    const auto id = id_of(lines[0]);
    auto job = q.get(id);
    REQUIRE(job.has_value());
    CHECK(job->queue == "reports");
    CHECK(job->payload == "report");
    CHECK(job->get<std::string>("kind") == "weekly");
    CHECK(job->get<std::string>("gqs_schedule") == "weekly");

    // The CLI sees it too.
    auto got = q.run_json({"get", id.to_string()});
    CHECK(got.at("queue") == "reports");
    CHECK(got.at("payload") == "report");
    auto page = q.run_json({"list", "--queue", "reports"});
    CHECK(gqs::test::listed_ids(page) == std::vector<std::string>{id.to_string()});

    auto doc = q.run_json({"schedule", "run", "weekly"});
    CHECK(doc.at("duplicate") == false);
    CHECK(doc.at("id") != id.to_string());
    CHECK(q.get(id_of(doc.at("id").get<std::string>())).has_value());
    CHECK(q.count() == 2);

    // The next and last slots do not change.
    auto s = listed(q.run_json({"schedule", "list"}), "weekly");
    CHECK(s.at("last_fire").is_null());
    CHECK(s.at("last_job").is_null());
}

TEST_CASE("cli: schedule run of a held unique key prints the holder", "[cli][schedules]") {
    CliQueue q;
    REQUIRE(add_weekly(q, {"--unique-key", "weekly-report"}).status == 0);
    auto first = q.run_json({"schedule", "run", "weekly"});
    CHECK(first.at("duplicate") == false);
    const auto holder = first.at("id").get<std::string>();

    auto again = q.run({"schedule", "run", "weekly"});
    INFO(again.err);
    REQUIRE(again.status == 0);
    CHECK(gqs::test::lines(again.out) ==
          std::vector<std::string>{"duplicate of " + holder +
                                   " (unique key weekly-report is held in queue reports)"});
    auto doc = q.run_json({"schedule", "run", "weekly"});
    CHECK(doc == json{{"id", holder}, {"duplicate", true}});
    CHECK(q.count() == 1);
}

TEST_CASE("cli: schedule remove deletes it and keeps its jobs", "[cli][schedules]") {
    CliQueue q;
    REQUIRE(add_weekly(q).status == 0);
    const auto pushed = q.run_json({"schedule", "run", "weekly"});

    auto r = q.run({"schedule", "remove", "weekly"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "removed schedule weekly"));
    CHECK(!q.schedules.get("weekly").has_value());
    CHECK(q.get(id_of(pushed.at("id").get<std::string>())).has_value());

    auto text = q.run({"schedule", "list"});
    CHECK(text.status == 0);
    CHECK(text.out == "no schedules\n");
    CHECK(q.run_json({"schedule", "list"}) == json::array());

    check_failed(q.run({"schedule", "remove", "weekly"}),
                 "schedule remove: no schedule named \"weekly\"");
    REQUIRE(add_weekly(q).status == 0);
    CHECK(q.run_json({"schedule", "remove", "weekly"}) == json{{"removed", "weekly"}});
}

TEST_CASE("cli: schedule list shows the last fire and its job after a tick", "[cli][schedules]") {
    CliQueue q;
    auto r = q.run({"schedule", "add", "often", "@every 200ms", "--queue", "ticks"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    // Tick (as a program using gqs does) until the first slot is due and pushed.
    int pushed = 0;
    for (int i = 0; i < 50 && pushed == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        pushed = q.schedules.tick();
    }
    REQUIRE(pushed == 1);
    const auto stored = q.schedules.get("often");
    REQUIRE(stored.has_value());
    REQUIRE(stored->last_job.has_value());
    REQUIRE(stored->last_fire.has_value());

    const auto s = listed(q.run_json({"schedule", "list"}), "often");
    CHECK(s.at("last_job") == stored->last_job->to_string());
    CHECK(s.at("last_fire") == iso_utc(*stored->last_fire));
    auto job = q.get(id_of(s.at("last_job").get<std::string>()));
    REQUIRE(job.has_value());
    CHECK(job->queue == "ticks");

    auto text = q.run({"schedule", "list"});
    CHECK(contains(line_starting(text.out, "often "), stored->last_job->to_string()));
}

TEST_CASE("cli: schedule commands on an unknown name fail", "[cli][schedules]") {
    CliQueue q;
    for (const char* command : {"pause", "resume", "remove", "run"}) {
        INFO(command);
        check_failed(q.run({"schedule", command, "nope"}),
                     std::string("schedule ") + command + ": no schedule named \"nope\"");
    }
    check_failed(q.run({"--json", "schedule", "run", "nope"}), "no schedule named \"nope\"");
}

TEST_CASE("cli: schedule add refuses a bad cron or zone or option", "[cli][schedules]") {
    CliQueue q;
    SECTION("a cron field out of range names the field") {
        check_usage_error(q.run({"schedule", "add", "bad", "0 0 32 * *", "--queue", "q"}),
                          "schedule add: schedule \"bad\": cron: day-of-month: 32 is out of 1-31");
    }
    SECTION("a cron expression with too few fields") {
        check_usage_error(q.run({"schedule", "add", "bad", "0 9 * *", "--queue", "q"}), "cron: ");
    }
    SECTION("an unknown zone names the zone") {
        check_usage_error(q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--zone",
                                 "Mars/Olympus"}),
                          "zone: \"Mars/Olympus\" is not");
    }
    SECTION("an unknown catch-up policy") {
        check_usage_error(
            q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--catch-up", "some"}),
            "--catch-up: unknown policy 'some' (expected latest, all or none)");
    }
    SECTION("the message's options are checked as push checks them") {
        check_usage_error(
            q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--priority", "10"}),
            "--priority: bad priority");
        check_usage_error(q.run({"schedule", "add", "bad", weekly_cron, "--queue", ""}),
                          "--queue: must not be empty");
        check_usage_error(
            q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--metadata", "{"}),
            "--metadata is not valid JSON");
        check_usage_error(
            q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--metadata", "[1]"}),
            "schedule add: ");
        check_usage_error(q.run({"schedule", "add", "bad", weekly_cron, "--queue", "q", "--payload",
                                 "x", "--payload-file", "f"}),
                          "--payload");
    }
    SECTION("missing arguments") {
        check_usage_error(q.run({"schedule", "add", "bad", weekly_cron}), "--queue is required");
        check_usage_error(q.run({"schedule", "add", "bad"}), "cron is required");
        check_usage_error(q.run({"schedule", "pause"}), "name is required");
    }
    SECTION("an unknown schedule command lists the commands") {
        check_usage_error(q.run({"schedule", "frob"}),
                          "unknown schedule command 'frob' (commands: add, list, pause, resume, "
                          "remove, run");
    }
    CHECK(q.schedules.list().empty());
}

TEST_CASE("cli: schedule help names every command", "[cli][schedules]") {
    CliQueue q;
    auto top = q.run_bare({"--help"});
    CHECK(top.status == 0);
    CHECK(contains(top.out, "schedule"));
    auto r = q.run_bare({"schedule", "--help"});
    CHECK(r.status == 0);
    for (const char* command : {"add", "list", "pause", "resume", "remove", "run"}) {
        INFO(command);
        CHECK(contains(r.out, std::string("\n  ") + command + " "));
    }
    auto add = q.run_bare({"schedule", "add", "--help"});
    CHECK(add.status == 0);
    for (const char* option : {"--zone", "--catch-up", "--paused", "--payload-file", "--queue"}) {
        INFO(option);
        CHECK(contains(add.out, option));
    }
}
