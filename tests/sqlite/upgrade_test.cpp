// SPDX-License-Identifier: Apache-2.0
// The upgrades to schema versions 2, 3, 4 and 5 on real files: a crash in the middle of one, a
// failure in the middle of one, and rows other programs wrote that the new columns' CHECKs
// cannot stop.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <SQLiteCpp/Statement.h>

#include <csignal>
#include <filesystem>
#include <map>
#include <string>

using namespace std::chrono_literals;
using gqs::test::query_text;
using gqs::test::SqliteQueue;
using gqs::test::TempDb;

namespace {

// A copy of the committed 0.1.0 file (version 1; tests/fixtures/README.md says what it holds).
void copy_v1_fixture(const std::filesystem::path& to) {
    std::filesystem::copy_file(std::filesystem::path(GQS_TEST_FIXTURES) / "gqs-0.1.0.db", to);
}

// The 7 jobs of the fixture, by name, with their status, attempts and payload: what must
// survive everything. Read with plain SQL, which works on either version.
std::map<std::string, std::string>
payloads_by_name(const std::shared_ptr<gqs::sqlite::Connection>& db) {
    std::map<std::string, std::string> out;
    db->with_database([&](SQLite::Database& raw) {
        SQLite::Statement st(raw, "SELECT coalesce(json_extract(metadata, '$.name'), '-'), "
                                  "status, attempts, locked_until, next_run_at, hex(payload) "
                                  "FROM jobs");
        while (st.executeStep()) {
            std::string row;
            for (int c = 1; c < 6; ++c)
                row += st.getColumn(c).getString() + "|";
            out[st.getColumn(0).getString()] = row;
        }
    });
    return out;
}

// Takes back what version 5 added: the jobs' concurrency_key and job_group columns (each
// column's own CHECK goes with it). The table is rewritten, which a real version-4 file never
// was; its rows and their order stay.
void drop_v5_columns(gqs::sqlite::Connection& db) {
    gqs::test::exec(db, "DROP INDEX jobs_ready_group; "
                        "ALTER TABLE jobs DROP COLUMN concurrency_key; "
                        "ALTER TABLE jobs DROP COLUMN job_group");
}

// Takes back what version 6 added to gqs_queues: the fair-share switch and turn.
void drop_v6_columns(gqs::sqlite::Connection& db) {
    gqs::test::exec(db, "ALTER TABLE gqs_queues DROP COLUMN fair_share; "
                        "ALTER TABLE gqs_queues DROP COLUMN rr_group; "
                        "ALTER TABLE gqs_queues DROP COLUMN rr_used");
}

// The 0.1.0 fixture at `to`, upgraded by this build, with one schedule "hourly" put: what
// each older version's file is made from (then without what the later versions added).
std::shared_ptr<gqs::sqlite::Connection> fixture_with_schedule(const std::filesystem::path& to) {
    copy_v1_fixture(to);
    auto db = gqs::sqlite::Connection::open(to);
    gqs::sqlite::init_db(*db);
    gqs::Schedule s;
    s.name = "hourly";
    s.cron = "@every 1h";
    s.message.queue = "reports";
    s.message.payload = "from the schedule";
    gqs::sqlite::Schedules(db).put(s);
    return db;
}

// A version-2 file (what gqs 0.2.0 makes) with the fixture's 7 jobs: the 0.1.0 file upgraded,
// then without what versions 3 to 5 added (gqs_schedules and its index, gqs_queues, the jobs'
// two key columns), version 2.
void make_v2_file(const std::filesystem::path& to) {
    copy_v1_fixture(to);
    auto db = gqs::sqlite::Connection::open(to);
    gqs::sqlite::init_db(*db);
    drop_v5_columns(*db);
    gqs::test::exec(*db, "DROP TABLE gqs_schedules; DROP TABLE gqs_queues; "
                         "UPDATE gqs_schema SET version = 2");
}

// A version-3 file (schedules, no queue limits) with the fixture's 7 jobs and one schedule
// "hourly": the 0.1.0 file upgraded, the schedule put, then without gqs_queues, version 3.
void make_v3_file(const std::filesystem::path& to) {
    auto db = fixture_with_schedule(to);
    drop_v5_columns(*db);
    gqs::test::exec(*db, "DROP TABLE gqs_queues; UPDATE gqs_schema SET version = 3");
}

// A version-4 file (schedules and queue limits, jobs without the two key columns) with the
// fixture's 7 jobs, 2 jobs pushed by this build (before the columns were taken back), one
// schedule "hourly" and the queue limits of "reports": the 0.1.0 file upgraded, then without
// what version 5 added, version 4.
void make_v4_file(const std::filesystem::path& to) {
    auto db = fixture_with_schedule(to);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.max_running_per_key = 1;
    gqs::sqlite::Queues(db).set_limits("reports", limits);
    // Versions 4 and 5 stored weights beside max_running_per_key, which validate now refuses.
    gqs::test::exec(*db, "UPDATE gqs_queues SET group_weights = '{\"a\":2}'");
    gqs::sqlite::Pusher pusher(db);
    for (const char* payload : {"pushed at 4 (1)", "pushed at 4 (2)"}) {
        gqs::Message m;
        m.queue = "reports";
        m.payload = payload;
        m.set("name", payload);
        (void)pusher.push(m);
    }
    drop_v6_columns(*db);
    drop_v5_columns(*db);
    gqs::test::exec(*db, "UPDATE gqs_schema SET version = 4");
}

// The stored queue limits as their rows' text: what the upgrade to 5 must keep.
std::string queue_rows(const std::shared_ptr<gqs::sqlite::Connection>& db) {
    return query_text(*db, "SELECT coalesce(group_concat(r, ';'), '') FROM (SELECT queue || '|' || "
                           "paused || '|' || coalesce(max_running, '-') || '|' || "
                           "coalesce(max_running_per_key, '-') || '|' || "
                           "coalesce(group_weights, '-') AS r FROM gqs_queues ORDER BY queue)");
}

// Every stored schedule as its row's text, by name: what the upgrades to 4 and 5 must keep.
std::string schedule_rows(const std::shared_ptr<gqs::sqlite::Connection>& db) {
    return query_text(*db, "SELECT coalesce(group_concat(r, ';'), '') FROM (SELECT name || '|' || "
                           "cron || '|' || zone || '|' || queue || '|' || hex(payload) || '|' || "
                           "next_fire AS r FROM gqs_schedules ORDER BY name)");
}

// A version-5 file (job keys, no fair share) with the fixture's 7 jobs, 3 jobs of queue
// "tenants" pushed by this build (groups a, a, b), one schedule and the limits of "tenants"
// (weights, which version 5 stored but did not enforce): then without what version 6 added.
void make_v5_file(const std::filesystem::path& to) {
    auto db = fixture_with_schedule(to);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.group_weights = {{"a", 2}};
    gqs::sqlite::Queues(db).set_limits("tenants", limits);
    gqs::sqlite::Pusher pusher(db);
    for (const char* group : {"a", "a", "b"}) {
        gqs::Message m;
        m.queue = "tenants";
        m.group = group;
        m.payload = std::string("pushed at 5, group ") + group;
        m.set("name", m.payload + " " + m.id.to_string());
        (void)pusher.push(m);
    }
    drop_v6_columns(*db);
    gqs::test::exec(*db, "DROP INDEX jobs_ready_group; UPDATE gqs_schema SET version = 5");
}

} // namespace

