// SPDX-License-Identifier: Apache-2.0
// The gqs tool's `queue` commands: list, limits, pause, resume and clear over the stored queue
// limits (gqs::Queues, docs/limits.md) of the backend under test.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <gqs/queues.hpp>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

using gqs::test::CliQueue;
using gqs::test::contains;
using gqs::test::line_starting;
using nlohmann::json;

namespace {

void check_usage_error(const gqs::test::CliResult& r, const std::string& fragment) {
    gqs::test::check_failure(r, gqs::test::cli_usage, fragment);
}

// `gqs queue args...`, which must succeed; its stdout.
std::string queue_ok(const CliQueue& q, std::vector<std::string> args) {
    args.insert(args.begin(), "queue");
    auto r = q.run(args);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(r.err.empty());
    return r.out;
}

// `gqs --json queue args...`, parsed.
json queue_json(const CliQueue& q, std::vector<std::string> args) {
    args.insert(args.begin(), "queue");
    return q.run_json(args);
}

// Every field set: what `set_every_field` stores.
gqs::QueueLimits every_field() {
    gqs::QueueLimits limits;
    limits.max_running = 10;
    limits.rate = 2.5;
    limits.burst = 5;
    limits.fair_share = true;
    limits.group_weights = {{"tenant-a", 3}, {"tenant-b", 7}};
    return limits;
}

// Every field but max_running_per_key, which fair share does not combine with.
const std::vector<std::string> set_every_field = {
    "limits",   "emails",    "--max-running", "10", "--rate",   "2.5",
    "--burst",  "5",         "--fair-share",  "on", "--weight", "tenant-a=3",
    "--weight", "tenant-b=7"};

// The JSON object the CLI prints for every_field() on queue "emails".
json every_field_json(bool paused) {
    return json{{"queue", "emails"},  {"paused", paused},
                {"max_running", 10},  {"rate", 2.5},
                {"burst", 5},         {"max_running_per_key", nullptr},
                {"fair_share", true}, {"group_weights", {{"tenant-a", 3}, {"tenant-b", 7}}}};
}

json defaults_json(const std::string& queue) {
    return json{{"queue", queue},
                {"paused", false},
                {"max_running", nullptr},
                {"rate", nullptr},
                {"burst", 1},
                {"max_running_per_key", nullptr},
                {"fair_share", false},
                {"group_weights", json::object()}};
}

} // namespace

TEST_CASE("cli: queue list with no stored limits", "[cli][limits]") {
    CliQueue q;
    CHECK(queue_ok(q, {"list"}) == "no queue limits\n");
    CHECK(queue_json(q, {"list"}) == json::array());
    // --json may follow the command too.
    auto after = q.run({"queue", "list", "--json"});
    CHECK(after.status == 0);
    CHECK(json::parse(after.out) == json::array());
    // Jobs alone configure no queue.
    q.push();
    CHECK(queue_json(q, {"list"}) == json::array());
}

TEST_CASE("cli: queue limits of an unconfigured queue shows the defaults", "[cli][limits]") {
    CliQueue q;
    CHECK(queue_json(q, {"limits", "emails"}) == defaults_json("emails"));
    const auto out = queue_ok(q, {"limits", "emails"});
    INFO(out);
    CHECK(line_starting(out, "queue ") == "queue                emails");
    CHECK(line_starting(out, "state ") == "state                active");
    CHECK(line_starting(out, "max running ") == "max running          - (no limit)");
    CHECK(line_starting(out, "rate ") == "rate                 - (no limit)");
    CHECK(line_starting(out, "burst ") == "burst                1");
    CHECK(line_starting(out, "max running per key ") == "max running per key  - (no limit)");
    CHECK(line_starting(out, "fair share ") == "fair share           off");
    CHECK(line_starting(out, "group weights ") == "group weights        - (every group weighs 1)");
    // Reading stores nothing.
    CHECK(q.queues.list().empty());
}

