// SPDX-License-Identifier: Apache-2.0
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <gqs/json.hpp>

#include <SQLiteCpp/Statement.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <map>
#include <set>

using namespace std::chrono_literals;
using gqs::test::query_text;
using gqs::test::SqliteQueue;
using gqs::test::TempDb;

namespace {

std::string schema_sql(SQLite::Database& db) {
    SQLite::Statement st(db, "SELECT group_concat(sql, ';') FROM sqlite_schema");
    REQUIRE(st.executeStep());
    return st.getColumn(0).getString();
}

std::string schema_sql(gqs::sqlite::Connection& c) {
    return c.with_database([](SQLite::Database& db) { return schema_sql(db); });
}

} // namespace

TEST_CASE("connection: open applies WAL, busy_timeout and synchronous", "[connection][sqlite]") {
    TempDb tmp;
    SECTION("defaults") {
        auto db = gqs::sqlite::Connection::open(tmp.path());
        CHECK(query_text(*db, "PRAGMA journal_mode") == "wal");
        CHECK(query_text(*db, "PRAGMA busy_timeout") == "5000");
        CHECK(query_text(*db, "PRAGMA synchronous") == "1");
    }
    SECTION("configured") {
        gqs::sqlite::Options o;
        o.busy_timeout = 250ms;
        o.synchronous = gqs::sqlite::Synchronous::Full;
        auto db = gqs::sqlite::Connection::open(tmp.path(), o);
        CHECK(query_text(*db, "PRAGMA busy_timeout") == "250");
        CHECK(query_text(*db, "PRAGMA synchronous") == "2");
    }
    SECTION("bad options") {
        gqs::sqlite::Options o;
        o.busy_timeout = -1ms;
        CHECK_THROWS_AS(gqs::sqlite::Connection::open(tmp.path(), o), std::invalid_argument);
    }
}

namespace {

// The WAL header's checkpoint sequence number: it grows each time a writer restarts the WAL
// after a checkpoint copied all of it into the database.
std::uint32_t wal_sequence(const std::filesystem::path& db) {
    std::ifstream wal(db.string() + "-wal", std::ios::binary);
    unsigned char header[16] = {};
    wal.read(reinterpret_cast<char*>(header), sizeof header);
    REQUIRE(wal.gcount() == static_cast<std::streamsize>(sizeof header));
    return (std::uint32_t{header[12]} << 24) | (std::uint32_t{header[13]} << 16) |
           (std::uint32_t{header[14]} << 8) | std::uint32_t{header[15]};
}

// From the WAL-index (the `-shm` file, native byte order; sqlite.org/walformat.html): the
// frames in the WAL (`mxFrame`, in both copies of the header) and how many of them a
// checkpoint has copied into the database (`nBackfill`).
struct WalIndex {
    std::uint32_t frames = 0;
    std::uint32_t backfilled = 0;
    // Every frame is in the database: the next write starts the WAL over.
    [[nodiscard]] bool complete() const { return frames > 0 && backfilled == frames; }
};

WalIndex wal_index(const std::filesystem::path& db) {
    std::ifstream shm(db.string() + "-shm", std::ios::binary);
    unsigned char bytes[100] = {};
    shm.read(reinterpret_cast<char*>(bytes), sizeof bytes);
    REQUIRE(shm.gcount() == static_cast<std::streamsize>(sizeof bytes));
    std::uint32_t frames[2] = {};
    WalIndex index;
    std::memcpy(&frames[0], bytes + 16, 4);
    std::memcpy(&frames[1], bytes + 48 + 16, 4);
    std::memcpy(&index.backfilled, bytes + 96, 4);
    index.frames = frames[0] == frames[1] ? frames[0] : 0; // 0: read while being written
    return index;
}

} // namespace