TEST_CASE("upgrade: a crash in the middle leaves version 1, which upgrades next time",
          "[schema][sqlite][upgrade][process]") {
    // The child runs init_db on a version-1 copy and is SIGKILLed after N SQLite VM steps:
    // at a different point of the upgrade for each N (the smallest before it writes anything,
    // the largest after it committed).
    int crashed = 0, finished = 0;
    for (int steps : {10, 100, 400, 1000, 3000, 10000, 100000}) {
        INFO("killed after " << steps << " VM steps");
        TempDb tmp;
        copy_v1_fixture(tmp.path());
        std::map<std::string, std::string> before;
        {
            auto db = gqs::sqlite::Connection::open(tmp.path());
            before = payloads_by_name(db);
        }
        REQUIRE(before.size() == 7);
        auto child = gqs::test::spawn(gqs::test::child_program(),
                                      {"upgrade-crash", tmp.path().string(), std::to_string(steps)},
                                      tmp.dir() / "child.out");
        const int status = gqs::test::wait_child(child);
        const auto output = gqs::test::read_file(child.output);
        INFO(output);
        REQUIRE((status == 128 + SIGKILL || (status == 0 && output == "upgraded\n")));
        auto db = gqs::sqlite::Connection::open(tmp.path());
        const int version = gqs::sqlite::stored_schema_version(*db);
        if (status == 0) {
            ++finished;
            CHECK(version == gqs::sqlite::schema_version);
        } else {
            ++crashed;
            CHECK(version == 1); // all or nothing: never a half-upgraded file
        }
        CHECK(payloads_by_name(db) == before);
        gqs::sqlite::init_db(*db);
        CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        CHECK(payloads_by_name(db) == before);
        CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
        // And the queue works: the runnable jobs are pulled.
        CHECK(gqs::sqlite::Puller(db).pull(10, 1h).size() == 4);
    }
    CHECK(crashed > 0);
    CHECK(finished > 0);
}

