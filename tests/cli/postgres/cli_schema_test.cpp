// SPDX-License-Identifier: Apache-2.0
// The gqs tool on what only PostgreSQL has: schemas (--schema, GQS_SCHEMA), passwords in
// --db, a server that never answers (GQS_TEST_POSTGRES; each test in its own schema).
#include "support/catch.hpp"
#include "support/postgres_queue.hpp"
#include "support/postgres_schema.hpp"
#include "support/silent_server.hpp"

#include "cli/cli_queue.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

using gqs::test::check_failure;
using gqs::test::CliInput;
using gqs::test::CliResult;
using gqs::test::contains;
using gqs::test::PgSchema;
using nlohmann::json;

namespace {

constexpr int failed = gqs::test::cli_failed;
constexpr int usage = gqs::test::cli_usage;

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
    for (const char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
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

// The schema of a CliQueue (the PostgreSQL factory's --schema).
std::string schema_of(const gqs::test::CliQueue& q) { return q.backend->db_options().at(1); }

} // namespace

TEST_CASE("cli: init creates the queue in its own schema and can run again", "[cli][postgres]") {
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
    if (gqs::test::conninfo_printed_as_given(s.conninfo()))
        CHECK(contains(line, " at " + s.conninfo() + " ("));
    CHECK(namespaces() == "1");
    auto again = run_in(s, tmp, {"init"});
    CHECK(again.status == 0);

    auto doc = json::parse(run_in(s, tmp, {"--json", "init"}).out);
    CHECK(doc.at("schema_version") == gqs::postgres::schema_version);
    CHECK(doc.at("schema") == s.name());
    CHECK(doc.at("db").is_string());

    auto db = open(s);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(gqs::postgres::Observer(db).list(std::nullopt, 0).empty());
    auto stats = json::parse(run_in(s, tmp, {"--json", "stats"}).out);
    CHECK(stats.at("total") == 0);
}

TEST_CASE("cli: --schema picks the queue and GQS_SCHEMA stands in for it", "[cli][postgres]") {
    gqs::test::CliQueue a;
    gqs::test::CliQueue b;
    auto in_a = a.push("in a");
    auto from_b = b.run({"get", in_a.id.to_string()});
    CHECK(from_b.status == failed); // b's schema does not hold a's job

    CliInput env;
    env.env.push_back("GQS_SCHEMA=" + schema_of(a));
    auto r = gqs::test::run_cli(
        a.files.dir(), {"--db", a.backend->db(), "--json", "get", in_a.id.to_string()}, env);
    INFO(r.err);
    REQUIRE(r.status == 0);
    CHECK(json::parse(r.out).at("id") == in_a.id.to_string());
    // --schema wins over GQS_SCHEMA; --db and --schema may follow the command.
    auto explicit_b = gqs::test::run_cli(
        a.files.dir(), {"stats", "--json", "--db", b.backend->db(), "--schema", schema_of(b)}, env);
    REQUIRE(explicit_b.status == 0);
    CHECK(json::parse(explicit_b.out).at("total") == 0);
}

TEST_CASE("cli: a schema that is not a current gqs queue is refused and left alone",
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
            // cli_errors_test.cpp checks the rest of the message on every backend.
            check_failure(r, failed, "has gqs schema version 99, newer than this gqs");
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

TEST_CASE("cli: the password in --db is never printed", "[cli][postgres]") {
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

TEST_CASE("cli: a server that never answers fails the command instead of hanging",
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

TEST_CASE("cli: --pooler runs every command through a transaction-mode pooler", "[cli][postgres]") {
    PgSchema s;
    const std::string pooler = gqs::test::pooler_or_skip();
    gqs::test::TempDb tmp;
    auto run = [&](std::vector<std::string> args, const CliInput& input = {}) {
        args.insert(args.begin(), {"--db", pooler, "--schema", s.name()});
        auto r = gqs::test::run_cli(tmp.dir(), args, input);
        INFO(r.err);
        CHECK(r.status == 0);
        return r;
    };
    run({"--pooler", "init"});
    for (int i = 0; i < 3; ++i)
        run({"--pooler", "push", "--payload", "x"});
    CHECK(json::parse(run({"--pooler", "--json", "stats"}).out).at("total") == 3);
    CliInput by_env;
    by_env.env = {"GQS_POOLER=1"};
    CHECK(gqs::test::lines(run({"list"}, by_env).out).size() >= 3);
    // The schedule commands too: each is a few statements, none prepared.
    run({"--pooler", "schedule", "add", "nightly", "@daily", "--queue", "q", "--zone",
         "Europe/Berlin"});
    run({"--pooler", "schedule", "pause", "nightly"});
    run({"--pooler", "schedule", "resume", "nightly"});
    CHECK(json::parse(run({"--pooler", "--json", "schedule", "list"}).out).size() == 1);
    CHECK(json::parse(run({"--pooler", "--json", "schedule", "run", "nightly"}).out)
              .at("duplicate") == false);
    run({"--pooler", "schedule", "remove", "nightly"});
    // And the queue commands.
    run({"--pooler", "queue", "limits", "q", "--max-running", "3", "--rate", "0.5"});
    run({"--pooler", "queue", "pause", "q"});
    run({"--pooler", "queue", "resume", "q"});
    CHECK(json::parse(run({"--pooler", "--json", "queue", "list"}).out).at(0).at("max_running") ==
          3);
    CHECK(json::parse(run({"--pooler", "--json", "queue", "clear", "q"}).out).at("cleared") ==
          true);

    // --pooler is for PostgreSQL.
    check_failure(gqs::test::run_cli(tmp.dir(), {"--db", tmp.path().string(), "--pooler", "stats"}),
                  usage, "--pooler is for a PostgreSQL queue");
}
