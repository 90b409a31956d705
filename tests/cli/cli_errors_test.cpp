// SPDX-License-Identifier: Apache-2.0
// The gqs tool's failures: non-zero exit, one line on stderr, storage left as it was.
#include "support/catch.hpp"

#include "cli_runner.hpp"

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Database.h>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using gqs::test::CliResult;

namespace {

constexpr int failed = 1;
constexpr int usage = 2;
const std::string unknown_id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";

CliResult run_on(const gqs::test::TempDb& tmp, std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", tmp.path().string()});
    return gqs::test::run_cli(tmp.dir(), args);
}

// The contract of every failure: the exit status, nothing on stdout, exactly one line on
// stderr that starts with "gqs: error: " and says what went wrong.
void check_failure(const CliResult& r, int status, const std::string& fragment) {
    INFO("stdout: " << r.out);
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("gqs: error: ", 0) == 0);
    CHECK(r.err.find(fragment) != std::string::npos);
    REQUIRE(!r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(r.err.find('\n') == r.err.size() - 1);
}

struct InitialisedDb {
    gqs::test::TempDb tmp;
    std::shared_ptr<gqs::sqlite::Connection> db;
    InitialisedDb() {
        db = gqs::sqlite::Connection::open(tmp.path());
        gqs::sqlite::init_db(*db);
    }
    [[nodiscard]] std::size_t count() {
        return gqs::sqlite::Observer(db).list(gqs::Status::Unknown, 0).size();
    }
};

} // namespace

TEST_CASE("cli: an unknown job id fails", "[cli]") {
    InitialisedDb q;
    for (const char* command : {"get", "retry", "kill", "delete"}) {
        INFO(command);
        check_failure(run_on(q.tmp, {command, unknown_id}), failed, "no job " + unknown_id);
    }
    check_failure(run_on(q.tmp, {"list", "--after", unknown_id}), failed, "no job");
}

TEST_CASE("cli: bad arguments are usage errors and change nothing", "[cli]") {
    InitialisedDb q;
    SECTION("a malformed id") {
        check_failure(run_on(q.tmp, {"get", "not-a-uuid"}), usage, "bad job id 'not-a-uuid'");
        check_failure(run_on(q.tmp, {"kill", "1234"}), usage, "bad job id");
    }
    SECTION("a bad status name") {
        check_failure(run_on(q.tmp, {"list", "--status", "stuck"}), usage,
                      "unknown status 'stuck'");
        check_failure(run_on(q.tmp, {"clean", "--status", "pending"}), usage,
                      "clean takes done, dead or all");
    }
    SECTION("a bad duration") {
        for (const char* bad : {"5", "5x", "-5s", "1.5h", "m", "99999999999x", ""}) {
            INFO(bad);
            check_failure(run_on(q.tmp, {"push", "--payload", "x", "--delay", bad}), usage,
                          "--delay: bad duration");
        }
        check_failure(run_on(q.tmp, {"retry", "--all-dead", "--delay", "soon"}), usage,
                      "bad duration 'soon'");
        check_failure(run_on(q.tmp, {"clean", "--older-than", "1y"}), usage,
                      "--older-than: bad duration '1y'");
    }
    SECTION("a duration over the CLI's limit says what the limit is") {
        for (const char* long_one : {"36501d", "99999999999d", "99999999999999999999999ms"}) {
            INFO(long_one);
            check_failure(run_on(q.tmp, {"push", "--payload", "x", "--delay", long_one}), usage,
                          "is longer than the most the CLI accepts, 36500d (100 years)");
        }
        check_failure(run_on(q.tmp, {"clean", "--older-than", "876001h"}), usage,
                      "--older-than: '876001h' is longer than the most");
    }
    SECTION("metadata that is not JSON") {
        check_failure(run_on(q.tmp, {"push", "--payload", "x", "--metadata", "{oops"}), usage,
                      "--metadata is not valid JSON");
        // Valid syntax, but no double holds the number.
        check_failure(run_on(q.tmp, {"push", "--payload", "x", "--metadata", R"({"n":1e400})"}),
                      usage, "--metadata is not valid JSON: number overflow");
    }
    SECTION("metadata nested deeper than gqs stores") {
        for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{20000}}) {
            INFO(levels << " levels");
            const std::string deep = std::string(levels, '[') + std::string(levels, ']');
            check_failure(run_on(q.tmp, {"push", "--payload", "x", "--metadata", deep}), usage,
                          "--metadata nests arrays and objects deeper than 128 levels");
        }
    }
    SECTION("metadata with a NUL character, refused on every backend") {
        check_failure(run_on(q.tmp, {"push", "--payload", "x", "--metadata", R"({"a":"\u0000"})"}),
                      usage, "holds a NUL character");
    }
    SECTION("push without exactly one payload source") {
        check_failure(run_on(q.tmp, {"push"}), usage, "exactly one of");
        check_failure(run_on(q.tmp, {"push", "--payload", "x", "--stdin"}), usage, "--stdin");
        check_failure(run_on(q.tmp, {"push", "--stdin", "--id", unknown_id}), usage, "--id");
    }
    SECTION("retry without a target") {
        check_failure(run_on(q.tmp, {"retry"}), usage, "--all-dead");
    }
    SECTION("an unknown command or option") {
        check_failure(run_on(q.tmp, {"frobnicate"}), usage, "unknown command 'frobnicate'");
        check_failure(run_on(q.tmp, {"list", "--colour"}), usage, "--colour");
        check_failure(run_on(q.tmp, {"list", "--limit", "-1"}), usage, "--limit");
    }
    SECTION("no --db") { check_failure(gqs::test::run_cli(q.tmp.dir(), {"stats"}), usage, "--db"); }
    CHECK(q.count() == 0);
}