TEST_CASE("cli: queue limits sets and reads back every field", "[cli][limits]") {
    CliQueue q;
    SECTION("text") {
        const auto out = queue_ok(q, set_every_field);
        INFO(out);
        CHECK(contains(out, "stored the limits of queue emails\n"));
        CHECK(q.queues.limits("emails") == every_field());

        const auto shown = queue_ok(q, {"limits", "emails"});
        INFO(shown);
        CHECK(!contains(shown, "stored the limits"));
        CHECK(line_starting(shown, "queue ") == "queue                emails");
        CHECK(line_starting(shown, "state ") == "state                active");
        CHECK(line_starting(shown, "max running ") == "max running          10");
        CHECK(line_starting(shown, "rate ") == "rate                 2.5 starts per second");
        CHECK(line_starting(shown, "burst ") == "burst                5");
        CHECK(line_starting(shown, "max running per key ") == "max running per key  - (no limit)");
        CHECK(line_starting(shown, "fair share ") == "fair share           on");
        CHECK(line_starting(shown, "group weights ") ==
              "group weights        tenant-a=3 tenant-b=7 (other groups 1)");
        // The change printed the same fields.
        CHECK(contains(out, shown));

        const auto list = queue_ok(q, {"list"});
        INFO(list);
        CHECK(line_starting(list, "QUEUE ") ==
              "QUEUE   STATE   MAX RUNNING  RATE/S  BURST  MAX PER KEY  FAIR  WEIGHTS");
        CHECK(
            line_starting(list, "emails ") ==
            "emails  active           10     2.5      5            -  on    tenant-a=3 tenant-b=7");
        CHECK(gqs::test::lines(list).size() == 2);
    }
    SECTION("--json") {
        CHECK(queue_json(q, set_every_field) == every_field_json(false));
        CHECK(q.queues.limits("emails") == every_field());
        CHECK(queue_json(q, {"limits", "emails"}) == every_field_json(false));
        CHECK(queue_json(q, {"list"}) == json::array({every_field_json(false)}));
    }
    SECTION("a fractional rate and --opt=value") {
        queue_ok(q, {"limits", "slow", "--rate=0.1", "--max-running=1"});
        const auto stored = q.queues.limits("slow");
        REQUIRE(stored.rate.has_value());
        CHECK(*stored.rate == 0.1);
        CHECK(stored.max_running == 1);
        CHECK(queue_json(q, {"limits", "slow"}).at("rate") == 0.1);
        CHECK(line_starting(queue_ok(q, {"limits", "slow"}), "rate ") ==
              "rate                 0.1 starts per second");
    }
    SECTION("queues are listed by name") {
        queue_ok(q, {"limits", "b", "--burst", "2"});
        queue_ok(q, {"limits", "a", "--burst", "3"});
        queue_ok(q, {"pause", "c"});
        const auto list = queue_json(q, {"list"});
        REQUIRE(list.size() == 3);
        CHECK(list[0].at("queue") == "a");
        CHECK(list[0].at("burst") == 3);
        CHECK(list[1].at("queue") == "b");
        CHECK(list[2].at("queue") == "c");
        CHECK(list[2].at("paused") == true);
        CHECK(list[2].at("max_running").is_null());
        CHECK(list[2].at("rate").is_null());
        const auto text = queue_ok(q, {"list"});
        INFO(text);
        CHECK(line_starting(text, "c ") ==
              "c      paused            -       -      1            -  off   -");
    }
}

