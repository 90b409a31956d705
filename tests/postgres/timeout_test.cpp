// SPDX-License-Identifier: Apache-2.0
// Every wait for the server has a bound: a server that accepts and never answers, and a
// session whose server process is frozen (SIGSTOP), end in StorageError instead of a hang;
// a Worker whose database stops answering still stops and is destroyed.
#include "support/catch.hpp"
#include "support/postgres_queue.hpp"
#include "support/silent_server.hpp"
#include "support/sync.hpp"
#include "support/test_support.hpp"
#include "support/worker_support.hpp"

#include <gqs/errors.hpp>
#include <gqs/postgres.hpp>
#include <gqs/worker.hpp>

#include <libpq-fe.h>

#include <csignal>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace std::chrono_literals;
using gqs::test::ends_within;
using gqs::test::PgQueue;
using gqs::test::SilentServer;

namespace {

// Far longer than any bound under test: reaching it means the wait had no bound.
constexpr auto hang = std::chrono::seconds(90);

// Runs `call` as ends_within does (within `hang`); the StorageError it threw, if any, goes
// to `error`.
template <class Call, class Unblock>
bool fails_within(std::optional<gqs::StorageError>& error, Call call, Unblock unblock) {
    return ends_within(
        hang,
        [&] {
            try {
                call();
            } catch (const gqs::StorageError& e) {
                error = e;
            }
        },
        unblock);
}

// A server process frozen with SIGSTOP (a hung server for that session), thawed at the end.
class Frozen {
public:
    explicit Frozen(int pid) : pid_(pid) {
        if (::kill(pid_, SIGSTOP) != 0) throw std::runtime_error("cannot SIGSTOP the backend");
    }
    ~Frozen() { thaw(); }
    Frozen(const Frozen&) = delete;
    Frozen& operator=(const Frozen&) = delete;
    void thaw() {
        if (pid_ > 0) ::kill(pid_, SIGCONT);
        pid_ = 0;
    }

private:
    int pid_;
};

// The server process of a Connection's own session.
int backend_of(gqs::postgres::Connection& db) {
    auto tx = db.begin();
    const int pid = PQbackendPID(tx.native());
    tx.rollback();
    return pid;
}

std::shared_ptr<gqs::postgres::Connection> open_with(const PgQueue& q,
                                                     gqs::Duration statement_timeout) {
    gqs::postgres::Options options;
    options.schema = q.schema.name();
    options.statement_timeout = statement_timeout;
    return gqs::postgres::Connection::open(q.schema.conninfo(), options);
}

} // namespace

TEST_CASE("postgres timeouts: connecting to a server that never answers gives up",
          "[postgres][timeout]") {
    (void)gqs::test::postgres_or_skip();
    SilentServer server;
    std::optional<gqs::StorageError> error;
    gqs::postgres::Options options;
    SECTION("Options::connect_timeout, when the conninfo sets none") {
        options.connect_timeout = 300ms;
    }
    SECTION("the default") {} // 10 s
    const bool ended = fails_within(
        error, [&] { (void)gqs::postgres::Connection::open(server.conninfo(), options); },
        [&] { server.close(); });
    REQUIRE(ended);
    REQUIRE(error.has_value());
    INFO(error->what());
    CHECK(error->kind() == gqs::StorageErrorKind::ConnectionLost);
    CHECK(std::string(error->what()).find("connect_timeout") != std::string::npos);
}

TEST_CASE("postgres timeouts: the conninfo's connect_timeout wins over Options",
          "[postgres][timeout]") {
    (void)gqs::test::postgres_or_skip();
    SilentServer server;
    gqs::postgres::Options options;
    options.connect_timeout = std::chrono::hours(1);
    std::optional<gqs::StorageError> error;
    const bool ended = fails_within(
        error,
        [&] {
            (void)gqs::postgres::Connection::open(server.conninfo() + " connect_timeout=2",
                                                  options);
        },
        [&] { server.close(); });
    REQUIRE(ended);
    REQUIRE(error.has_value());
    CHECK(std::string(error->what()).find("2000 ms") != std::string::npos);
}

TEST_CASE("postgres timeouts: a statement the server never answers gives up, and the next "
          "call connects again",
          "[postgres][timeout]") {
    PgQueue q;
    auto db = open_with(q, 1s);
    gqs::postgres::Observer observer(db);
    Frozen frozen(backend_of(*db));
    std::optional<gqs::StorageError> error;
    const bool ended = fails_within(
        error, [&] { (void)observer.stats(); }, [&] { frozen.thaw(); });
    frozen.thaw();
    REQUIRE(ended);
    REQUIRE(error.has_value());
    INFO(error->what());
    CHECK(error->kind() == gqs::StorageErrorKind::ConnectionLost);
    CHECK(std::string(error->what()).find("Options::statement_timeout") != std::string::npos);
    CHECK(observer.stats().pending == 0); // a new session
}

TEST_CASE("postgres timeouts: a statement over statement_timeout is ended by the server",
          "[postgres][timeout]") {
    PgQueue q;
    auto db = open_with(q, 200ms);
    gqs::postgres::Pusher pusher(db);
    // An app's transaction holds the table, so the push waits for a lock until the server's
    // statement_timeout ends it; the session stays usable.
    auto other = q.connect();
    auto tx = other->begin();
    PQclear(PQexec(tx.native(), ("LOCK TABLE \"" + q.schema.name() + "\".jobs").c_str()));
    try {
        pusher.push(gqs::Message{});
        FAIL("the push did not time out");
    } catch (const gqs::StorageError& e) {
        INFO(e.what());
        CHECK(e.kind() == gqs::StorageErrorKind::Busy);
        CHECK(std::string(e.what()).find("57014") != std::string::npos);
        CHECK(e.native_code() == "57014"); // query_canceled: the SQLSTATE, for lookups
    }
    tx.rollback();
    CHECK_NOTHROW(pusher.push(gqs::Message{}));
}

