// SPDX-License-Identifier: Apache-2.0
// The gqs tool's commands, run as a process against a fresh queue of the backend under test.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::check_failure;
using gqs::test::cli_failed;
using gqs::test::CliQueue;
using gqs::test::contains;
using gqs::test::id_of;
using gqs::test::listed_ids;
using nlohmann::json;

TEST_CASE("cli: push stores a job and prints its id", "[cli]") {
    CliQueue q;
    SECTION("--payload with metadata and a delay") {
        auto r = q.run({"push", "--payload", "hello world", "--metadata", R"({"kind":"mail"})",
                        "--delay", "5m"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto lines = gqs::test::lines(r.out);
        REQUIRE(lines.size() == 1);
        auto job = q.get(id_of(lines[0]));
        REQUIRE(job.has_value());
        CHECK(job->payload == "hello world");
        CHECK(job->status == Status::Pending);
        CHECK(job->queue == "default");
        CHECK(job->priority == 0);
        CHECK(job->get<std::string>("kind") == "mail");
        CHECK(job->next_run_at - job->created_at == 5min);
    }
    SECTION("--payload-file keeps every byte") {
        const std::string bytes("\x00\x01\xff\nbinary\x00", 11);
        auto file = q.files.dir() / "payload.bin";
        std::ofstream(file, std::ios::binary) << bytes;
        auto r = q.run({"push", "--payload-file", file.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto job = q.get(id_of(gqs::test::lines(r.out).at(0)));
        REQUIRE(job.has_value());
        CHECK(job->payload == bytes);
        CHECK(job->metadata.empty());
    }
    SECTION("--id uses the given id; pushing it again fails and changes nothing") {
        const std::string id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";
        auto r = q.run({"push", "--payload", "x", "--id", id});
        REQUIRE(r.status == 0);
        CHECK(gqs::test::lines(r.out) == std::vector<std::string>{id});
        CHECK(q.get(id_of(id)).has_value());

        check_failure(q.run({"push", "--payload", "y", "--id", id}), cli_failed, "already exists");
        CHECK(q.get(id_of(id))->payload == "x");
        CHECK(q.count() == 1);
    }
    SECTION("--json") {
        auto doc = q.run_json({"push", "--payload", "x"});
        REQUIRE(doc.at("ids").size() == 1);
        CHECK(q.get(id_of(doc["ids"][0].get<std::string>())).has_value());
    }
}

TEST_CASE("cli: durations take ms, s, m, h, d and sums of them", "[cli]") {
    auto [text, expected] = GENERATE(table<std::string, gqs::Duration>({
        {"0", 0ms},
        {"500ms", 500ms},
        {"30s", 30s},
        {"5m", 5min},
        {"2h", 2h},
        {"7d", 7 * 24h},
        {"1h30m", 90min},
        {"1m500ms", 60500ms},
    }));
    INFO(text);
    CliQueue q;
    auto r = q.run({"push", "--payload", "x", "--delay", text});
    INFO(r.err);
    REQUIRE(r.status == 0);
    auto job = q.get(id_of(gqs::test::lines(r.out).at(0)));
    REQUIRE(job.has_value());
    CHECK(job->next_run_at - job->created_at == expected);
}

TEST_CASE("cli: push --stdin pushes one job per non-empty line", "[cli]") {
    CliQueue q;
    gqs::test::CliInput input;
    input.stdin_text = "first\nsecond\n\nthird";
    auto r = q.run({"push", "--stdin", "--metadata", R"({"batch":1})"}, input);
    INFO(r.err);
    REQUIRE(r.status == 0);
    auto ids = gqs::test::lines(r.out);
    REQUIRE(ids.size() == 3);
    std::vector<std::string> payloads;
    for (const auto& id : ids) {
        auto job = q.get(id_of(id));
        REQUIRE(job.has_value());
        CHECK(job->get<int>("batch") == 1);
        payloads.push_back(job->payload);
    }
    CHECK(payloads == std::vector<std::string>{"first", "second", "third"});
}

TEST_CASE("cli: stats counts jobs per status and queue, lag, schedule and expired leases",
          "[cli]") {
    CliQueue q;
    q.push("done");
    auto done = q.pull_one();
    q.puller.complete(done);
    q.dead_job();
    q.push("stalled");
    auto stalled = q.pull_one(1ms);
    REQUIRE(gqs::test::wait_until(
        [&] { return std::chrono::system_clock::now() > *stalled.locked_until + 1ms; }));
    q.push("ready");
    q.push("later", 1h);
    gqs::Message mail;
    mail.queue = "emails";
    q.push(mail);

    auto doc = q.run_json({"stats"});
    CHECK(doc.at("pending") == 3);
    CHECK(doc.at("processing") == 1);
    CHECK(doc.at("done") == 1);
    CHECK(doc.at("dead") == 1);
    CHECK(doc.at("total") == 6);
    CHECK(doc.at("expired_leases") == 1);
    CHECK(doc.at("lag_ms").get<std::int64_t>() >= 0);
    CHECK(doc.at("oldest_ready").is_string());
    CHECK(doc.at("next_scheduled").is_string());
    REQUIRE(doc.at("queues").size() == 2);
    CHECK(doc.at("queues").at("default").at("total") == 5);
    CHECK(doc.at("queues").at("emails").at("pending") == 1);

    auto emails = q.run_json({"stats", "--queue", "emails"});
    CHECK(emails.at("queue") == "emails");
    CHECK(emails.at("total") == 1);
    CHECK(emails.at("pending") == 1);

    auto text = q.run({"stats"});
    INFO(text.err);
    REQUIRE(text.status == 0);
    auto lines = gqs::test::lines(text.out);
    auto has_line = [&](const std::string& start, const std::string& value) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
            return line.rfind(start, 0) == 0 && contains(line, value);
        });
    };
    CHECK(has_line("pending", "3"));
    CHECK(has_line("processing", "1"));
    CHECK(has_line("expired leases", "1"));
    CHECK(has_line("next scheduled", "(in "));
    CHECK(has_line("QUEUE", "PENDING"));
    CHECK(has_line("emails", "1"));
}

TEST_CASE("cli: list prints an aligned table, oldest first", "[cli]") {
    CliQueue q;
    auto b = q.dead_job("it broke");
    auto a = q.push("a");
    gqs::Message c;
    c.payload = "ccc";
    c.set("note", std::string(200, 'n'));
    q.push(c);
    gqs::Message mail;
    mail.queue = "emails";
    mail.priority = 5;
    q.push(mail);

    auto r = q.run({"list"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto lines = gqs::test::lines(r.out);
    REQUIRE(lines.size() == 5);
    CHECK(lines[0].rfind("ID", 0) == 0);
    for (const char* column : {"QUEUE", "PRI", "STATUS", "ATTEMPTS", "CREATED", "UPDATED",
                               "NEXT RUN", "LOCKED UNTIL", "SIZE", "METADATA", "LAST ERROR"})
        CHECK(contains(lines[0], column));
    CHECK(lines[1].rfind(b.id.to_string(), 0) == 0);
    CHECK(lines[2].rfind(a.id.to_string(), 0) == 0);
    CHECK(lines[3].rfind(c.id.to_string(), 0) == 0);
    CHECK(lines[4].rfind(mail.id.to_string(), 0) == 0);
    // Every row's status starts under the STATUS header.
    const auto status_column = lines[0].find("STATUS");
    CHECK(lines[1].compare(status_column, 4, "dead") == 0);
    CHECK(lines[2].compare(status_column, 7, "pending") == 0);
    CHECK(contains(lines[1], "it broke"));
    // Long metadata is cut.
    CHECK(contains(lines[3], "..."));
    CHECK(!contains(lines[3], std::string(100, 'n')));

    SECTION("--status filters") {
        auto dead = q.run({"list", "--status", "dead"});
        REQUIRE(dead.status == 0);
        auto dead_lines = gqs::test::lines(dead.out);
        REQUIRE(dead_lines.size() == 2);
        CHECK(dead_lines[1].rfind(b.id.to_string(), 0) == 0);
        CHECK(listed_ids(q.run_json({"list", "--status", "dead"})) ==
              std::vector<std::string>{b.id.to_string()});
    }
    SECTION("--queue filters") {
        auto only_mail = q.run_json({"list", "--queue", "emails"});
        CHECK(listed_ids(only_mail) == std::vector<std::string>{mail.id.to_string()});
        CHECK(only_mail.at("jobs").at(0).at("priority") == 5);
    }
    SECTION("an empty result says so") {
        auto none = q.run({"list", "--status", "processing"});
        CHECK(none.status == 0);
        CHECK(gqs::test::lines(none.out) == std::vector<std::string>{"no processing jobs"});
    }
}

TEST_CASE("cli: list --json pages with --limit and --after", "[cli]") {
    CliQueue q;
    auto dead = q.dead_job("it broke");
    std::vector<std::string> ids{dead.id.to_string()};
    for (int i = 0; i < 4; ++i)
        ids.push_back(q.push("job " + std::to_string(i)).id.to_string());

    auto first = q.run_json({"list", "--limit", "2"});
    CHECK(listed_ids(first) == std::vector<std::string>{ids[0], ids[1]});
    CHECK(first.at("next_after") == ids[1]);
    const auto& job = first.at("jobs").at(0);
    for (const char* field : {"id", "status", "attempts", "created_at", "updated_at", "next_run_at",
                              "locked_until", "metadata", "payload_size", "errors"})
        CHECK(job.contains(field));
    CHECK(job.at("status") == "dead");
    CHECK(job.at("errors").at(0).at("message") == "it broke");
    CHECK(first.at("jobs").at(1).at("status") == "pending");
    CHECK(first.at("jobs").at(1).at("payload_size") == 5);

    // The next page's command names the same queue (--db, and --schema where there is one).
    auto text = q.run({"list", "--limit", "2"});
    const auto next = gqs::test::lines(text.out).back();
    const std::string tail = " list --limit 2 --after " + ids[1];
    CHECK(next.rfind("next page: gqs --db ", 0) == 0);
    CHECK(next.size() > tail.size());
    CHECK(next.compare(next.size() - tail.size(), tail.size(), tail) == 0);
    for (const auto& option : q.backend->db_options())
        CHECK(contains(next, " " + option + " "));
    if (const auto printed = q.backend->printed_target(); !printed.empty())
        CHECK(next == "next page: gqs " + printed + tail);

    auto second = q.run_json({"list", "--limit", "2", "--after", ids[1]});
    CHECK(listed_ids(second) == std::vector<std::string>{ids[2], ids[3]});
    auto last = q.run_json({"list", "--limit", "2", "--after-id", ids[3]});
    CHECK(listed_ids(last) == std::vector<std::string>{ids[4]});
    CHECK(last.at("next_after").is_null());

    auto all = q.run_json({"list", "--limit", "0"});
    CHECK(listed_ids(all) == ids);
}

TEST_CASE("cli: get shows every field and the payload safely", "[cli]") {
    CliQueue q;
    SECTION("a text payload is shown as it is") {
        gqs::Message m;
        m.payload = "hello\nworld";
        m.set("kind", "mail");
        q.push(m);
        auto r = q.run({"get", m.id.to_string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        for (const char* field : {"id", "queue", "priority", "status", "attempts", "created",
                                  "updated", "next run", "locked until", "metadata", "payload"})
            CHECK(contains(r.out, field));
        CHECK(contains(r.out, m.id.to_string()));
        CHECK(contains(r.out, R"({"kind":"mail"})"));
        CHECK(contains(r.out, "hello\nworld\n"));

        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("id") == m.id.to_string());
        CHECK(doc.at("status") == "pending");
        CHECK(doc.at("metadata").at("kind") == "mail");
        CHECK(doc.at("payload_encoding") == "utf8");
        CHECK(doc.at("payload") == "hello\nworld");
    }
    SECTION("a binary payload is shown in hex, never as raw bytes") {
        const std::string bytes("\x1b[2J\x00\xff", 6);
        auto m = q.push(bytes);
        auto r = q.run({"get", m.id.to_string()});
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "1b 5b 32 4a 00 ff"));
        CHECK(!contains(r.out, "\x1b"));

        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("payload_encoding") == "base64");
        CHECK(doc.at("payload") == "G1sySgD/");
        CHECK(doc.at("payload_size") == 6);
    }
    SECTION("--payload-out writes the exact bytes") {
        const std::string bytes("\x00\x01\x02 payload \xfe", 13);
        auto m = q.push(bytes);
        auto file = q.files.dir() / "out.bin";
        auto r = q.run({"get", m.id.to_string(), "--payload-out", file.string()});
        REQUIRE(r.status == 0);
        CHECK(gqs::test::read_file(file) == bytes);
        CHECK(contains(r.out, "written to"));
    }
    SECTION("a dead job shows its error history") {
        auto dead = q.dead_job("out of paper");
        auto doc = q.run_json({"get", dead.id.to_string()});
        CHECK(doc.at("status") == "dead");
        REQUIRE(doc.at("errors").size() == 1);
        CHECK(doc.at("errors").at(0).at("message") == "out of paper");
        CHECK(doc.at("errors").at(0).at("attempt") == 1);
        auto text = q.run({"get", dead.id.to_string()});
        CHECK(contains(text.out, "attempt 1  out of paper"));
    }
    SECTION("a leased job shows its lease") {
        auto m = q.push();
        (void)q.pull_one();
        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("status") == "processing");
        CHECK(doc.at("attempts") == 1);
        CHECK(doc.at("locked_until").is_string());
    }
}

