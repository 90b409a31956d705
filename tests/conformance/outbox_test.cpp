// SPDX-License-Identifier: Apache-2.0
// Conformance: the outbox. Jobs pushed in the app's own transaction (Connection::begin(),
// Pusher::push(tx, ...)) exist exactly when the app's rows do, wake workers only after the
// commit, and a push that fails inside it fails alone. Through Backend::begin_app(), which
// wraps each backend's Transaction; what one backend alone has (SQLite's with_database and
// BEGIN IMMEDIATE, PostgreSQL's aborted transactions and native()) stays in its folder.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::test::AppTransaction;
using gqs::test::Queue;

namespace {

gqs::Message receipt(const std::string& order) {
    gqs::Message m;
    m.payload = "receipt for " + order;
    return m;
}

// What `call` threw as std::logic_error ("" if it threw nothing or something else).
template <class F>
std::string logic_error_of(F&& call) {
    try {
        call();
    } catch (const std::logic_error& e) {
        return e.what();
    } catch (...) {
    }
    return {};
}

} // namespace

TEST_CASE("outbox: commit stores the app's rows and the job, then wakes the worker",
          "[outbox][conformance]") {
    Queue q;
    gqs::test::IdleWorker idle(q.puller); // pull_interval is 10 minutes: only a wake-up
    auto other = q.open_second();
    const auto m = receipt("book");
    {
        auto tx = q.backend->begin_app();
        tx->insert_row();
        auto result = tx->push(m);
        CHECK_FALSE(result.duplicate);
        CHECK(result.id == m.id);
        CHECK(tx->active());
        // Neither the row nor the job is visible to another connection before the commit.
        CHECK(q.backend->app_rows() == 0);
        CHECK_FALSE(other->observer().get(m.id));
        tx->commit();
        CHECK_FALSE(tx->active());
    }
    REQUIRE(idle.started.wait_for(1)); // the commit woke it
    CHECK(q.backend->app_rows() == 1);
    CHECK(other->observer().get(m.id).has_value());
    CHECK(gqs::test::wait_until([&] { return q.has_status(m.id, gqs::Status::Done); }));
}

TEST_CASE("outbox: rollback leaves neither the rows nor the job, and wakes no one",
          "[outbox][conformance]") {
    Queue q;
    gqs::test::IdleWorker idle(q.puller);
    const int before = idle.probe.pulls.load();
    const auto explicit_rollback = receipt("pen");
    const auto destroyed = receipt("ink");
    {
        auto tx = q.backend->begin_app();
        tx->insert_row();
        tx->push(explicit_rollback);
        tx->rollback();
        CHECK_FALSE(tx->active());
        CHECK_THROWS_AS(tx->commit(), std::logic_error);
    }
    {
        auto tx = q.backend->begin_app();
        tx->insert_row();
        tx->push_batch(std::vector<gqs::Message>{destroyed, receipt("nib")});
    } // destroyed without commit
    CHECK(q.backend->app_rows() == 0);
    CHECK_FALSE(q.observer.get(explicit_rollback.id));
    CHECK_FALSE(q.observer.get(destroyed.id));
    CHECK(q.count() == 0);
    // Nothing to wait for: a wake-up would have pulled within this window.
    std::this_thread::sleep_for(200ms);
    CHECK(idle.probe.pulls.load() == before);
    CHECK(idle.started.value() == 0);
    // The Connection was released both times.
    q.push();
    CHECK(idle.started.wait_for(1));
}

TEST_CASE("outbox: a push that fails inside it fails alone; the rest commits",
          "[outbox][conformance]") {
    Queue q;
    const auto existing = q.push("already there");
    auto tx = q.backend->begin_app();
    tx->insert_row();
    const auto kept = receipt("lamp");
    tx->push(kept);
    std::size_t jobs = 2; // existing and kept
    SECTION("a duplicate id") {
        gqs::Message again = existing;
        CHECK_THROWS_AS(tx->push(again), gqs::DuplicateJob);
    }
    SECTION("a batch with a duplicate id stores none of the batch") {
        const auto fresh = receipt("a");
        std::vector<gqs::Message> batch{fresh, existing, receipt("b")};
        CHECK_THROWS_AS(tx->push_batch(batch), gqs::DuplicateJob);
        // The batch's new ids are free: a push of one of them alone is stored.
        CHECK_FALSE(tx->push(fresh).duplicate);
        jobs = 3;
    }
    SECTION("bad input") {
        gqs::Message bad;
        bad.priority = 42;
        CHECK_THROWS_AS(tx->push(bad), std::invalid_argument);
        CHECK_THROWS_AS(tx->push(gqs::Message{}, gqs::Duration(-1)), std::invalid_argument);
        std::vector<gqs::Message> batch{receipt("c"), bad};
        CHECK_THROWS_AS(tx->push_batch(batch), std::invalid_argument);
    }
    SECTION("a held unique key is a duplicate, not an error") {
        gqs::Message first = receipt("k1");
        first.unique_key = "order-7";
        gqs::Message second = receipt("k2");
        second.unique_key = "order-7";
        CHECK_FALSE(tx->push(first).duplicate);
        auto result = tx->push(second);
        CHECK(result.duplicate);
        CHECK(result.id == first.id);
        jobs = 3;
    }
    tx->insert_row();
    REQUIRE(tx->active());
    tx->commit();
    CHECK(q.backend->app_rows() == 2);
    CHECK(q.has_status(kept.id, gqs::Status::Pending));
    CHECK(q.has_status(existing.id, gqs::Status::Pending));
    CHECK(q.count() == jobs);
}

