// SPDX-License-Identifier: Apache-2.0
// The gqs tool's commands against PostgreSQL (GQS_TEST_POSTGRES), each test in its own schema.
#include "support/catch.hpp"
#include "support/postgres_schema.hpp"
#include "support/silent_server.hpp"

#include "cli_queue.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::CliInput;
using gqs::test::CliResult;
using gqs::test::contains;
using gqs::test::id_of;
using gqs::test::PgSchema;
using nlohmann::json;

namespace {

constexpr int failed = 1;
constexpr int usage = 2;

// Runs `gqs --db <conninfo> --schema <name> args...` with its files in `tmp`.
CliResult run_in(const PgSchema& schema, const gqs::test::TempDb& tmp,
                 std::vector<std::string> args, const CliInput& input = {}) {
    args.insert(args.begin(), {"--db", schema.conninfo(), "--schema", schema.name()});
    return gqs::test::run_cli(tmp.dir(), args, input);
}

std::shared_ptr<gqs::postgres::Connection> open(const PgSchema& schema) {
    gqs::postgres::Options options;
    options.schema = schema.name();
    return gqs::postgres::Connection::open(schema.conninfo(), options);
}

// A schema of its own initialised by `gqs init`, and the library's view of it.
struct PgCliQueue {
    PgSchema schema;       // skips the test without a server; drops the schema at the end
    gqs::test::TempDb tmp; // the tool's stdin, stdout and stderr files
    std::shared_ptr<gqs::postgres::Connection> db;

    PgCliQueue() {
        auto r = run({"init"});
        if (r.status != 0) throw std::runtime_error("gqs init failed: " + r.err);
        db = open(schema);
    }

    CliResult run(std::vector<std::string> args, const CliInput& input = {}) const {
        return run_in(schema, tmp, std::move(args), input);
    }

    // `--json args...`, which must succeed; its output parsed.
    json run_json(std::vector<std::string> args) const {
        args.insert(args.begin(), "--json");
        auto r = run(std::move(args));
        INFO(r.err);
        REQUIRE(r.status == 0);
        return json::parse(r.out);
    }

    gqs::Message push(std::string payload = "p", gqs::Duration delay = {}) {
        gqs::Message m;
        m.payload = std::move(payload);
        return push(std::move(m), delay);
    }

    gqs::Message push(gqs::Message m, gqs::Duration delay = {}) {
        (void)gqs::postgres::Pusher(db).push(m, delay);
        return m;
    }

    gqs::Job pull(gqs::Duration lock = 1h) {
        auto jobs = gqs::postgres::Puller(db).pull(1, lock);
        REQUIRE(jobs.size() == 1);
        return jobs.front();
    }

    gqs::Job dead_job(const std::string& error = {}) {
        push();
        auto job = pull();
        gqs::postgres::Puller(db).kill(job, error);
        return job;
    }

    std::optional<gqs::Job> get(const gqs::Uuid& id) { return gqs::postgres::Observer(db).get(id); }
};

// The contract of every failure: the exit status, nothing on stdout, one line on stderr.
void check_failure(const CliResult& r, int status, const std::string& fragment) {
    INFO("stdout: " << r.out);
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("gqs: error: ", 0) == 0);
    CHECK(contains(r.err, fragment));
    REQUIRE(!r.err.empty());
    CHECK(r.err.find('\n') == r.err.size() - 1);
}

// True when the CLI prints `conninfo` as it is: no password to leave out, one space apart.
bool printable(const std::string& conninfo) {
    return !contains(conninfo, "password") && !contains(conninfo, "  ") &&
           !contains(conninfo, "'") && !contains(conninfo, "\\");
}

// The conninfo's keywords and values, as libpq reads them.
std::map<std::string, std::string> conninfo_parts(const std::string& conninfo) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(conninfo.c_str(), &error);
    if (options == nullptr) {
        std::string what = error != nullptr ? error : "out of memory";
        PQfreemem(error);
        throw std::runtime_error("cannot parse GQS_TEST_POSTGRES: " + what);
    }
    std::map<std::string, std::string> parts;
    for (auto* o = options; o->keyword != nullptr; ++o) {
        if (o->val != nullptr) parts[o->keyword] = o->val;
    }
    PQconninfoFree(options);
    return parts;
}

