// SPDX-License-Identifier: Apache-2.0
// A Worker through its sessions killed (pg_terminate_backend) and through a crash and restart
// of the server, on a cluster of its own (scripts/pg-cluster.sh): it reconnects, every job
// runs once and is Done once.
#include "support/catch.hpp"
#include "support/pg_cluster.hpp"
#include "support/postgres_schema.hpp"
#include "support/sync.hpp"
#include "support/test_support.hpp"

#include "postgres/connection_impl.hpp"

#include <gqs/postgres.hpp>

#include <array>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

using namespace std::chrono_literals;

namespace {

using gqs::test::Cluster;

// Handlers that wait at a gate the test opens, and count runs per job.
class Runs {
public:
    void run(const gqs::Job& job) {
        std::unique_lock lock(mutex_);
        ++started_;
        ++runs_[job.id];
        changed_.notify_all();
        changed_.wait(lock, [&] { return open_; });
    }
    void set_open(bool open) {
        std::lock_guard lock(mutex_);
        open_ = open;
        changed_.notify_all();
    }
    bool wait_started(int n) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, 30s, [&] { return started_ >= n; });
    }
    std::map<gqs::Uuid, int> runs() {
        std::lock_guard lock(mutex_);
        return runs_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool open_ = true;
    int started_ = 0;
    std::map<gqs::Uuid, int> runs_;
};

// How many jobs are Done, read on a connection of its own (0 while the server is away).
std::int64_t done_count(const std::string& conninfo) {
    try {
        auto c = gqs::postgres::Connection::open(conninfo);
        return gqs::postgres::Observer(c).stats().done;
    } catch (const gqs::StorageError&) {
        return 0;
    }
}

// Runs `text` on a session of its own; returns the first field ("" if none).
std::string sql(const std::string& conninfo, const std::string& text) {
    gqs::postgres::detail::Conn c(PQconnectdb(conninfo.c_str()));
    gqs::postgres::detail::Result r(PQexec(c.get(), text.c_str()));
    const auto status = PQresultStatus(r.get());
    INFO(text << ": " << PQerrorMessage(c.get()));
    REQUIRE((status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK));
    return PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "";
}

// A Connection to a gqs queue on the cluster (init_db done).
std::shared_ptr<gqs::postgres::Connection> queue_on(const Cluster& server) {
    auto connection = gqs::postgres::Connection::open(server.conninfo());
    gqs::postgres::init_db(*connection);
    return connection;
}

// A stopped Worker whose handlers run through `runs`.
gqs::Worker counting_worker(gqs::Puller& puller, Runs& runs, const gqs::WorkerConfig& config) {
    return gqs::Worker(
        puller, [&runs](const gqs::Job& job, std::stop_token) { runs.run(job); }, config);
}

void push_jobs(const std::string& conninfo, int n) {
    auto c = gqs::postgres::Connection::open(conninfo);
    std::vector<gqs::Message> batch(static_cast<std::size_t>(n));
    gqs::postgres::Pusher(c).push_batch(batch);
}

} // namespace

TEST_CASE("postgres: a Worker goes on through killed sessions and a server restart",
          "[postgres][process]") {
    (void)gqs::test::postgres_or_skip(); // a server is installed (or CI requires one)
    Cluster server;
    // A crash must not lose an acknowledged commit (pg-cluster.sh keeps this on).
    REQUIRE(sql(server.conninfo(), "SHOW synchronous_commit") == "on");
    gqs::postgres::Puller puller(queue_on(server));
    Runs runs;
    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.batch_size = 8;
    config.pull_interval = 50ms;
    gqs::Worker worker = counting_worker(puller, runs, config);
    worker.start();
    constexpr int per_round = 100;
    // Each round: handlers hold their jobs while the sessions go away, then finish.
    const auto round = [&](int number, const std::function<void()>& disrupt) {
        runs.set_open(false);
        push_jobs(server.conninfo(), per_round);
        REQUIRE(runs.wait_started((number - 1) * per_round + 4));
        disrupt();
        runs.set_open(true);
        INFO("round " << number);
        const bool all_done = gqs::test::wait_until(
            [&] { return done_count(server.conninfo()) == number * per_round; }, 60s);
        if (!all_done) {
            auto c = gqs::postgres::Connection::open(server.conninfo());
            UNSCOPED_INFO("done " << done_count(server.conninfo()) << " of "
                                  << gqs::postgres::Observer(c).list(std::nullopt, 0).size());
            for (const auto& job : gqs::postgres::Observer(c).list(std::nullopt, 0))
                if (job.status != gqs::Status::Done)
                    UNSCOPED_INFO(job.id.to_string() << " " << gqs::to_string(job.status)
                                                     << " attempts " << job.attempts);
        }
        REQUIRE(all_done);
        REQUIRE(gqs::test::wait_until(
            [&] { return done_count(server.conninfo()) == number * per_round; }, 60s));
    };
    round(1, [&] {
        // Every session but this one: the worker's, its listener's.
        CHECK(std::stoi(sql(server.conninfo(), "SELECT count(pg_terminate_backend(pid))"
                                               " FROM pg_stat_activity"
                                               " WHERE pid <> pg_backend_pid()"
                                               " AND datname = current_database()")) >= 2);
    });
    round(2, [&] { server.crash_and_restart(); });
    worker.stop(30s);
    auto c = gqs::postgres::Connection::open(server.conninfo());
    const auto jobs = gqs::postgres::Observer(c).list(std::nullopt, 0);
    REQUIRE(jobs.size() == 2 * per_round);
    const auto counted = runs.runs();
    for (const auto& job : jobs) {
        INFO(job.id.to_string());
        CHECK(job.status == gqs::Status::Done);
        CHECK(job.attempts == 1);
        CHECK(counted.at(job.id) == 1);
    }
}

TEST_CASE("postgres: an outage of seconds runs no finished job twice", "[postgres][process]") {
    (void)gqs::test::postgres_or_skip();
    Cluster server;
    gqs::postgres::Puller puller(queue_on(server));
    Runs runs;
    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.pull_interval = 50ms; // a try every 50 ms: the old three tries lasted 150 ms
    gqs::Worker worker = counting_worker(puller, runs, config);
    runs.set_open(false);
    push_jobs(server.conninfo(), 20);
    worker.start();
    REQUIRE(runs.wait_started(4));
    server.crash();
    // The four handlers finish while the server is away; their results cannot be stored.
    runs.set_open(true);
    // The outage itself (what is tested), not a wait for something.
    std::this_thread::sleep_for(3s);
    server.restart();
    REQUIRE(gqs::test::wait_until([&] { return done_count(server.conninfo()) == 20; }, 60s));
    worker.stop(30s);
    auto c = gqs::postgres::Connection::open(server.conninfo());
    const auto counted = runs.runs();
    for (const auto& job : gqs::postgres::Observer(c).list(std::nullopt, 0)) {
        INFO(job.id.to_string());
        CHECK(job.attempts == 1);
        CHECK(counted.at(job.id) == 1);
    }
}