TEST_CASE("connection: WAL checkpoints run on a background thread", "[connection][sqlite]") {
    SqliteQueue q;
    const auto& path = q.tmp.path();
    // SQLite's own automatic checkpoint, which runs inside a commit, is off...
    CHECK(query_text(*q.db, "PRAGMA wal_autocheckpoint") == "0");
    // ...and yet the WAL is checkpointed and restarted once it passes 1,000 pages. Push until
    // a commit leaves 1,000 frames or more (a few per push), and stop there: that commit wakes
    // the checkpoint thread, no write competes with it, and the WAL stays far from the point
    // (8,000 pages) where a commit would checkpoint inline.
    const auto before = wal_sequence(path);
    std::int64_t pushed = 0;
    while (wal_index(path).frames < 1000) {
        REQUIRE(wal_index(path).backfilled == 0); // nothing checkpoints below the threshold
        q.push();
        REQUIRE(++pushed <= 1000);
    }
    const auto filled = wal_index(path).frames;
    // The thread copies the whole WAL into the database; this thread never checkpoints.
    CHECK(gqs::test::wait_until([&] { return wal_index(path).complete(); }));
    CHECK(wal_index(path).frames == filled);
    // A writer starts the WAL over only if no checkpoint holds it at that moment, and the
    // thread lets go just after recording its copy. A PASSIVE checkpoint of another
    // connection succeeds only when no other checkpoint runs; the WAL being complete, it
    // copies nothing.
    SQLite::Database other(path.string(), SQLite::OPEN_READWRITE);
    CHECK(other.execAndGet("SELECT count(*) FROM sqlite_schema").getInt() > 0); // opens the WAL
    CHECK(gqs::test::wait_until([&] {
        return query_text(other, "PRAGMA wal_checkpoint(PASSIVE)") == "0"; // busy: 0 or 1
    }));
    CHECK(wal_index(path).backfilled == filled);
    // The next write starts the WAL over.
    q.push();
    CHECK(wal_sequence(path) == before + 1);
    CHECK(wal_index(path).frames < filled);
    CHECK(q.observer.stats().pending == pushed + 1);

    SECTION("with background_checkpoint off SQLite's own threshold stays") {
        gqs::sqlite::Options options;
        options.background_checkpoint = false;
        auto own = gqs::sqlite::Connection::open(path, options);
        CHECK(query_text(*own, "PRAGMA wal_autocheckpoint") == "1000");
    }
}

TEST_CASE("connection: adopts a database the caller configured", "[connection][sqlite]") {
    TempDb tmp;
    SQLite::Database raw(tmp.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
    raw.exec("PRAGMA journal_mode=DELETE");
    auto db = std::make_shared<gqs::sqlite::Connection>(std::move(raw));
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "PRAGMA journal_mode") == "delete");
    gqs::sqlite::Pusher(db).push(gqs::Message{});
    CHECK(gqs::sqlite::Observer(db).list(gqs::Status::Pending, 0).size() == 1);
}

TEST_CASE("connection: a file that is not SQLite fails at open, untouched",
          "[connection][sqlite]") {
    TempDb tmp;
    std::string junk(4096, 'x');
    junk.replace(0, 20, "this is not sqlite!!");
    {
        std::ofstream out(tmp.path(), std::ios::binary);
        out << junk;
    }
    try {
        (void)gqs::sqlite::Connection::open(tmp.path());
        FAIL("open succeeded on a non-database file");
    } catch (const gqs::StorageError& e) {
        CHECK(e.code() == 26); // SQLITE_NOTADB
        CHECK(e.native_code() == "SQLITE_NOTADB");
        CHECK(std::string(e.what()).find("SQLITE_NOTADB") != std::string::npos);
    }
    CHECK(gqs::test::read_file(tmp.path()) == junk);
}

TEST_CASE("connection: a missing file without create fails clearly", "[connection][sqlite]") {
    TempDb tmp;
    gqs::sqlite::Options o;
    o.create = false;
    CHECK_THROWS_AS(gqs::sqlite::Connection::open(tmp.path(), o), gqs::StorageError);
    CHECK_FALSE(std::filesystem::exists(tmp.path()));
}