// %XX for every byte but the URI's unreserved characters and '/'.
std::string uri_encode(const std::string& text) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += digits[c >> 4];
            out += digits[c & 0xF];
        }
    }
    return out;
}

} // namespace

TEST_CASE("cli postgres: init creates the queue in its own schema and can run again",
          "[cli][postgres]") {
    PgSchema s;
    gqs::test::TempDb tmp;
    auto namespaces = [&] {
        return s.exec("SELECT count(*) FROM pg_namespace WHERE nspname = '" + s.name() + "'");
    };
    // Before init: every other command says what to run, and creates nothing.
    for (const char* command : {"stats", "list"}) {
        INFO(command);
        auto r = run_in(s, tmp, {command});
        check_failure(r, failed, "holds no gqs queue yet (run `gqs --db ");
        CHECK(r.err.rfind("gqs: error: schema " + s.name() + " at ", 0) == 0);
        CHECK(contains(r.err, " --schema " + s.name() + " init`)"));
    }
    CHECK(namespaces() == "0");

    auto first = run_in(s, tmp, {"init"});
    INFO(first.err);
    REQUIRE(first.status == 0);
    CHECK(first.err.empty());
    const auto line = gqs::test::lines(first.out).at(0);
    CHECK(line.rfind("initialised schema " + s.name() + " at ", 0) == 0);
    CHECK(contains(line,
                   " (gqs schema version " + std::to_string(gqs::postgres::schema_version) + ")"));
    if (printable(s.conninfo())) CHECK(contains(line, " at " + s.conninfo() + " ("));
    CHECK(namespaces() == "1");
    auto again = run_in(s, tmp, {"init"});
    CHECK(again.status == 0);

    auto doc = json::parse(run_in(s, tmp, {"--json", "init"}).out);
    CHECK(doc.at("schema_version") == gqs::postgres::schema_version);
    CHECK(doc.at("schema") == s.name());
    CHECK(doc.at("db").is_string());

    auto db = open(s);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(gqs::postgres::Observer(db).list(Status::Unknown, 0).empty());
    auto stats = json::parse(run_in(s, tmp, {"--json", "stats"}).out);
    CHECK(stats.at("total") == 0);
}

TEST_CASE("cli postgres: push stores a job with its queue and priority and honours a unique key",
          "[cli][postgres]") {
    PgCliQueue q;
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
    SECTION("--queue --priority and --unique-key; a second push is a duplicate") {
        const std::vector<std::string> args{"push",    "--payload",    "welcome",
                                            "--queue", "emails",       "--priority",
                                            "3",       "--unique-key", "welcome-42"};
        auto first = q.run(args);
        INFO(first.err);
        REQUIRE(first.status == 0);
        const auto id = id_of(gqs::test::lines(first.out).at(0));
        auto job = q.get(id);
        REQUIRE(job.has_value());
        CHECK(job->queue == "emails");
        CHECK(job->priority == 3);
        CHECK(job->unique_key == std::optional<std::string>("welcome-42"));

        auto second = q.run(args);
        REQUIRE(second.status == 0);
        CHECK(gqs::test::lines(second.out) ==
              std::vector<std::string>{"duplicate of " + id.to_string() +
                                       " (unique key welcome-42 is held in queue emails)"});
        auto doc = q.run_json(args);
        CHECK(doc.at("id") == id.to_string());
        CHECK(doc.at("duplicate") == true);
        CHECK(doc.at("queue") == "emails");
        CHECK(doc.at("priority") == 3);
        CHECK(doc.at("unique_key") == "welcome-42");
        CHECK(gqs::postgres::Observer(q.db).list(Status::Unknown, 0).size() == 1);
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
    }
    SECTION("--stdin pushes one job per non-empty line") {
        CliInput input;
        input.stdin_text = "first\nsecond\n\nthird";
        auto doc = json::parse(q.run({"--json", "push", "--stdin", "--queue", "lines"}, input).out);
        REQUIRE(doc.at("ids").size() == 3);
        std::vector<std::string> payloads;
        for (const auto& id : doc.at("ids")) {
            auto job = q.get(id_of(id.get<std::string>()));
            REQUIRE(job.has_value());
            CHECK(job->queue == "lines");
            payloads.push_back(job->payload);
        }
        CHECK(payloads == std::vector<std::string>{"first", "second", "third"});
    }
    SECTION("--id uses the given id; pushing it again fails and changes nothing") {
        const std::string id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";
        auto r = q.run({"push", "--payload", "x", "--id", id});
        REQUIRE(r.status == 0);
        CHECK(gqs::test::lines(r.out) == std::vector<std::string>{id});
        check_failure(q.run({"push", "--payload", "y", "--id", id}), failed, "already exists");
        CHECK(q.get(id_of(id))->payload == "x");
    }
    SECTION("metadata that jsonb cannot hold is a usage error") {
        check_failure(q.run({"push", "--payload", "x", "--metadata", R"({"a":"\u0000"})"}), usage,
                      "push: ");
        CHECK(gqs::postgres::Observer(q.db).list(Status::Unknown, 0).empty());
    }
}