TEST_CASE("postgres timeouts: a Worker whose database stops answering stops, and its "
          "destructor returns",
          "[postgres][timeout][worker]") {
    PgQueue q;
    // Only the stop's interrupt can end a wait here: the statement bound is 10 minutes.
    auto db = open_with(q, 10min);
    gqs::postgres::Puller puller(db);
    gqs::postgres::Pusher(db).push(gqs::Message{});
    gqs::test::Signal started;
    gqs::test::LogCapture log;
    gqs::WorkerConfig config;
    config.concurrency = 1;
    auto worker = std::make_optional<gqs::Worker>(
        puller,
        [&](const gqs::Job&, std::stop_token stop) {
            started.set();
            gqs::test::wait_for_stop(stop);
        },
        config, log.logger());
    worker->start();
    REQUIRE(started.wait());
    Frozen frozen(backend_of(*db));
    // The handler returns at once; storing its result waits for the frozen server.
    CHECK_THROWS_AS(worker->stop(500ms), gqs::StopTimeout);
    const bool ended = ends_within(
        hang, [&] { worker.reset(); }, [&] { frozen.thaw(); });
    frozen.thaw();
    INFO(log.text());
    REQUIRE(ended);
    CHECK(log.count(gqs::LogLevel::Error, "left Processing") == 1);
    // The job runs again once its lease expires (at-least-once); nothing was lost.
    auto job = gqs::postgres::Observer(db).list(std::nullopt, 0);
    REQUIRE(job.size() == 1);
    CHECK(job[0].status == gqs::Status::Processing);
}

// The case of issue 22: a Worker whose session is frozen (SIGSTOP) cannot renew its lease. Its
// handler is asked to stop while the lease holds, so the run another worker makes once the
// lease ran out never overlaps it.
TEST_CASE("postgres timeouts: a Worker whose session is frozen asks its handler to stop before "
          "the lease runs out",
          "[postgres][timeout][worker]") {
    PgQueue q;
    const gqs::Uuid id = q.pusher.push(gqs::Message{}).id;
    struct Run {
        std::uint32_t attempt;
        gqs::TimePoint start;
        gqs::TimePoint end;
    };
    std::mutex mutex;
    std::vector<Run> runs;
    std::optional<gqs::TimePoint> lease_end; // the stored lease when the first run stopped
    auto other = q.connect();
    gqs::test::Signal started;
    gqs::test::Signal stopped;
    const auto handler = [&](const gqs::Job& job, std::stop_token stop) {
        const auto start = std::chrono::system_clock::now();
        bool early = false;
        if (job.attempts == 1) {
            started.set();
            early = gqs::test::wait_for_stop(stop, 20s);
            if (early) lease_end = gqs::postgres::Observer(other).get(job.id)->locked_until;
        }
        {
            std::lock_guard lock(mutex);
            runs.push_back({job.attempts, start, std::chrono::system_clock::now()});
        }
        if (job.attempts == 1) stopped.set();
        if (early) throw std::runtime_error("stopped early"); // an honest handler: not done
    };
    gqs::test::LogCapture log;
    gqs::WorkerConfig config;
    config.concurrency = 1;
    config.lock_timeout = 2s;
    config.pull_interval = 50ms;
    gqs::Worker first(q.puller, handler, config, log.logger());
    first.start();
    REQUIRE(started.wait());
    Frozen frozen(backend_of(*q.db));
    // Another worker, whose database answers, takes the job once its lease has run out.
    auto db2 = q.connect();
    gqs::postgres::Puller puller2(db2);
    gqs::Worker second(puller2, handler, config);
    second.start();
    REQUIRE(stopped.wait());
    REQUIRE(gqs::test::wait_until([&] {
        std::lock_guard lock(mutex);
        return runs.size() == 2;
    }));
    frozen.thaw();
    REQUIRE(gqs::test::wait_until([&] {
        auto job = gqs::postgres::Observer(other).get(id);
        return job && job->status == gqs::Status::Done;
    }));
    second.stop(gqs::test::patience);
    first.stop(gqs::test::patience);
    INFO(log.text());
    REQUIRE(runs.size() == 2);
    REQUIRE(lease_end.has_value());
    CHECK(runs[0].attempt == 1);
    CHECK(runs[1].attempt == 2);
    CHECK(runs[0].end < *lease_end);    // the first run ended while its lease held
    CHECK(runs[0].end < runs[1].start); // so the two runs never overlapped
    CHECK(log.count(gqs::LogLevel::Warning, "could not be extended and runs out") == 1);
}

TEST_CASE("postgres timeouts: sessions are named gqs and gqs-listen unless the conninfo says",
          "[postgres]") {
    PgQueue q;
    gqs::test::IdleWorker idle(q.puller);
    const auto name_of = [&](const std::string& where) {
        return q.schema.exec("SELECT application_name FROM pg_stat_activity WHERE " + where);
    };
    CHECK(name_of("pid = " + std::to_string(backend_of(*q.db))) == "gqs");
    CHECK(name_of("query = 'LISTEN \"gqs." + q.schema.name() + "\"'") == "gqs-listen");
    auto named = gqs::postgres::Connection::open(q.schema.conninfo() + " application_name=myapp",
                                                 {.schema = q.schema.name()});
    CHECK(name_of("pid = " + std::to_string(backend_of(*named))) == "myapp");
}
