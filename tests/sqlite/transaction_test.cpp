// SPDX-License-Identifier: Apache-2.0
// Connection::begin(): the app's statements and gqs pushes commit or roll back together;
// workers are woken after the commit only. Connection::with_database(): the app's statements
// under gqs's lock, including exclusive ones with the background checkpointer on.
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
using gqs::test::ProbePuller;
using Queue = gqs::test::SqliteQueue;

namespace {

void create_orders(gqs::sqlite::Connection& db) {
    db.with_database([](SQLite::Database& raw) {
        raw.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)");
    });
}

std::string orders(gqs::sqlite::Connection& db) {
    return gqs::test::query_text(db, "SELECT coalesce(group_concat(item, ','), '') FROM "
                                     "(SELECT item FROM orders ORDER BY id)");
}

gqs::Message receipt(const std::string& order) {
    gqs::Message m;
    m.payload = "receipt for " + order;
    return m;
}

} // namespace

TEST_CASE("transaction: commit stores the app's rows and the job, then wakes the worker",
          "[transaction][sqlite]") {
    Queue q;
    create_orders(*q.db);
    gqs::test::IdleWorker idle(q.puller);
    const auto m = receipt("book");
    {
        auto tx = q.db->begin();
        tx.database().exec("INSERT INTO orders (item) VALUES ('book')");
        auto result = q.pusher.push(tx, m);
        CHECK_FALSE(result.duplicate);
        CHECK(result.id == m.id);
        CHECK(tx.active());
        tx.commit();
        CHECK_FALSE(tx.active());
    }
    REQUIRE(idle.started.wait_for(1));
    CHECK(orders(*q.db) == "book");
    CHECK(gqs::test::wait_until([&] { return q.has_status(m.id, gqs::Status::Done); }));
}

TEST_CASE("transaction: rollback leaves neither the rows nor the job, and wakes no one",
          "[transaction][sqlite]") {
    Queue q;
    create_orders(*q.db);
    gqs::test::IdleWorker idle(q.puller);
    const int before = idle.probe.pulls.load();
    const auto explicit_rollback = receipt("pen");
    const auto destroyed = receipt("ink");
    {
        auto tx = q.db->begin();
        tx.database().exec("INSERT INTO orders (item) VALUES ('pen')");
        q.pusher.push(tx, explicit_rollback);
        tx.rollback();
        CHECK_THROWS_AS(tx.commit(), std::logic_error);
    }
    {
        auto tx = q.db->begin();
        tx.database().exec("INSERT INTO orders (item) VALUES ('ink')");
        q.pusher.push_batch(tx, std::vector<gqs::Message>{destroyed});
    } // destroyed without commit
    CHECK(orders(*q.db).empty());
    CHECK_FALSE(q.observer.get(explicit_rollback.id));
    CHECK_FALSE(q.observer.get(destroyed.id));
    // Nothing to wait for: a wake-up would have pulled within this window.
    std::this_thread::sleep_for(200ms);
    CHECK(idle.probe.pulls.load() == before);
    CHECK(idle.started.value() == 0);
}

TEST_CASE("transaction: a push that fails inside it fails alone; the rest commits",
          "[transaction][sqlite]") {
    Queue q;
    create_orders(*q.db);
    const auto existing = q.SqliteQueue::push("already there");
    auto tx = q.db->begin();
    tx.database().exec("INSERT INTO orders (item) VALUES ('lamp')");
    const auto kept = receipt("lamp");
    q.pusher.push(tx, kept);
    SECTION("a duplicate id") {
        gqs::Message again = existing;
        CHECK_THROWS_AS(q.pusher.push(tx, again), gqs::DuplicateJob);
    }
    SECTION("a batch with a duplicate id stores none of the batch") {
        std::vector<gqs::Message> batch{receipt("a"), existing, receipt("b")};
        CHECK_THROWS_AS(q.pusher.push_batch(tx, batch), gqs::DuplicateJob);
        CHECK(gqs::test::query_text(tx.database(), "SELECT count(*) FROM jobs") == "2");
    }
    SECTION("bad input") {
        gqs::Message bad;
        bad.priority = 42;
        CHECK_THROWS_AS(q.pusher.push(tx, bad), std::invalid_argument);
        CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}, gqs::Duration(-1)),
                        std::invalid_argument);
    }
    SECTION("a held unique key is a duplicate, not an error") {
        gqs::Message first = receipt("k1");
        first.unique_key = "order-7";
        gqs::Message second = receipt("k2");
        second.unique_key = "order-7";
        CHECK_FALSE(q.pusher.push(tx, first).duplicate);
        auto result = q.pusher.push(tx, second);
        CHECK(result.duplicate);
        CHECK(result.id == first.id);
    }
    tx.database().exec("INSERT INTO orders (item) VALUES ('shade')");
    tx.commit();
    CHECK(orders(*q.db) == "lamp,shade");
    CHECK(q.has_status(kept.id, gqs::Status::Pending));
    CHECK(q.has_status(existing.id, gqs::Status::Pending));
}

