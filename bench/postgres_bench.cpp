// SPDX-License-Identifier: Apache-2.0
// gqs_bench_postgres: gqs::postgres against raw libpq running the same SQL (the statements of
// src/postgres/statements.hpp, prepared, binary parameters) on the same server, one line per
// workload; each run on a fresh schema. See bench/README.md.
#include "keyed_drain.hpp"
#include "limited_pull.hpp"
#include "schedule_tick.hpp"
#include "support.hpp"

#include "postgres/connection_impl.hpp"
#include "postgres/statements.hpp"
#include "postgres/wire.hpp"

#include <gqs/postgres.hpp>
#include <gqs/worker.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace gqs_bench {
namespace {

namespace pg = gqs::postgres;
namespace pgd = gqs::postgres::detail;
using namespace std::chrono_literals;

constexpr std::string_view usage =
    "usage: gqs_bench_postgres --conninfo=CONNINFO [--quick] [--runs=N] [--only=NAME,...]\n"
    "  --conninfo     the server (a libpq URI or key=value string); default: $GQS_TEST_POSTGRES\n"
    "  --quick        small sizes, a few seconds in total (a smoke test)\n"
    "  --runs=N       runs per workload, median reported (default 5; 3 for the heavy ones)\n"
    "  --verbose      print each run of schedule_tick to stderr\n"
    "  --only=NAMES   push push_batch pull_complete_1 pull_complete_100 worker_drain_c4\n"
    "                 backlog latency_xproc push_listening drain_processes schedule_tick\n"
    "                 limited_pull keyed_drain\n"
    "  --unnamed      gqs's Connections in Pooling::Transaction (unnamed statements, no\n"
    "                 session settings), still direct: what that mode costs\n"
    "  --pooler=CONNINFO  gqs's Connections through this transaction-mode pooler\n"
    "                 (Pooling::Transaction, LISTEN direct); raw SQL stays direct\n";

const std::vector<std::string> all_workloads = {
    "push",         "push_batch",    "pull_complete_1", "pull_complete_100", "worker_drain_c4",
    "backlog",      "latency_xproc", "push_listening",  "drain_processes",   "schedule_tick",
    "limited_pull", "keyed_drain"};

struct Config {
    std::string conninfo;
    bool quick = false;
    bool verbose = false; // each run of schedule_tick on stderr
    int runs = 0;
    std::set<std::string> only;
};

struct Sizes {
    std::size_t push = 2'000;
    std::size_t push_batch = 100'000;
    std::size_t batch = 1'000;
    std::size_t pull_complete_1 = 2'000;
    std::size_t pull_complete_100 = 50'000;
    std::size_t drain = 100'000;
    std::size_t drain_ceiling = 50'000;
    std::size_t backlog_small = 1'000;
    std::size_t backlog_large = 100'000;
    std::size_t backlog_done = 1'000'000;
    std::size_t backlog_measured = 1'000;
    std::size_t latency_samples = 1'000;
    TickSizes tick;                  // schedule_tick: schedules, looks and ticks per run
    std::size_t tick_done = 100'000; // schedule_tick: the Done jobs of its second setup
    static Sizes quick() {
        Sizes z;
        z.push = 200;
        z.push_batch = 5'000;
        z.pull_complete_1 = 200;
        z.pull_complete_100 = 2'000;
        z.drain = 5'000;
        z.drain_ceiling = 2'000;
        z.backlog_small = 100;
        z.backlog_large = 2'000;
        z.backlog_done = 10'000;
        z.backlog_measured = 200;
        z.latency_samples = 50;
        z.tick.looks = 500;
        z.tick.ticks = 50;
        z.tick.blocks = 5;
        z.tick_done = 10'000;
        return z;
    }
};

void expect(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("expected: ") + what);
}

double rate(std::size_t n, Clock::time_point start) {
    return static_cast<double>(n) / seconds_since(start);
}

void line(const std::string& text) { std::cout << text << std::endl; }

// How gqs's Connections reach the server (--unnamed, --pooler); raw SQL always goes direct.
struct Route {
    bool unnamed = false;
    std::string pooler; // empty: direct
};
Route route;

std::shared_ptr<pg::Connection> open_gqs(const std::string& conninfo, const std::string& schema) {
    pg::Options options;
    options.schema = schema;
    if (route.unnamed || !route.pooler.empty()) {
        options.pooling = pg::Pooling::Transaction;
        options.listen_conninfo = conninfo;
    }
    return pg::Connection::open(route.pooler.empty() ? conninfo : route.pooler, options);
}

// Runs SQL text on a session of its own.
void admin_sql(const std::string& conninfo, const std::string& sql) {
    auto conn = pgd::connect(conninfo);
    pgd::Result r(PQexec(conn.get(), sql.c_str()));
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw std::runtime_error(std::string("admin SQL failed: ") + PQresultErrorMessage(r.get()));
}