TEST_CASE("cli postgres: stats counts jobs per status and per queue", "[cli][postgres]") {
    PgCliQueue q;
    gqs::postgres::Puller puller(q.db);
    q.push("done");
    auto done = q.pull();
    puller.complete(done);
    q.dead_job();
    q.push("stalled");
    auto stalled = q.pull(1ms);
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

TEST_CASE("cli postgres: list prints a table oldest first and pages with --limit and --after",
          "[cli][postgres]") {
    PgCliQueue q;
    auto dead = q.dead_job("it broke");
    std::vector<std::string> ids{dead.id.to_string()};
    for (int i = 0; i < 4; ++i)
        ids.push_back(q.push("job " + std::to_string(i)).id.to_string());
    gqs::Message mail;
    mail.queue = "emails";
    mail.priority = 5;
    q.push(mail);

    auto table = q.run({"list"});
    INFO(table.err);
    REQUIRE(table.status == 0);
    auto lines = gqs::test::lines(table.out);
    REQUIRE(lines.size() == 7);
    for (const char* column : {"ID", "QUEUE", "PRI", "STATUS", "ATTEMPTS", "CREATED", "UPDATED",
                               "NEXT RUN", "LOCKED UNTIL", "SIZE", "METADATA", "LAST ERROR"})
        CHECK(contains(lines[0], column));
    for (std::size_t i = 0; i < ids.size(); ++i)
        CHECK(lines[i + 1].rfind(ids[i], 0) == 0);
    CHECK(lines[6].rfind(mail.id.to_string(), 0) == 0);
    CHECK(contains(lines[1], "dead"));
    CHECK(contains(lines[1], "it broke"));

    auto page_ids = [](const json& page) {
        std::vector<std::string> out;
        for (const auto& job : page.at("jobs"))
            out.push_back(job.at("id").get<std::string>());
        return out;
    };
    auto first = q.run_json({"list", "--limit", "2"});
    CHECK(page_ids(first) == std::vector<std::string>{ids[0], ids[1]});
    CHECK(first.at("next_after") == ids[1]);
    const auto& job = first.at("jobs").at(0);
    CHECK(job.at("status") == "dead");
    CHECK(job.at("errors").at(0).at("message") == "it broke");
    auto second = q.run_json({"list", "--limit", "2", "--after", ids[1]});
    CHECK(page_ids(second) == std::vector<std::string>{ids[2], ids[3]});

    // The next page's command names the same database and schema.
    auto text = q.run({"list", "--limit", "2"});
    const auto next = gqs::test::lines(text.out).back();
    CHECK(next.rfind("next page: gqs --db ", 0) == 0);
    if (printable(q.schema.conninfo())) CHECK(contains(next, q.schema.conninfo()));
    CHECK(contains(next, " --schema " + q.schema.name() + " list --limit 2 --after " + ids[1]));

    SECTION("--status and --queue filter") {
        auto only_dead = q.run_json({"list", "--status", "dead"});
        CHECK(page_ids(only_dead) == std::vector<std::string>{ids[0]});
        auto only_mail = q.run_json({"list", "--queue", "emails"});
        CHECK(page_ids(only_mail) == std::vector<std::string>{mail.id.to_string()});
        CHECK(only_mail.at("jobs").at(0).at("priority") == 5);
    }
    SECTION("an empty result says so") {
        auto none = q.run({"list", "--status", "processing"});
        CHECK(none.status == 0);
        CHECK(gqs::test::lines(none.out) == std::vector<std::string>{"no processing jobs"});
    }
}

TEST_CASE("cli postgres: get shows every field and the payload safely", "[cli][postgres]") {
    PgCliQueue q;
    SECTION("a text payload and its metadata") {
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
        CHECK(contains(r.out, R"({"kind":"mail"})"));
        CHECK(contains(r.out, "hello\nworld\n"));

        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("id") == m.id.to_string());
        CHECK(doc.at("status") == "pending");
        CHECK(doc.at("metadata").at("kind") == "mail");
        CHECK(doc.at("payload_encoding") == "utf8");
        CHECK(doc.at("payload") == "hello\nworld");
    }
    SECTION("a binary payload in hex and base64") {
        const std::string bytes("\x1b[2J\x00\xff", 6);
        auto m = q.push(bytes);
        auto r = q.run({"get", m.id.to_string()});
        REQUIRE(r.status == 0);
        CHECK(contains(r.out, "1b 5b 32 4a 00 ff"));
        CHECK(!contains(r.out, "\x1b"));
        auto doc = q.run_json({"get", m.id.to_string()});
        CHECK(doc.at("payload_encoding") == "base64");
        CHECK(doc.at("payload") == "G1sySgD/");
    }
    SECTION("a dead job's error history and a leased job's lease") {
        auto dead = q.dead_job("out of paper");
        auto doc = q.run_json({"get", dead.id.to_string()});
        CHECK(doc.at("status") == "dead");
        REQUIRE(doc.at("errors").size() == 1);
        CHECK(doc.at("errors").at(0).at("message") == "out of paper");
        CHECK(doc.at("errors").at(0).at("attempt") == 1);
        auto text = q.run({"get", dead.id.to_string()});
        CHECK(contains(text.out, "attempt 1  out of paper"));

        auto leased = q.push();
        (void)q.pull();
        auto lease = q.run_json({"get", leased.id.to_string()});
        CHECK(lease.at("status") == "processing");
        CHECK(lease.at("attempts") == 1);
        CHECK(lease.at("locked_until").is_string());
    }
    SECTION("an unknown id fails") {
        const std::string unknown = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";
        for (const char* command : {"get", "retry", "kill", "delete"}) {
            INFO(command);
            check_failure(q.run({command, unknown}), failed, "no job " + unknown);
        }
    }
}

