// SPDX-License-Identifier: Apache-2.0
// Failure paths: lock contention from another process, a full database, damaged files,
// rows written by other programs, big values, and a producer killed mid-transaction.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <gqs/json.hpp>

#include <SQLiteCpp/Statement.h>

#include <csignal>
#include <fstream>

#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::SqliteQueue;
using gqs::test::TempDb;

namespace {

std::int64_t scalar(SQLite::Database& db, const char* sql) {
    SQLite::Statement st(db, sql);
    REQUIRE(st.executeStep());
    return st.getColumn(0).getInt64();
}

std::string integrity(SQLite::Database& db) {
    SQLite::Statement st(db, "PRAGMA integrity_check");
    REQUIRE(st.executeStep());
    return st.getColumn(0).getString();
}

std::int64_t scalar(gqs::sqlite::Connection& c, const char* sql) {
    return c.with_database([&](SQLite::Database& db) { return scalar(db, sql); });
}

std::string integrity(gqs::sqlite::Connection& c) {
    return c.with_database([](SQLite::Database& db) { return integrity(db); });
}

bool output_has(const gqs::test::Child& child, const std::string& text) {
    return gqs::test::read_file(child.output).find(text) != std::string::npos;
}

// Runs a little of everything; returns normally or throws only gqs::Error.
void exercise(const std::filesystem::path& path) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Observer observer(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Cleaner cleaner(db);
    (void)observer.list(std::nullopt, 0);
    auto jobs = puller.pull(50, 1h);
    (void)puller.complete_batch(jobs);
    pusher.push(gqs::Message{});
    (void)cleaner.clean(std::nullopt, std::nullopt);
}

} // namespace

TEST_CASE("reliability: another process holding the write lock gives SQLITE_BUSY, then recovers",
          "[reliability][process]") {
    SqliteQueue q;
    auto kept = q.push("kept");
    auto child =
        gqs::test::spawn(gqs::test::child_program(), {"hold-lock", q.tmp.path().string(), "3000"},
                         q.tmp.dir() / "lock.out");
    REQUIRE(gqs::test::wait_until([&] { return output_has(child, "locked"); }));

    gqs::sqlite::Options impatient;
    impatient.busy_timeout = 50ms;
    auto db = gqs::sqlite::Connection::open(q.tmp.path(), impatient);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    try {
        pusher.push(gqs::Message{});
        FAIL("push succeeded while another process held the write lock");
    } catch (const gqs::StorageError& e) {
        CHECK(e.code() == 5);
        CHECK(e.kind() == gqs::StorageErrorKind::Busy);
        CHECK(std::string(e.what()).find("SQLITE_BUSY") != std::string::npos);
    }
    std::vector<gqs::Message> batch(10);
    CHECK_THROWS_AS(pusher.push_batch(batch), gqs::StorageError);
    CHECK_THROWS_AS((void)puller.pull(1, 1s), gqs::StorageError);
    CHECK(puller.has_ready()); // reads still work

    REQUIRE(gqs::test::wait_child(child) == 0);
    // Intact and usable afterwards.
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == kept.id);
    pusher.push_batch(batch);
    CHECK(puller.pull(100, 1s).size() == 11);
}

TEST_CASE("reliability: a full database refuses pushes cleanly and recovers", "[reliability]") {
    SqliteQueue q;
    auto& raw = *q.db;
    auto pages = scalar(raw, "PRAGMA page_count");
    gqs::test::exec(raw, "PRAGMA max_page_count = " + std::to_string(pages + 40));
    std::vector<gqs::Uuid> stored;
    bool full = false;
    for (int i = 0; i < 1000 && !full; ++i) {
        gqs::Message m;
        m.payload = std::string(8000, static_cast<char>('a' + i % 26));
        try {
            q.pusher.push(m);
            stored.push_back(m.id);
        } catch (const gqs::StorageError& e) {
            CHECK(e.code() == 13); // SQLITE_FULL
            CHECK(e.kind() == gqs::StorageErrorKind::Full);
            CHECK(std::string(e.what()).find("SQLITE_FULL") != std::string::npos);
            full = true;
        }
    }
    REQUIRE(full);
    REQUIRE_FALSE(stored.empty());
    std::vector<gqs::Message> batch(20);
    for (auto& m : batch)
        m.payload = std::string(8000, 'z');
    CHECK_THROWS_AS(q.pusher.push_batch(batch), gqs::StorageError);
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == stored.size()); // nothing lost, nothing half-written
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(all[i].id == stored[i]);
    CHECK(integrity(raw) == "ok");
    // Space again: pushing works.
    gqs::test::exec(raw, "PRAGMA max_page_count = 1073741823");
    q.pusher.push_batch(batch);
    CHECK(q.observer.list(std::nullopt, 0).size() == stored.size() + batch.size());
}