TEST_CASE("cli: get and list show a row whose metadata another program nested deep", "[cli]") {
    CliQueue q;
    auto m = q.push("deep");
    // Far deeper than a push accepts (the tool once crashed from about 50,000 levels): shown
    // as the raw text (a JSON string), never parsed.
    const auto deep = q.backend->nest_metadata_deep();
    auto get = q.run({"get", m.id.to_string()});
    INFO(get.err);
    REQUIRE(get.status == 0);
    CHECK(contains(get.out, m.id.to_string()));
    CHECK(contains(get.out, "\"[[[["));
    auto list = q.run({"list"});
    INFO(list.err);
    REQUIRE(list.status == 0);
    CHECK(contains(list.out, m.id.to_string()));
    CHECK(contains(list.out, "\"[[[["));
    // Parenthesised: a failure must not print a value this deep.
    CHECK((q.run_json({"get", m.id.to_string()}).at("metadata") == deep));
    CHECK((q.run_json({"list"}).at("jobs").at(0).at("metadata") == deep));
}

TEST_CASE("cli: retry brings dead jobs back", "[cli]") {
    CliQueue q;
    auto one = q.dead_job();
    SECTION("one job, with a delay") {
        auto r = q.run({"retry", one.id.to_string(), "--delay", "2h"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "retried " + one.id.to_string()));
        auto job = q.get(one.id);
        CHECK(job->status == Status::Pending);
        CHECK(job->attempts == 0);
        CHECK(job->next_run_at - job->updated_at == 2h);
    }
    SECTION("every dead job") {
        auto two = q.dead_job();
        q.push("still pending");
        auto doc = q.run_json({"retry", "--all-dead"});
        CHECK(doc.at("retried") == 2);
        CHECK(q.get(one.id)->status == Status::Pending);
        CHECK(q.get(two.id)->status == Status::Pending);
    }
    SECTION("a job that is not dead is refused") {
        auto pending = q.push();
        check_failure(q.run({"retry", pending.id.to_string()}), cli_failed, "pending");
        CHECK(q.get(pending.id)->status == Status::Pending);
    }
}