TEST_CASE("cli postgres: get and list show a row whose metadata another program nested deep",
          "[cli][postgres]") {
    PgCliQueue q;
    auto m = q.push("deep");
    // The server's jsonb parser recurses too: 40,000 levels need a superuser's larger
    // max_stack_depth, otherwise 10,000. The tool crashed from about 50,000 levels (the
    // SQLite test has 100,000); here it must show the row as its raw text.
    const auto store = [&](std::size_t levels, const std::string& first) {
        const std::string deep = std::string(levels, '[') + "1" + std::string(levels, ']');
        q.schema.exec(first + "UPDATE \"" + q.schema.name() + "\".jobs SET metadata = '" + deep +
                      "'");
        return deep;
    };
    std::string deep;
    try {
        deep = store(40000, "SET max_stack_depth = '7680kB'; ");
    } catch (const std::runtime_error&) {
        deep = store(10000, "");
    }
    gqs::test::check_shows_raw_metadata(q, m.id, deep);
}

TEST_CASE("cli postgres: retry brings dead jobs back", "[cli][postgres]") {
    PgCliQueue q;
    auto one = q.dead_job();
    SECTION("one job with a delay") {
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
        check_failure(q.run({"retry", pending.id.to_string()}), failed, "pending");
        CHECK(q.get(pending.id)->status == Status::Pending);
    }
}

TEST_CASE("cli postgres: kill sends a pending job to dead and flags a running one",
          "[cli][postgres]") {
    PgCliQueue q;
    auto m = q.push();
    auto r = q.run({"kill", m.id.to_string()});
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(gqs::test::lines(r.out) ==
          std::vector<std::string>{"killed " + m.id.to_string() + " (pending -> dead)"});
    CHECK(q.get(m.id)->status == Status::Dead);
    check_failure(q.run({"kill", m.id.to_string()}), failed, "is dead");

    auto leased = q.push();
    (void)q.pull();
    auto doc = q.run_json({"kill", leased.id.to_string()});
    CHECK(doc.at("cancel_requested") == leased.id.to_string());
    CHECK(q.get(leased.id)->status == Status::Processing);
    CHECK(q.get(leased.id)->cancel_requested);
}