TEST_CASE("outbox: a transaction may end on another thread", "[outbox][conformance]") {
    Queue q;
    auto tx = q.backend->begin_app();
    tx->insert_row();
    const auto m = receipt("moved");
    tx->push(m);
    auto moved = tx->moved(); // the Transaction's move constructor
    CHECK_FALSE(tx->active());
    CHECK(moved->active());
    SECTION("committed there") {
        std::thread([t = std::move(moved)] { t->commit(); }).join();
        CHECK(q.has_status(m.id, gqs::Status::Pending));
        CHECK(q.backend->app_rows() == 1);
    }
    SECTION("rolled back there") {
        std::thread([t = std::move(moved)] { t->rollback(); }).join();
        CHECK_FALSE(q.observer.get(m.id));
        CHECK(q.backend->app_rows() == 0);
    }
    q.push(); // the Connection is free again
    CHECK(q.count() >= 1);
}

TEST_CASE("outbox: a worker on the same Connection waits for the transaction and goes on",
          "[outbox][conformance][concurrency]") {
    Queue q;
    constexpr int jobs = 40;
    gqs::test::Counter done;
    gqs::WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = 10ms;
    gqs::Worker worker(
        q.puller, [&](const gqs::Job&, std::stop_token) { done.bump(); }, config);
    worker.start();
    for (int i = 0; i < jobs / 2; ++i)
        q.push("before");
    {
        auto tx = q.backend->begin_app();
        for (int i = 0; i < jobs / 2; ++i)
            tx->push(receipt("inside"));
        // The worker's threads wait for the Connection meanwhile; they must not deadlock with
        // it.
        std::this_thread::sleep_for(50ms); // holds the transaction open, not a synchronisation
        tx->commit();
    }
    REQUIRE(done.wait_for(jobs));
    worker.stop(std::chrono::seconds(30));
    CHECK(q.count(gqs::Status::Done) == static_cast<std::size_t>(jobs));
}

TEST_CASE("outbox: misuse is refused with std::logic_error instead of a deadlock",
          "[outbox][conformance]") {
    Queue q;
    SECTION("a gqs call on the Connection from the thread holding it") {
        auto tx = q.backend->begin_app();
        CHECK_THROWS_AS(q.pusher.push(gqs::Message{}), std::logic_error);
        CHECK_THROWS_AS(q.observer.stats(), std::logic_error);
        CHECK_THROWS_AS(q.puller.pull(1, 1min), std::logic_error);
        CHECK_THROWS_AS(q.backend->begin_app(), std::logic_error);
        CHECK(tx->active()); // none of that ended it
        tx->commit();
        q.push(); // free again
        CHECK(q.count() == 1);
    }
    SECTION("an ended transaction") {
        auto tx = q.backend->begin_app();
        tx->commit();
        // The same words on every backend.
        CHECK(logic_error_of([&] { tx->push(gqs::Message{}); }) ==
              "gqs: pushing a job: the transaction has ended");
        CHECK(logic_error_of([&] { tx->push_batch(std::vector<gqs::Message>(1)); }) ==
              "gqs: pushing a batch of jobs: the transaction has ended");
        CHECK(logic_error_of([&] { tx->commit(); }) == "gqs: commit: the transaction has ended");
        CHECK(logic_error_of([&] { tx->rollback(); }) ==
              "gqs: rollback: the transaction has ended");
        CHECK(q.count() == 0);
    }
    SECTION("the app rolls it back through its handle") {
        auto tx = q.backend->begin_app();
        tx->insert_row();
        tx->push(gqs::Message{});
        REQUIRE(tx->exec("ROLLBACK"));
        const std::string by_app = ": the transaction was ended by a statement of the "
                                   "application (COMMIT or ROLLBACK through its handle)";
        CHECK(logic_error_of([&] { tx->push(gqs::Message{}); }) == "gqs: pushing a job" + by_app);
        CHECK(logic_error_of([&] { tx->commit(); }) == "gqs: commit" + by_app);
        CHECK_FALSE(tx->active());
        CHECK_THROWS_AS(tx->rollback(), std::logic_error);
        CHECK(q.count() == 0);
        CHECK(q.backend->app_rows() == 0);
        q.push(); // the Connection was released
        CHECK(q.count() == 1);
    }
    SECTION("the app commits it through its handle") {
        auto tx = q.backend->begin_app();
        tx->insert_row();
        REQUIRE(tx->exec("COMMIT"));
        SECTION("commit says so") { CHECK_THROWS_AS(tx->commit(), std::logic_error); }
        SECTION("rollback does not throw") { CHECK_NOTHROW(tx->rollback()); }
        CHECK_FALSE(tx->active());
        CHECK(q.backend->app_rows() == 1); // what the app committed stays committed
        q.push();                          // the Connection was released
        CHECK(q.count() == 1);
    }
}
