// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL backend's connection and init_db, against the server scripts/test.sh starts.
#include "support/catch.hpp"
#include "support/postgres_schema.hpp"

#include <gqs/postgres.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using gqs::test::PgSchema;

namespace {

std::shared_ptr<gqs::postgres::Connection> open(const PgSchema& s) {
    gqs::postgres::Options options;
    options.schema = s.name();
    return gqs::postgres::Connection::open(s.conninfo(), options);
}

// SQL that takes back what version 5 added to the jobs table of schema `q` (quoted): the
// two key columns, and with them their CHECKs.
std::string drop_v5_columns(const std::string& q) {
    std::string sql = "ALTER TABLE ";
    sql += q;
    sql += ".jobs DROP COLUMN concurrency_key, DROP COLUMN job_group";
    return sql;
}

// SQL that takes back what version 6 added to gqs_queues (the fair-share switch and turn);
// the jobs' group index goes with drop_v5_columns' job_group, or with drop_v6_index.
std::string drop_v6_columns(const std::string& q) {
    return "ALTER TABLE " + q +
           ".gqs_queues DROP COLUMN fair_share, DROP COLUMN rr_group, DROP COLUMN rr_used";
}
std::string drop_v6_index(const std::string& q) { return "DROP INDEX " + q + ".jobs_ready_group"; }

} // namespace

TEST_CASE("postgres: open refuses a server that is not there, naming the failure", "[postgres]") {
    PgSchema s; // skips without a server
    try {
        (void)gqs::postgres::Connection::open("host=/nonexistent/gqs dbname=nope");
        FAIL("open did not throw");
    } catch (const gqs::StorageError& e) {
        CHECK(e.kind() == gqs::StorageErrorKind::ConnectionLost);
        CHECK(std::string(e.what()).find("connecting") != std::string::npos);
    }
    gqs::postgres::Options empty;
    empty.schema = "";
    CHECK_THROWS_AS(gqs::postgres::Connection::open(s.conninfo(), empty), std::invalid_argument);
    gqs::postgres::Options longest{.schema = std::string(63, 's')};
    CHECK_NOTHROW(gqs::postgres::Connection::open(s.conninfo(), longest));
    gqs::postgres::Options too_long{.schema = std::string(64, 's')};
    CHECK_THROWS_AS(gqs::postgres::Connection::open(s.conninfo(), too_long), std::invalid_argument);
}

TEST_CASE("postgres: init_db creates the schema, the table, its indexes and the version",
          "[postgres][schema]") {
    PgSchema s;
    auto db = open(s);
    CHECK(gqs::postgres::stored_schema_version(*db) == 0);
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    const std::string q = "'\"" + s.name() + "\".jobs'";
    CHECK(s.exec("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_index i JOIN "
                 "pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = " +
                 q + "::regclass") ==
          "jobs_finished,jobs_leased,jobs_pkey,jobs_ready,jobs_ready_group,jobs_ready_queue,"
          "jobs_unique_key");
    CHECK(s.exec("SELECT pg_get_indexdef(('\"" + s.name() + "\".jobs_ready')::regclass)")
              .find("WHERE (status = 1)") != std::string::npos);
    // The CHECKs refuse what the SQLite schema refuses.
    const std::string jobs = "\"" + s.name() + "\".jobs";
    const std::string insert = "INSERT INTO " + jobs +
                               " (id, created_at, updated_at, status, next_run_at, payload, queue,"
                               " priority) VALUES (gen_random_uuid(), now(), now(), 1, now(), '',";
    CHECK_NOTHROW(s.exec(insert + " 'q', 0)"));
    CHECK_THROWS(s.exec(insert + " '', 0)"));
    CHECK_THROWS(s.exec(insert + " 'q', 10)"));
}

TEST_CASE("postgres: init_db is idempotent, keeps rows and writes nothing the second time",
          "[postgres][schema]") {
    PgSchema s;
    auto db = open(s);
    gqs::postgres::init_db(*db);
    const std::string jobs = "\"" + s.name() + "\".jobs";
    s.exec("INSERT INTO " + jobs +
           " (id, created_at, updated_at, status, next_run_at, payload)"
           " VALUES (gen_random_uuid(), now(), now(), 1, now(), 'keep')");
    const auto xid_before = s.exec("SELECT xmin::text FROM \"" + s.name() + "\".gqs_schema");
    gqs::postgres::init_db(*db);
    gqs::postgres::init_db(*open(s));
    CHECK(s.exec("SELECT count(*) FROM " + jobs) == "1");
    // The version row was not rewritten.
    CHECK(s.exec("SELECT xmin::text FROM \"" + s.name() + "\".gqs_schema") == xid_before);
}