// A queue of its own for one measurement: a fresh schema, dropped at the end.
class Schema {
public:
    explicit Schema(const std::string& conninfo) : conninfo_(conninfo) {
        static std::atomic<int> counter{0};
        name_ = "gqs_bench_" + std::to_string(::getpid()) + "_" + std::to_string(++counter);
        connection = open_gqs(conninfo, name_);
        pg::init_db(*connection);
        // A schema lever to measure (issue 26: fill factor, fewer indexes), on both sides.
        if (const char* lever = std::getenv("GQS_BENCH_PG_SCHEMA_SQL"))
            admin_sql(conninfo, pgd::in_schema(ident(), lever));
    }
    ~Schema() {
        connection.reset();
        try {
            admin_sql(conninfo_, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS \"" +
                                     name_ + "\" CASCADE");
        } catch (const std::exception&) {
        }
    }
    Schema(const Schema&) = delete;
    Schema& operator=(const Schema&) = delete;
    [[nodiscard]] const std::string& name() const { return name_; }
    [[nodiscard]] std::string ident() const { return "\"" + name_ + "\""; }
    [[nodiscard]] std::shared_ptr<pg::Connection> connect() const {
        return open_gqs(conninfo_, name_);
    }
    /// `n` rows of `status` (1 ready now, 3 Done) inserted by the server (fast).
    void fill(std::size_t n, int status) const {
        admin_sql(conninfo_,
                  "INSERT INTO " + ident() +
                      ".jobs (id, created_at, updated_at, status, next_run_at, metadata, payload)"
                      " SELECT gen_random_uuid(), now(), now(), " +
                      std::to_string(status) + ", now() - interval '1 second', '" + metadata_text +
                      "', convert_to(repeat('x', 100), 'UTF8')" + " FROM generate_series(1, " +
                      std::to_string(n) + ")");
        // As autovacuum would have, long before a history this size: it must not run
        // during the measurement.
        admin_sql(conninfo_, "VACUUM ANALYZE " + ident() + ".jobs");
    }

    std::shared_ptr<pg::Connection> connection;

private:
    std::string conninfo_;
    std::string name_;
};

// A fresh schema and the roles of one Connection, for the limits' lines.
struct LimitsSchema {
    explicit LimitsSchema(const std::string& conninfo) : schema(conninfo) {}
    Schema schema;
    pg::Pusher pusher{schema.connection};
    pg::Puller puller{schema.connection};
    pg::Queues queues{schema.connection};
};

// The baseline: one libpq session running gqs's statements, prepared, binary, nothing else.
class Raw {
public:
    Raw(const std::string& conninfo, const Schema& schema)
        : conn_(pgd::connect(conninfo)), ident_(schema.ident()) {}
    pgd::Result run(const char* sql, const pgd::Params& p) {
        auto it = names_.find(sql);
        if (it == names_.end()) {
            const std::string name = "raw_" + std::to_string(names_.size());
            pgd::Result made(PQprepare(conn_.get(), name.c_str(),
                                       pgd::in_schema(ident_, sql).c_str(), p.size(), nullptr));
            check(made);
            it = names_.emplace(sql, name).first;
        }
        pgd::Result r(PQexecPrepared(conn_.get(), it->second.c_str(), p.size(), p.values(),
                                     p.lengths(), p.formats(), 1));
        check(r);
        return r;
    }
    void exec(const char* sql) { check(pgd::Result(PQexec(conn_.get(), sql))); }

private:
    static void check(const pgd::Result& r) {
        const auto status = PQresultStatus(r.get());
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
            throw std::runtime_error(std::string("raw: ") + PQresultErrorMessage(r.get()));
    }
    pgd::Conn conn_;
    std::string ident_;
    std::map<const char*, std::string> names_;
};

std::vector<gqs::Message> messages(std::size_t n) {
    std::vector<gqs::Message> out(n);
    for (auto& m : out) {
        m.metadata = metadata_text;
        m.payload = std::string(100, 'x');
    }
    return out;
}

pgd::Params insert_params(const gqs::Message& m, const std::string& metadata) {
    pgd::Params p;
    p.uuid(m.id);
    p.i64(0);
    p.jsonb(metadata);
    p.borrow(m.payload);
    p.borrow(m.queue);
    p.i16(0);
    p.null(); // concurrency_key
    p.null(); // job_group
    return p;
}