TEST_CASE("upgrade: a failure in the middle rolls the whole upgrade back",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    copy_v1_fixture(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    // An object with the name of the last index the upgrade creates makes that step fail,
    // after every column was added and the old indexes dropped.
    gqs::test::exec(*db, "CREATE TABLE jobs_unique_key (x)");
    const auto schema_before = query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    CHECK_THROWS(gqs::sqlite::init_db(*db));
    CHECK(gqs::sqlite::stored_schema_version(*db) == 1);
    CHECK(query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema_before);
    CHECK(payloads_by_name(db).size() == 7);
    gqs::test::exec(*db, "DROP TABLE jobs_unique_key");
    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
    CHECK(payloads_by_name(db).size() == 7);
}

TEST_CASE("upgrade: a version-2 file is refused by a build that knows only version 1",
          "[schema][sqlite][upgrade]") {
    // What a version-1 build checks (its find_schema): the recorded version must not be newer
    // than its own. A version-2 file records 2; this build plays the old one by recording
    // one more than it knows.
    SqliteQueue q;
    gqs::test::exec(*q.db, "UPDATE gqs_schema SET version = version + 1");
    CHECK_THROWS_AS(gqs::sqlite::init_db(*q.db), gqs::SchemaMismatch);
    CHECK(query_text(*q.db, "SELECT version FROM gqs_schema") ==
          std::to_string(gqs::sqlite::schema_version + 1));
}

TEST_CASE("upgrade: rows written by hand past the CHECKs neither crash a reader nor block a pull",
          "[schema][sqlite]") {
    SqliteQueue q;
    // The CHECKs refuse what they can.
    auto checked = q.push("checked");
    auto& raw = *q.db;
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET queue = ''"), SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET queue = printf('%.*c', 10240, 'q')"),
                    SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET priority = -1"), SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET priority = 1000000"), SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET errors = '[{not json'"),
                    SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(raw, "UPDATE jobs SET cancelled = 7"), SQLite::Exception);
    CHECK(q.stored(checked.id).queue == "default");

    // With CHECKs off, another program can write anything; gqs still reads and moves on.
    gqs::test::exec(raw, "PRAGMA ignore_check_constraints = ON");
    const char* bad =
        GENERATE("queue = ''", "queue = printf('%.*c', 10240, 'q')", "queue = 42", "priority = -5",
                 "priority = 1000000", "errors = '[{not json'", "errors = '{\"an\":\"object\"}'",
                 "errors = '[1, \"two\", {\"message\": 3}]'", "errors = x'00ff'",
                 "unique_key = NULL", "unique_key = 7");
    INFO(bad);
    auto row = q.push("bad row");
    auto good = q.push("good row");
    gqs::test::exec(raw, std::string("UPDATE jobs SET ") + bad + " WHERE payload = 'bad row'");
    // Readers: get, list, stats.
    auto job = q.stored(row.id);
    CHECK(job.payload == "bad row");
    CHECK(job.priority >= 0);
    CHECK(job.priority <= 9);
    CHECK(job.errors.size() <= gqs::max_attempt_errors);
    CHECK(q.observer.list(std::nullopt, 0).size() == 3);
    CHECK(q.observer.stats().pending == 3);
    // Pulls: the good rows are taken; the bad row is taken or passed over, never an error.
    std::vector<gqs::Job> pulled;
    REQUIRE_NOTHROW(pulled = q.puller.pull(10, 1h));
    bool got_good = false;
    for (auto& j : pulled) {
        got_good = got_good || j.id == good.id;
        // An error entry can be added to whatever the row held.
        REQUIRE_NOTHROW(q.puller.requeue(j, 0ms, "after a bad row"));
    }
    CHECK(got_good);
    gqs::test::exec(raw, "PRAGMA ignore_check_constraints = OFF");
}

