// SPDX-License-Identifier: Apache-2.0
// What only SQLite's outbox has (the promises both backends keep are in
// tests/conformance/outbox_test.cpp): Connection::begin() beside with_database and a second
// Connection's reads in WAL mode. Connection::with_database(): the app's statements under
// gqs's lock, including exclusive ones with the background checkpointer on.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <future>
#include <string>
#include <thread>

using namespace std::chrono_literals;
using gqs::test::Counter;
using Queue = gqs::test::SqliteQueue;

namespace {

gqs::Message receipt(const std::string& order) {
    gqs::Message m;
    m.payload = "receipt for " + order;
    return m;
}

} // namespace

TEST_CASE("transaction: misuse is refused with a clear error", "[transaction][sqlite]") {
    Queue q;
    auto other = q.second_connection();
    SECTION("with_database on the Connection from the thread holding it") {
        auto tx = q.db->begin();
        CHECK_THROWS_AS(q.db->with_database([](SQLite::Database&) {}), std::logic_error);
        tx.commit();
        q.push(); // free again
    }
    SECTION("a transaction of another Connection") {
        auto tx = other->begin();
        CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::invalid_argument);
        CHECK_THROWS_AS(q.pusher.push_batch(tx, std::vector<gqs::Message>(1)),
                        std::invalid_argument);
    }
    SECTION("the handle of an ended transaction") {
        auto tx = q.db->begin();
        tx.commit();
        CHECK_THROWS_AS(tx.database(), std::logic_error);
    }
    SECTION("a gqs call from inside with_database") {
        CHECK_THROWS_AS(q.db->with_database([&](SQLite::Database&) { return q.observer.stats(); }),
                        std::logic_error);
        q.push();
    }
}

TEST_CASE("transaction: begin() takes the write lock at once (BEGIN IMMEDIATE)",
          "[transaction][sqlite]") {
    Queue q;
    gqs::sqlite::Options quick;
    quick.busy_timeout = gqs::Duration(50);
    auto other = gqs::sqlite::Connection::open(q.tmp.path(), quick);
    gqs::sqlite::Pusher other_pusher(other);
    gqs::sqlite::Observer other_observer(other);
    auto tx = q.db->begin(); // nothing written yet
    // Another Connection's write waits for it (and gives up after its busy_timeout); its
    // reads go on beside it in WAL mode.
    try {
        other_pusher.push(gqs::Message{});
        FAIL("a push on another Connection did not wait for the open transaction");
    } catch (const gqs::StorageError& e) {
        CHECK(e.kind() == gqs::StorageErrorKind::Busy);
    }
    CHECK(other_observer.stats().pending == 0);
    tx.rollback();
    other_pusher.push(gqs::Message{});
    CHECK(q.count(gqs::Status::Pending) == 1);
}

TEST_CASE("transaction: a worker on a second Connection goes on after the app's transaction",
          "[transaction][sqlite][concurrency]") {
    Queue q;
    auto app = q.second_connection();
    gqs::sqlite::Pusher app_pusher(app);
    Counter done;
    gqs::WorkerConfig config = gqs::test::idle_config();
    gqs::Worker worker(
        q.puller, [&](const gqs::Job&, std::stop_token) { done.bump(); }, config);
    worker.start();
    q.push("first");
    REQUIRE(done.wait_for(1));
    {
        auto tx = app->begin();
        app_pusher.push(tx, receipt("second"));
        // The worker is idle; reads (its watcher's, has_ready) go on beside the open
        // transaction in WAL mode.
        CHECK(q.puller.has_ready() == false);
        tx.commit();
    }
    REQUIRE(done.wait_for(2)); // woken across Connections after the commit
    q.push("third");
    REQUIRE(done.wait_for(3));
    worker.stop(std::chrono::seconds(30));
}

TEST_CASE("with_database: returns what the function returns; exceptions pass through",
          "[with_database][sqlite]") {
    Queue q;
    q.push();
    CHECK(q.db->with_database([](SQLite::Database& db) {
        return db.execAndGet("SELECT count(*) FROM jobs").getInt();
    }) == 1);
    CHECK_THROWS_AS(q.db->with_database([](SQLite::Database& db) { db.exec("NOT SQL"); }),
                    SQLite::Exception);
    // A transaction left open is rolled back, with an error.
    CHECK_THROWS_AS(
        q.db->with_database([](SQLite::Database& db) { db.exec("BEGIN; DELETE FROM jobs"); }),
        std::logic_error);
    CHECK(q.count(gqs::Status::Pending) == 1);
    // One left open by a function that throws is rolled back too.
    CHECK_THROWS_AS(q.db->with_database([](SQLite::Database& db) {
        db.exec("BEGIN; DELETE FROM jobs");
        db.exec("NOT SQL");
    }),
                    SQLite::Exception);
    CHECK(q.count(gqs::Status::Pending) == 1);
    q.push(); // the lock was released every time
}

TEST_CASE("with_database: exclusive operations work with the background checkpointer on",
          "[with_database][sqlite]") {
    Queue q; // background_checkpoint is on by default
    std::vector<gqs::Message> batch(2000);
    for (auto& m : batch)
        m.payload = std::string(500, 'x'); // enough WAL for background checkpoints
    q.pusher.push_batch(batch);
    auto jobs = q.puller.pull(100, 1min);
    for (auto& job : jobs)
        q.puller.complete(job);
    auto mode = [&](const char* pragma) {
        return q.db->with_database(
            [&](SQLite::Database& db) { return db.execAndGet(pragma).getString(); });
    };
    SECTION("journal mode round trip") {
        CHECK(mode("PRAGMA journal_mode=DELETE") == "delete");
        CHECK_FALSE(std::filesystem::exists(q.tmp.path().string() + "-wal"));
        q.push("in rollback-journal mode");
        CHECK(mode("PRAGMA journal_mode=WAL") == "wal");
    }
    SECTION("VACUUM") {
        CHECK(q.cleaner.clean(gqs::Status::Done, {}) == 100);
        q.db->with_database([](SQLite::Database& db) { db.exec("VACUUM"); });
    }
    SECTION("wal_checkpoint(TRUNCATE)") {
        q.db->with_database([](SQLite::Database& db) {
            SQLite::Statement st(db, "PRAGMA wal_checkpoint(TRUNCATE)");
            REQUIRE(st.executeStep());
            CHECK(st.getColumn(0).getInt() == 0); // not busy
        });
        CHECK(std::filesystem::file_size(q.tmp.path().string() + "-wal") == 0);
    }
    SECTION("online backup") {
        const auto copy = q.tmp.dir() / "copy.db";
        q.db->with_database(
            [&](SQLite::Database& db) { db.backup(copy.c_str(), SQLite::Database::Save); });
        auto restored = gqs::sqlite::Connection::open(copy);
        CHECK(gqs::test::query_text(*restored, "SELECT count(*) FROM jobs WHERE status = 3") ==
              "100");
    }
    // gqs goes on as before.
    CHECK(q.puller.pull(1900, 1min).size() == 1900);
    CHECK(gqs::test::query_text(*q.db, "PRAGMA integrity_check") == "ok");
}