pgd::Params batch_params(std::span<const gqs::Message> ms, const std::string& metadata) {
    pgd::Array ids(pgd::oid_uuid), meta(pgd::oid_jsonb), payloads(pgd::oid_bytea),
        queues(pgd::oid_text), priorities(pgd::oid_int2), keys(pgd::oid_text),
        concurrency_keys(pgd::oid_text), groups(pgd::oid_text);
    for (const auto& m : ms) {
        ids.add(pgd::uuid_bytes(m.id));
        meta.add(pgd::jsonb_bytes(metadata));
        payloads.add(m.payload);
        queues.add(m.queue);
        priorities.add(pgd::be16(0));
        keys.add_null();
        concurrency_keys.add_null();
        groups.add_null();
    }
    pgd::Params p;
    p.own(ids.finish());
    p.i64(0);
    p.own(meta.finish());
    p.own(payloads.finish());
    p.own(queues.finish());
    p.own(priorities.finish());
    p.own(keys.finish());
    p.own(concurrency_keys.finish());
    p.own(groups.finish());
    return p;
}

// The leases a raw pull returned: ids and attempts (columns 0 and 4 of the job row).
struct Leases {
    std::vector<gqs::Uuid> ids;
    std::vector<std::int32_t> attempts;
};

Leases raw_pull(Raw& raw, int batch) {
    pgd::Params p;
    p.i32(batch);
    p.i64(30'000'000);
    auto r = raw.run(pgd::pull_sql, p);
    Leases l;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
        l.ids.push_back(pgd::uuid_at(r.get(), i, 0));
        l.attempts.push_back(static_cast<std::int32_t>(pgd::int_at(r.get(), i, 4)));
    }
    return l;
}

// Completes the leases in one settle statement (sorted by id, as gqs sends them).
void raw_complete(Raw& raw, Leases l) {
    std::vector<std::size_t> order(l.ids.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&](auto a, auto b) { return l.ids[a] < l.ids[b]; });
    pgd::Array ids(pgd::oid_uuid), attempts(pgd::oid_int4), seen(pgd::oid_int2),
        actions(pgd::oid_int2), backoffs(pgd::oid_int8), errors(pgd::oid_text);
    for (auto i : order) {
        ids.add(pgd::uuid_bytes(l.ids[i]));
        attempts.add(pgd::be32(l.attempts[i]));
        seen.add(pgd::be16(2));
        actions.add(pgd::be16(0));
        backoffs.add(pgd::be64(0));
        errors.add_null();
    }
    pgd::Params p;
    p.own(ids.finish());
    p.own(attempts.finish());
    p.own(seen.finish());
    p.own(actions.finish());
    p.own(backoffs.finish());
    p.own(errors.finish());
    raw.run(pgd::settle_sql, p);
}

// ---- workloads: each returns jobs per second ----------------------------------------------

double gqs_push(const Config& c, std::size_t n) {
    Schema s(c.conninfo);
    pg::Pusher pusher(s.connection);
    auto ms = messages(n);
    const auto start = Clock::now();
    for (const auto& m : ms)
        pusher.push(m);
    return rate(n, start);
}

double raw_push(const Config& c, std::size_t n) {
    Schema s(c.conninfo);
    Raw raw(c.conninfo, s);
    auto ms = messages(n);
    const auto start = Clock::now();
    for (const auto& m : ms)
        raw.run(pgd::insert_sql, insert_params(m, metadata_text));
    return rate(n, start);
}

double gqs_push_batch(const Config& c, std::size_t n, std::size_t batch) {
    Schema s(c.conninfo);
    pg::Pusher pusher(s.connection);
    auto ms = messages(n);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; i += batch)
        pusher.push_batch(std::span(ms).subspan(i, std::min(batch, n - i)));
    return rate(n, start);
}

double raw_push_batch(const Config& c, std::size_t n, std::size_t batch) {
    Schema s(c.conninfo);
    Raw raw(c.conninfo, s);
    auto ms = messages(n);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; i += batch)
        raw.run(pgd::insert_batch_sql,
                batch_params(std::span(ms).subspan(i, std::min(batch, n - i)), metadata_text));
    return rate(n, start);
}

// `ready` jobs wait (after `done` Done rows); `measured` are pulled `batch` at a time and
// completed.
double gqs_pull_complete(const Config& c, std::size_t ready, std::size_t measured, int batch,
                         std::size_t done = 0) {
    Schema s(c.conninfo);
    if (done > 0) s.fill(done, 3);
    s.fill(ready, 1);
    pg::Puller puller(s.connection);
    std::size_t left = measured;
    const auto start = Clock::now();
    while (left > 0) {
        auto jobs = puller.pull(static_cast<int>(std::min<std::size_t>(batch, left)), 30s);
        expect(!jobs.empty(), "a pull found jobs");
        if (jobs.size() == 1) {
            puller.complete(jobs[0]);
        } else {
            (void)puller.complete_batch(jobs);
        }
        left -= jobs.size();
    }
    return rate(measured, start);
}