TEST_CASE("cli: queue limits keeps the fields it is not given", "[cli][limits]") {
    CliQueue q;
    q.queues.set_limits("emails", every_field());
    q.queues.pause("emails");

    queue_ok(q, {"limits", "emails", "--max-running", "20"});
    auto expected = every_field();
    expected.paused = true;
    expected.max_running = 20;
    CHECK(q.queues.limits("emails") == expected);

    queue_ok(q, {"limits", "emails", "--rate", "none", "--weight", "tenant-b=none", "--weight",
                 "tenant-c=1000"});
    expected.rate.reset();
    expected.group_weights = {{"tenant-a", 3}, {"tenant-c", 1000}};
    CHECK(q.queues.limits("emails") == expected);

    auto doc = queue_json(q, {"limits", "emails", "--max-running", "none", "--max-running-per-key",
                              "none", "--burst", "9", "--weight", "tenant-a=2"});
    expected.max_running.reset();
    expected.burst = 9;
    expected.group_weights["tenant-a"] = 2;
    CHECK(q.queues.limits("emails") == expected);
    CHECK(doc.at("paused") == true);
    CHECK(doc.at("max_running").is_null());
    CHECK(doc.at("max_running_per_key").is_null());
    CHECK(doc.at("rate").is_null());
    CHECK(doc.at("burst") == 9);
    CHECK(doc.at("group_weights") == json{{"tenant-a", 2}, {"tenant-c", 1000}});

    // Removing a weight that is not there changes nothing; the last --weight of a group wins.
    queue_ok(q, {"limits", "emails", "--weight", "nobody=none", "--weight", "tenant-c=4",
                 "--weight", "tenant-c=5"});
    expected.group_weights["tenant-c"] = 5;
    CHECK(q.queues.limits("emails") == expected);

    // A group name may hold '=': the weight follows the last one.
    queue_ok(q, {"limits", "emails", "--weight", "k=v=6"});
    CHECK(q.queues.limits("emails").group_weights.at("k=v") == 6);
}

TEST_CASE("cli: queue pause and resume keep the limits and show in list", "[cli][limits]") {
    CliQueue q;
    queue_ok(q, set_every_field);

    const auto paused = queue_ok(q, {"pause", "emails"});
    CHECK(contains(paused,
                   "paused queue emails (its other limits are kept; jobs already leased finish)"));
    auto expected = every_field();
    expected.paused = true;
    CHECK(q.queues.limits("emails") == expected);
    CHECK(queue_json(q, {"list"}) == json::array({every_field_json(true)}));
    CHECK(contains(line_starting(queue_ok(q, {"list"}), "emails "), " paused "));
    CHECK(line_starting(queue_ok(q, {"limits", "emails"}), "state ") ==
          "state                paused");
    CHECK(queue_ok(q, {"pause", "emails"}) == "queue emails is paused already\n");

    CHECK(queue_ok(q, {"resume", "emails"}) ==
          "resumed queue emails (its other limits are kept)\n");
    CHECK(q.queues.limits("emails") == every_field());
    CHECK(queue_json(q, {"list"}) == json::array({every_field_json(false)}));
    CHECK(contains(line_starting(queue_ok(q, {"list"}), "emails "), " active "));
    CHECK(queue_ok(q, {"resume", "emails"}) == "queue emails is not paused\n");

    CHECK(queue_json(q, {"pause", "emails"}) == json{{"paused", "emails"}});
    CHECK(q.queues.limits("emails").paused);
    CHECK(queue_json(q, {"resume", "emails"}) == json{{"resumed", "emails"}});
    CHECK(!q.queues.limits("emails").paused);

    SECTION("pausing an unconfigured queue stores it paused with no other limits") {
        queue_ok(q, {"pause", "other"});
        gqs::QueueLimits only_paused;
        only_paused.paused = true;
        CHECK(q.queues.limits("other") == only_paused);
        CHECK(queue_json(q, {"list"}).size() == 2);
    }
    SECTION("resuming an unconfigured queue stores nothing") {
        CHECK(queue_ok(q, {"resume", "other"}) == "queue other is not paused\n");
        CHECK(queue_json(q, {"list"}).size() == 1);
    }
}