TEST_CASE("connection: every backend class refuses a null connection", "[connection][sqlite]") {
    CHECK_THROWS_AS(gqs::sqlite::Pusher(nullptr), std::invalid_argument);
    CHECK_THROWS_AS(gqs::sqlite::Puller(nullptr), std::invalid_argument);
    CHECK_THROWS_AS(gqs::sqlite::Observer(nullptr), std::invalid_argument);
    CHECK_THROWS_AS(gqs::sqlite::Cleaner(nullptr), std::invalid_argument);
    CHECK_THROWS_AS(gqs::sqlite::Admin(nullptr), std::invalid_argument);
}

TEST_CASE("connection: a read-only database refuses writes and keeps its data",
          "[connection][sqlite]") {
    SqliteQueue q;
    auto m = q.push("keep");
    gqs::sqlite::Options o;
    o.read_only = true;
    auto ro = gqs::sqlite::Connection::open(q.tmp.path(), o);
    gqs::sqlite::Pusher pusher(ro);
    gqs::sqlite::Puller puller(ro);
    try {
        pusher.push(gqs::Message{});
        FAIL("push succeeded on a read-only connection");
    } catch (const gqs::StorageError& e) {
        CHECK(e.code() == 8); // SQLITE_READONLY
        CHECK(e.native_code() == "SQLITE_READONLY");
        CHECK(std::string(e.what()).find("SQLITE_READONLY") != std::string::npos);
    }
    CHECK_THROWS_AS((void)puller.pull(1, 1s), gqs::StorageError);
    // Already initialised: init_db has nothing to write, so it succeeds read-only.
    CHECK_NOTHROW(gqs::sqlite::init_db(*ro));
    // Reads work, and nothing changed.
    gqs::sqlite::Observer observer(ro);
    auto all = observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 1);
    CHECK(all[0].payload == "keep");
    CHECK(all[0].status == gqs::Status::Pending);
}

TEST_CASE("schema: init_db creates the table, its indexes and the version", "[schema][sqlite]") {
    SqliteQueue q;
    auto& raw = *q.db;
    CHECK(query_text(raw, "SELECT version FROM gqs_schema WHERE id = 1") ==
          std::to_string(gqs::sqlite::schema_version));
    CHECK(gqs::sqlite::stored_schema_version(*q.db) == gqs::sqlite::schema_version);
    CHECK(query_text(raw, "PRAGMA user_version") == "0"); // the application's, untouched
    auto sql = schema_sql(raw);
    CHECK(sql.find("jobs_ready ON jobs (status, queue, priority, next_run_at) WHERE status = 1") !=
          std::string::npos);
    CHECK(sql.find("jobs_leased ON jobs (status, locked_until) WHERE status = 2") !=
          std::string::npos);
    CHECK(sql.find("jobs_finished ON jobs (status, updated_at, queue) WHERE status IN (3, 4)") !=
          std::string::npos);
    CHECK(sql.find("jobs_unique_key ON jobs (queue, unique_key) WHERE unique_key IS NOT NULL AND "
                   "status IN (1, 2)") != std::string::npos);
    // Version 1's indexes are superseded, not kept beside the new ones.
    CHECK(sql.find("jobs_status_") == std::string::npos);
    CHECK(query_text(raw, "SELECT group_concat(priority) FROM gqs_priorities") ==
          "0,1,2,3,4,5,6,7,8,9");
}

TEST_CASE("schema: init_db is idempotent and keeps data", "[schema][sqlite]") {
    SqliteQueue q;
    auto m = q.push("stay");
    auto before = schema_sql(*q.db);
    gqs::sqlite::init_db(*q.db);
    gqs::sqlite::init_db(*q.second_connection());
    CHECK(schema_sql(*q.db) == before);
    CHECK(q.stored(m.id).payload == "stay");
}