double raw_pull_complete(const Config& c, std::size_t ready, std::size_t measured, int batch,
                         std::size_t done = 0) {
    Schema s(c.conninfo);
    if (done > 0) s.fill(done, 3);
    s.fill(ready, 1);
    Raw raw(c.conninfo, s);
    std::size_t left = measured;
    const auto start = Clock::now();
    while (left > 0) {
        auto leases = raw_pull(raw, static_cast<int>(std::min<std::size_t>(batch, left)));
        expect(!leases.ids.empty(), "a pull found jobs");
        left -= leases.ids.size();
        raw_complete(raw, std::move(leases));
    }
    return rate(measured, start);
}

// The worker's local queue and batch: graphile-worker's batched drain, the figure to beat,
// keeps 500 jobs locally too.
constexpr int drain_queue = 500;

// A gqs::Worker (4 threads, no-op handler) drains `n`: with the default config when `queue`
// is 0, else with a local queue of `queue` and batches of as many.
double gqs_worker_drain(const Config& c, std::size_t n, int queue) {
    Schema s(c.conninfo);
    s.fill(n, 1);
    pg::Puller puller(s.connection);
    std::atomic<std::size_t> handled{0};
    std::mutex mutex;
    std::condition_variable all;
    gqs::WorkerConfig config;
    config.concurrency = 4;
    if (queue > 0) {
        config.prefetch = queue;
        config.batch_size = queue;
    }
    gqs::Worker worker(
        puller,
        [&](const gqs::Job&, std::stop_token) {
            if (handled.fetch_add(1) + 1 == n) {
                std::lock_guard lock(mutex);
                all.notify_all();
            }
        },
        config);
    const auto start = Clock::now();
    worker.start();
    {
        std::unique_lock lock(mutex);
        expect(all.wait_for(lock, 10min, [&] { return handled.load() >= n; }), "drained");
    }
    worker.stop(60s); // returns once the last results are stored
    const double r = rate(n, start);
    expect(pg::Observer(s.connection).stats().done == static_cast<std::int64_t>(n), "all done");
    return r;
}

// The raw floor of a worker leasing `batch` at a time: each transaction completes the
// previous batch and pulls the next.
double raw_worker_floor(const Config& c, std::size_t n, int batch) {
    Schema s(c.conninfo);
    s.fill(n, 1);
    Raw raw(c.conninfo, s);
    std::size_t done = 0;
    Leases held;
    const auto start = Clock::now();
    while (true) {
        raw.exec("BEGIN");
        done += held.ids.size();
        if (!held.ids.empty()) raw_complete(raw, std::move(held));
        held = raw_pull(raw, batch);
        raw.exec("COMMIT");
        if (held.ids.empty()) break;
    }
    expect(done == n, "the floor completed every job");
    return rate(n, start);
}

// schedule_tick: for each count in `done`, a fresh schema that holds that many Done jobs
// (vacuumed and analyzed, as autovacuum would have) and the schedules put through
// pg::Schedules on the schema's Connection; then measure_schedule_ticks over them. The @every
// schedules are moved by a session of their own: next_fire is timestamptz on the server's
// clock, which the tick reads.
std::vector<TickCost> gqs_schedule_tick(const Config& c, const TickSizes& z,
                                        const std::vector<std::size_t>& done) {
    struct Setup {
        std::unique_ptr<Schema> schema;
        std::unique_ptr<pg::Schedules> schedules;
        std::unique_ptr<Raw> raw;
        std::string due_sql;
        std::string far_sql;
    };
    std::vector<Setup> made;
    made.reserve(done.size());
    for (const auto d : done) {
        Setup& u = made.emplace_back();
        u.schema = std::make_unique<Schema>(c.conninfo);
        if (d > 0) u.schema->fill(d, 3);
        u.schedules = std::make_unique<pg::Schedules>(u.schema->connection);
        put_tick_schedules(*u.schedules, z);
        const std::string table = u.schema->ident() + ".gqs_schedules";
        admin_sql(c.conninfo, "VACUUM ANALYZE " + table);
        // UPDATE table SET next_fire = clock_timestamp() <shift> WHERE cron = '@every 1s'
        const auto move_every = [&](const char* shift) {
            std::string sql = "UPDATE ";
            sql += table;
            sql += " SET next_fire = clock_timestamp() ";
            sql += shift;
            sql += " WHERE cron = '";
            sql += tick_every_cron;
            sql += "'";
            return sql;
        };
        // The jobs earlier ticks pushed go first (untimed): a tick whose latest slot is the
        // whole second it follows by under a millisecond would find the key of an earlier
        // tick's job held, and push nothing.
        u.due_sql = "DELETE FROM " + u.schema->ident() + ".jobs WHERE status = 1; " +
                    move_every("- interval '1 millisecond'");
        u.far_sql = move_every("+ interval '1 hour'");
        u.raw = std::make_unique<Raw>(c.conninfo, *u.schema);
    }
    std::vector<TickSetup> setups;
    setups.reserve(made.size());
    for (auto& u : made)
        setups.push_back({u.schedules.get(), [&u](bool due) {
                              u.raw->exec(due ? u.due_sql.c_str() : u.far_sql.c_str());
                          }});
    return measure_schedule_ticks(setups, z);
}