TEST_CASE("cli: kill sends a pending job to dead and flags a running one", "[cli]") {
    CliQueue q;
    auto m = q.push();
    auto r = q.run({"kill", m.id.to_string()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(gqs::test::lines(r.out) ==
          std::vector<std::string>{"killed " + m.id.to_string() + " (pending -> dead)"});
    CHECK(q.get(m.id)->status == Status::Dead);
    check_failure(q.run({"kill", m.id.to_string()}), cli_failed, "is dead");

    auto leased = q.push();
    (void)q.pull_one();
    // A running job is flagged for its worker, not taken from under it.
    auto doc = q.run_json({"kill", leased.id.to_string()});
    CHECK(doc.at("cancel_requested") == leased.id.to_string());
    CHECK(q.get(leased.id)->status == Status::Processing);
    CHECK(q.get(leased.id)->cancel_requested);
}

TEST_CASE("cli: delete removes a job that is not processing", "[cli]") {
    CliQueue q;
    auto m = q.push();
    auto doc = q.run_json({"delete", m.id.to_string()});
    CHECK(doc.at("deleted") == m.id.to_string());
    CHECK(!q.get(m.id).has_value());

    auto leased = q.push();
    (void)q.pull_one();
    auto r = q.run({"delete", leased.id.to_string()});
    CHECK(r.status == cli_failed);
    CHECK(q.get(leased.id).has_value());

    auto text = q.run({"delete", q.push().id.to_string()});
    CHECK(text.status == 0);
    CHECK(contains(text.out, "deleted "));
}

TEST_CASE("cli: clean deletes finished jobs", "[cli]") {
    CliQueue q;
    q.push();
    auto done = q.pull_one();
    q.puller.complete(done);
    auto dead = q.dead_job();
    auto pending = q.push();

    SECTION("--older-than keeps recent ones") {
        auto doc = q.run_json({"clean", "--older-than", "7d"});
        CHECK(doc.at("deleted") == 0);
        CHECK(doc.at("before").is_string());
        CHECK(q.get(done.id).has_value());
    }
    SECTION("--status done") {
        auto r = q.run({"clean", "--status", "done"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(gqs::test::lines(r.out) == std::vector<std::string>{"deleted 1 job (done)"});
        CHECK(!q.get(done.id).has_value());
        CHECK(q.get(dead.id).has_value());
    }
    SECTION("all finished jobs by default") {
        auto doc = q.run_json({"clean"});
        CHECK(doc.at("deleted") == 2);
        CHECK(doc.at("status") == "all");
        CHECK(!q.get(done.id).has_value());
        CHECK(!q.get(dead.id).has_value());
    }
    CHECK(q.get(pending.id).has_value());
}

TEST_CASE("cli: global options go before or after the command, or in GQS_DB", "[cli]") {
    CliQueue q;
    auto m = q.push();
    std::vector<std::string> after{"get", m.id.to_string()};
    const auto target = q.backend->target_args();
    after.insert(after.end(), target.begin(), target.end());
    after.emplace_back("--json");
    auto r = q.run_bare(after);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.out).at("id") == m.id.to_string());

    gqs::test::CliInput env;
    env.env.push_back("GQS_DB=" + q.backend->db());
    std::vector<std::string> stats{"--json", "stats"};
    const auto options = q.backend->db_options();
    stats.insert(stats.end(), options.begin(), options.end());
    auto from_env = q.run_bare(stats, env);
    INFO(from_env.err);
    REQUIRE(from_env.status == 0);
    CHECK(json::parse(from_env.out).at("pending") == 1);
}

TEST_CASE("cli: --help works for every command and touches no queue", "[cli]") {
    CliQueue q;
    auto top = q.run_bare({"--help"});
    CHECK(top.status == 0);
    CHECK(contains(top.out, "Usage: gqs"));
    for (const char* command :
         {"init", "push", "stats", "list", "get", "retry", "kill", "delete", "clean"}) {
        INFO(command);
        auto r = q.run_bare({command, "--help"});
        CHECK(r.status == 0);
        CHECK(contains(r.out, std::string("gqs ") + command));
        CHECK(r.err.empty());
        auto on_queue = q.run({command, "--help"});
        CHECK(on_queue.status == 0);
        CHECK(on_queue.out == r.out);
    }
    auto push = q.run({"push", "--payload", "x", "--help"});
    CHECK(push.status == 0);
    CHECK(q.count() == 0);
}

TEST_CASE("cli: stats --prometheus prints per-queue gauges in the Prometheus text format",
          "[cli][prometheus]") {
    CliQueue q;
    q.push("ready");
    q.dead_job();
    gqs::Message odd;
    odd.queue = "we\"ird\\q"; // label values escape quotes and backslashes
    q.push(odd);

    auto r = q.run({"stats", "--prometheus"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    std::vector<std::string> lines = gqs::test::lines(r.out);
    auto has = [&lines](const std::string& line) {
        return std::find(lines.begin(), lines.end(), line) != lines.end();
    };
    CHECK(has("# TYPE gqs_jobs gauge"));
    CHECK(has("gqs_jobs{queue=\"default\",status=\"pending\"} 1"));
    CHECK(has("gqs_jobs{queue=\"default\",status=\"dead\"} 1"));
    CHECK(has("gqs_jobs{queue=\"we\\\"ird\\\\q\",status=\"pending\"} 1"));
    CHECK(has("# TYPE gqs_queue_lag_seconds gauge"));
    CHECK(has("gqs_expired_leases{queue=\"default\"} 0"));
    CHECK(std::any_of(lines.begin(), lines.end(), [](const std::string& line) {
        return line.rfind("gqs_queue_lag_seconds{queue=\"default\"} ", 0) == 0;
    }));
    // No limits stored yet: every queue is open.
    CHECK(has("gqs_queue_paused{queue=\"default\"} 0"));
    CHECK(std::none_of(lines.begin(), lines.end(), [](const std::string& line) {
        return line.rfind("gqs_queue_limit{", 0) == 0;
    }));

    // Stored limits, also of a queue without jobs.
    REQUIRE(
        q.run({"queue", "limits", "default", "--max-running", "2", "--rate", "2.5", "--burst", "5"})
            .status == 0);
    REQUIRE(q.run({"queue", "limits", "idle", "--max-running-per-key", "1"}).status == 0);
    REQUIRE(q.run({"queue", "pause", "idle"}).status == 0);
    r = q.run({"stats", "--prometheus"});
    INFO(r.err);
    REQUIRE(r.status == 0);
    lines = gqs::test::lines(r.out); // `has` reads these now
    CHECK(has("# TYPE gqs_queue_limit gauge"));
    CHECK(has("gqs_queue_limit{queue=\"default\",limit=\"max_running\"} 2"));
    CHECK(has("gqs_queue_limit{queue=\"default\",limit=\"rate\"} 2.5"));
    CHECK(has("gqs_queue_limit{queue=\"default\",limit=\"burst\"} 5"));
    CHECK(has("gqs_queue_limit{queue=\"idle\",limit=\"max_running_per_key\"} 1"));
    CHECK(has("gqs_queue_paused{queue=\"default\"} 0"));
    CHECK(has("gqs_queue_paused{queue=\"idle\"} 1"));
    CHECK(has("gqs_queue_paused{queue=\"we\\\"ird\\\\q\"} 0"));
    // With --queue, that queue's alone.
    auto one = q.run({"stats", "--prometheus", "--queue", "idle"});
    REQUIRE(one.status == 0);
    CHECK(one.out.find("gqs_queue_paused{queue=\"idle\"} 1") != std::string::npos);
    CHECK(one.out.find("queue=\"default\"") == std::string::npos);

    // Debian's prometheus package checks the text as a scraper would parse it.
    if (std::system("command -v promtool > /dev/null 2>&1") == 0) {
        const auto file = q.files.dir() / "metrics.txt";
        std::ofstream(file) << r.out;
        const std::string check = "promtool check metrics < '" + file.string() + "' 2>&1";
        CHECK(std::system(check.c_str()) == 0);
    } else {
        WARN("promtool is not installed (Debian: prometheus): the format was not parsed");
    }

    check_failure(q.run({"--json", "stats", "--prometheus"}), gqs::test::cli_usage,
                  "--prometheus and --json cannot be used together");
}