TEST_CASE("cli postgres: delete removes a job that is not processing", "[cli][postgres]") {
    PgCliQueue q;
    auto m = q.push();
    auto doc = q.run_json({"delete", m.id.to_string()});
    CHECK(doc.at("deleted") == m.id.to_string());
    CHECK(!q.get(m.id).has_value());

    auto leased = q.push();
    (void)q.pull();
    auto r = q.run({"delete", leased.id.to_string()});
    CHECK(r.status == failed);
    CHECK(q.get(leased.id).has_value());

    auto text = q.run({"delete", q.push().id.to_string()});
    CHECK(text.status == 0);
    CHECK(contains(text.out, "deleted "));
}

TEST_CASE("cli postgres: clean deletes finished jobs", "[cli][postgres]") {
    PgCliQueue q;
    q.push();
    auto done = q.pull();
    gqs::postgres::Puller(q.db).complete(done);
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

TEST_CASE("cli postgres: --schema picks the queue and GQS_SCHEMA stands in for it",
          "[cli][postgres]") {
    PgCliQueue a;
    PgCliQueue b;
    auto in_a = a.push("in a");
    auto from_b = b.run({"get", in_a.id.to_string()});
    CHECK(from_b.status == failed); // b's schema does not hold a's job

    CliInput env;
    env.env.push_back("GQS_SCHEMA=" + a.schema.name());
    auto r = gqs::test::run_cli(
        a.tmp.dir(), {"--db", a.schema.conninfo(), "--json", "get", in_a.id.to_string()}, env);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.out).at("id") == in_a.id.to_string());
    // --schema wins over GQS_SCHEMA; --db and --schema may follow the command.
    auto explicit_b = gqs::test::run_cli(
        a.tmp.dir(), {"stats", "--json", "--db", b.schema.conninfo(), "--schema", b.schema.name()},
        env);
    REQUIRE(explicit_b.status == 0);
    CHECK(json::parse(explicit_b.out).at("total") == 0);
}

TEST_CASE("cli postgres: a schema that is not a current gqs queue is refused and left alone",
          "[cli][postgres]") {
    PgSchema s;
    gqs::test::TempDb tmp;
    SECTION("another program's jobs table") {
        s.exec("CREATE SCHEMA \"" + s.name() + "\"; CREATE TABLE \"" + s.name() +
               "\".jobs (name text); INSERT INTO \"" + s.name() + "\".jobs VALUES ('payroll')");
        // Every command says what init would say (not "run init"), and how to go elsewhere.
        for (const char* command : {"stats", "init"}) {
            INFO(command);
            auto r = run_in(s, tmp, {command});
            check_failure(r, failed, "has a `jobs` table that is not gqs's");
            CHECK(r.err.find("--schema NAME") != std::string::npos);
            CHECK(r.err.find("run `gqs") == std::string::npos);
        }
        CHECK(s.exec("SELECT count(*) FROM \"" + s.name() + "\".jobs") == "1");
    }
    SECTION("a newer schema version") {
        gqs::postgres::init_db(*open(s));
        s.exec("UPDATE \"" + s.name() + "\".gqs_schema SET version = 99");
        for (const char* command : {"stats", "list"}) {
            INFO(command);
            auto r = run_in(s, tmp, {command});
            check_failure(r, failed,
                          "has gqs schema version 99, newer than this gqs (" +
                              std::to_string(gqs::postgres::schema_version) + "); use a newer gqs");
            CHECK(r.err.rfind("gqs: error: schema " + s.name() + " at ", 0) == 0);
        }
    }
    SECTION("bad --schema values are usage errors") {
        for (const auto& [schema, fragment] : std::vector<std::pair<std::string, std::string>>{
                 {"", "--schema: must not be empty"},
                 {std::string(64, 's'), "PostgreSQL names hold at most 63"}}) {
            check_failure(
                gqs::test::run_cli(tmp.dir(), {"--db", s.conninfo(), "--schema", schema, "stats"}),
                usage, fragment);
        }
    }
}