TEST_CASE("schema: a foreign jobs table is refused and left untouched", "[schema][sqlite]") {
    TempDb tmp;
    auto db = gqs::sqlite::Connection::open(tmp.path());
    gqs::test::exec(*db, "CREATE TABLE jobs (name TEXT, cron TEXT); "
                         "INSERT INTO jobs VALUES ('backup', '0 3 * * *')");
    CHECK_THROWS_AS(gqs::sqlite::init_db(*db), gqs::SchemaMismatch);
    CHECK(schema_sql(*db) == "CREATE TABLE jobs (name TEXT, cron TEXT)");
    CHECK(query_text(*db, "PRAGMA user_version") == "0");
    CHECK(query_text(*db, "SELECT name || cron FROM jobs") == "backup0 3 * * *");
}

TEST_CASE("schema: files init_db refuses are not modified, byte for byte", "[schema][sqlite]") {
    TempDb tmp;
    {
        SQLite::Database raw(tmp.path(), SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE);
        SECTION("another program's jobs table") {
            raw.exec("CREATE TABLE jobs (name TEXT); INSERT INTO jobs VALUES ('x')");
        }
        SECTION("a newer gqs schema") {
            raw.exec("CREATE TABLE gqs_schema (id INTEGER PRIMARY KEY, version INTEGER NOT NULL);"
                     "INSERT INTO gqs_schema VALUES (1, 7)");
        }
        SECTION("another program's gqs_schema table") {
            raw.exec("CREATE TABLE gqs_schema (name TEXT); INSERT INTO gqs_schema VALUES ('x')");
        }
    }
    auto before = gqs::test::read_file(tmp.path());
    {
        auto db = gqs::sqlite::Connection::open(tmp.path());
        CHECK_THROWS_AS(gqs::sqlite::init_db(*db), gqs::SchemaMismatch);
    }
    CHECK(gqs::test::read_file(tmp.path()) == before);
    CHECK_FALSE(std::filesystem::exists(tmp.path().string() + "-wal"));
}

TEST_CASE("schema: a newer schema version is refused", "[schema][sqlite]") {
    TempDb tmp;
    auto db = gqs::sqlite::Connection::open(tmp.path());
    gqs::test::exec(*db, "CREATE TABLE gqs_schema (id INTEGER PRIMARY KEY, version INTEGER);"
                         "INSERT INTO gqs_schema VALUES (1, 999)");
    CHECK(gqs::sqlite::stored_schema_version(*db) == 999);
    try {
        gqs::sqlite::init_db(*db);
        FAIL("init_db accepted a newer schema");
    } catch (const gqs::SchemaMismatch& e) {
        CHECK(std::string(e.what()).find("999") != std::string::npos);
    }
    CHECK(schema_sql(*db).find("jobs") == std::string::npos);
}

TEST_CASE("schema: the application's user_version is its own", "[schema][sqlite]") {
    // An application that versions its own schema with user_version keeps gqs's queue in
    // the same file (the outbox pattern).
    TempDb tmp;
    auto db = gqs::sqlite::Connection::open(tmp.path());
    gqs::test::exec(*db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, total INTEGER);"
                         "INSERT INTO orders (total) VALUES (42); PRAGMA user_version = 7");
    CHECK(gqs::sqlite::stored_schema_version(*db) == 0);
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "PRAGMA user_version") == "7");
    gqs::Message m;
    gqs::sqlite::Pusher(db).push(m);
    // The application migrates its own schema; gqs does not notice or care.
    gqs::test::exec(*db, "ALTER TABLE orders ADD COLUMN note TEXT; PRAGMA user_version = 8");
    gqs::sqlite::init_db(*db);
    auto again = gqs::sqlite::Connection::open(tmp.path());
    gqs::sqlite::init_db(*again);
    CHECK(query_text(*again, "PRAGMA user_version") == "8");
    CHECK(query_text(*again, "SELECT total FROM orders") == "42");
    auto pulled = gqs::sqlite::Puller(again).pull(1, 1s);
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].id == m.id);
    CHECK(gqs::sqlite::stored_schema_version(*again) == gqs::sqlite::schema_version);
}