TEST_CASE("reliability: damaged database files give errors, never crashes", "[reliability]") {
    TempDb tmp;
    {
        auto db = SqliteQueue::open_and_init(tmp.path());
        gqs::sqlite::Pusher pusher(db);
        std::vector<gqs::Message> batch(2000);
        for (auto& m : batch)
            m.set("k", "v").payload = std::string(200, 'p');
        pusher.push_batch(batch);
        gqs::test::exec(*db, "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    auto size = std::filesystem::file_size(tmp.path());
    REQUIRE(size > 64 * 1024);
    std::string original = gqs::test::read_file(tmp.path());
    auto write = [&](const std::string& bytes) {
        std::ofstream out(tmp.path(), std::ios::binary | std::ios::trunc);
        out << bytes;
    };
    SECTION("truncated") { write(original.substr(0, original.size() / 3)); }
    SECTION("bytes flipped in the middle") {
        std::string bytes = original;
        for (std::size_t i = bytes.size() / 2; i < bytes.size() / 2 + 4096; i += 7)
            bytes[i] = static_cast<char>(~bytes[i]);
        write(bytes);
    }
    SECTION("header destroyed") {
        std::string bytes = original;
        for (std::size_t i = 0; i < 100; ++i)
            bytes[i] = static_cast<char>(i * 13);
        write(bytes);
    }
    bool failed_cleanly = false;
    try {
        exercise(tmp.path());
    } catch (const gqs::Error& e) {
        failed_cleanly = true;
        INFO(e.what());
        CHECK(std::string(e.what()).find("SQLITE_") != std::string::npos);
    }
    // Damage may also land in data SQLite cannot check (a payload byte); what matters is
    // that nothing crashed and any failure was a gqs::Error naming SQLite's code.
    if (failed_cleanly) {
        SUCCEED("failed with a gqs::Error");
    } else {
        SUCCEED("the damage went unnoticed by these operations");
    }
}

TEST_CASE("reliability: rows other programs wrote are read with documented fallbacks",
          "[reliability]") {
    SqliteQueue q;
    auto& raw = *q.db;
    gqs::test::exec(raw, "PRAGMA ignore_check_constraints = ON");
    gqs::test::exec(
        raw, "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
             "next_run_at, metadata, payload) VALUES "
             "(x'0102030405060708090a0b0c0d0e0f10', 1, 1, 9, 0, NULL, 0, '[1,2', x''),"
             "(x'010203', 2, 2, 1, -5, NULL, 0, '{\"a\":1}', x'00ff'),"
             "(x'0202030405060708090a0b0c0d0e0f10', 3, 3, 1, 0, NULL, 0, NULL, 'text payload'),"
             "(x'0302030405060708090a0b0c0d0e0f10', 4, 4611686018427387904, 4, 0, NULL,"
             " -4611686018427387904, NULL, x'')");
    gqs::test::exec(raw, "PRAGMA ignore_check_constraints = OFF");
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 4);
    CHECK(all[0].status == Status::Unknown); // status 9
    // Times far outside what TimePoint holds saturate (UBSan checks there is no overflow).
    CHECK(all[3].updated_at > gqs::TimePoint{} + std::chrono::hours(24 * 365 * 200));
    CHECK(all[3].next_run_at < gqs::TimePoint{} - std::chrono::hours(24 * 365 * 200));
    (void)q.observer.stats();
    CHECK(all[0].metadata == "[1,2");                                       // as stored
    CHECK(gqs::metadata_json(all[0]) == nlohmann::json("[1,2"));            // not JSON: raw text
    CHECK(all[1].id.to_string() == "01020300-0000-0000-0000-000000000000"); // short id padded
    CHECK(all[1].attempts == 0);                                            // negative clamped
    CHECK(all[1].payload == std::string("\0\xff", 2));
    CHECK(all[2].payload == "text payload"); // TEXT where a BLOB belongs: same bytes
    // Pull takes the two Pending rows and leaves the unknown status alone.
    auto jobs = q.puller.pull(10, 1h);
    CHECK(jobs.size() == 2);
    CHECK(q.cleaner.clean(std::nullopt, std::nullopt) == 1); // the Dead one
    CHECK(q.observer.list(std::nullopt, 0).size() == 3);
}

TEST_CASE("reliability: big and odd values round-trip", "[reliability][big]") {
    SqliteQueue q;
    SECTION("64 MiB payload") {
        gqs::Message m;
        m.payload.resize(64u << 20);
        for (std::size_t i = 0; i < m.payload.size(); i += 4096)
            m.payload[i] = static_cast<char>(i >> 12);
        q.pusher.push(m);
        auto jobs = q.puller.pull(1, 1h);
        REQUIRE(jobs.size() == 1);
        CHECK(jobs[0].payload == m.payload);
    }
    SECTION("deeply nested metadata with non-ASCII keys") {
        gqs::Message m;
        nlohmann::json deep = "leaf";
        for (std::size_t i = 0; i < gqs::max_metadata_depth; ++i) // the deepest a push takes
            deep = nlohmann::json{{"ключ-" + std::to_string(i) + "-鍵", deep}};
        gqs::set_metadata_json(m, deep);
        q.pusher.push(m);
        CHECK(q.stored(m.id).metadata == m.metadata); // SQLite keeps the text
        CHECK(gqs::metadata_json(q.stored(m.id)) == deep);
    }
    SECTION("100,000 jobs in one push_batch") {
        std::vector<gqs::Message> batch(100000);
        q.pusher.push_batch(batch);
        CHECK(scalar(*q.db, "SELECT count(*) FROM jobs") == 100000);
    }
}

TEST_CASE("reliability: a producer killed mid-push_batch leaves whole batches only",
          "[reliability][process][crash]") {
    SqliteQueue q;
    constexpr int size = 1000;
    auto child = gqs::test::spawn(gqs::test::child_program(),
                                  {"push-batches", q.tmp.path().string(), std::to_string(size)},
                                  q.tmp.dir() / "push.out");
    // Let it commit a few batches, so the kill lands while it is inside another one.
    REQUIRE(gqs::test::wait_until([&] { return output_has(child, "batch 3\n"); }));
    ::kill(child.pid, SIGKILL);
    CHECK(gqs::test::wait_child(child) == 128 + SIGKILL);
    auto db = gqs::sqlite::Connection::open(q.tmp.path());
    auto count = scalar(*db, "SELECT count(*) FROM jobs");
    CHECK(count >= 3 * size);
    CHECK(count % size == 0);
    CHECK(integrity(*db) == "ok");
}

TEST_CASE("reliability: a process killed during grouped completions leaves whole groups only",
          "[reliability][process][crash]") {
    SqliteQueue q;
    constexpr int size = 2000;
    std::vector<gqs::Message> msgs(20 * size);
    q.pusher.push_batch(msgs);
    auto child = gqs::test::spawn(gqs::test::child_program(),
                                  {"settle-loop", q.tmp.path().string(), std::to_string(size)},
                                  q.tmp.dir() / "settle.out");
    // Kill it right after it announced a settle: while, or just after, it commits 2,000
    // completions in one transaction.
    REQUIRE(gqs::test::wait_until([&] { return output_has(child, "settle 4\n"); }));
    ::kill(child.pid, SIGKILL);
    CHECK(gqs::test::wait_child(child) == 128 + SIGKILL);
    auto db = gqs::sqlite::Connection::open(q.tmp.path());
    auto done = scalar(*db, "SELECT count(*) FROM jobs WHERE status = 3");
    auto processing = scalar(*db, "SELECT count(*) FROM jobs WHERE status = 2");
    CHECK(done >= 3 * size);
    CHECK(done % size == 0);
    CHECK(processing % size == 0); // the group it died in: all leased, none completed
    CHECK(done + processing <= 5 * size);
    CHECK(integrity(*db) == "ok");
}

TEST_CASE("reliability: a file or directory without write permission gives a clear error",
          "[reliability][process][permissions]") {
    // Permissions do not stop root, so as root the child runs as `nobody` (setpriv).
    std::vector<std::string> prefix;
    if (::geteuid() == 0) {
        if (!std::filesystem::exists("/usr/bin/setpriv")) {
            WARN("skipped: running as root without setpriv to drop privileges");
            return;
        }
        prefix = {"--reuid=65534", "--regid=65534", "--clear-groups", gqs::test::child_program()};
    }
    TempDb tmp;
    {
        auto db = SqliteQueue::open_and_init(tmp.path());
        std::vector<gqs::Message> batch(10);
        gqs::sqlite::Pusher(db).push_batch(batch);
    } // closed: the -wal and -shm files are gone, the header says WAL
    bool file_writable = GENERATE(false, true);
    namespace fs = std::filesystem;
    fs::permissions(tmp.path(), file_writable ? fs::perms(0666) : fs::perms(0444));
    fs::permissions(tmp.dir(), fs::perms(0555)); // no new -wal or -shm beside it
    if (file_writable && ::geteuid() == 0) REQUIRE(::chown(tmp.path().c_str(), 65534, 65534) == 0);
    auto before = gqs::test::read_file(tmp.path());
    std::vector<std::string> args = prefix;
    args.insert(args.end(), {"use", tmp.path().string()});
    auto program = prefix.empty() ? std::string(gqs::test::child_program()) : "/usr/bin/setpriv";
    // The child's output goes outside the read-only directory.
    auto out = fs::temp_directory_path() /
               ("gqs-perm-" + std::to_string(::getpid()) + (file_writable ? "-w" : "-r"));
    auto child = gqs::test::spawn(program, args, out);
    int rc = gqs::test::wait_child(child);
    auto text = gqs::test::read_file(out);
    std::filesystem::remove(out);
    INFO(text);
    CHECK(rc == 1); // a clean error exit, not a crash (>= 128) and not success
    CHECK(text.find("gqs: ") != std::string::npos);
    CHECK(text.find("SQLITE_") != std::string::npos);
    CHECK(gqs::test::read_file(tmp.path()) == before);
    fs::permissions(tmp.dir(), fs::perms(0755));
}