TEST_CASE("cli: a payload file that cannot be read fails and stores nothing", "[cli]") {
    InitialisedDb q;
    SECTION("a missing file") {
        check_failure(run_on(q.tmp, {"push", "--payload-file", (q.tmp.dir() / "nope").string()}),
                      failed, "cannot read");
    }
    SECTION("a directory") {
        // It opens as a stream that reads nothing: an empty payload would be stored.
        check_failure(run_on(q.tmp, {"push", "--payload-file", q.tmp.dir().string()}), failed,
                      "it is a directory");
    }
    CHECK(q.count() == 0);
}

TEST_CASE("cli: a missing file is an error, created only by init", "[cli]") {
    gqs::test::TempDb tmp;
    const std::vector<std::vector<std::string>> commands = {{"stats"},
                                                            {"list"},
                                                            {"get", unknown_id},
                                                            {"push", "--payload", "x"},
                                                            {"retry", "--all-dead"},
                                                            {"kill", unknown_id},
                                                            {"delete", unknown_id},
                                                            {"clean"}};
    for (const auto& command : commands) {
        INFO(command.front());
        check_failure(run_on(tmp, command), failed, "does not exist (run `gqs --db ");
        CHECK(!std::filesystem::exists(tmp.path()));
    }
    auto init = run_on(tmp, {"init"});
    CHECK(init.status == 0);
    CHECK(std::filesystem::exists(tmp.path()));
}

