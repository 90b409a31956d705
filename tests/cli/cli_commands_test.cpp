// SPDX-License-Identifier: Apache-2.0
// The gqs tool's commands, run as a process against a real database file.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::CliQueue;
using gqs::test::contains;
using gqs::test::id_of;
using nlohmann::json;

TEST_CASE("cli: init creates a gqs database and can run again", "[cli]") {
    gqs::test::TempDb tmp;
    const std::vector<std::string> init{"--db", tmp.path().string(), "init"};
    auto first = gqs::test::run_cli(tmp.dir(), init);
    INFO(first.err);
    REQUIRE(first.status == 0);
    CHECK(std::filesystem::exists(tmp.path()));
    CHECK(contains(first.out, "initialised"));
    CHECK(first.err.empty());

    auto again = gqs::test::run_cli(tmp.dir(), init);
    CHECK(again.status == 0);

    auto connection = gqs::sqlite::Connection::open(tmp.path());
    CHECK(gqs::sqlite::Observer(connection).list(Status::Unknown, 0).empty());

    auto doc = json::parse(
        gqs::test::run_cli(tmp.dir(), {"--db", tmp.path().string(), "--json", "init"}).out);
    CHECK(doc.at("schema_version") == gqs::sqlite::schema_version);
}

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
        CHECK(job->get<std::string>("kind") == "mail");
        CHECK(job->next_run_at - job->created_at == 5min);
    }
    SECTION("--payload-file keeps every byte") {
        const std::string bytes("\x00\x01\xff\nbinary\x00", 11);
        auto file = q.tmp.dir() / "payload.bin";
        std::ofstream(file, std::ios::binary) << bytes;
        auto r = q.run({"push", "--payload-file", file.string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto job = q.get(id_of(gqs::test::lines(r.out).at(0)));
        REQUIRE(job.has_value());
        CHECK(job->payload == bytes);
        CHECK(job->metadata.is_null());
    }
    SECTION("--id uses the given id; pushing it again fails") {
        const std::string id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";
        auto r = q.run({"push", "--payload", "x", "--id", id});
        REQUIRE(r.status == 0);
        CHECK(gqs::test::lines(r.out) == std::vector<std::string>{id});
        CHECK(q.get(id_of(id)).has_value());

        auto dup = q.run({"push", "--payload", "y", "--id", id});
        CHECK(dup.status == 1);
        CHECK(contains(dup.err, "already exists"));
        CHECK(q.get(id_of(id))->payload == "x");
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

TEST_CASE("cli: stats counts jobs per status, lag, schedule and expired leases", "[cli]") {
    CliQueue q;
    gqs::sqlite::Puller puller(q.db);
    q.push("done");
    auto done = q.pull();
    puller.complete(done);
    q.dead_job();
    q.push("stalled");
    auto stalled = puller.pull(1, 1ms).at(0);
    REQUIRE(gqs::test::wait_until(
        [&] { return std::chrono::system_clock::now() > *stalled.locked_until; }));
    q.push("ready");
    q.push("later", 1h);

    auto doc = q.run_json({"stats"});
    CHECK(doc.at("pending") == 2);
    CHECK(doc.at("processing") == 1);
    CHECK(doc.at("done") == 1);
    CHECK(doc.at("dead") == 1);
    CHECK(doc.at("total") == 5);
    CHECK(doc.at("expired_leases") == 1);
    CHECK(doc.at("lag_ms").get<std::int64_t>() >= 0);
    CHECK(doc.at("oldest_ready").is_string());
    CHECK(doc.at("next_scheduled").is_string());

    auto text = q.run({"stats"});
    REQUIRE(text.status == 0);
    auto lines = gqs::test::lines(text.out);
    auto has_line = [&](const std::string& start, const std::string& value) {
        return std::any_of(lines.begin(), lines.end(), [&](const std::string& line) {
            return line.rfind(start, 0) == 0 && contains(line, value);
        });
    };
    CHECK(has_line("pending", "2"));
    CHECK(has_line("processing", "1"));
    CHECK(has_line("expired leases", "1"));
    CHECK(has_line("next scheduled", "(in "));
}

TEST_CASE("cli: list prints an aligned table, oldest first", "[cli]") {
    CliQueue q;
    auto b = q.dead_job();
    auto a = q.push("a");
    gqs::Message c;
    c.payload = "ccc";
    c.set("note", std::string(200, 'n'));
    gqs::sqlite::Pusher(q.db).push(c);

    auto r = q.run({"list"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto lines = gqs::test::lines(r.out);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].rfind("ID", 0) == 0);
    for (const char* column : {"STATUS", "ATTEMPTS", "CREATED", "UPDATED", "NEXT RUN",
                               "LOCKED UNTIL", "SIZE", "METADATA"})
        CHECK(contains(lines[0], column));
    CHECK(lines[1].rfind(b.id.to_string(), 0) == 0);
    CHECK(lines[2].rfind(a.id.to_string(), 0) == 0);
    CHECK(lines[3].rfind(c.id.to_string(), 0) == 0);
    // Every row's status starts under the STATUS header.
    const auto status_column = lines[0].find("STATUS");
    CHECK(lines[1].compare(status_column, 4, "dead") == 0);
    CHECK(lines[2].compare(status_column, 7, "pending") == 0);
    // Long metadata is cut.
    CHECK(contains(lines[3], "..."));
    CHECK(!contains(lines[3], std::string(100, 'n')));

    SECTION("--status filters") {
        auto dead = q.run({"list", "--status", "dead"});
        REQUIRE(dead.status == 0);
        auto dead_lines = gqs::test::lines(dead.out);
        REQUIRE(dead_lines.size() == 2);
        CHECK(dead_lines[1].rfind(b.id.to_string(), 0) == 0);
    }
    SECTION("an empty result says so") {
        auto none = q.run({"list", "--status", "processing"});
        CHECK(none.status == 0);
        CHECK(gqs::test::lines(none.out) == std::vector<std::string>{"no processing jobs"});
    }
}

TEST_CASE("cli: list --json pages with --limit and --after", "[cli]") {
    CliQueue q;
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i)
        ids.push_back(q.push("job " + std::to_string(i)).id.to_string());

    auto page_ids = [](const json& page) {
        std::vector<std::string> out;
        for (const auto& job : page.at("jobs"))
            out.push_back(job.at("id").get<std::string>());
        return out;
    };
    auto first = q.run_json({"list", "--limit", "2"});
    CHECK(page_ids(first) == std::vector<std::string>{ids[0], ids[1]});
    auto text = q.run({"list", "--limit", "2"});
    CHECK(gqs::test::lines(text.out).back() ==
          "next page: gqs --db " + q.tmp.path().string() + " list --limit 2 --after " + ids[1]);
    CHECK(first.at("next_after") == ids[1]);
    const auto& job = first.at("jobs").at(0);
    for (const char* field : {"id", "status", "attempts", "created_at", "updated_at", "next_run_at",
                              "locked_until", "metadata", "payload_size"})
        CHECK(job.contains(field));
    CHECK(job.at("status") == "pending");
    CHECK(job.at("payload_size") == 5);

    auto second = q.run_json({"list", "--limit", "2", "--after", ids[1]});
    CHECK(page_ids(second) == std::vector<std::string>{ids[2], ids[3]});
    auto last = q.run_json({"list", "--limit", "2", "--after-id", ids[3]});
    CHECK(page_ids(last) == std::vector<std::string>{ids[4]});
    CHECK(last.at("next_after").is_null());

    auto all = q.run_json({"list", "--limit", "0"});
    CHECK(page_ids(all) == ids);
}

TEST_CASE("cli: get shows every field and the payload safely", "[cli]") {
    CliQueue q;
    SECTION("a text payload is shown as it is") {
        gqs::Message m;
        m.payload = "hello\nworld";
        m.set("kind", "mail");
        gqs::sqlite::Pusher(q.db).push(m);
        auto r = q.run({"get", m.id.to_string()});
        INFO(r.err);
        REQUIRE(r.status == 0);
        for (const char* field : {"id", "status", "attempts", "created", "updated", "next run",
                                  "locked until", "metadata", "payload"})
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
        auto file = q.tmp.dir() / "out.bin";
        auto r = q.run({"get", m.id.to_string(), "--payload-out", file.string()});
        REQUIRE(r.status == 0);
        CHECK(gqs::test::read_file(file) == bytes);
        CHECK(contains(r.out, "written to"));
    }
    SECTION("a leased job shows its lease") {
        auto m = q.push();
        auto job = q.pull();
        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("status") == "processing");
        CHECK(doc.at("attempts") == 1);
        CHECK(doc.at("locked_until").is_string());
    }
}

TEST_CASE("cli: retry brings dead jobs back", "[cli]") {
    CliQueue q;
    auto one = q.dead_job();
    SECTION("one job, with a delay") {
        auto r = q.run({"retry", one.id.to_string(), "--delay", "2h"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "retried"));
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
        auto r = q.run({"retry", pending.id.to_string()});
        CHECK(r.status == 1);
        CHECK(contains(r.err, "pending"));
        CHECK(q.get(pending.id)->status == Status::Pending);
    }
}

TEST_CASE("cli: kill sends a pending job to dead and flags a running one", "[cli]") {
    CliQueue q;
    auto m = q.push();
    auto r = q.run({"kill", m.id.to_string()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(contains(r.out, "killed"));
    CHECK(q.get(m.id)->status == Status::Dead);

    auto again = q.run({"kill", m.id.to_string()});
    CHECK(again.status == 1);
    CHECK(contains(again.err, "is dead"));

    auto leased = q.push();
    (void)q.pull();
    // A running job is flagged for its worker, not taken from under it.
    auto processing = q.run({"--json", "kill", leased.id.to_string()});
    INFO(processing.err);
    CHECK(processing.status == 0);
    CHECK(contains(processing.out, "cancel_requested"));
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
    (void)q.pull();
    auto r = q.run({"delete", leased.id.to_string()});
    CHECK(r.status == 1);
    CHECK(q.get(leased.id).has_value());
}

TEST_CASE("cli: clean deletes finished jobs", "[cli]") {
    CliQueue q;
    gqs::sqlite::Puller puller(q.db);
    q.push();
    auto done = q.pull();
    puller.complete(done);
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
        CHECK(contains(r.out, "deleted 1 job"));
        CHECK(!q.get(done.id).has_value());
        CHECK(q.get(dead.id).has_value());
    }
    SECTION("all finished jobs by default") {
        auto doc = q.run_json({"clean"});
        CHECK(doc.at("deleted") == 2);
        CHECK(!q.get(done.id).has_value());
        CHECK(!q.get(dead.id).has_value());
    }
    CHECK(q.get(pending.id).has_value());
}

TEST_CASE("cli: global options go before or after the command, or in GQS_DB", "[cli]") {
    CliQueue q;
    auto m = q.push();
    const auto path = q.tmp.path().string();
    auto after = gqs::test::run_cli(q.tmp.dir(), {"get", m.id.to_string(), "--db", path, "--json"});
    INFO(after.err);
    REQUIRE(after.status == 0);
    CHECK(json::parse(after.out).at("id") == m.id.to_string());

    gqs::test::CliInput env;
    env.env.push_back("GQS_DB=" + path);
    auto from_env = gqs::test::run_cli(q.tmp.dir(), {"--json", "stats"}, env);
    REQUIRE(from_env.status == 0);
    CHECK(json::parse(from_env.out).at("pending") == 1);
}

TEST_CASE("cli: a file path with '=' in it stays a SQLite file", "[cli]") {
    gqs::test::TempDb tmp;
    for (const auto& path : {tmp.dir() / "a=b.db", tmp.dir() / "x y=1.db"}) {
        INFO(path);
        auto r = gqs::test::run_cli(tmp.dir(), {"--db", path.string(), "init"});
        INFO(r.err);
        CHECK(r.status == 0);
        CHECK(std::filesystem::exists(path));
    }
}

TEST_CASE("cli: --help works for every command", "[cli]") {
    gqs::test::TempDb tmp;
    auto top = gqs::test::run_cli(tmp.dir(), {"--help"});
    CHECK(top.status == 0);
    CHECK(contains(top.out, "Usage: gqs"));
    for (const char* command :
         {"init", "push", "stats", "list", "get", "retry", "kill", "delete", "clean"}) {
        INFO(command);
        auto r = gqs::test::run_cli(tmp.dir(), {command, "--help"});
        CHECK(r.status == 0);
        CHECK(contains(r.out, std::string("gqs ") + command));
        CHECK(r.err.empty());
    }
    CHECK(!std::filesystem::exists(tmp.path()));
}

TEST_CASE("cli: get and list show a row whose metadata another program nested 100,000 deep",
          "[cli]") {
    CliQueue q;
    auto m = q.push("deep");
    const std::size_t levels = 100000;
    const std::string deep = std::string(levels, '[') + "1" + std::string(levels, ']');
    {
        SQLite::Database raw(q.tmp.path().string(), SQLite::OPEN_READWRITE);
        SQLite::Statement update(raw, "UPDATE jobs SET metadata = ?");
        update.bind(1, deep);
        REQUIRE(update.exec() == 1);
    }
    gqs::test::check_shows_raw_metadata(q, m.id, deep);
}