TEST_CASE("cli: queue clear deletes the stored limits and says whether there were any",
          "[cli][limits]") {
    CliQueue q;
    queue_ok(q, set_every_field);
    queue_ok(q, {"pause", "reports"});

    CHECK(queue_ok(q, {"clear", "emails"}) ==
          "cleared the limits of queue emails (back to no limits)\n");
    CHECK(q.queues.limits("emails") == gqs::QueueLimits{});
    CHECK(queue_json(q, {"limits", "emails"}) == defaults_json("emails"));
    const auto list = queue_json(q, {"list"});
    REQUIRE(list.size() == 1);
    CHECK(list[0].at("queue") == "reports");

    CHECK(queue_ok(q, {"clear", "emails"}) == "queue emails had no stored limits\n");
    CHECK(queue_json(q, {"clear", "emails"}) == json{{"queue", "emails"}, {"cleared", false}});
    CHECK(queue_json(q, {"clear", "reports"}) == json{{"queue", "reports"}, {"cleared", true}});
    CHECK(q.queues.list().empty());
    CHECK(queue_ok(q, {"list"}) == "no queue limits\n");
}

TEST_CASE("cli: queue limits refuses invalid values and stores nothing", "[cli][limits]") {
    CliQueue q;
    // A configured queue, whose limits must stay as they are, and an unconfigured one.
    q.queues.set_limits("emails", every_field());
    for (const char* queue : {"emails", "fresh"}) {
        INFO(queue);
        auto limits = [&](std::vector<std::string> options) {
            std::vector<std::string> args{"queue", "limits", queue};
            args.insert(args.end(), options.begin(), options.end());
            return q.run(args);
        };
        check_usage_error(limits({"--rate", "0"}),
                          "queue limits: rate must be a finite number of starts per second "
                          "above 0 (got 0)");
        check_usage_error(limits({"--rate=-1.5"}), "rate must be a finite number");
        check_usage_error(limits({"--rate", "inf"}), "rate must be a finite number");
        check_usage_error(limits({"--rate", "nan"}), "rate must be a finite number");
        check_usage_error(limits({"--rate", "fast"}), "--rate: bad value 'fast'");
        check_usage_error(limits({"--rate", "1e400"}), "--rate: '1e400' is out of range");
        check_usage_error(limits({"--burst", "0"}), "burst must be at least 1 (got 0)");
        check_usage_error(limits({"--burst", "none"}),
                          "--burst: bad value 'none' (expected a whole number of at least 1)");
        check_usage_error(limits({"--max-running=-1"}), "max_running must be at least 1 (got -1)");
        check_usage_error(limits({"--max-running", "0"}), "max_running must be at least 1 (got 0)");
        check_usage_error(limits({"--max-running", "2.5"}), "--max-running: bad value '2.5'");
        check_usage_error(limits({"--max-running", "99999999999"}),
                          "--max-running: '99999999999' is out of range");
        check_usage_error(limits({"--max-running-per-key", "0"}),
                          "max_running_per_key must be at least 1 (got 0)");
        check_usage_error(limits({"--max-running-per-key", "x"}),
                          "--max-running-per-key: bad value 'x'");
        check_usage_error(limits({"--fair-share", "yes"}),
                          "--fair-share: bad value 'yes' (expected on or off)");
        check_usage_error(limits({"--fair-share", "on", "--max-running-per-key", "2"}),
                          "queue limits: fair share (fair_share or group_weights) and "
                          "max_running_per_key cannot be combined yet (got max_running_per_key 2)");
        check_usage_error(limits({"--weight", "tenant-a"}),
                          "--weight: bad value 'tenant-a' (expected GROUP=WEIGHT");
        check_usage_error(limits({"--weight", "=3"}), "--weight: bad value '=3'");
        check_usage_error(limits({"--weight", "tenant-a=heavy"}),
                          "--weight tenant-a: bad value 'heavy'");
        check_usage_error(limits({"--weight", "tenant-a=0"}),
                          "the weight of group \"tenant-a\" must be 1 to 1000 (got 0)");
        check_usage_error(limits({"--weight", "tenant-a=1001"}), "must be 1 to 1000 (got 1001)");
        check_usage_error(limits({"--weight", std::string(128, 'g') + "=2"}),
                          "a group name must be 1 to 127 bytes");
        // One bad value among good ones stores none of them.
        check_usage_error(limits({"--max-running", "3", "--burst", "0"}), "burst must be");
        check_usage_error(limits({"--max-running"}), "--max-running");
    }
    CHECK(q.queues.limits("emails") == every_field());
    const auto stored = q.queues.list();
    REQUIRE(stored.size() == 1);
    CHECK(stored.front().first == "emails");
}

