// SPDX-License-Identifier: Apache-2.0
// Two PostgreSQL cells of the crash matrix (issue 22), with real processes (gqs_stress_child)
// and a real server: the server killed (pg_ctl -m immediate) and restarted under load, and a
// worker's connection cut for 10 s by a TCP proxy (nothing forwarded, or every connection
// reset). Each counts, from the processes' append-only logs and the stored jobs: pushed,
// done, lost (0), run twice (only where a lease could have run out), and stuck after the
// fault ended (0 within one lease time, plus the longest handler where one may be running).
#include "support/catch.hpp"

#include "postgres/connection_impl.hpp"

#include "support/pg_cluster.hpp"
#include "support/postgres_queue.hpp"
#include "support/postgres_schema.hpp"
#include "support/tcp_proxy.hpp"
#include "support/test_support.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

using namespace std::chrono_literals;

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GQS_FAULTS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GQS_FAULTS_SANITIZED 1
#endif
#endif

namespace {

using Clock = std::chrono::steady_clock;
using gqs::test::Child;

// "w<i>" (built with +=: GCC 12 reports a false -Wrestrict for "w" + std::to_string(i)).
std::string worker_name(std::size_t i) {
    std::string name = "w";
    name += std::to_string(i);
    return name;
}

// Milliseconds on the steady clock, as gqs_stress_child's serve mode writes them.
std::int64_t ms_of(Clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// One line of a serve log ("start ID ATTEMPT T MS", "done|stopped ID ATTEMPT T") of one
// process.
struct Entry {
    std::string what;
    gqs::Uuid id;
    std::uint32_t attempts = 0;
    std::int64_t t = 0;
    long length = 0; // of a start: how long the handler will sleep (ms)
    std::string process;
    bool faulted = false; // the process the fault cut off from the database
};

std::vector<Entry> read_serve_log(const std::filesystem::path& path, const std::string& process,
                                  bool faulted) {
    std::vector<Entry> out;
    for (const auto& text : gqs::test::lines(gqs::test::read_file(path))) {
        std::istringstream in(text);
        Entry e;
        std::string id;
        in >> e.what >> id >> e.attempts >> e.t;
        const auto parsed = gqs::Uuid::parse(id);
        if (!parsed || !in) throw std::runtime_error("bad log line: " + text);
        if (e.what == "start") in >> e.length;
        e.id = *parsed;
        e.process = process;
        e.faulted = faulted;
        out.push_back(std::move(e));
    }
    return out;
}

// The ids in the producer's log ("pushed ID 0"): the pushes that were accepted.
std::set<gqs::Uuid> pushed_ids(const std::filesystem::path& log) {
    std::set<gqs::Uuid> out;
    for (const auto& text : gqs::test::lines(gqs::test::read_file(log))) {
        std::istringstream in(text);
        std::string what, id;
        in >> what >> id;
        if (auto parsed = gqs::Uuid::parse(id)) out.insert(*parsed);
    }
    return out;
}

// Waits up to `limit` for the child to exit; a child still running then is killed (and
// reported as -1). Returns its exit status (128 + the signal if one ended it).
int wait_bounded(Child& child, std::chrono::seconds limit) {
    int status = 0;
    const bool exited = gqs::test::wait_until(
        [&] { return ::waitpid(child.pid, &status, WNOHANG) == child.pid; }, limit);
    if (!exited) {
        ::kill(child.pid, SIGKILL);
        gqs::test::wait_child(child);
        child.pid = -1;
        return -1;
    }
    child.pid = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

// Kills and reaps, at the end of the scope, the children not waited for (a test that ended
// early must not leave them running: they would wait for their jobs forever).
class Reaper {
public:
    explicit Reaper(std::vector<Child*> children) : children_(std::move(children)) {}
    ~Reaper() {
        for (Child* child : children_) {
            if (child->pid < 0) continue;
            ::kill(child->pid, SIGKILL);
            gqs::test::wait_child(*child);
        }
    }
    Reaper(const Reaper&) = delete;
    Reaper& operator=(const Reaper&) = delete;

private:
    std::vector<Child*> children_;
};

// A stored job's status and attempts.
struct Stored {
    gqs::Status status = gqs::Status::Pending;
    std::uint32_t attempts = 0;
};

// Every stored job, read through `observer` (a call that finds its connection broken throws,
// and the next one reconnects: one retry).
std::map<gqs::Uuid, Stored> stored_jobs(gqs::Observer& observer) {
    std::map<gqs::Uuid, Stored> out;
    std::vector<gqs::Job> jobs;
    try {
        jobs = observer.list(std::nullopt, 0);
    } catch (const gqs::StorageError&) {
        jobs = observer.list(std::nullopt, 0);
    }
    for (const auto& job : jobs)
        out[job.id] = {job.status, job.attempts};
    return out;
}

// How long it took after `from` until every job of `ids` was Done, waiting until `deadline`;
// `stuck`: how many were not Done by then.
double wait_done(gqs::Observer& observer, const std::set<gqs::Uuid>& ids, Clock::time_point from,
                 Clock::time_point deadline, long& stuck) {
    while (true) {
        long not_done = 0;
        try {
            const auto stored = stored_jobs(observer);
            for (const auto& id : ids) {
                const auto it = stored.find(id);
                if (it == stored.end() || it->second.status != gqs::Status::Done) ++not_done;
            }
        } catch (const gqs::StorageError&) {
            not_done = static_cast<long>(ids.size()); // the server is not back yet
        }
        const auto now = Clock::now();
        if (not_done == 0 || now >= deadline) {
            stuck = not_done;
            return std::chrono::duration<double>(now - from).count();
        }
        std::this_thread::sleep_for(50ms); // polling the stored jobs
    }
}

// What a cell counted.
struct Counts {
    long pushed = 0;
    long done = 0;
    long lost = 0;          // pushed, and missing or not Done at the end
    long twice = 0;         // jobs whose handler finished ("done") more than once
    long unexplained = 0;   // of those, run again although no lease could have run out
    long stuck = 0;         // pushed before the fault ended, not Done within the bound after it
    double recovered_s = 0; // from the end of the fault until every job pushed before it was Done
    long stored = 0;        // jobs stored (nothing is stored that was not pushed)
    long unrun = 0; // attempts never started: leases whose pull's answer was lost (at least)
};

// The fault: from `fault` to `restored`; leases of `lease`.
struct Window {
    std::int64_t fault = 0;
    std::int64_t restored = 0;
    std::chrono::milliseconds lease{0};
};

// Counts a cell. A job may be run (to "done") more than once only if a lease could have run
// out: its first run began in a process the fault cut off, before the fault ended, and a
// later run began once a lease the fault kept from being extended could have run out. The
// lease keeper extends a lease every lease/2, so a lease confirmed last just before the fault
// lasts at least lease/2 into it (less 250 ms for an extension's own round trip).
Counts count(const std::set<gqs::Uuid>& pushed, const std::map<gqs::Uuid, Stored>& stored,
             const std::vector<Entry>& entries, const Window& window) {
    Counts c;
    c.pushed = static_cast<long>(pushed.size());
    c.stored = static_cast<long>(stored.size());
    std::map<gqs::Uuid, int> done_runs;
    std::map<gqs::Uuid, std::vector<const Entry*>> starts;
    for (const Entry& e : entries) {
        if (e.what == "done") ++done_runs[e.id];
        if (e.what == "start") starts[e.id].push_back(&e);
    }
    const std::int64_t expired_from = window.fault + window.lease.count() / 2 - 250;
    for (const auto& id : pushed) {
        const auto it = stored.find(id);
        if (it == stored.end() || it->second.status != gqs::Status::Done) {
            ++c.lost;
        } else {
            ++c.done;
            const auto runs = static_cast<long>(starts[id].size());
            c.unrun += std::max(0L, static_cast<long>(it->second.attempts) - runs);
        }
        if (done_runs[id] <= 1) continue;
        ++c.twice;
        auto& runs = starts[id];
        std::sort(runs.begin(), runs.end(),
                  [](const Entry* a, const Entry* b) { return a->t < b->t; });
        const bool explained = runs.size() >= 2 && runs.front()->faulted &&
                               runs.front()->t <= window.restored && runs.back()->t >= expired_from;
        if (!explained) ++c.unexplained;
    }
    return c;
}

std::string describe(const char* cell, const Counts& c, double seconds) {
    std::ostringstream out;
    out << cell << ": pushed " << c.pushed << ", done " << c.done << ", lost " << c.lost
        << ", run twice " << c.twice << " (unexplained " << c.unexplained << "), stuck " << c.stuck
        << ", all pushed before the fault's end Done " << c.recovered_s << " s after it; "
        << c.unrun << " leases taken and never run; " << seconds << " s in all";
    return out.str();
}

// The first field of `sql`'s first row, on a session of its own.
std::string query(const std::string& conninfo, const std::string& sql) {
    PGconn* c = PQconnectdb(conninfo.c_str());
    std::string out;
    if (PQstatus(c) == CONNECTION_OK) {
        PGresult* r = PQexec(c, sql.c_str());
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
        PQclear(r);
    }
    PQfinish(c);
    return out;
}

} // namespace

#ifdef GQS_FAULTS_SANITIZED
constexpr long crash_rate = 100; // pushes per second
#else
constexpr long crash_rate = 200;
#endif

TEST_CASE("postgres crash matrix: the server killed (-m immediate) and restarted while 200 "
          "pushes/s run through 3 worker processes (shorter under sanitizers)",
          "[faults][process]") {
    (void)gqs::test::postgres_or_skip(); // a server is installed (or CI requires one)
    const auto began = Clock::now();
    gqs::test::Cluster server;
    // A crash must not lose an acknowledged commit (pg-cluster.sh keeps this on).
    REQUIRE(query(server.conninfo(), "SHOW synchronous_commit") == "on");
    const std::string schema = "gqs_faults";
    auto connection = gqs::postgres::Connection::open(server.conninfo(), {.schema = schema});
    gqs::postgres::init_db(*connection);
    gqs::postgres::Observer observer(connection);
    gqs::test::TempDb tmp; // the processes' logs
    const auto& dir = tmp.dir();
    const std::string db = "pg:" + schema + ":" + server.conninfo();
    const std::string child = GQS_STRESS_CHILD;
    constexpr long seconds = 8;
    constexpr long total = crash_rate * seconds;
    constexpr auto lease = 10s; // longer than the outage: no lease should run out
    // The producer retries a push that failed (for up to 60 s) with the same id.
    auto producer =
        gqs::test::spawn(child,
                         {"trickle", db, std::to_string(total), std::to_string(crash_rate),
                          (dir / "pushed.log").string(), "60"},
                         dir / "producer.out");
    std::vector<Child> workers;
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string name = worker_name(i);
        workers.push_back(gqs::test::spawn(
            child,
            {"serve", db, (dir / (name + ".log")).string(), "2", std::to_string(total),
             std::to_string(std::chrono::milliseconds(lease).count()), "2", "2"},
            dir / (name + ".out")));
    }
    Reaper reaper({&producer, &workers[0], &workers[1], &workers[2]});
    const auto start = Clock::now();
    // The fault, paced by time: 3 s of load, the crash, 1.5 s with no server, the restart.
    std::this_thread::sleep_until(start + 3s);
    const auto fault = Clock::now();
    server.crash();
    std::this_thread::sleep_for(1500ms);
    server.restart();
    const auto restored = Clock::now();
    const auto before_end = pushed_ids(dir / "pushed.log");
    long stuck = 0;
    const double recovered_s = wait_done(observer, before_end, restored, restored + lease, stuck);

    const int producer_status = wait_bounded(producer, 90s);
    std::vector<int> worker_status;
    for (auto& w : workers)
        worker_status.push_back(wait_bounded(w, 90s));
    std::vector<Entry> entries;
    for (std::size_t i = 0; i < 3; ++i) {
        const std::string name = worker_name(i);
        for (auto& e : read_serve_log(dir / (name + ".log"), name, true))
            entries.push_back(std::move(e));
    }
    const auto stored = stored_jobs(observer);
    Counts counts = count(pushed_ids(dir / "pushed.log"), stored, entries,
                          {ms_of(fault), ms_of(restored), lease});
    counts.stuck = stuck;
    counts.recovered_s = recovered_s;
    const std::string producer_out = gqs::test::read_file(dir / "producer.out");
    WARN(describe("server crash", counts,
                  std::chrono::duration<double>(Clock::now() - began).count())
         << "; outage " << std::chrono::duration<double>(restored - fault).count() << " s; "
         << producer_out);
    INFO("producer: " << producer_out);
    CHECK(producer_status == 0);
    for (std::size_t i = 0; i < workers.size(); ++i) {
        INFO(worker_name(i) << ": " << gqs::test::read_file(dir / (worker_name(i) + ".out")));
        CHECK(worker_status[i] == 0);
    }
    CHECK(counts.pushed == total);
    CHECK(counts.stored == total); // nothing stored that was not pushed
    CHECK(counts.lost == 0);
    CHECK(counts.unexplained == 0);
    CHECK(counts.stuck == 0);
}

namespace {

using Mode = gqs::test::TcpProxy::Mode;

// The cut cell: a producer and a worker process connected directly, a worker process through
// the proxy; the proxy is switched to `cut` for 10 s, then forwards again.
void cut_run(Mode cut, const char* cell) {
    const auto began = Clock::now();
    gqs::test::PgQueue q;
    const auto& conninfo = q.schema.conninfo();
    gqs::test::TcpProxy proxy(gqs::test::pg_address(conninfo));
    gqs::test::TempDb tmp; // the processes' logs
    const auto& dir = tmp.dir();
    const std::string direct = q.child_db();
    const std::string via = "pg:" + q.schema.name() + ":" +
                            gqs::test::conninfo_via(conninfo, "127.0.0.1", proxy.port());
    const std::string child = GQS_STRESS_CHILD;
    constexpr long rate = 50;
    constexpr auto warm_up = 5s; // at most, after 1 s: the cut begins as a long job starts
                                 // behind the proxy (2 a second, all to it until the cut)
    constexpr auto cut_for = 10s;
    constexpr auto after = 3s;
    constexpr long total = rate * std::chrono::seconds(1s + warm_up + cut_for + after).count();
    constexpr auto lease = 2000ms;
    constexpr auto long_job = 1900ms; // every 25th job: its handler is asked to stop in the cut
    const auto serve = [&](const std::string& db, const std::string& name) {
        return gqs::test::spawn(child,
                                {"serve", db, (dir / (name + ".log")).string(), "6",
                                 std::to_string(total), std::to_string(lease.count()), "5",
                                 std::to_string(long_job.count())},
                                dir / (name + ".out"));
    };
    auto producer = gqs::test::spawn(child,
                                     {"trickle", direct, std::to_string(total),
                                      std::to_string(rate), (dir / "pushed.log").string()},
                                     dir / "producer.out");
    auto behind = serve(via, "behind");
    // The direct worker starts with the cut: until then every job goes behind the proxy, so a
    // long one starts there every half second (with both running, the direct one could take
    // every long job for seconds, and the cut would find none at risk).
    gqs::test::Child beside;
    Reaper reaper({&producer, &behind, &beside});

    // The cut begins just after a long job started behind the proxy: its lease, not extended
    // yet (that happens lease/2 after the pull), is at risk in the cut before the job ends.
    const auto start = Clock::now();
    std::this_thread::sleep_until(start + 1s); // warming up: a pace
    const bool long_running = gqs::test::wait_until(
        [&] {
            const auto now = ms_of(Clock::now());
            const auto log = read_serve_log(dir / "behind.log", "behind", true);
            std::set<std::pair<gqs::Uuid, std::uint32_t>> ended;
            for (const auto& e : log)
                if (e.what != "start") ended.insert({e.id, e.attempts});
            return std::any_of(log.begin(), log.end(), [&](const Entry& e) {
                return e.what == "start" && e.length >= long_job.count() && now - e.t < 600 &&
                       !ended.count({e.id, e.attempts});
            });
        },
        warm_up);
    proxy.set_mode(cut);
    const auto fault = Clock::now();
    beside = serve(direct, "beside");
    std::this_thread::sleep_until(fault + cut_for); // the cut: a pace
    proxy.set_mode(Mode::Forward);
    const auto restored = Clock::now();
    const auto before_end = pushed_ids(dir / "pushed.log");
    long stuck = 0;
    // A job pushed just before the end may be a long one, running when the bound is checked.
    const double recovered_s =
        wait_done(q.observer, before_end, restored, restored + lease + long_job, stuck);

    const int producer_status = wait_bounded(producer, 90s);
    const int behind_status = wait_bounded(behind, 90s);
    const int beside_status = wait_bounded(beside, 90s);
    auto entries = read_serve_log(dir / "behind.log", "behind", true);
    for (auto& e : read_serve_log(dir / "beside.log", "beside", false))
        entries.push_back(std::move(e));
    const Window window{ms_of(fault), ms_of(restored), lease};
    Counts counts = count(pushed_ids(dir / "pushed.log"), stored_jobs(q.observer), entries, window);
    counts.stuck = stuck;
    counts.recovered_s = recovered_s;

    // Behind the proxy: nothing started during the cut (no pull; 500 ms for jobs whose pull
    // was answered just before it to start), and every handler running
    // when it began ended before its lease could run out (at the latest lease after the cut
    // began; the watchdog asks at lease/4 before): finished, or stopped when asked.
    long started_in_cut = 0;
    long stopped = 0;
    long ran_past_lease = 0;
    std::map<std::pair<gqs::Uuid, std::uint32_t>, std::set<std::int64_t>> ends;
    for (const auto& e : entries) {
        if (!e.faulted) continue;
        if (e.what == "start" && e.t > window.fault + 500 && e.t < window.restored)
            ++started_in_cut;
        if (e.what == "stopped" && e.t >= window.fault && e.t <= window.restored) ++stopped;
        if (e.what != "start") ends[{e.id, e.attempts}].insert(e.t);
    }
    for (const auto& e : entries) {
        if (!e.faulted || e.what != "start" || e.t > window.fault) continue;
        // The run's end: the first end of the same attempt after it began.
        const auto& run_ends = ends[{e.id, e.attempts}];
        const auto end = run_ends.lower_bound(e.t);
        if (end == run_ends.end() || *end > window.fault + lease.count() + 250) ++ran_past_lease;
    }
    const std::string behind_out = gqs::test::read_file(dir / "behind.out");
    WARN(describe(cell, counts, std::chrono::duration<double>(Clock::now() - began).count())
         << "; behind the proxy: " << stopped << " handlers asked to stop, " << started_in_cut
         << " jobs started during the cut; " << proxy.accepted() << " connections through it");
    INFO("behind the proxy: " << behind_out);
    INFO("beside: " << gqs::test::read_file(dir / "beside.out"));
    INFO("producer: " << gqs::test::read_file(dir / "producer.out"));
    CHECK(long_running);
    CHECK(producer_status == 0);
    CHECK(behind_status == 0);
    CHECK(beside_status == 0);
    CHECK(counts.pushed == total);
    CHECK(counts.stored == total);
    CHECK(counts.lost == 0);
    CHECK(counts.unexplained == 0);
    CHECK(counts.stuck == 0);
    CHECK(started_in_cut == 0);
    CHECK(ran_past_lease == 0);
    CHECK(stopped >= 1);
}

} // namespace

TEST_CASE("postgres crash matrix: a worker's connection cut for 10 s (a proxy forwards nothing)",
          "[faults][process]") {
    cut_run(Mode::Blackhole, "connection cut (blackhole)");
}

TEST_CASE("postgres crash matrix: a worker's connection cut for 10 s (a proxy resets and refuses "
          "every connection)",
          "[faults][process]") {
    cut_run(Mode::Drop, "connection cut (reset)");
}

TEST_CASE("tcp proxy: forwards then swallows everything then resets and refuses connections",
          "[faults]") {
    const std::string conninfo = gqs::test::postgres_or_skip();
    gqs::test::TcpProxy proxy(gqs::test::pg_address(conninfo));
    const std::string via =
        gqs::test::conninfo_via(conninfo, "127.0.0.1", proxy.port()) + " connect_timeout=2";
    const auto value = [](PGresult* r) {
        std::string out = PQresultStatus(r) == PGRES_TUPLES_OK ? PQgetvalue(r, 0, 0) : "";
        PQclear(r);
        return out;
    };
    PGconn* c = PQconnectdb(via.c_str());
    INFO(PQerrorMessage(c));
    REQUIRE(PQstatus(c) == CONNECTION_OK);
    CHECK(value(PQexec(c, "SELECT 1")) == "1");

    // Blackhole: a query is held (no answer within 1 s), and a new connection is accepted but
    // never answered (connect_timeout ends it); once forwarding again, the answer comes.
    proxy.set_mode(Mode::Blackhole);
    REQUIRE(PQsendQuery(c, "SELECT 2") == 1);
    pollfd fd{PQsocket(c), POLLIN, 0};
    CHECK(::poll(&fd, 1, 1000) == 0);
    const auto connecting = Clock::now();
    PGconn* held = PQconnectdb(via.c_str());
    CHECK(PQstatus(held) == CONNECTION_BAD);
    CHECK(Clock::now() - connecting >= 1500ms);
    PQfinish(held);
    proxy.set_mode(Mode::Forward);
    CHECK(::poll(&fd, 1, 10000) == 1);
    CHECK(value(PQgetResult(c)) == "2");
    PQclear(PQgetResult(c)); // the end of the results (nullptr)

    // Drop: the connection is reset, and a new one refused at once.
    proxy.set_mode(Mode::Drop);
    CHECK(value(PQexec(c, "SELECT 3")).empty());
    CHECK(PQstatus(c) == CONNECTION_BAD);
    PQfinish(c);
    const auto refusing = Clock::now();
    PGconn* refused = PQconnectdb(via.c_str());
    CHECK(PQstatus(refused) == CONNECTION_BAD);
    CHECK(Clock::now() - refusing < 1500ms);
    PQfinish(refused);

    proxy.set_mode(Mode::Forward);
    PGconn* again = PQconnectdb(via.c_str());
    CHECK(PQstatus(again) == CONNECTION_OK);
    CHECK(value(PQexec(again, "SELECT 4")) == "4");
    PQfinish(again);
    CHECK(proxy.accepted() >= 3); // c, held, again (refused was not accepted)

    // A TCP upstream (here: the proxy itself, behind another one).
    gqs::test::TcpProxy outer({"127.0.0.1", std::to_string(proxy.port())});
    const std::string via_outer =
        gqs::test::conninfo_via(conninfo, "127.0.0.1", outer.port()) + " connect_timeout=2";
    PGconn* twice = PQconnectdb(via_outer.c_str());
    CHECK(PQstatus(twice) == CONNECTION_OK);
    CHECK(value(PQexec(twice, "SELECT 5")) == "5");
    PQfinish(twice);
}

TEST_CASE("postgres: the last Connection goes at once while its owed NOTIFY waits for a server "
          "that stopped answering",
          "[faults][notify]") {
    gqs::test::PgSchema schema;
    {
        auto direct = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
        gqs::postgres::init_db(*direct);
    }
    gqs::test::TcpProxy proxy(gqs::test::pg_address(schema.conninfo()));
    auto connection = gqs::postgres::Connection::open(
        gqs::test::conninfo_via(schema.conninfo(), "127.0.0.1", proxy.port()),
        {.schema = schema.name()});
    auto& state = gqs::postgres::detail::Access::state(*connection);
    // Wide enough that the second push and the cut fall inside it on any machine.
    state.notify_window = 2s;
    {
        gqs::postgres::Pusher pusher(connection);
        pusher.push(gqs::Message{}); // announced at once
        pusher.push(gqs::Message{}); // owed until the window ends: the trailing thread sends it
    }
    proxy.set_mode(gqs::test::TcpProxy::Mode::Blackhole);
    // The trailing thread holds the connection's gate while it waits for the answer.
    const bool waiting = gqs::test::wait_until(
        [&] {
            if (!state.mutex.try_lock()) return true;
            state.mutex.unlock();
            return false;
        },
        10s);
    REQUIRE(waiting);
    const auto start = Clock::now();
    connection.reset();
    const auto took = Clock::now() - start;
    proxy.set_mode(gqs::test::TcpProxy::Mode::Forward);
    INFO("destroying the Connection took "
         << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
    CHECK(took < 5s);
}