TEST_CASE("cli postgres: the password in --db is never printed", "[cli][postgres]") {
    PgSchema s;
    gqs::test::TempDb tmp;
    // The server's real password if the conninfo or PGPASSWORD has one (it must still
    // connect), else one the server ignores.
    auto parts = conninfo_parts(s.conninfo());
    std::string secret = "gqs-cli-secret-" + std::to_string(std::random_device{}() % 1000000);
    std::string with_password = s.conninfo();
    if (parts.count("password") > 0) {
        secret = parts["password"];
    } else {
        if (const char* env = std::getenv("PGPASSWORD"); env != nullptr && *env != '\0')
            secret = env;
        with_password += " password='" + secret + "'";
    }
    INFO("the secret: " << secret);
    auto run = [&](const std::string& db, std::vector<std::string> args) {
        args.insert(args.begin(), {"--db", db, "--schema", s.name()});
        auto r = gqs::test::run_cli(tmp.dir(), args);
        INFO("stdout: " << r.out << "\nstderr: " << r.err);
        CHECK(!contains(r.out, secret));
        CHECK(!contains(r.err, secret));
        return r;
    };

    SECTION("a conninfo string") {
        check_failure(run(with_password, {"stats"}), failed, "holds no gqs queue yet");
        auto init = run(with_password, {"init"});
        REQUIRE(init.status == 0);
        CHECK(contains(init.out, "initialised schema " + s.name()));
        auto doc = json::parse(run(with_password, {"--json", "init"}).out);
        CHECK(!contains(doc.at("db").get<std::string>(), "password"));
        for (int i = 0; i < 2; ++i)
            REQUIRE(run(with_password, {"push", "--payload", "x"}).status == 0);
        auto page = run(with_password, {"list", "--limit", "1"});
        REQUIRE(page.status == 0);
        CHECK(contains(gqs::test::lines(page.out).back(), "next page: gqs --db "));
    }
    SECTION("a URI with user:password") {
        std::string uri = "postgresql://" + uri_encode(parts["user"]) + ":" + uri_encode(secret) +
                          "@/" + uri_encode(parts["dbname"]);
        std::string query;
        for (const char* key : {"host", "port"}) {
            if (parts.count(key) > 0)
                query +=
                    (query.empty() ? "?" : "&") + std::string(key) + "=" + uri_encode(parts[key]);
        }
        uri += query;
        auto init = run(uri, {"init"});
        INFO(init.err);
        REQUIRE(init.status == 0);
        CHECK(contains(init.out, "postgresql://" + uri_encode(parts["user"]) + "@/"));
        // A password in the query string is left out too.
        const std::string password_param = (query.empty() ? "?" : "&") + std::string("password=");
        auto doc =
            json::parse(run(uri + password_param + uri_encode(secret), {"--json", "stats"}).out);
        CHECK(doc.at("total") == 0);
    }
    SECTION("errors from libpq") {
        // No server there: libpq's message names the socket, never the password.
        auto r = run("host=/nonexistent/gqs-cli dbname=nope password=" + secret, {"stats"});
        check_failure(r, failed, "connecting");
        // libpq quotes a malformed URI part as written: the CLI masks it.
        auto bad =
            run("postgresql://u:%zz" + secret + "@/nope?host=/nonexistent/gqs-cli", {"stats"});
        CHECK(bad.status == failed);
        CHECK(!contains(bad.err, "%zz"));
        // A conninfo string libpq cannot parse is refused before libpq sees it.
        check_failure(run("host=/nonexistent/gqs-cli password=two words" + secret, {"stats"}),
                      usage, "cannot parse this conninfo string");
    }
}

TEST_CASE("cli postgres: a server that never answers fails the command instead of hanging",
          "[cli][postgres][timeout]") {
    (void)gqs::test::postgres_or_skip();
    gqs::test::TempDb tmp;
    gqs::test::SilentServer server;
    CliResult r;
    // The default connect_timeout (10 s) ends it; without one it would wait forever, so the
    // test gives up after 90 s by resetting the connection (then the message differs).
    const bool ended = gqs::test::ends_within(
        std::chrono::seconds(90),
        [&] {
            r = gqs::test::run_cli(tmp.dir(), {"--db", server.conninfo(), "stats"});
        },
        [&] { server.close(); });
    INFO(r.err);
    CHECK(ended);
    CHECK(r.status == failed);
    CHECK(contains(r.err, "connect_timeout"));
}