// ---- processes: this program started again ------------------------------------------------

constexpr const char* pusher_flag = "--pg-pusher";
constexpr const char* drainer_flag = "--pg-drainer";

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// Pushes one job per byte read from stdin (its payload: the steady clock before the push).
int run_pusher(const std::string& schema, const std::string& conninfo) {
    auto connection = pg::Connection::open(conninfo, {.schema = schema});
    pg::Pusher pusher(connection);
    char ch = 0;
    while (::read(0, &ch, 1) == 1) {
        gqs::Message m;
        m.payload.resize(sizeof(std::int64_t));
        const std::int64_t ns = steady_ns();
        std::memcpy(m.payload.data(), &ns, sizeof ns);
        pusher.push(m);
    }
    return 0;
}

// Waits for a byte on stdin, runs a Worker (4 threads, the default config) until stdin
// closes.
int run_drainer(const std::string& schema, const std::string& conninfo) {
    auto connection = pg::Connection::open(conninfo, {.schema = schema});
    pg::Puller puller(connection);
    gqs::WorkerConfig config;
    config.concurrency = 4;
    gqs::Worker worker(
        puller, [](const gqs::Job&, std::stop_token) {}, config);
    char ch = 0;
    if (::read(0, &ch, 1) != 1) return 0;
    worker.start();
    while (::read(0, &ch, 1) == 1) {
    }
    worker.stop(60s);
    return 0;
}

struct Child {
    pid_t pid = -1;
    int input = -1;
};