TEST_CASE("upgrade: a version-2 file gains the schedules and the queue limits and keeps every job",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    make_v2_file(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    REQUIRE(gqs::sqlite::stored_schema_version(*db) == 2);
    REQUIRE(query_text(
                *db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE 'gqs_schedules%'") == "0");
    const auto before = payloads_by_name(db);
    REQUIRE(before.size() == 7);
    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
    CHECK(payloads_by_name(db) == before);
    CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    // Idempotent.
    gqs::sqlite::init_db(*db);
    CHECK(payloads_by_name(db) == before);
    // The schedules work, and the old jobs are still pulled.
    gqs::sqlite::Schedules schedules(db);
    gqs::Schedule s;
    s.name = "hourly";
    s.cron = "@every 1h";
    schedules.put(s);
    gqs::test::exec(*db, "UPDATE gqs_schedules SET next_fire = next_fire - 3600000000");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::sqlite::Puller(db).pull(10, 1h).size() == 5);
}

TEST_CASE("upgrade: a crash in the middle of 2 -> 5 leaves version 2, which upgrades next time",
          "[schema][sqlite][upgrade][process]") {
    int crashed = 0, finished = 0;
    for (int steps : {5, 20, 60, 150, 100000}) {
        INFO("killed after " << steps << " VM steps");
        TempDb tmp;
        make_v2_file(tmp.path());
        std::map<std::string, std::string> before;
        {
            auto db = gqs::sqlite::Connection::open(tmp.path());
            before = payloads_by_name(db);
        }
        auto child = gqs::test::spawn(gqs::test::child_program(),
                                      {"upgrade-crash", tmp.path().string(), std::to_string(steps)},
                                      tmp.dir() / "child.out");
        const int status = gqs::test::wait_child(child);
        const auto output = gqs::test::read_file(child.output);
        INFO(output);
        REQUIRE((status == 128 + SIGKILL || (status == 0 && output == "upgraded\n")));
        auto db = gqs::sqlite::Connection::open(tmp.path());
        if (status == 0) {
            ++finished;
            CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        } else {
            ++crashed;
            CHECK(gqs::sqlite::stored_schema_version(*db) == 2);
            CHECK(query_text(*db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                  "'gqs_schedules'") == "0");
        }
        CHECK(payloads_by_name(db) == before);
        gqs::sqlite::init_db(*db);
        CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        CHECK(payloads_by_name(db) == before);
    }
    CHECK(crashed > 0);
    CHECK(finished > 0);
}

TEST_CASE("upgrade: a version-3 file gains the queue limits and keeps every job and schedule",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    make_v3_file(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    REQUIRE(gqs::sqlite::stored_schema_version(*db) == 3);
    REQUIRE(query_text(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 'gqs_queues'") == "0");
    const auto before = payloads_by_name(db);
    REQUIRE(before.size() == 7);
    const auto schedules_before = schedule_rows(db);
    REQUIRE(schedules_before.find("hourly|@every 1h|UTC|reports|") == 0);
    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    // Idempotent: a second init_db changes nothing.
    const auto schema = query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema);
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    // The queue limits work, the schedule still fires, and the old jobs are still pulled.
    gqs::sqlite::Queues queues(db);
    gqs::QueueLimits limits;
    limits.max_running = 2;
    limits.rate = 0.5;
    queues.set_limits("reports", limits);
    CHECK(queues.limits("reports") == limits);
    gqs::sqlite::Schedules schedules(db);
    REQUIRE(schedules.get("hourly"));
    gqs::test::exec(*db, "UPDATE gqs_schedules SET next_fire = next_fire - 3600000000");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::sqlite::Puller(db).pull(10, 1h).size() == 5);
}

TEST_CASE("upgrade: a crash in the middle of 3 -> 5 leaves version 3, which upgrades next time",
          "[schema][sqlite][upgrade][process]") {
    int crashed = 0, finished = 0;
    for (int steps : {5, 20, 60, 150, 100000}) {
        INFO("killed after " << steps << " VM steps");
        TempDb tmp;
        make_v3_file(tmp.path());
        std::map<std::string, std::string> before;
        std::string schedules_before;
        {
            auto db = gqs::sqlite::Connection::open(tmp.path());
            before = payloads_by_name(db);
            schedules_before = schedule_rows(db);
        }
        auto child = gqs::test::spawn(gqs::test::child_program(),
                                      {"upgrade-crash", tmp.path().string(), std::to_string(steps)},
                                      tmp.dir() / "child.out");
        const int status = gqs::test::wait_child(child);
        const auto output = gqs::test::read_file(child.output);
        INFO(output);
        REQUIRE((status == 128 + SIGKILL || (status == 0 && output == "upgraded\n")));
        auto db = gqs::sqlite::Connection::open(tmp.path());
        if (status == 0) {
            ++finished;
            CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        } else {
            ++crashed;
            CHECK(gqs::sqlite::stored_schema_version(*db) == 3);
            CHECK(query_text(*db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                  "'gqs_queues'") == "0");
        }
        CHECK(payloads_by_name(db) == before);
        CHECK(schedule_rows(db) == schedules_before);
        gqs::sqlite::init_db(*db);
        CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        CHECK(payloads_by_name(db) == before);
        CHECK(schedule_rows(db) == schedules_before);
        CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    }
    CHECK(crashed > 0);
    CHECK(finished > 0);
}

TEST_CASE("upgrade: a version-4 file gains the job key columns and keeps every job schedule and "
          "queue limit",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    make_v4_file(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    REQUIRE(gqs::sqlite::stored_schema_version(*db) == 4);
    REQUIRE(query_text(*db, "SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN "
                            "('concurrency_key', 'job_group')") == "0");
    const auto before = payloads_by_name(db);
    REQUIRE(before.size() == 9); // the fixture's 7 and the two pushed at version 4
    const auto jobs_before = query_text(*db, "SELECT count(*) FROM jobs");
    REQUIRE(jobs_before == "9");
    const auto schedules_before = schedule_rows(db);
    REQUIRE(schedules_before.find("hourly|@every 1h|UTC|reports|") == 0);
    const auto queues_before = queue_rows(db);
    REQUIRE(queues_before == "reports|0|2|1|{\"a\":2}");

    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
    CHECK(query_text(*db, "SELECT group_concat(name, ',') FROM (SELECT name FROM "
                          "pragma_table_info('jobs') ORDER BY cid)") ==
          "id,created_at,updated_at,status,attempts,locked_until,next_run_at,metadata,payload,"
          "queue,priority,unique_key,errors,cancelled,concurrency_key,job_group");
    CHECK(query_text(*db, "SELECT count(*) FROM jobs") == jobs_before);
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    CHECK(queue_rows(db) == queues_before);
    CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    // Idempotent: a second init_db changes nothing.
    const auto schema = query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema);
    // The jobs pushed at version 4 read back with no key and no group.
    gqs::sqlite::Observer observer(db);
    int old_jobs = 0;
    for (const auto& job : observer.list(std::nullopt, 0)) {
        CHECK_FALSE(job.concurrency_key);
        CHECK_FALSE(job.group);
        if (job.payload.starts_with("pushed at 4")) {
            ++old_jobs;
            CHECK(job.queue == "reports");
        }
    }
    CHECK(old_jobs == 2);
    // The new columns take a push's keys, and the CHECKs refuse what a push refuses.
    gqs::Message m;
    m.concurrency_key = "k";
    m.group = "g";
    (void)gqs::sqlite::Pusher(db).push(m);
    const auto got = observer.get(m.id);
    REQUIRE(got);
    CHECK(got->concurrency_key == "k");
    CHECK(got->group == "g");
    CHECK_THROWS(gqs::test::exec(*db, "UPDATE jobs SET concurrency_key = '' WHERE rowid = 1"));
    CHECK_THROWS(
        gqs::test::exec(*db, "UPDATE jobs SET job_group = printf('%.128c', 'g') WHERE rowid = 1"));
    CHECK_THROWS(gqs::test::exec(*db, "UPDATE jobs SET job_group = x'67' WHERE rowid = 1"));
    // The schedule still fires, the limits still read, and the old jobs are still pulled.
    gqs::sqlite::Schedules schedules(db);
    gqs::test::exec(*db, "UPDATE gqs_schedules SET next_fire = next_fire - 3600000000");
    CHECK(schedules.tick() == 1);
    CHECK(gqs::sqlite::Queues(db).limits("reports").max_running == 2);
    CHECK(gqs::sqlite::Puller(db).pull(20, 1h, std::vector<std::string>{"default"}).size() == 5);
}

TEST_CASE("upgrade: a failure in the middle of 4 -> 5 leaves version 4 untouched",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    make_v4_file(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    // A table with the name of an index init_db makes when missing makes that step fail, after
    // both columns were added: the transaction takes them back.
    gqs::test::exec(*db, "DROP INDEX jobs_leased; CREATE TABLE jobs_leased (x)");
    const auto schema_before = query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    const auto before = payloads_by_name(db);
    const auto schedules_before = schedule_rows(db);
    const auto queues_before = queue_rows(db);
    CHECK_THROWS(gqs::sqlite::init_db(*db));
    CHECK(gqs::sqlite::stored_schema_version(*db) == 4);
    CHECK(query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema_before);
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    CHECK(queue_rows(db) == queues_before);
    gqs::test::exec(*db, "DROP TABLE jobs_leased");
    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    CHECK(queue_rows(db) == queues_before);
}

TEST_CASE("upgrade: a crash in the middle of 4 -> 5 leaves version 4, which upgrades next time",
          "[schema][sqlite][upgrade][process]") {
    int crashed = 0, finished = 0;
    for (int steps : {5, 20, 60, 150, 100000}) {
        INFO("killed after " << steps << " VM steps");
        TempDb tmp;
        make_v4_file(tmp.path());
        std::map<std::string, std::string> before;
        std::string schedules_before, queues_before;
        {
            auto db = gqs::sqlite::Connection::open(tmp.path());
            before = payloads_by_name(db);
            schedules_before = schedule_rows(db);
            queues_before = queue_rows(db);
        }
        auto child = gqs::test::spawn(gqs::test::child_program(),
                                      {"upgrade-crash", tmp.path().string(), std::to_string(steps)},
                                      tmp.dir() / "child.out");
        const int status = gqs::test::wait_child(child);
        const auto output = gqs::test::read_file(child.output);
        INFO(output);
        REQUIRE((status == 128 + SIGKILL || (status == 0 && output == "upgraded\n")));
        auto db = gqs::sqlite::Connection::open(tmp.path());
        if (status == 0) {
            ++finished;
            CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        } else {
            ++crashed;
            CHECK(gqs::sqlite::stored_schema_version(*db) == 4);
            CHECK(query_text(*db, "SELECT count(*) FROM pragma_table_info('jobs') WHERE name IN "
                                  "('concurrency_key', 'job_group')") == "0");
        }
        CHECK(payloads_by_name(db) == before);
        CHECK(schedule_rows(db) == schedules_before);
        CHECK(queue_rows(db) == queues_before);
        gqs::sqlite::init_db(*db);
        CHECK(gqs::sqlite::stored_schema_version(*db) == gqs::sqlite::schema_version);
        CHECK(payloads_by_name(db) == before);
        CHECK(schedule_rows(db) == schedules_before);
        CHECK(queue_rows(db) == queues_before);
        CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    }
    CHECK(crashed > 0);
    CHECK(finished > 0);
}

TEST_CASE("upgrade: a version-5 file gains fair share and keeps every job schedule and queue "
          "limit",
          "[schema][sqlite][upgrade]") {
    TempDb tmp;
    make_v5_file(tmp.path());
    auto db = gqs::sqlite::Connection::open(tmp.path());
    REQUIRE(gqs::sqlite::stored_schema_version(*db) == 5);
    REQUIRE(query_text(*db, "SELECT count(*) FROM pragma_table_info('gqs_queues') WHERE name IN "
                            "('fair_share', 'rr_group', 'rr_used')") == "0");
    const auto before = payloads_by_name(db);
    REQUIRE(before.size() == 10);
    const auto schedules_before = schedule_rows(db);
    const auto queues_before = queue_rows(db);
    REQUIRE(queues_before == "tenants|0|2|-|{\"a\":2}");

    gqs::sqlite::init_db(*db);
    CHECK(gqs::sqlite::stored_schema_version(*db) == 6);
    CHECK(query_text(*db, "SELECT fair_share || '|' || coalesce(rr_group, '-') || '|' || rr_used "
                          "FROM gqs_queues") == "0|-|0");
    CHECK(query_text(*db, "SELECT count(*) FROM sqlite_schema WHERE name = 'jobs_ready_group'") ==
          "1");
    CHECK(payloads_by_name(db) == before);
    CHECK(schedule_rows(db) == schedules_before);
    CHECK(queue_rows(db) == queues_before);
    CHECK(query_text(*db, "PRAGMA integrity_check") == "ok");
    const auto schema = query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "SELECT group_concat(sql, ';') FROM sqlite_schema") == schema);
    // The stored weights now share the queue: a's weight 2 and b's 1, from the jobs pushed at
    // version 5, with the index built from them.
    auto limits = gqs::sqlite::Queues(db).limits("tenants");
    CHECK_FALSE(limits.fair_share);
    CHECK(limits.group_weights == std::map<std::string, int>{{"a", 2}});
    auto jobs = gqs::sqlite::Puller(db).pull(2, 1h, std::vector<std::string>{"tenants"});
    REQUIRE(jobs.size() == 2);
    CHECK(jobs[0].group == "a");
    CHECK(jobs[1].group == "a");
    jobs = gqs::sqlite::Puller(db).pull(1, 1h, std::vector<std::string>{"tenants"});
    // max_running 2 holds: nothing until one finishes.
    CHECK(jobs.empty());
    CHECK_THROWS(gqs::test::exec(*db, "UPDATE gqs_queues SET fair_share = 2"));
}