TEST_CASE("postgres: init_db from several connections at once: each succeeds",
          "[postgres][schema][concurrency]") {
    PgSchema s;
    constexpr int threads = 4;
    std::atomic<int> failures{0};
    std::atomic<int> ready{0};
    {
        std::vector<std::jthread> pool;
        for (int i = 0; i < threads; ++i)
            pool.emplace_back([&] {
                try {
                    auto db = open(s);
                    ++ready;
                    while (ready.load() < threads)
                        std::this_thread::yield();
                    gqs::postgres::init_db(*db);
                } catch (...) {
                    ++failures;
                }
            });
    }
    CHECK(failures.load() == 0);
    CHECK(gqs::postgres::stored_schema_version(*open(s)) == gqs::postgres::schema_version);
}

TEST_CASE("postgres: init_db refuses another program's tables and a newer version",
          "[postgres][schema]") {
    PgSchema s;
    s.exec("CREATE SCHEMA \"" + s.name() + "\"");
    SECTION("another program's jobs table") {
        s.exec("CREATE TABLE \"" + s.name() + "\".jobs (name text)");
        CHECK_THROWS_AS(gqs::postgres::init_db(*open(s)), gqs::SchemaMismatch);
        // Nothing was added beside it.
        CHECK(s.exec("SELECT count(*) FROM pg_tables WHERE schemaname = '" + s.name() + "'") ==
              "1");
    }
    SECTION("a newer gqs schema") {
        auto db = open(s);
        gqs::postgres::init_db(*db);
        s.exec("UPDATE \"" + s.name() + "\".gqs_schema SET version = 99");
        try {
            gqs::postgres::init_db(*db);
            FAIL("init_db accepted a newer schema");
        } catch (const gqs::SchemaMismatch& e) {
            CHECK(std::string(e.what()).find("newer than this build") != std::string::npos);
        }
    }
}

TEST_CASE("postgres: a call that finds its connection killed throws, and the next reconnects",
          "[postgres]") {
    PgSchema s;
    auto db = open(s);
    gqs::postgres::init_db(*db);
    REQUIRE(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    // The server ends the session (as an administrator or a restart would). An idle session's
    // last query names the schema, which tells it apart from other tests' sessions.
    CHECK(s.exec("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE pid <> "
                 "pg_backend_pid() AND query LIKE '%" +
                 s.name() + "%'") == "1");
    try {
        (void)gqs::postgres::stored_schema_version(*db);
        FAIL("the call on a killed connection did not throw");
    } catch (const gqs::StorageError& e) {
        CHECK(e.kind() == gqs::StorageErrorKind::ConnectionLost);
    }
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
}

TEST_CASE("postgres: init_db upgrades a version-2 schema to the current one keeping every job",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    {
        // A version-2 schema, as gqs 0.2.0 leaves it: the current tables without what
        // versions 3 to 5 added (gqs_schedules and its index, gqs_queues, the jobs' two key
        // columns).
        auto db = open(s);
        gqs::postgres::init_db(*db);
        s.exec(drop_v5_columns(q) + "; DROP TABLE " + q + ".gqs_schedules; DROP TABLE " + q +
               ".gqs_queues; UPDATE " + q + ".gqs_schema SET version = 2");
        for (int i = 0; i < 5; ++i)
            s.exec("INSERT INTO " + q +
                   ".jobs (id, created_at, updated_at, status, next_run_at, payload, queue)"
                   " VALUES (gen_random_uuid(), now(), now(), 1, now(), 'keep', 'old')");
    }
    auto db = open(s);
    REQUIRE(gqs::postgres::stored_schema_version(*db) == 2);
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(s.exec("SELECT count(*) FROM " + q + ".jobs WHERE payload = 'keep'") == "5");
    CHECK(s.exec("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + s.name() +
                 "' AND indexname = 'gqs_schedules_due'") == "1");
    // A second init_db writes nothing (the version row is not rewritten).
    const auto xid_before = s.exec("SELECT xmin::text FROM " + q + ".gqs_schema");
    gqs::postgres::init_db(*db);
    CHECK(s.exec("SELECT xmin::text FROM " + q + ".gqs_schema") == xid_before);
    // The schedules work, and the old jobs are still pulled.
    gqs::postgres::Schedules schedules(db);
    gqs::Schedule hourly;
    hourly.name = "hourly";
    hourly.cron = "@every 1h";
    schedules.put(hourly);
    s.exec("UPDATE " + q + ".gqs_schedules SET next_fire = next_fire - interval '1 hour'");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::postgres::Puller(db).pull(10, std::chrono::hours(1)).size() == 6);
}