Child start_child(const char* flag, const std::string& schema, const std::string& conninfo) {
    int fds[2];
    // Close-on-exec: a later child must not hold this one's input open.
    expect(::pipe2(fds, O_CLOEXEC) == 0, "a pipe to the child");
    const pid_t pid = ::fork();
    expect(pid >= 0, "fork");
    if (pid == 0) {
        ::dup2(fds[0], 0);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execl("/proc/self/exe", "gqs_bench_postgres", flag, schema.c_str(), conninfo.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[0]);
    return {pid, fds[1]};
}

void poke(const Child& child) { expect(::write(child.input, "x", 1) == 1, "poke a child"); }

void finish(Child& child) {
    ::close(child.input);
    int status = 0;
    ::waitpid(child.pid, &status, 0);
}

// `processes` drainer processes drain `n` jobs; jobs per second from the go to the last Done.
double drain_processes(const Config& c, std::size_t n, int processes) {
    Schema s(c.conninfo);
    s.fill(n, 1);
    std::vector<Child> children;
    for (int i = 0; i < processes; ++i)
        children.push_back(start_child(drainer_flag, s.name(), c.conninfo));
    std::this_thread::sleep_for(300ms); // let them connect
    pg::Observer observer(s.connection);
    const auto start = Clock::now();
    for (const auto& child : children)
        poke(child);
    while (observer.stats().done < static_cast<std::int64_t>(n)) {
        expect(seconds_since(start) < 600, "drained within 10 minutes");
        std::this_thread::sleep_for(2ms);
    }
    const double r = rate(n, start);
    for (auto& child : children)
        finish(child);
    return r;
}

// Push in another process to handler start here, for a worker whose poll is 10 minutes away.
std::vector<double> latency_xproc(const Config& c, std::size_t samples) {
    Schema s(c.conninfo);
    pg::Puller puller(s.connection);
    std::mutex mutex;
    std::condition_variable cv;
    std::optional<double> latest;
    gqs::WorkerConfig config;
    config.pull_interval = 10min;
    gqs::Worker worker(
        puller,
        [&](const gqs::Job& job, std::stop_token) {
            const std::int64_t now = steady_ns();
            std::int64_t pushed = 0;
            std::memcpy(&pushed, job.payload.data(), sizeof pushed);
            std::lock_guard lock(mutex);
            latest = static_cast<double>(now - pushed) / 1000.0;
            cv.notify_all();
        },
        config);
    worker.start();
    auto child = start_child(pusher_flag, s.name(), c.conninfo);
    std::this_thread::sleep_for(300ms); // the LISTEN session and the child connect
    std::vector<double> us;
    for (std::size_t i = 0; i < samples; ++i) {
        {
            std::lock_guard lock(mutex);
            latest.reset();
        }
        poke(child);
        std::unique_lock lock(mutex);
        if (!cv.wait_for(lock, 5s, [&] { return latest.has_value(); })) break;
        us.push_back(*latest);
        lock.unlock();
        std::this_thread::sleep_for(2ms); // the job completes; the worker is idle again
    }
    finish(child);
    worker.stop(30s);
    return us;
}

// Single pushes while a worker on another Connection listens (and is woken by each).
double gqs_push_listening(const Config& c, std::size_t n) {
    Schema s(c.conninfo);
    auto other = s.connect();
    pg::Puller puller(other);
    gqs::Worker worker(puller, [](const gqs::Job&, std::stop_token) {});
    worker.start();
    std::this_thread::sleep_for(200ms);
    pg::Pusher pusher(s.connection);
    auto ms = messages(n);
    const auto start = Clock::now();
    for (const auto& m : ms)
        pusher.push(m);
    const double r = rate(n, start);
    worker.stop(30s);
    return r;
}

// ---- the runner -----------------------------------------------------------------------------

class Runner {
public:
    explicit Runner(Config c) : c_(std::move(c)), z_(c_.quick ? Sizes::quick() : Sizes{}) {}

    int run() {
        line("# gqs_bench_postgres server=" + server_version() +
             " synchronous_commit=" + setting("synchronous_commit") + " fsync=" + setting("fsync") +
             " mode=" + (c_.quick ? "quick" : "full") + " runs=" + std::to_string(runs(false)) +
             "/" + std::to_string(runs(true)) + " gqs_route=" +
             (!route.pooler.empty() ? "pooler"
              : route.unnamed       ? "unnamed"
                                    : "direct"));
        attempt("push", [&] {
            report("push", pair(
                               false, [&] { return gqs_push(c_, z_.push); },
                               [&] { return raw_push(c_, z_.push); }));
        });
        attempt("push_batch", [&] {
            report("push_batch",
                   pair(
                       false, [&] { return gqs_push_batch(c_, z_.push_batch, z_.batch); },
                       [&] { return raw_push_batch(c_, z_.push_batch, z_.batch); }));
        });
        attempt("pull_complete_1", [&] {
            const auto n = z_.pull_complete_1;
            report("pull_complete_1", pair(
                                          false, [&] { return gqs_pull_complete(c_, n, n, 1); },
                                          [&] { return raw_pull_complete(c_, n, n, 1); }));
        });
        attempt("pull_complete_100", [&] {
            const auto n = z_.pull_complete_100;
            report("pull_complete_100", pair(
                                            false, [&] { return gqs_pull_complete(c_, n, n, 100); },
                                            [&] { return raw_pull_complete(c_, n, n, 100); }));
        });
        attempt("worker_drain_c4", [&] {
            const auto m =
                interleave(true, {[&] { return gqs_worker_drain(c_, z_.drain, 0); },
                                  [&] { return gqs_worker_drain(c_, z_.drain, drain_queue); },
                                  [&] { return raw_worker_floor(c_, z_.drain_ceiling, 100); }});
            // The default config, then graphile-worker's batched settings (a local queue of 500).
            line(fmt("worker_drain_c4 gqs_jobs_per_s=%.0f", m[0]) +
                 fmt(" raw_floor_jobs_per_s=%.0f", m[2]) +
                 fmt(" ratio=%.3f", m[2] > 0 ? m[0] / m[2] : 0) +
                 fmt(" vs_graphile_worker_24220=%.3f", m[0] / 24220.0));
            line(fmt("worker_drain_c4_q500 gqs_jobs_per_s=%.0f", m[1]) +
                 fmt(" raw_floor_jobs_per_s=%.0f", m[2]) +
                 fmt(" ratio=%.3f", m[2] > 0 ? m[1] / m[2] : 0) +
                 fmt(" vs_graphile_worker_24220=%.3f", m[1] / 24220.0));
        });
        attempt("backlog", [&] { backlog(); });
        attempt("latency_xproc", [&] {
            std::vector<double> p50, p99;
            std::size_t samples = 0;
            for (int i = 0; i < runs(false); ++i) {
                auto us = latency_xproc(c_, z_.latency_samples);
                expect(!us.empty(), "a handler started");
                samples += us.size();
                p50.push_back(percentile(us, 50));
                p99.push_back(percentile(us, 99));
            }
            line(fmt("latency_xproc p50_us=%.0f", median(p50)) + fmt(" p99_us=%.0f", median(p99)) +
                 " samples=" + std::to_string(samples));
        });
        attempt("push_listening", [&] {
            const auto m = interleave(false, {[&] { return gqs_push_listening(c_, z_.push); },
                                              [&] { return gqs_push(c_, z_.push); }});
            line(fmt("push_listening gqs_jobs_per_s=%.0f", m[0]) +
                 fmt(" without_listener_jobs_per_s=%.0f", m[1]) +
                 fmt(" ratio=%.3f", m[1] > 0 ? m[0] / m[1] : 0));
        });
        attempt("drain_processes", [&] {
            // Scale-out: 1, 2 and 4 processes of 4 threads each, the default config.
            const auto m = interleave(true, {[&] { return drain_processes(c_, z_.drain, 1); },
                                             [&] { return drain_processes(c_, z_.drain, 2); },
                                             [&] { return drain_processes(c_, z_.drain, 4); }});
            line(fmt("drain_processes one_jobs_per_s=%.0f", m[0]) +
                 fmt(" two_jobs_per_s=%.0f", m[1]) + fmt(" four_jobs_per_s=%.0f", m[2]) +
                 fmt(" two_vs_one=%.3f", m[0] > 0 ? m[1] / m[0] : 0) +
                 fmt(" four_vs_one=%.3f", m[0] > 0 ? m[2] / m[0] : 0));
        });
        attempt("schedule_tick", [&] { schedule_tick(); });
        attempt("limited_pull", [&] {
            const auto z = limited_pull_sizes(c_.quick);
            line(limited_pull_line(runs(true), z, [&] {
                LimitsSchema l(c_.conninfo);
                prepare_limited_pull(l.pusher, l.queues, z);
                admin_sql(c_.conninfo, "VACUUM ANALYZE " + l.schema.ident() + ".jobs");
                return measure_limited_pull(l.puller, z);
            }));
        });
        attempt("keyed_drain", [&] {
            const auto z = keyed_drain_sizes(c_.quick);
            line(keyed_drain_line(runs(true), z, [&] {
                LimitsSchema l(c_.conninfo);
                return measure_keyed_drain(l.pusher, l.puller, l.queues, z);
            }));
        });
        return failures_ == 0 ? 0 : 1;
    }

private:
    // The scheduler thread's cost per wake with many schedules, few due, on a schema without
    // and with Done jobs (the two setups interleaved): a line for each, the second with the
    // ratios to the first. No raw side.
    void schedule_tick() {
        const std::array<std::size_t, 2> done = {0, z_.tick_done};
        std::array<std::vector<double>, 2> looks;
        std::array<std::vector<double>, 2> ticks;
        for (int run = 0; run < runs(true); ++run) {
            // Both setups in one run, blocks of samples interleaved; the first block
            // alternates.
            const std::size_t first = static_cast<std::size_t>(run) % done.size();
            const std::size_t second = 1 - first;
            const auto costs = gqs_schedule_tick(c_, z_.tick, {done.at(first), done.at(second)});
            for (std::size_t k = 0; k < costs.size(); ++k) {
                const std::size_t i = k == 0 ? first : second;
                looks.at(i).push_back(costs[k].look_us);
                ticks.at(i).push_back(costs[k].tick_us);
                if (c_.verbose)
                    std::cerr << "  run " << run << " done_jobs=" << done.at(i)
                              << fmt(": look_us=%.1f", costs[k].look_us)
                              << fmt(" tick_us=%.1f", costs[k].tick_us) << "\n";
            }
        }
        const std::array<double, 2> look = {median(looks[0]), median(looks[1])};
        const std::array<double, 2> tick = {median(ticks[0]), median(ticks[1])};
        const std::string sizes = " schedules=" + std::to_string(z_.tick.schedules) +
                                  " due=" + std::to_string(z_.tick.every);
        line(fmt("schedule_tick look_us=%.1f", look[0]) + fmt(" tick_us=%.1f", tick[0]) +
             " done_jobs=0" + sizes);
        line(fmt("schedule_tick look_us=%.1f", look[1]) + fmt(" tick_us=%.1f", tick[1]) +
             " done_jobs=" + std::to_string(done[1]) + sizes +
             fmt(" look_vs_no_done=%.3f", look[0] > 0 ? look[1] / look[0] : 0) +
             fmt(" tick_vs_no_done=%.3f", tick[0] > 0 ? tick[1] / tick[0] : 0));
    }

    [[nodiscard]] int runs(bool heavy) const {
        if (c_.runs > 0) return c_.runs;
        if (c_.quick) return 1;
        return heavy ? 3 : 5;
    }

    std::string setting(const char* name) {
        auto conn = pgd::connect(c_.conninfo);
        pgd::Result r(PQexec(conn.get(), (std::string("SHOW ") + name).c_str()));
        return PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "?";
    }
    std::string server_version() { return setting("server_version"); }

    void attempt(const std::string& name, const std::function<void()>& body) {
        if (c_.only.count(name) == 0) return;
        try {
            body();
        } catch (const std::exception& e) {
            ++failures_;
            line(name + " error=\"" + e.what() + "\"");
        }
    }

    // Each run measures every variant once, starting at a different one each run, so drift
    // on a shared machine spreads over all of them. Returns the median of each.
    std::vector<double> interleave(bool heavy, const std::vector<std::function<double()>>& vs) {
        std::vector<std::vector<double>> samples(vs.size());
        for (int run = 0; run < runs(heavy); ++run)
            for (std::size_t k = 0; k < vs.size(); ++k) {
                const auto i = (k + static_cast<std::size_t>(run)) % vs.size();
                samples[i].push_back(vs[i]());
            }
        std::vector<double> out;
        for (auto& v : samples)
            out.push_back(median(v));
        return out;
    }

    std::pair<double, double> pair(bool heavy, const std::function<double()>& gqs,
                                   const std::function<double()>& raw) {
        const auto m = interleave(heavy, {gqs, raw});
        return {m[0], m[1]};
    }

    static void report(const std::string& name, std::pair<double, double> r,
                       const std::string& extra = {}) {
        line(name + fmt(" gqs_jobs_per_s=%.0f", r.first) + fmt(" raw_jobs_per_s=%.0f", r.second) +
             fmt(" ratio=%.3f", r.second > 0 ? r.first / r.second : 0) + extra);
    }

    // pull(1) + complete with 1,000 ready, 100,000 ready, and 1,000 ready behind 1,000,000
    // Done rows, interleaved: the cost ratios should stay near 1.
    void backlog() {
        const auto m = z_.backlog_measured;
        const auto r = interleave(
            false,
            {[&] { return gqs_pull_complete(c_, z_.backlog_small + m, m, 1); },
             [&] { return raw_pull_complete(c_, z_.backlog_small + m, m, 1); },
             [&] { return gqs_pull_complete(c_, z_.backlog_large + m, m, 1); },
             [&] { return raw_pull_complete(c_, z_.backlog_large + m, m, 1); },
             [&] { return gqs_pull_complete(c_, z_.backlog_small + m, m, 1, z_.backlog_done); },
             [&] { return raw_pull_complete(c_, z_.backlog_small + m, m, 1, z_.backlog_done); }});
        report("backlog_1k", {r[0], r[1]});
        report("backlog_100k", {r[2], r[3]},
               fmt(" cost_100k_vs_1k=%.3f", r[2] > 0 ? r[0] / r[2] : 0) +
                   fmt(" raw_cost_100k_vs_1k=%.3f", r[3] > 0 ? r[1] / r[3] : 0));
        report("backlog_1m_done", {r[4], r[5]},
               fmt(" cost_vs_no_history=%.3f", r[4] > 0 ? r[0] / r[4] : 0) +
                   fmt(" raw_cost_vs_no_history=%.3f", r[5] > 0 ? r[1] / r[5] : 0));
    }

    Config c_;
    Sizes z_;
    int failures_ = 0;
};

std::optional<Config> parse(int argc, char** argv) {
    Config c;
    if (const char* env = std::getenv("GQS_TEST_POSTGRES")) c.conninfo = env;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view key) -> std::optional<std::string> {
            if (arg.substr(0, key.size()) == key) return std::string(arg.substr(key.size()));
            return std::nullopt;
        };
        if (arg == "--quick") {
            c.quick = true;
        } else if (arg == "--verbose") {
            c.verbose = true;
        } else if (auto v = value("--conninfo=")) {
            c.conninfo = *v;
        } else if (arg == "--unnamed") {
            route.unnamed = true;
        } else if (auto pooler = value("--pooler=")) {
            route.pooler = *pooler;
        } else if (auto runs = value("--runs=")) {
            c.runs = std::atoi(runs->c_str());
            if (c.runs <= 0) return std::nullopt;
        } else if (auto names = value("--only=")) {
            std::string rest = *names;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const std::string name = rest.substr(0, comma);
                rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
                if (std::find(all_workloads.begin(), all_workloads.end(), name) ==
                    all_workloads.end())
                    return std::nullopt;
                c.only.insert(name);
            }
        } else {
            return std::nullopt;
        }
    }
    if (c.conninfo.empty()) return std::nullopt;
    if (c.only.empty()) c.only.insert(all_workloads.begin(), all_workloads.end());
    return c;
}

} // namespace
} // namespace gqs_bench

int main(int argc, char** argv) {
    try {
        if (argc == 4 && std::string_view(argv[1]) == gqs_bench::pusher_flag)
            return gqs_bench::run_pusher(argv[2], argv[3]);
        if (argc == 4 && std::string_view(argv[1]) == gqs_bench::drainer_flag)
            return gqs_bench::run_drainer(argv[2], argv[3]);
        auto config = gqs_bench::parse(argc, argv);
        if (!config) {
            std::cerr << gqs_bench::usage;
            return 2;
        }
        return gqs_bench::Runner(std::move(*config)).run();
    } catch (const std::exception& e) {
        std::cerr << "gqs_bench_postgres: " << e.what() << "\n";
        return 1;
    }
}
