// SPDX-License-Identifier: Apache-2.0
// The gqs tool on what only SQLite has: files, other programs' SQLite databases, '=' in a path.
#include "support/catch.hpp"

#include "support/sqlite_queue.hpp"

#include "cli/cli_queue.hpp"

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Database.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using gqs::test::check_failure;
using gqs::test::CliResult;
using gqs::test::contains;
using nlohmann::json;

namespace {

constexpr int failed = gqs::test::cli_failed;
constexpr int usage = gqs::test::cli_usage;
constexpr const char* unknown_id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";

CliResult run_on(const gqs::test::TempDb& tmp, std::vector<std::string> args) {
    args.insert(args.begin(), {"--db", tmp.path().string()});
    return gqs::test::run_cli(tmp.dir(), args);
}

} // namespace

TEST_CASE("cli: init creates a gqs database file and can run again", "[cli]") {
    gqs::test::TempDb tmp;
    auto first = run_on(tmp, {"init"});
    INFO(first.err);
    REQUIRE(first.status == 0);
    CHECK(std::filesystem::exists(tmp.path()));
    CHECK(contains(first.out, "initialised"));
    CHECK(first.err.empty());

    auto again = run_on(tmp, {"init"});
    CHECK(again.status == 0);

    auto connection = gqs::sqlite::Connection::open(tmp.path());
    CHECK(gqs::sqlite::Observer(connection).list(std::nullopt, 0).empty());

    auto doc = json::parse(run_on(tmp, {"--json", "init"}).out);
    CHECK(doc.at("schema_version") == gqs::sqlite::schema_version);
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
                                                            {"clean"},
                                                            {"schedule", "list"},
                                                            {"schedule", "run", "x"},
                                                            {"queue", "list"},
                                                            {"queue", "limits", "q"},
                                                            {"queue", "clear", "q"}};
    for (const auto& command : commands) {
        INFO(command.front());
        check_failure(run_on(tmp, command), failed, "does not exist (run `gqs --db ");
        CHECK(!std::filesystem::exists(tmp.path()));
    }
    // Help names no file and creates none.
    CHECK(run_on(tmp, {"stats", "--help"}).status == 0);
    CHECK(!std::filesystem::exists(tmp.path()));
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
    gqs::test::SqliteQueue q;
    check_failure(run_on(q.tmp, {"stats", "--schema", "jobs"}), usage,
                  "--schema is for a PostgreSQL queue, and --db " + q.tmp.path().string() +
                      " names a SQLite file");
    // GQS_SCHEMA, set for PostgreSQL work, does not get in a SQLite file's way.
    gqs::test::CliInput env;
    env.env.emplace_back("GQS_SCHEMA=jobs");
    auto r = gqs::test::run_cli(q.tmp.dir(), {"--db", q.tmp.path().string(), "stats"}, env);
    INFO(r.err);
    CHECK(r.status == 0);
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

TEST_CASE("cli: schedule commands on an old schema say that init upgrades it", "[cli]") {
    gqs::test::TempDb tmp;
    // Made by gqs 0.1.0 (schema version 1): no gqs_schedules table.
    std::filesystem::copy_file(std::filesystem::path(GQS_TEST_FIXTURES) / "gqs-0.1.0.db",
                               tmp.path());
    check_failure(run_on(tmp, {"schedule", "list"}), failed,
                  "has gqs schema version 1, which has no schedules: `gqs --db ");
    check_failure(run_on(tmp, {"schedule", "add", "x", "@daily", "--queue", "q"}), failed,
                  "init` upgrades it to version " + std::to_string(gqs::sqlite::schema_version) +
                      " in place, keeping every job");

    auto init = run_on(tmp, {"init"});
    INFO(init.err);
    REQUIRE(init.status == 0);
    auto list = run_on(tmp, {"schedule", "list"});
    CHECK(list.status == 0);
    CHECK(list.out == "no schedules\n");
}

TEST_CASE("cli: queue commands on an old schema say that init upgrades it", "[cli]") {
    gqs::test::TempDb tmp;
    // Made by gqs 0.1.0 (schema version 1): no gqs_queues table.
    std::filesystem::copy_file(std::filesystem::path(GQS_TEST_FIXTURES) / "gqs-0.1.0.db",
                               tmp.path());
    check_failure(run_on(tmp, {"queue", "list"}), failed,
                  "has gqs schema version 1, which has no queue limits: `gqs --db ");
    check_failure(run_on(tmp, {"queue", "limits", "q", "--max-running", "2"}), failed,
                  "init` upgrades it to version " + std::to_string(gqs::sqlite::schema_version) +
                      " in place, keeping every job");
    check_failure(run_on(tmp, {"queue", "pause", "q"}), failed, "which has no queue limits");

    auto init = run_on(tmp, {"init"});
    INFO(init.err);
    REQUIRE(init.status == 0);
    auto list = run_on(tmp, {"queue", "list"});
    CHECK(list.status == 0);
    CHECK(list.out == "no queue limits\n");
}

TEST_CASE("cli: queue commands on a version-5 file say that init adds fair share", "[cli]") {
    gqs::test::TempDb tmp;
    {
        // A version-5 file: this build's, without what version 6 added.
        auto db = gqs::sqlite::Connection::open(tmp.path());
        gqs::sqlite::init_db(*db);
        gqs::test::exec(*db, "ALTER TABLE gqs_queues DROP COLUMN fair_share; "
                             "ALTER TABLE gqs_queues DROP COLUMN rr_group; "
                             "ALTER TABLE gqs_queues DROP COLUMN rr_used; "
                             "DROP INDEX jobs_ready_group; UPDATE gqs_schema SET version = 5");
    }
    check_failure(run_on(tmp, {"queue", "list"}), failed,
                  "has gqs schema version 5, whose queue limits have no fair share: `gqs --db ");
    check_failure(run_on(tmp, {"queue", "limits", "q"}), failed,
                  "init` upgrades it to version " + std::to_string(gqs::sqlite::schema_version) +
                      " in place, keeping every job");
    // The metrics still print, without the limits' gauges.
    auto metrics = run_on(tmp, {"stats", "--prometheus"});
    INFO(metrics.err);
    CHECK(metrics.status == 0);
    CHECK(metrics.out.find("# TYPE gqs_jobs gauge") != std::string::npos);
    CHECK(metrics.out.find("gqs_queue_limit{") == std::string::npos);
    REQUIRE(run_on(tmp, {"init"}).status == 0);
    auto list = run_on(tmp, {"queue", "list"});
    CHECK(list.status == 0);
    CHECK(list.out == "no queue limits\n");
}
