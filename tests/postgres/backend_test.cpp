// SPDX-License-Identifier: Apache-2.0
// What only the PostgreSQL backend has to get right: values jsonb and text refuse, big
// payloads, the app's transactions (a failed statement aborts them, a killed session,
// native(); the outbox's shared promises are in tests/conformance/outbox_test.cpp), and
// wake-up across connections and processes.
#include "support/catch.hpp"
#include "support/postgres_queue.hpp"
#include "support/test_support.hpp"
#include "support/worker_support.hpp"

#include "postgres/connection_impl.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::test::PgQueue;

namespace {

// Runs SQL on the transaction's connection; returns whether it succeeded.
bool run_in(gqs::postgres::Transaction& tx, const std::string& sql) {
    PGresult* r = PQexec(tx.native(), sql.c_str());
    const auto status = PQresultStatus(r);
    PQclear(r);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

} // namespace

TEST_CASE("postgres: an error message with a NUL byte is stored with U+FFFD", "[postgres]") {
    PgQueue q;
    q.pusher.push(gqs::Message{});
    auto jobs = q.puller.pull(1, 30s);
    REQUIRE(jobs.size() == 1);
    q.puller.requeue(jobs[0], 0ms, std::string("bad\0byte", 8));
    const auto job = q.observer.get(jobs[0].id);
    REQUIRE(job->errors.size() == 1);
    CHECK(job->errors[0].message == "bad\xEF\xBF\xBD"
                                    "byte");
}

TEST_CASE("postgres: a 64 MiB payload is stored and read back byte for byte", "[postgres]") {
    PgQueue q;
    gqs::Message m;
    m.payload.resize(64u << 20);
    for (std::size_t i = 0; i < m.payload.size(); ++i)
        m.payload[i] = static_cast<char>((i * 2654435761u) >> 24);
    q.pusher.push(m);
    auto jobs = q.puller.pull(1, 30s);
    REQUIRE(jobs.size() == 1);
    CHECK(jobs[0].payload.size() == m.payload.size());
    CHECK(jobs[0].payload == m.payload);
    q.puller.complete(jobs[0]);
    CHECK(q.observer.get(m.id)->payload == m.payload);
}

TEST_CASE("postgres: an app statement that fails aborts the transaction", "[postgres][tx]") {
    PgQueue q;
    gqs::Message m;
    auto tx = q.db->begin();
    q.pusher.push(tx, m);
    CHECK_FALSE(run_in(tx, "SELECT no_such_column FROM no_such_table"));
    CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::logic_error);
    CHECK_THROWS_AS(tx.commit(), gqs::StorageError);
    CHECK_FALSE(tx.active());
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("postgres: a commit after the session died is ConnectionLost", "[postgres][tx]") {
    PgQueue q;
    auto tx = q.db->begin();
    q.pusher.push(tx, gqs::Message{});
    const std::string pid = std::to_string(PQbackendPID(tx.native()));
    q.schema.exec("SELECT pg_terminate_backend(" + pid + ")");
    SECTION("the app's statement found it dead") {
        CHECK(gqs::test::wait_until([&] { return !run_in(tx, "SELECT 1"); }));
    }
    SECTION("the commit finds it dead") {
        CHECK(gqs::test::wait_until([&] {
            return q.schema.exec("SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == "0";
        }));
    }
    try {
        tx.commit();
        FAIL("commit succeeded on a dead session");
    } catch (const gqs::StorageError& e) {
        INFO(e.what());
        CHECK(e.kind() == gqs::StorageErrorKind::ConnectionLost);
    }
    CHECK_FALSE(tx.active());
    // The next call reconnects; nothing of the transaction was stored.
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("postgres: a transaction of another Connection is refused", "[postgres][tx]") {
    PgQueue q;
    auto other = q.connect();
    auto tx = other->begin();
    CHECK_THROWS_AS(q.pusher.push(tx, gqs::Message{}), std::invalid_argument);
    CHECK_THROWS_AS(q.pusher.push_batch(tx, std::vector<gqs::Message>(1)), std::invalid_argument);
    tx.rollback();
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("postgres: the handle of an ended transaction is refused", "[postgres][tx]") {
    PgQueue q;
    auto tx = q.db->begin();
    tx.commit();
    CHECK_THROWS_AS(tx.native(), std::logic_error);
}

TEST_CASE("postgres: a push through another connection wakes an idle worker", "[postgres]") {
    PgQueue q;
    gqs::test::IdleWorker idle(q.puller);
    auto other = q.connect();
    gqs::postgres::Pusher(other).push(gqs::Message{});
    CHECK(idle.started.wait_for(1)); // pull_interval is 10 minutes: NOTIFY woke it
}

TEST_CASE("postgres: a push inside the NOTIFY window is announced at its end", "[postgres]") {
    PgQueue q;
    gqs::test::IdleWorker idle(q.puller); // its poll is 10 minutes away
    auto other = q.connect();
    // Wide enough that the second push falls inside it on any machine.
    gqs::postgres::detail::Access::state(*other).notify_window = std::chrono::seconds(2);
    gqs::postgres::Pusher pusher(other);
    pusher.push(gqs::Message{});
    REQUIRE(idle.started.wait_for(1));
    // Idle again: the first job's result is stored, with the pull after it (one
    // transaction), so only a NOTIFY can wake the worker now.
    REQUIRE(gqs::test::wait_until([&] { return q.observer.stats().done == 1; }));
    pusher.push(gqs::Message{}); // no later push comes to send what it owes
    CHECK(idle.started.wait_for(2));
}

TEST_CASE("postgres: a push from another process wakes an idle worker", "[postgres][process]") {
    PgQueue q;
    gqs::test::IdleWorker idle(q.puller); // on_push returned: the LISTEN is in place
    gqs::test::TempDb tmp;
    auto child =
        gqs::test::spawn(GQS_STRESS_CHILD, {"produce", q.child_db(), "1"}, tmp.dir() / "out");
    REQUIRE(gqs::test::wait_child(child) == 0);
    CHECK(idle.started.wait_for(1));
}

TEST_CASE("postgres: on_push returns once its LISTEN is in place", "[postgres]") {
    PgQueue q;
    const std::string listening = "SELECT count(*) FROM pg_stat_activity WHERE query = "
                                  "'LISTEN \"gqs." +
                                  q.schema.name() + "\"'";
    // Connected beforehand, so the look comes right after on_push returns.
    PGconn* look = PQconnectdb(q.schema.conninfo().c_str());
    REQUIRE(PQstatus(look) == CONNECTION_OK);
    const auto count = [&] {
        PGresult* r = PQexec(look, listening.c_str());
        std::string n = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "error";
        PQclear(r);
        return n;
    };
    auto subscription = q.puller.on_push([] {});
    CHECK(count() == "1"); // a push committed from now on is heard
    subscription.reset();
    CHECK(gqs::test::wait_until([&] { return count() == "0"; }));
    PQfinish(look);
}

TEST_CASE("postgres: the listener listens again after its session is killed", "[postgres]") {
    PgQueue q;
    gqs::test::IdleWorker idle(q.puller); // its poll is 10 minutes away
    const std::string listen_query = "query = 'LISTEN \"gqs." + q.schema.name() + "\"'";
    const std::string old = q.schema.exec("SELECT pid FROM pg_stat_activity WHERE " + listen_query);
    REQUIRE_FALSE(old.empty());
    q.schema.exec("SELECT pg_terminate_backend(" + old + ")");
    REQUIRE(gqs::test::wait_until([&] {
        return q.schema.exec("SELECT count(*) FROM pg_stat_activity WHERE " + listen_query +
                             " AND state = 'idle' AND pid <> " + old) == "1";
    }));
    auto other = q.connect();
    gqs::postgres::Pusher(other).push(gqs::Message{});
    CHECK(idle.started.wait_for(1)); // heard through the new session
}