TEST_CASE("postgres: init_db upgrades a version-3 schema to 5 keeping every job and schedule",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    const std::string schedule_rows =
        "SELECT string_agg(name || '|' || cron || '|' || zone || '|' || queue || '|' ||"
        " encode(payload, 'hex') || '|' || next_fire::text, ';' ORDER BY name) FROM " +
        q + ".gqs_schedules";
    {
        // A version-3 schema: the current tables without what versions 4 and 5 added
        // (gqs_queues, the jobs' two key columns), with jobs and a schedule.
        auto db = open(s);
        gqs::postgres::init_db(*db);
        gqs::Schedule hourly;
        hourly.name = "hourly";
        hourly.cron = "@every 1h";
        hourly.message.queue = "reports";
        hourly.message.payload = "from the schedule";
        gqs::postgres::Schedules(db).put(hourly);
        s.exec(drop_v5_columns(q) + "; DROP TABLE " + q + ".gqs_queues; UPDATE " + q +
               ".gqs_schema SET version = 3");
        for (int i = 0; i < 5; ++i)
            s.exec("INSERT INTO " + q +
                   ".jobs (id, created_at, updated_at, status, next_run_at, payload, queue)"
                   " VALUES (gen_random_uuid(), now(), now(), 1, now(), 'keep', 'old')");
    }
    const auto schedules_before = s.exec(schedule_rows);
    REQUIRE(schedules_before.find("hourly|@every 1h|UTC|reports|") == 0);
    auto db = open(s);
    REQUIRE(gqs::postgres::stored_schema_version(*db) == 3);
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(s.exec("SELECT count(*) FROM " + q + ".jobs WHERE payload = 'keep'") == "5");
    CHECK(s.exec(schedule_rows) == schedules_before);
    CHECK(s.exec("SELECT to_regclass('" + q + ".gqs_queues') IS NOT NULL") == "t");
    // A second init_db writes nothing (the version row is not rewritten).
    const auto xid_before = s.exec("SELECT xmin::text FROM " + q + ".gqs_schema");
    gqs::postgres::init_db(*db);
    CHECK(s.exec("SELECT xmin::text FROM " + q + ".gqs_schema") == xid_before);
    CHECK(s.exec(schedule_rows) == schedules_before);
    // The queue limits work, the schedule still fires, and the old jobs are still pulled.
    gqs::postgres::Queues queues(db);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.rate = 0.5;
    limits.group_weights = {{"a", 2}};
    queues.set_limits("reports", limits);
    CHECK(queues.limits("reports") == limits);
    gqs::postgres::Schedules schedules(db);
    s.exec("UPDATE " + q + ".gqs_schedules SET next_fire = next_fire - interval '1 hour'");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::postgres::Puller(db).pull(10, std::chrono::hours(1)).size() == 6);
}

TEST_CASE("postgres: an upgrade from 3 that fails leaves version 3 untouched",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    {
        auto db = open(s);
        gqs::postgres::init_db(*db);
        s.exec(drop_v5_columns(q) + "; DROP TABLE " + q + ".gqs_queues; UPDATE " + q +
               ".gqs_schema SET version = 3");
        s.exec("INSERT INTO " + q +
               ".jobs (id, created_at, updated_at, status, next_run_at, payload, queue)"
               " VALUES (gen_random_uuid(), now(), now(), 1, now(), 'keep', 'old')");
    }
    // A type named gqs_queues makes the CREATE TABLE fail (a table's row type takes the name),
    // after every other step: the transaction takes them all back.
    s.exec("CREATE TYPE " + q + ".gqs_queues AS (x int)");
    auto db = open(s);
    CHECK_THROWS_AS(gqs::postgres::init_db(*db), gqs::StorageError);
    CHECK(gqs::postgres::stored_schema_version(*db) == 3);
    CHECK(s.exec("SELECT count(*) FROM " + q + ".jobs") == "1");
    s.exec("DROP TYPE " + q + ".gqs_queues");
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(s.exec("SELECT count(*) FROM " + q + ".jobs") == "1");
}