TEST_CASE("cli: queue commands refuse a bad queue name", "[cli][limits]") {
    CliQueue q;
    const std::string long_name(128, 'q');
    for (const char* command : {"limits", "pause", "resume", "clear"}) {
        INFO(command);
        const std::string prefix = std::string("queue ") + command + ": ";
        check_usage_error(q.run({"queue", command, ""}),
                          prefix + "a queue name must be 1 to 127 bytes of UTF-8 without NUL "
                                   "(got 0 bytes)");
        check_usage_error(q.run({"queue", command, long_name}),
                          prefix + "a queue name must be 1 to 127 bytes");
        check_usage_error(q.run({"queue", command, "bad\xff"}), prefix + "a queue name must be");
    }
    check_usage_error(q.run({"queue", "limits", "", "--burst", "2"}), "a queue name must be");
    check_usage_error(q.run({"queue", "limits"}), "name is required");
    check_usage_error(q.run({"queue", "pause"}), "name is required");
    check_usage_error(q.run({"queue", "frob"}),
                      "unknown queue command 'frob' (commands: list, limits, pause, resume, clear");
    check_usage_error(q.run({"queue"}), "queue");
    CHECK(q.queues.list().empty());
}

TEST_CASE("cli: queue limits changed by the CLI are what the library reads", "[cli][limits]") {
    CliQueue q;
    // The CLI writes, this process's Queues reads (through its own connection).
    queue_ok(q, {"limits", "emails", "--max-running", "4", "--rate", "0.5", "--weight", "g=9"});
    auto limits = q.queues.limits("emails");
    CHECK(limits.max_running == 4);
    CHECK(limits.rate == 0.5);
    CHECK(limits.burst == 1);
    CHECK(!limits.max_running_per_key.has_value());
    CHECK(!limits.paused);
    CHECK(limits.group_weights == std::map<std::string, int>{{"g", 9}});
    queue_ok(q, {"pause", "emails"});
    CHECK(q.queues.limits("emails").paused);
    const auto listed = q.queues.list();
    REQUIRE(listed.size() == 1);
    CHECK(listed.front().first == "emails");
    CHECK(listed.front().second.max_running == 4);

    // The library writes, the CLI reads.
    q.queues.set_limits("emails", every_field());
    CHECK(queue_json(q, {"limits", "emails"}) == every_field_json(false));
    queue_ok(q, {"clear", "emails"});
    CHECK(q.queues.list().empty());
}

TEST_CASE("cli: queue help names every command", "[cli][limits]") {
    CliQueue q;
    auto top = q.run_bare({"--help"});
    CHECK(top.status == 0);
    CHECK(contains(top.out, "queue"));
    auto r = q.run_bare({"queue", "--help"});
    CHECK(r.status == 0);
    CHECK(contains(r.out, "Every pull honours pause"));
    for (const char* command : {"list", "limits", "pause", "resume", "clear"}) {
        INFO(command);
        CHECK(contains(r.out, std::string("\n  ") + command + " "));
    }
    auto limits = q.run_bare({"queue", "limits", "--help"});
    CHECK(limits.status == 0);
    for (const char* option : {"--max-running", "--rate", "--burst", "--max-running-per-key",
                               "--weight", "--fair-share"}) {
        INFO(option);
        CHECK(contains(limits.out, option));
    }
}