TEST_CASE("transaction: misuse is refused with a clear error", "[transaction][sqlite]") {
    Queue q;
    auto other = q.second_connection();
    SECTION("a gqs call on the same Connection from the thread holding it") {
        auto tx = q.db->begin();
        CHECK_THROWS_AS(q.pusher.push(gqs::Message{}), std::logic_error);
        CHECK_THROWS_AS(q.observer.stats(), std::logic_error);
        CHECK_THROWS_AS(q.db->begin(), std::logic_error);
        CHECK_THROWS_AS(q.db->with_database([](SQLite::Database&) {}), std::logic_error);
        tx.commit();
        q.pusher.push(gqs::Message{}); // free again
    }
    SECTION("a transaction of another Connection") {
        auto tx = other->begin();
        CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::invalid_argument);
    }
    SECTION("an ended transaction") {
        auto tx = q.db->begin();
        tx.commit();
        CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::logic_error);
        CHECK_THROWS_AS(tx.database(), std::logic_error);
        CHECK_THROWS_AS(tx.rollback(), std::logic_error);
    }
    SECTION("the app ends it through its handle") {
        auto tx = q.db->begin();
        tx.database().exec("ROLLBACK");
        CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::logic_error);
        CHECK_THROWS_AS(tx.commit(), std::logic_error);
        CHECK(q.count(gqs::Status::Pending) == 0);
        q.pusher.push(gqs::Message{}); // the Connection was released
    }
    SECTION("a gqs call from inside with_database") {
        CHECK_THROWS_AS(q.db->with_database([&](SQLite::Database&) { return q.observer.stats(); }),
                        std::logic_error);
        q.pusher.push(gqs::Message{});
    }
}

TEST_CASE("transaction: moved to another thread and committed there",
          "[transaction][sqlite][concurrency]") {
    Queue q;
    auto tx = q.db->begin();
    const auto m = receipt("moved");
    q.pusher.push(tx, m);
    std::thread([t = std::move(tx)]() mutable { t.commit(); }).join();
    CHECK(q.has_status(m.id, gqs::Status::Pending));
    q.pusher.push(gqs::Message{}); // the Connection is free
}

TEST_CASE("transaction: a worker on the same Connection waits for it and goes on",
          "[transaction][sqlite][concurrency]") {
    Queue q;
    constexpr int jobs = 40;
    Counter done;
    gqs::WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = 10ms;
    gqs::Worker worker(
        q.puller, [&](const gqs::Job&, std::stop_token) { done.bump(); }, config);
    worker.start();
    for (int i = 0; i < jobs / 2; ++i)
        q.push("before");
    {
        auto tx = q.db->begin();
        for (int i = 0; i < jobs / 2; ++i)
            q.pusher.push(tx, receipt("inside"));
        // The worker's threads wait for the lock meanwhile; they must not deadlock with it.
        std::this_thread::sleep_for(50ms); // holds the transaction open, not a synchronisation
        tx.commit();
    }
    REQUIRE(done.wait_for(jobs));
    worker.stop(std::chrono::seconds(30));
    CHECK(q.count(gqs::Status::Done) == static_cast<std::size_t>(jobs));
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