namespace {

// A version-4 schema (schedules and queue limits, jobs without the two key columns): the
// current tables with a schedule "hourly", the queue limits of "reports" and 3 jobs pushed
// by this build, then without what version 5 added, version 4.
void make_v4_schema(const PgSchema& s) {
    const std::string q = "\"" + s.name() + "\"";
    auto db = open(s);
    gqs::postgres::init_db(*db);
    gqs::Schedule hourly;
    hourly.name = "hourly";
    hourly.cron = "@every 1h";
    hourly.message.queue = "reports";
    hourly.message.payload = "from the schedule";
    gqs::postgres::Schedules(db).put(hourly);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.max_running_per_key = 1;
    gqs::postgres::Queues(db).set_limits("reports", limits);
    // Versions 4 and 5 stored weights beside max_running_per_key, which validate now refuses.
    s.exec("UPDATE " + q + ".gqs_queues SET group_weights = '{\"a\": 2}'");
    gqs::postgres::Pusher pusher(db);
    for (int i = 0; i < 3; ++i) {
        gqs::Message m;
        m.payload = "keep";
        m.queue = "old";
        (void)pusher.push(m);
    }
    s.exec(drop_v6_columns(q) + "; " + drop_v5_columns(q) + "; UPDATE " + q +
           ".gqs_schema SET version = 4");
}

// A version-5 schema (job keys, no fair share): the current tables with the limits of
// "tenants" (weights, which version 5 stored but did not enforce) and 3 jobs of it pushed by
// this build (groups a, a, b), then without what version 6 added.
void make_v5_schema(const PgSchema& s) {
    const std::string q = "\"" + s.name() + "\"";
    auto db = open(s);
    gqs::postgres::init_db(*db);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.group_weights = {{"a", 2}};
    gqs::postgres::Queues(db).set_limits("tenants", limits);
    gqs::postgres::Pusher pusher(db);
    for (const char* group : {"a", "a", "b"}) {
        gqs::Message m;
        m.queue = "tenants";
        m.group = group;
        m.payload = "keep";
        (void)pusher.push(m);
    }
    s.exec(drop_v6_columns(q) + "; " + drop_v6_index(q) + "; UPDATE " + q +
           ".gqs_schema SET version = 5");
}

// What an upgrade must keep, as text: the jobs, the schedules, the queue limits.
std::string kept_rows(const PgSchema& s) {
    const std::string q = "\"" + s.name() + "\"";
    std::string out = s.exec("SELECT string_agg(id::text || '|' || status || '|' || queue || '|' ||"
                             " encode(payload, 'hex') || '|' || next_run_at::text, ';' ORDER BY"
                             " id) FROM " +
                             q + ".jobs");
    out += "\n";
    out += s.exec("SELECT string_agg(name || '|' || cron || '|' || zone || '|' || queue || '|' ||"
                  " encode(payload, 'hex') || '|' || next_fire::text, ';' ORDER BY name) FROM " +
                  q + ".gqs_schedules");
    out += "\n";
    out += s.exec("SELECT string_agg(queue || '|' || paused || '|' || coalesce(max_running::text,"
                  " '-') || '|' || coalesce(max_running_per_key::text, '-') || '|' ||"
                  " coalesce(group_weights::text, '-'), ';' ORDER BY queue) FROM " +
                  q + ".gqs_queues");
    return out;
}

} // namespace