TEST_CASE("schema: a file made by gqs 0.1.0 is carried over with every job",
          "[schema][sqlite][upgrade]") {
    // tests/fixtures/gqs-0.1.0.db: made by gqs 0.1.0, which kept its version in
    // user_version (1). See tests/fixtures/README.md for what it holds.
    TempDb tmp;
    std::filesystem::copy_file(std::filesystem::path(GQS_TEST_FIXTURES) / "gqs-0.1.0.db",
                               tmp.path());
    const char* app_version = GENERATE("1", "7");
    {
        // An application that shares the file may have moved user_version on since.
        SQLite::Database raw(tmp.path(), SQLite::OPEN_READWRITE);
        raw.exec(std::string("PRAGMA user_version = ") + app_version);
    }
    auto db = gqs::sqlite::Connection::open(tmp.path());
    CHECK(gqs::sqlite::stored_schema_version(*db) == 1);
    gqs::sqlite::init_db(*db);
    CHECK(query_text(*db, "SELECT version FROM gqs_schema") ==
          std::to_string(gqs::sqlite::schema_version));
    CHECK(query_text(*db, "PRAGMA user_version") == app_version);

    gqs::sqlite::Observer observer(db);
    std::map<std::string, gqs::Job> by_name;
    for (auto& job : observer.list(std::nullopt, 0))
        by_name[job.get<std::string>("name").value_or("-")] = job;
    REQUIRE(by_name.size() == 7);
    CHECK(by_name["done"].status == gqs::Status::Done);
    CHECK(by_name["done"].payload == "payload-done");
    CHECK(by_name["dead"].status == gqs::Status::Dead);
    CHECK(by_name["retried"].status == gqs::Status::Pending);
    CHECK(by_name["retried"].attempts == 2);
    CHECK(by_name["leased"].status == gqs::Status::Processing);
    CHECK(by_name["leased"].payload ==
          std::string{'\0', '\x01', '+', 'i', 'n', 'a', 'r', 'y', '\0'});
    CHECK(by_name["delayed"].next_run_at > std::chrono::system_clock::now() + 24h * 365);
    CHECK(by_name["-"].payload == "no metadata");
    CHECK(by_name["-"].metadata.empty());
    for (const auto& [name, job] : by_name) {
        INFO(name);
        // Version 2: every job joins queue "default" at priority 0, with no key or history.
        CHECK(job.queue == "default");
        CHECK(job.priority == 0);
        CHECK_FALSE(job.unique_key.has_value());
        CHECK(job.errors.empty());
        CHECK_FALSE(job.cancel_requested);
    }

    // Work goes on: the expired lease is taken again (attempt 2), the delayed job waits.
    gqs::sqlite::Puller puller(db);
    auto pulled = puller.pull(10, 1h);
    std::set<std::string> names;
    for (auto& job : pulled) {
        names.insert(job.get<std::string>("name").value_or("-"));
        if (job.id == by_name["leased"].id) {
            CHECK(job.attempts == 2);
            REQUIRE(job.errors.size() == 1);
            CHECK(job.errors[0].attempt == 1);
            CHECK(job.errors[0].message == "lease expired");
        }
        puller.complete(job);
    }
    CHECK(names == std::set<std::string>{"retried", "leased", "pending", "-"});
    CHECK(observer.stats().done == 5);
    CHECK(observer.stats().pending == 1);
}

TEST_CASE("schema: hand-written rows read back with documented fallbacks", "[schema][sqlite]") {
    SqliteQueue q;
    auto m = q.push();
    gqs::test::exec(*q.db, "UPDATE jobs SET metadata = '{not json' ");
    auto job = q.stored(m.id);
    CHECK(job.metadata == "{not json"); // as stored
    CHECK(gqs::metadata_json(job) == nlohmann::json("{not json"));
    auto pulled = q.puller.pull(1, 1s);
    REQUIRE(pulled.size() == 1);
    q.puller.complete(pulled[0]);
    // Out-of-range values are stopped by the schema's CHECK constraints.
    CHECK_THROWS_AS(gqs::test::exec(*q.db, "UPDATE jobs SET status = 9"), SQLite::Exception);
    CHECK_THROWS_AS(gqs::test::exec(*q.db, "UPDATE jobs SET id = x'00'"), SQLite::Exception);
}