TEST_CASE("cli: a file that is not a gqs database is refused and left alone", "[cli]") {
    gqs::test::TempDb tmp;
    SECTION("a text file") {
        std::ofstream(tmp.path()) << "just some text\n";
        check_failure(run_on(tmp, {"stats"}), failed, "is not a gqs database");
        check_failure(run_on(tmp, {"init"}), failed, "is not a gqs database");
        CHECK(gqs::test::read_file(tmp.path()) == "just some text\n");
    }
    SECTION("an empty SQLite database") {
        { SQLite::Database db(tmp.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE); }
        check_failure(run_on(tmp, {"list"}), failed,
                      "holds no gqs queue yet: it is an empty SQLite database (run `gqs --db");
        SQLite::Database db(tmp.path(), SQLite::OPEN_READONLY);
        CHECK(!db.tableExists("jobs"));
    }
    SECTION("another program's database with a jobs table") {
        {
            SQLite::Database db(tmp.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            db.exec("CREATE TABLE jobs (name TEXT, owner TEXT)");
            db.exec("INSERT INTO jobs VALUES ('payroll', 'alice')");
            db.exec("PRAGMA user_version = 1");
        }
        for (const char* command : {"stats", "list"}) {
            INFO(command);
            check_failure(run_on(tmp, {command}), failed,
                          "has a `jobs` table that is not gqs's (columns: name, owner)");
        }
        check_failure(run_on(tmp, {"push", "--payload", "x"}), failed, "not gqs's");
        check_failure(run_on(tmp, {"init"}), failed, "not gqs's");
        SQLite::Database db(tmp.path(), SQLite::OPEN_READONLY);
        CHECK(db.execAndGet("SELECT count(*) FROM jobs").getInt() == 1);
    }
    SECTION("a gqs database from a newer version") {
        {
            auto c = gqs::sqlite::Connection::open(tmp.path());
            gqs::sqlite::init_db(*c);
            c->with_database(
                [](SQLite::Database& db) { db.exec("UPDATE gqs_schema SET version = 99"); });
        }
        check_failure(run_on(tmp, {"stats"}), failed, "newer");
    }
    SECTION("another application's database") {
        {
            SQLite::Database db(tmp.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
            db.exec("CREATE TABLE users (name TEXT); CREATE TABLE orders (total INTEGER);"
                    "PRAGMA user_version = 7");
        }
        for (const char* command : {"stats", "list"}) {
            INFO(command);
            auto r = run_on(tmp, {command});
            check_failure(r, failed,
                          "holds no gqs queue; it is another application's SQLite database "
                          "(tables: orders, users)");
            CHECK(r.err.find("init") == std::string::npos); // not a damaged queue to repair
        }
        // The app may keep its queue in the same file: init adds it beside the app's tables.
        CHECK(run_on(tmp, {"init"}).status == 0);
        CHECK(run_on(tmp, {"stats"}).status == 0);
        SQLite::Database db(tmp.path(), SQLite::OPEN_READONLY);
        CHECK(db.execAndGet("PRAGMA user_version").getInt() == 7);
    }
}

TEST_CASE("cli: --schema is for PostgreSQL only", "[cli]") {
    InitialisedDb q;
    check_failure(run_on(q.tmp, {"stats", "--schema", "jobs"}), usage,
                  "--schema is for a PostgreSQL queue, and --db " + q.tmp.path().string() +
                      " names a SQLite file");
    // GQS_SCHEMA, set for PostgreSQL work, does not get in a SQLite file's way.
    gqs::test::CliInput env;
    env.env.push_back("GQS_SCHEMA=jobs");
    auto r = gqs::test::run_cli(q.tmp.dir(), {"--db", q.tmp.path().string(), "stats"}, env);
    INFO(r.err);
    CHECK(r.status == 0);
}

#ifndef GQS_CLI_HAS_POSTGRES
TEST_CASE("cli: a PostgreSQL --db fails clearly when gqs is built without PostgreSQL", "[cli]") {
    gqs::test::TempDb tmp;
    for (const char* db : {"postgresql://app@db.example/jobs", "postgres://db.example/jobs",
                           "host=/run/postgresql dbname=jobs"}) {
        INFO(db);
        check_failure(gqs::test::run_cli(tmp.dir(), {"--db", db, "stats"}), failed,
                      "this gqs was built without PostgreSQL support");
        check_failure(gqs::test::run_cli(tmp.dir(), {"--db", db, "init"}), failed,
                      "built without PostgreSQL support");
    }
}
#endif