TEST_CASE("postgres: init_db upgrades a version-4 schema to 6 keeping every job schedule and "
          "queue limit",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    make_v4_schema(s);
    const auto before = kept_rows(s);
    REQUIRE(before.find("\nhourly|@every 1h|UTC|reports|") != std::string::npos);
    REQUIRE(before.find("\nreports|false|2|1|{\"a\": 2}") != std::string::npos);
    const std::string columns =
        "SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = '" + q +
        ".jobs'::regclass AND attnum > 0 AND NOT attisdropped";
    REQUIRE(s.exec(columns).find("concurrency_key") == std::string::npos);
    auto db = open(s);
    REQUIRE(gqs::postgres::stored_schema_version(*db) == 4);
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(s.exec(columns) ==
          "id,created_at,updated_at,status,attempts,locked_until,next_run_at,metadata,payload,"
          "queue,priority,unique_key,errors,cancelled,concurrency_key,job_group");
    CHECK(kept_rows(s) == before);
    // A second init_db writes nothing (the version row is not rewritten).
    const auto xid_before = s.exec("SELECT xmin::text FROM " + q + ".gqs_schema");
    gqs::postgres::init_db(*db);
    CHECK(s.exec("SELECT xmin::text FROM " + q + ".gqs_schema") == xid_before);
    CHECK(kept_rows(s) == before);
    // The jobs pushed at version 4 read back with no key and no group.
    gqs::postgres::Observer observer(db);
    const auto old_jobs = observer.list(std::nullopt, 0);
    CHECK(old_jobs.size() == 3);
    for (const auto& job : old_jobs) {
        CHECK(job.payload == "keep");
        CHECK_FALSE(job.concurrency_key);
        CHECK_FALSE(job.group);
    }
    // The new columns take a push's keys, and the CHECKs refuse what a push refuses.
    gqs::Message m;
    m.concurrency_key = "k";
    m.group = "g";
    (void)gqs::postgres::Pusher(db).push(m);
    const auto got = observer.get(m.id);
    REQUIRE(got);
    CHECK(got->concurrency_key == "k");
    CHECK(got->group == "g");
    const std::string row = " WHERE id = '" + m.id.to_string() + "'";
    CHECK_THROWS(s.exec("UPDATE " + q + ".jobs SET concurrency_key = ''" + row));
    CHECK_THROWS(s.exec("UPDATE " + q + ".jobs SET job_group = repeat('g', 128)" + row));
    // The schedule still fires, the limits still read, and the old jobs are still pulled.
    gqs::postgres::Schedules schedules(db);
    s.exec("UPDATE " + q + ".gqs_schedules SET next_fire = next_fire - interval '1 hour'");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::postgres::Queues(db).limits("reports").max_running == 2);
    CHECK(gqs::postgres::Puller(db)
              .pull(10, std::chrono::hours(1), std::vector<std::string>{"old"})
              .size() == 3);
}

TEST_CASE("postgres: an upgrade from 4 that fails leaves version 4 untouched",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    make_v4_schema(s);
    // A table with the name of an index init_db makes when missing makes that step fail, after
    // the columns were added: the transaction takes them all back.
    s.exec("DROP INDEX " + q + ".jobs_leased; CREATE TABLE " + q + ".jobs_leased (x int)");
    const auto before = kept_rows(s);
    auto db = open(s);
    CHECK_THROWS_AS(gqs::postgres::init_db(*db), gqs::StorageError);
    CHECK(gqs::postgres::stored_schema_version(*db) == 4);
    CHECK(s.exec("SELECT count(*) FROM pg_attribute WHERE attrelid = '" + q +
                 ".jobs'::regclass AND attname IN ('concurrency_key', 'job_group')"
                 " AND NOT attisdropped") == "0");
    CHECK(kept_rows(s) == before);
    s.exec("DROP TABLE " + q + ".jobs_leased");
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == gqs::postgres::schema_version);
    CHECK(kept_rows(s) == before);
}

TEST_CASE("postgres: init_db upgrades a version-5 schema to 6 keeping every job and queue limit",
          "[postgres][schema][upgrade]") {
    PgSchema s;
    const std::string q = "\"" + s.name() + "\"";
    make_v5_schema(s);
    const auto before = kept_rows(s);
    REQUIRE(before.find("\ntenants|false|2|-|{\"a\": 2}") != std::string::npos);
    auto db = open(s);
    REQUIRE(gqs::postgres::stored_schema_version(*db) == 5);
    gqs::postgres::init_db(*db);
    CHECK(gqs::postgres::stored_schema_version(*db) == 6);
    CHECK(kept_rows(s) == before);
    CHECK(s.exec("SELECT fair_share || '|' || coalesce(rr_group, '-') || '|' || rr_used FROM " + q +
                 ".gqs_queues") == "false|-|0");
    CHECK(s.exec("SELECT count(*) FROM pg_indexes WHERE schemaname = '" + s.name() +
                 "' AND indexname = 'jobs_ready_group'") == "1");
    const auto xid_before = s.exec("SELECT xmin::text FROM " + q + ".gqs_schema");
    gqs::postgres::init_db(*db);
    CHECK(s.exec("SELECT xmin::text FROM " + q + ".gqs_schema") == xid_before);
    // The stored weights now share the queue: a's weight 2 first, from the jobs pushed at
    // version 5; max_running 2 holds.
    auto limits = gqs::postgres::Queues(db).limits("tenants");
    CHECK_FALSE(limits.fair_share);
    gqs::postgres::Puller puller(db);
    auto jobs = puller.pull(2, std::chrono::hours(1), std::vector<std::string>{"tenants"});
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].group == "a");
    CHECK(jobs[1].group == "a");
    CHECK(puller.pull(1, std::chrono::hours(1), std::vector<std::string>{"tenants"}).empty());
}
