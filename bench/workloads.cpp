// SPDX-License-Identifier: Apache-2.0
// The workloads. Inputs (messages, ids) are built before the clock starts; the clock covers
// only the queue calls. Tables are filled through a separate connection that is closed
// (and so checkpointed) before the measured connection opens, on both sides alike.
#include "workloads.hpp"

#include "raw_queue.hpp"

#if __has_include(<gqs/worker.hpp>)
#include <gqs/worker.hpp>
#define GQS_BENCH_HAVE_WORKER 1
#else
#define GQS_BENCH_HAVE_WORKER 0
#endif

#if __has_include(<malloc.h>)
#include <fcntl.h>  // O_CLOEXEC
#include <malloc.h> // mallinfo2
#include <sys/wait.h>
#include <unistd.h>
#endif

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <exception>
#include <functional>
#include <iostream>
#include <memory>
#include <mutex>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace gqs_bench {

namespace {

// A count read with SQL on the library's connection, under its lock.
std::int64_t count_of(gqs::sqlite::Connection& connection, const char* sql) {
    return connection.with_database(
        [&](SQLite::Database& db) { return db.execAndGet(sql).getInt64(); });
}

constexpr gqs::Duration lease{30000};

double rate(std::size_t jobs, Clock::time_point start) {
    return static_cast<double>(jobs) / seconds_since(start);
}

/// A new database with gqs's schema and `ready` Pending jobs after `done` Done ones.
void prepare(const TempDb& db, const Settings& s, std::size_t ready, std::size_t done = 0) {
    create_schema(db.path(), s);
    if (ready == 0 && done == 0) return;
    RawQueue filler(db.path(), s.full_sync);
    if (done > 0) filler.fill(done, 3, 100'000);
    if (ready > 0) filler.fill(ready, 1);
}

void expect(bool ok, const char* what) {
    if (!ok) throw std::runtime_error(std::string("benchmark check failed: ") + what);
}

// backlog_queues: the queues jobs are pushed to, and the ones the puller serves.
constexpr std::array<std::string_view, 10> all_queues = {"q0", "q1", "q2", "q3", "q4",
                                                         "q5", "q6", "q7", "q8", "q9"};
const std::vector<std::string> served_queues = {"q1", "q4", "q7"};
// served_queues as gqs binds them (a JSON array, gqs::detail::encode_queues).
constexpr std::string_view served_queues_json = R"(["q1","q4","q7"])";
constexpr const char* count_served_done =
    "SELECT count(*) FROM jobs WHERE status = 3 AND queue IN ('q1', 'q4', 'q7')";

/// A new database with gqs's schema and the jobs of pull_complete_queues, in push order: the
/// backlog round-robin over all queues, then the jobs that keep the served queues from
/// running dry while measuring.
void prepare_queues(const TempDb& db, const Settings& s, std::size_t backlog,
                    std::size_t measured) {
    create_schema(db.path(), s);
    std::vector<std::string_view> queues;
    queues.reserve(backlog + measured);
    for (std::size_t i = 0; i < backlog; ++i)
        queues.push_back(all_queues[i % all_queues.size()]);
    for (std::size_t i = 0; i < measured; ++i)
        queues.push_back(served_queues[i % served_queues.size()]);
    RawQueue filler(db.path(), s.full_sync);
    filler.fill_pending(queues, 0, gqs::Duration(0));
}

// priority_wall: the priority of the ready jobs behind the wall.
constexpr int wall_ready_priority = 5;
constexpr const char* count_wall_ready_done =
    "SELECT count(*) FROM jobs WHERE status = 3 AND priority = 5";
static_assert(wall_ready_priority == 5, "count_wall_ready_done names the priority");

/// A new database with gqs's schema, `wall` jobs at priority 0 delayed by an hour, then
/// `ready` ready jobs at priority wall_ready_priority.
void prepare_wall(const TempDb& db, const Settings& s, std::size_t wall, std::size_t ready) {
    create_schema(db.path(), s);
    RawQueue filler(db.path(), s.full_sync);
    if (wall > 0)
        filler.fill_pending(std::vector<std::string_view>(wall, "default"), 0,
                            std::chrono::hours(1));
    filler.fill_pending(std::vector<std::string_view>(ready, "default"), wall_ready_priority,
                        gqs::Duration(0));
}

} // namespace

Sizes Sizes::for_mode(bool quick) {
    Sizes z;
    if (!quick) return z;
    z.push = 500;
    z.push_batch = 5'000;
    z.push_unique = 500;
    z.pull_complete_1 = 500;
    z.pull_complete_100 = 5'000;
    z.drain = 1'000;
    z.drain_ceiling = 500;
    z.latency_samples = 50;
    z.latency_budget_s = 0.3;
    z.scale_done = 10'000;
    z.scale_jobs = 5'000;
    z.backlog_small = 1'000;
    z.backlog_large = 10'000;
    z.backlog_measured = 200;
    z.queues_small = 1'000;
    z.queues_large = 10'000;
    z.wall = 10'000;
    z.wall_ready = 300;
    z.idle_window_s = 1.2;
    z.memory_small = 1'000;
    z.memory_large = 20'000;
    z.memory_jobs = 500;
    z.tick.looks = 500;
    z.tick.ticks = 50;
    z.tick.blocks = 5;
    z.tick_done = 10'000;
    return z;
}

std::string make_payload() {
    std::string payload(100, '\0');
    for (std::size_t i = 0; i < payload.size(); ++i)
        payload[i] = static_cast<char>('a' + static_cast<int>(i % 26));
    return payload;
}

std::vector<gqs::Message> make_messages(std::size_t count) {
    const std::string payload = make_payload();
    std::vector<gqs::Message> messages(count);
    for (auto& m : messages) {
        m.metadata = metadata_text;
        m.payload = payload;
    }
    return messages;
}

std::vector<gqs::Uuid> make_ids(std::size_t count) {
    std::vector<gqs::Uuid> ids;
    ids.reserve(count);
    for (std::size_t i = 0; i < count; ++i)
        ids.push_back(gqs::Uuid::generate());
    return ids;
}

TempDb::TempDb(const Settings& settings) {
    // A per-process random tag keeps concurrent benchmark processes apart.
    static const std::string tag = std::to_string(std::random_device{}() & 0xFFFFFFu);
    static std::atomic<unsigned> counter{0};
    path_ = settings.dir / ("gqs_bench_" + tag + "_" + std::to_string(counter++) + ".db");
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::filesystem::remove(path_.string() + suffix);
}

TempDb::~TempDb() {
    std::error_code ignored;
    for (const char* suffix : {"", "-wal", "-shm", "-journal"})
        std::filesystem::remove(path_.string() + suffix, ignored);
}

// ---- push -------------------------------------------------------------------------------

double gqs_push(const Settings& s, std::size_t n) {
    TempDb db(s);
    prepare(db, s, 0);
    const auto messages = make_messages(n);
    gqs::sqlite::Pusher pusher(gqs::sqlite::Connection::open(db.path(), s.options()));
    const auto start = Clock::now();
    for (const auto& m : messages)
        pusher.push(m);
    return rate(n, start);
}

double raw_push(const Settings& s, std::size_t n) {
    TempDb db(s);
    prepare(db, s, 0);
    const auto ids = make_ids(n);
    const std::string payload = make_payload();
    RawQueue queue(db.path(), s.full_sync);
    const auto start = Clock::now();
    for (const auto& id : ids)
        queue.push(id, payload);
    return rate(n, start);
}

double gqs_push_batch(const Settings& s, std::size_t n, std::size_t batch) {
    TempDb db(s);
    prepare(db, s, 0);
    const auto messages = make_messages(n);
    gqs::sqlite::Pusher pusher(gqs::sqlite::Connection::open(db.path(), s.options()));
    const std::span<const gqs::Message> all(messages);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; i += batch)
        pusher.push_batch(all.subspan(i, std::min(batch, n - i)));
    return rate(n, start);
}

double raw_push_batch(const Settings& s, std::size_t n, std::size_t batch) {
    TempDb db(s);
    prepare(db, s, 0);
    const auto ids = make_ids(n);
    const std::string payload = make_payload();
    RawQueue queue(db.path(), s.full_sync);
    const std::span<const gqs::Uuid> all(ids);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; i += batch)
        queue.push_batch(all.subspan(i, std::min(batch, n - i)), payload);
    return rate(n, start);
}

double gqs_push_unique(const Settings& s, std::size_t n) {
    TempDb db(s);
    prepare(db, s, 0);
    auto messages = make_messages(n);
    for (std::size_t i = 0; i < n; ++i)
        messages[i].unique_key = "key-" + std::to_string(i);
    gqs::sqlite::Pusher pusher(gqs::sqlite::Connection::open(db.path(), s.options()));
    const auto start = Clock::now();
    for (const auto& m : messages)
        expect(!pusher.push(m).duplicate, "gqs keyed push stored its job");
    return rate(n, start);
}

double raw_push_unique(const Settings& s, std::size_t n) {
    TempDb db(s);
    prepare(db, s, 0);
    const auto ids = make_ids(n);
    std::vector<std::string> keys;
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        keys.push_back("key-" + std::to_string(i));
    const std::string payload = make_payload();
    RawQueue queue(db.path(), s.full_sync);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < n; ++i)
        expect(queue.push(ids[i], payload, {.unique_key = keys[i]}),
               "raw keyed push stored its job");
    return rate(n, start);
}

// ---- pull + complete ----------------------------------------------------------------------

double gqs_pull_complete_1(const Settings& s, std::size_t ready, std::size_t measured) {
    TempDb db(s);
    prepare(db, s, ready);
    gqs::sqlite::Puller puller(gqs::sqlite::Connection::open(db.path(), s.options()));
    const auto start = Clock::now();
    for (std::size_t i = 0; i < measured; ++i) {
        auto jobs = puller.pull(1, lease);
        expect(jobs.size() == 1, "gqs pull(1) returned a job");
        puller.complete(jobs.front());
    }
    return rate(measured, start);
}

double raw_pull_complete_1(const Settings& s, std::size_t ready, std::size_t measured) {
    TempDb db(s);
    prepare(db, s, ready);
    RawQueue queue(db.path(), s.full_sync);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < measured; ++i) {
        auto jobs = queue.pull(1, lease);
        expect(jobs.size() == 1, "raw pull(1) returned a job");
        expect(queue.complete(jobs.front()), "raw complete matched its row");
    }
    return rate(measured, start);
}

double gqs_pull_complete_batch(const Settings& s, std::size_t n, int batch, std::size_t done_rows) {
    TempDb db(s);
    prepare(db, s, n, done_rows);
    gqs::sqlite::Puller puller(gqs::sqlite::Connection::open(db.path(), s.options()));
    std::size_t done = 0;
    const auto start = Clock::now();
    while (done < n) {
        auto jobs = puller.pull(batch, lease);
        expect(!jobs.empty(), "gqs pull(batch) returned jobs");
        for (const auto& result : puller.complete_batch(jobs))
            expect(result.applied(), "gqs complete_batch");
        done += jobs.size();
    }
    return rate(done, start);
}

double raw_pull_complete_batch(const Settings& s, std::size_t n, int batch, std::size_t done_rows) {
    TempDb db(s);
    prepare(db, s, n, done_rows);
    RawQueue queue(db.path(), s.full_sync);
    std::size_t done = 0;
    const auto start = Clock::now();
    while (done < n) {
        auto jobs = queue.pull(batch, lease);
        expect(!jobs.empty(), "raw pull(batch) returned jobs");
        expect(queue.complete_batch(jobs) == jobs.size(), "raw complete_batch matched every row");
        done += jobs.size();
    }
    return rate(done, start);
}

double gqs_pull_complete_queues(const Settings& s, std::size_t backlog, std::size_t measured) {
    TempDb db(s);
    prepare_queues(db, s, backlog, measured);
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    gqs::sqlite::Puller puller(connection);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < measured; ++i) {
        auto jobs = puller.pull(1, lease, served_queues);
        expect(jobs.size() == 1, "gqs pull(1, queues) returned a job");
        puller.complete(jobs.front());
    }
    const double result = rate(measured, start);
    expect(count_of(*connection, count_served_done) == static_cast<std::int64_t>(measured),
           "gqs pulled only from the queues it serves");
    return result;
}

double raw_pull_complete_queues(const Settings& s, std::size_t backlog, std::size_t measured) {
    TempDb db(s);
    prepare_queues(db, s, backlog, measured);
    RawQueue queue(db.path(), s.full_sync);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < measured; ++i) {
        auto jobs = queue.pull(1, lease, served_queues_json);
        expect(jobs.size() == 1, "raw pull(1, queues) returned a job");
        expect(queue.complete(jobs.front()), "raw complete matched its row");
    }
    const double result = rate(measured, start);
    expect(queue.scalar(count_served_done) == static_cast<std::int64_t>(measured),
           "raw pulled only from the queues it serves");
    return result;
}

double gqs_pull_complete_wall(const Settings& s, std::size_t wall, std::size_t ready) {
    TempDb db(s);
    prepare_wall(db, s, wall, ready);
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    gqs::sqlite::Puller puller(connection);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < ready; ++i) {
        auto jobs = puller.pull(1, lease);
        expect(jobs.size() == 1, "gqs pull(1) returned a job");
        puller.complete(jobs.front());
    }
    const double result = rate(ready, start);
    expect(count_of(*connection, count_wall_ready_done) == static_cast<std::int64_t>(ready),
           "gqs pulled the ready jobs behind the wall");
    return result;
}

double raw_pull_complete_wall(const Settings& s, std::size_t wall, std::size_t ready) {
    TempDb db(s);
    prepare_wall(db, s, wall, ready);
    RawQueue queue(db.path(), s.full_sync);
    const auto start = Clock::now();
    for (std::size_t i = 0; i < ready; ++i) {
        auto jobs = queue.pull(1, lease);
        expect(jobs.size() == 1, "raw pull(1) returned a job");
        expect(queue.complete(jobs.front()), "raw complete matched its row");
    }
    const double result = rate(ready, start);
    expect(queue.scalar(count_wall_ready_done) == static_cast<std::int64_t>(ready),
           "raw pulled the ready jobs behind the wall");
    return result;
}

// ---- worker -------------------------------------------------------------------------------

double raw_worker_ceiling(const Settings& s, std::size_t n, int c) {
    TempDb db(s);
    prepare(db, s, n);
    RawQueue queue(db.path(), s.full_sync);
    std::size_t completed = 0;
    std::vector<RawJob> held;
    const auto start = Clock::now();
    while (true) {
        queue.begin();
        for (const auto& job : held)
            expect(queue.complete(job), "raw complete matched its row");
        completed += held.size();
        held = queue.pull(c, lease);
        queue.commit();
        if (held.empty()) break;
    }
    expect(completed == n, "raw ceiling completed every job");
    return rate(n, start);
}

double gqs_worker_ceiling(const Settings& s, std::size_t n, int c) {
    TempDb db(s);
    prepare(db, s, n);
    gqs::sqlite::Puller puller(gqs::sqlite::Connection::open(db.path(), s.options()));
    std::size_t completed = 0;
    std::vector<gqs::Job> held;
    std::vector<gqs::Settlement> settlements;
    std::vector<gqs::SettleResult> results;
    const auto start = Clock::now();
    while (true) {
        settlements.clear();
        for (const auto& job : held)
            settlements.push_back({gqs::lease_of(job), gqs::Action::Complete, {}, {}});
        auto next = puller.settle_and_pull(settlements, results, c, lease);
        for (const auto& result : results)
            expect(result.applied(), "gqs settle_and_pull completed its job");
        completed += held.size();
        held = std::move(next);
        if (held.empty()) break;
    }
    expect(completed == n, "gqs ceiling completed every job");
    return rate(n, start);
}

// ---- schedule_tick ----------------------------------------------------------------------

namespace {

// One database of schedule_tick and what its setup needs.
struct TickDb {
    TempDb db;
    std::shared_ptr<gqs::sqlite::Connection> connection;
    std::unique_ptr<gqs::sqlite::Schedules> schedules;

    TickDb(const Settings& s, const TickSizes& z, std::size_t done) : db(s) {
        prepare(db, s, 0, done);
        connection = gqs::sqlite::Connection::open(db.path(), s.options());
        schedules = std::make_unique<gqs::sqlite::Schedules>(connection);
        put_tick_schedules(*schedules, z);
    }

    // next_fire is INTEGER microseconds on the Connection's clock (the system clock here).
    void make_every_due(bool due, std::size_t every) const {
        const std::int64_t now = std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
        const std::int64_t at = due ? now - 1'000 : now + 3'600'000'000;
        connection->with_database([&](SQLite::Database& database) {
            // The jobs earlier ticks pushed go first: a tick whose latest slot is the whole
            // second it follows by under a millisecond would find the key of an earlier tick's
            // job held, and push nothing.
            if (due) database.exec("DELETE FROM jobs WHERE status = 1");
            SQLite::Statement update(database,
                                     "UPDATE gqs_schedules SET next_fire = ? WHERE cron = ?");
            update.bind(1, at);
            update.bind(2, tick_every_cron);
            expect(update.exec() == static_cast<int>(every), "every @every schedule moved");
        });
    }
};

} // namespace

namespace {

// A fresh database and the roles of one Connection, for the limits' lines.
struct LimitsDb {
    explicit LimitsDb(const Settings& s) : db(s), connection(opened(db, s)) {}
    static std::shared_ptr<gqs::sqlite::Connection> opened(TempDb& db, const Settings& s) {
        prepare(db, s, 0);
        return gqs::sqlite::Connection::open(db.path(), s.options());
    }
    TempDb db;
    std::shared_ptr<gqs::sqlite::Connection> connection;
    gqs::sqlite::Pusher pusher{connection};
    gqs::sqlite::Puller puller{connection};
    gqs::sqlite::Queues queues{connection};
};

} // namespace

LimitedPullRates gqs_limited_pull(const Settings& s, const LimitedPullSizes& z) {
    LimitsDb l(s);
    prepare_limited_pull(l.pusher, l.queues, z);
    return measure_limited_pull(l.puller, z);
}

std::array<double, 2> gqs_keyed_drain(const Settings& s, const KeyedDrainSizes& z) {
    LimitsDb l(s);
    return measure_keyed_drain(l.pusher, l.puller, l.queues, z);
}

std::vector<TickCost> gqs_schedule_tick(const Settings& s, const TickSizes& z,
                                        const std::vector<std::size_t>& done) {
    std::vector<std::unique_ptr<TickDb>> dbs;
    std::vector<TickSetup> setups;
    for (const auto d : done) {
        const auto& tick_db = dbs.emplace_back(std::make_unique<TickDb>(s, z, d));
        setups.push_back({tick_db->schedules.get(), [&db = *tick_db, every = z.every](bool due) {
                              db.make_every_due(due, every);
                          }});
    }
    return measure_schedule_ticks(setups, z);
}

bool have_worker() noexcept { return GQS_BENCH_HAVE_WORKER != 0; }

#if GQS_BENCH_HAVE_WORKER

namespace {

// A worker and the puller it uses. If the worker does not stop in time, both are abandoned
// (leaked, threads and all) rather than destroyed: ~Worker would wait for its threads
// forever. The handlers therefore share their state through shared_ptrs, never the stack.
struct RunningWorker {
    std::unique_ptr<gqs::Puller> puller;
    std::unique_ptr<gqs::Worker> worker;

    RunningWorker(std::unique_ptr<gqs::Puller> p, gqs::Handler handler,
                  const gqs::WorkerConfig& config)
        : puller(std::move(p)),
          worker(std::make_unique<gqs::Worker>(*puller, std::move(handler), config)) {
        worker->start();
    }
    RunningWorker(std::shared_ptr<gqs::sqlite::Connection> connection, gqs::Handler handler,
                  const gqs::WorkerConfig& config)
        : RunningWorker(std::make_unique<gqs::sqlite::Puller>(std::move(connection)),
                        std::move(handler), config) {}
    RunningWorker(const RunningWorker&) = delete;
    RunningWorker& operator=(const RunningWorker&) = delete;
    ~RunningWorker() {
        if (worker) stop_or_abandon(gqs::Duration(10000));
    }

    void stop_or_abandon(gqs::Duration timeout) {
        try {
            worker->stop(timeout);
            worker.reset();
        } catch (...) {
            std::cerr << "gqs_bench: the worker did not stop; abandoning it\n";
            static_cast<void>(worker.release());
            static_cast<void>(puller.release());
            if (std::uncaught_exceptions() == 0) throw;
        }
    }
};

struct DrainState {
    std::atomic<std::size_t> handled{0};
    std::size_t target = 0;
    std::mutex mutex;
    std::condition_variable all_handled;
};

struct LatencyState {
    std::mutex mutex;
    std::condition_variable started_cv;
    bool started = false;
    double latency_us = 0;
};

// How often a worker asked the queue for work, counted after each call returns.
struct PollCounts {
    std::atomic<std::size_t> pulls{0};  // pull() and settle_and_pull() with batch > 0
    std::atomic<std::size_t> checks{0}; // has_ready()
    std::mutex mutex;
    std::condition_variable pulled;
};

// A gqs::sqlite::Puller that counts the worker's pulls and has_ready() checks.
class CountingPuller final : public gqs::Puller {
public:
    CountingPuller(std::shared_ptr<gqs::sqlite::Connection> connection,
                   std::shared_ptr<PollCounts> counts)
        : inner_(std::move(connection)), counts_(std::move(counts)) {}

    std::vector<gqs::Job> pull(int batch, gqs::Duration lock,
                               std::span<const std::string> queues = {}) override {
        auto jobs = inner_.pull(batch, lock, queues);
        count_pull();
        return jobs;
    }
    void extend_lock(gqs::Job& job, gqs::Duration lock) override { inner_.extend_lock(job, lock); }
    std::vector<gqs::SettleResult> settle(std::span<const gqs::Settlement> settlements) override {
        return inner_.settle(settlements);
    }
    std::vector<gqs::Job> settle_and_pull(std::span<const gqs::Settlement> settlements,
                                          std::vector<gqs::SettleResult>& results, int batch,
                                          gqs::Duration lock,
                                          std::span<const std::string> queues = {}) override {
        auto jobs = inner_.settle_and_pull(settlements, results, batch, lock, queues);
        if (batch > 0) count_pull();
        return jobs;
    }
    gqs::Subscription on_push(std::function<void()> notify) override {
        return inner_.on_push(std::move(notify));
    }
    gqs::PullerCapabilities capabilities() const noexcept override { return inner_.capabilities(); }
    std::optional<gqs::Duration> limit_wait() const noexcept override {
        return inner_.limit_wait();
    }
    bool has_ready(std::span<const std::string> queues = {}) override {
        const bool ready = inner_.has_ready(queues);
        counts_->checks.fetch_add(1);
        return ready;
    }

private:
    void count_pull() {
        counts_->pulls.fetch_add(1);
        std::lock_guard lock(counts_->mutex);
        counts_->pulled.notify_all();
    }

    gqs::sqlite::Puller inner_;
    std::shared_ptr<PollCounts> counts_;
};

// CPU time of the whole process (every thread), in seconds.
double process_cpu_seconds() {
    timespec t{};
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t) != 0)
        throw std::runtime_error("clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

// Bytes the allocator has handed out and not had back: chunks in use in every arena, plus
// blocks mapped on their own.
std::size_t heap_in_use() {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
    const struct mallinfo2 info = mallinfo2();
    return info.uordblks + info.hblkhd;
#else
    throw std::runtime_error("the memory workload needs glibc's mallinfo2 (glibc 2.33 or later)");
#endif
}

struct MemoryState {
    std::atomic<std::size_t> handled{0};
    std::size_t target = 0;
    std::mutex mutex;
    std::condition_variable all_handled;
};

} // namespace

double gqs_worker_drain(const Settings& s, std::size_t n, int concurrency, int queue,
                        DrainJobs jobs, std::size_t batch) {
    TempDb db(s);
    prepare(db, s, jobs == DrainJobs::Filled ? n : 0);
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    if (jobs != DrainJobs::Filled) {
        // The README's pattern pushes through the Connection its worker then pulls on: the
        // pushes leave that Connection's page cache full, allocated by this thread. A batch
        // at a time, as an app would: one vector of every message would be a block so large
        // that freeing it raises glibc's trim threshold and hides what this line measures.
        auto through = jobs == DrainJobs::PushedHere
                           ? connection
                           : gqs::sqlite::Connection::open(db.path(), s.options());
        gqs::sqlite::Pusher pusher(through);
        for (std::size_t i = 0; i < n; i += batch)
            pusher.push_batch(make_messages(std::min(batch, n - i)));
    }
    auto state = std::make_shared<DrainState>();
    state->target = n;
    gqs::WorkerConfig config;
    config.concurrency = concurrency;
    if (queue > 0) {
        config.prefetch = queue;
        config.batch_size = queue;
    }
    const auto start = Clock::now();
    RunningWorker running(
        connection,
        [state](const gqs::Job&, std::stop_token) {
            if (state->handled.fetch_add(1) + 1 == state->target) {
                std::lock_guard lock(state->mutex);
                state->all_handled.notify_all();
            }
        },
        config);
    {
        std::unique_lock lock(state->mutex);
        const bool finished = state->all_handled.wait_for(
            lock, std::chrono::minutes(10), [&] { return state->handled.load() >= n; });
        expect(finished, "the worker handled every job within 10 minutes");
    }
    // stop() returns once the last handlers' jobs are settled: the drain is over.
    running.stop_or_abandon(gqs::Duration(60000));
    const double result = rate(n, start);
    expect(count_of(*connection, "SELECT count(*) FROM jobs WHERE status = 3") ==
               static_cast<std::int64_t>(n),
           "the worker completed every job");
    return result;
}

namespace {

// The latency workloads' handler: the push time travels in the payload's first 8 bytes
// (steady clock, nanoseconds: one clock for every process on Linux).
gqs::Handler latency_handler(const std::shared_ptr<LatencyState>& state) {
    return [state](const gqs::Job& job, std::stop_token) {
        const auto now = Clock::now().time_since_epoch();
        std::int64_t pushed_ns = 0;
        if (job.payload.size() >= sizeof pushed_ns)
            std::memcpy(&pushed_ns, job.payload.data(), sizeof pushed_ns);
        const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now).count();
        std::lock_guard lock(state->mutex);
        state->latency_us = static_cast<double>(ns - pushed_ns) / 1000.0;
        state->started = true;
        state->started_cv.notify_all();
    };
}

// Nanoseconds on the steady clock, as latency_handler reads them.
std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
        .count();
}

// Pushes one job at a time with `push` and waits for its handler to start; at most
// `samples`, fewer if `budget_s` runs out or a handler does not start within 5 s. With a
// `period`, push i is made `i * period` after the first (or at once if that time has passed);
// without one, 2 ms after the previous handler started.
std::vector<double> sample_latencies(LatencyState& state, std::size_t samples, double budget_s,
                                     const std::function<bool(std::size_t)>& push,
                                     Clock::duration period = Clock::duration::zero()) {
    std::vector<double> latencies;
    latencies.reserve(samples);
    const auto first = Clock::now();
    const auto deadline = first + std::chrono::duration_cast<Clock::duration>(
                                      std::chrono::duration<double>(budget_s));
    for (std::size_t i = 0; i < samples; ++i) {
        if (period > Clock::duration::zero())
            std::this_thread::sleep_until(first + period * static_cast<long>(i));
        {
            std::lock_guard lock(state.mutex);
            state.started = false;
        }
        if (!push(i)) break;
        std::unique_lock lock(state.mutex);
        if (!state.started_cv.wait_until(lock,
                                         std::max(deadline, Clock::now() + std::chrono::seconds(5)),
                                         [&] { return state.started; }))
            break; // the handler never started: report what we have
        latencies.push_back(state.latency_us);
        lock.unlock();
        if (Clock::now() >= deadline) break;
        // Let the handler return and the job be completed: the next push finds the worker idle.
        if (period == Clock::duration::zero())
            std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return latencies;
}

} // namespace

std::vector<double> gqs_latency(const Settings& s, std::size_t samples, double budget_s) {
    TempDb db(s);
    prepare(db, s, 0);
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    gqs::sqlite::Pusher pusher(connection);
    auto state = std::make_shared<LatencyState>();
    RunningWorker running(connection, latency_handler(state), gqs::WorkerConfig{});
    // Let the worker's first pull find nothing, so it is idle when the first job arrives.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto messages = make_messages(samples);
    auto latencies = sample_latencies(*state, samples, budget_s, [&](std::size_t i) {
        const std::int64_t pushed_ns = steady_ns();
        std::memcpy(messages[i].payload.data(), &pushed_ns, sizeof pushed_ns);
        pusher.push(messages[i]);
        return true;
    });
    running.stop_or_abandon(gqs::Duration(10000));
    return latencies;
}

namespace {

// Starts this program again with `flag` on `db` (run_xproc_pusher, run_xproc_drainer): it
// reads the returned descriptor. Throws if it cannot.
struct PusherProcess {
    pid_t pid = -1;
    int input = -1;
};

PusherProcess start_pusher_process(const Settings& s, const std::filesystem::path& db,
                                   const char* flag = xproc_pusher_flag) {
    int fds[2];
    // Close-on-exec: a later child must not hold this one's input open.
    expect(::pipe2(fds, O_CLOEXEC) == 0, "a pipe to the child process");
    const std::string sync = s.full_sync ? "full" : "normal";
    const pid_t pid = ::fork();
    expect(pid >= 0, "fork for the child process");
    if (pid == 0) {
        ::dup2(fds[0], 0);
        ::close(fds[0]);
        ::close(fds[1]);
        ::execl("/proc/self/exe", "gqs_bench", flag, db.c_str(), sync.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
    }
    ::close(fds[0]);
    return {pid, fds[1]};
}

void stop_pusher_process(PusherProcess& p) {
    ::close(p.input);
    int status = 0;
    ::waitpid(p.pid, &status, 0);
}

} // namespace

int run_xproc_pusher(const char* db, const char* sync) {
    gqs::sqlite::Options o;
    o.synchronous = std::string_view(sync) == "full" ? gqs::sqlite::Synchronous::Full
                                                     : gqs::sqlite::Synchronous::Normal;
    auto connection = gqs::sqlite::Connection::open(db, o);
    gqs::sqlite::Pusher pusher(connection);
    char c = 0;
    while (::read(0, &c, 1) == 1) {
        gqs::Message m;
        m.payload.resize(sizeof(std::int64_t));
        const std::int64_t pushed_ns = steady_ns();
        std::memcpy(m.payload.data(), &pushed_ns, sizeof pushed_ns);
        pusher.push(m);
    }
    return 0;
}

int run_xproc_drainer(const char* db, const char* sync) {
    gqs::sqlite::Options o;
    o.synchronous = std::string_view(sync) == "full" ? gqs::sqlite::Synchronous::Full
                                                     : gqs::sqlite::Synchronous::Normal;
    auto connection = gqs::sqlite::Connection::open(db, o);
    gqs::sqlite::Puller puller(connection);
    gqs::WorkerConfig config;
    config.concurrency = 4;
    gqs::Worker worker(
        puller, [](const gqs::Job&, std::stop_token) {}, config);
    char c = 0;
    if (::read(0, &c, 1) != 1) return 0;
    worker.start();
    while (::read(0, &c, 1) == 1) {
    }
    worker.stop(gqs::Duration(60000));
    return 0;
}

double gqs_drain_processes(const Settings& s, std::size_t n, int processes) {
    TempDb db(s);
    prepare(db, s, n);
    std::vector<PusherProcess> children;
    for (int i = 0; i < processes; ++i)
        children.push_back(start_pusher_process(s, db.path(), xproc_drainer_flag));
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    const auto start = Clock::now();
    const char go = 'g';
    for (const auto& child : children)
        expect(::write(child.input, &go, 1) == 1, "start a drainer");
    // Done when no job is Pending or Processing: one index probe per look.
    while (count_of(*connection, "SELECT EXISTS (SELECT 1 FROM jobs WHERE status IN (1, 2))") !=
           0) {
        expect(seconds_since(start) < 600, "drained within 10 minutes");
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    const double result = rate(n, start);
    for (auto& child : children)
        stop_pusher_process(child);
    expect(count_of(*connection, "SELECT count(*) FROM jobs WHERE status = 3") ==
               static_cast<std::int64_t>(n),
           "the drainers completed every job");
    return result;
}

std::vector<double> gqs_latency_xproc(const Settings& s, std::size_t samples, double budget_s,
                                      std::chrono::microseconds period) {
    TempDb db(s);
    prepare(db, s, 0);
    auto connection = gqs::sqlite::Connection::open(db.path(), s.options());
    auto state = std::make_shared<LatencyState>();
    gqs::WorkerConfig config;
    config.pull_interval = std::chrono::minutes(10); // a poll cannot explain a wake-up
    RunningWorker running(connection, latency_handler(state), config);
    auto child = start_pusher_process(s, db.path());
    // Let the worker's first pull find nothing and the child open its connection.
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    // The child takes the time just before its push: the figure is push call to handler start.
    auto latencies = sample_latencies(
        *state, samples, budget_s,
        [&](std::size_t) {
            const char go = 'p';
            return ::write(child.input, &go, 1) == 1;
        },
        period);
    stop_pusher_process(child);
    running.stop_or_abandon(gqs::Duration(10000));
    return latencies;
}

IdleResult gqs_idle(const Settings& s, double window_s) {
    TempDb db(s);
    prepare(db, s, 0);
    auto counts = std::make_shared<PollCounts>();
    RunningWorker running(
        std::make_unique<CountingPuller>(gqs::sqlite::Connection::open(db.path(), s.options()),
                                         counts),
        [](const gqs::Job&, std::stop_token) {}, gqs::WorkerConfig{});
    // The window starts once the pull the worker makes at start has returned.
    {
        std::unique_lock lock(counts->mutex);
        expect(counts->pulled.wait_for(lock, std::chrono::seconds(10),
                                       [&] { return counts->pulls.load() > 0; }),
               "the worker pulled within 10 s of starting");
    }
    const std::size_t pulls_before = counts->pulls.load();
    const std::size_t checks_before = counts->checks.load();
    const double cpu_before = process_cpu_seconds();
    const auto start = Clock::now();
    std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
    IdleResult result;
    result.seconds = seconds_since(start);
    const double cpu = process_cpu_seconds() - cpu_before;
    result.polls = counts->checks.load() - checks_before;
    result.write_polls = counts->pulls.load() - pulls_before;
    result.cpu_percent = cpu / result.seconds * 100;
    running.stop_or_abandon(gqs::Duration(10000));
    return result;
}

double gqs_memory_growth_kib(const Settings& s, std::size_t backlog, std::size_t jobs) {
    TempDb db(s);
    prepare(db, s, backlog + jobs);
    auto puller = std::make_unique<gqs::sqlite::Puller>(
        gqs::sqlite::Connection::open(db.path(), s.options()));
    auto state = std::make_shared<MemoryState>();
    state->target = jobs;
    gqs::Handler handler = [state](const gqs::Job&, std::stop_token) {
        if (state->handled.fetch_add(1) + 1 == state->target) {
            std::lock_guard lock(state->mutex);
            state->all_handled.notify_all();
        }
    };
    const std::size_t baseline = heap_in_use();
    std::size_t peak = baseline;
    RunningWorker running(std::move(puller), std::move(handler), gqs::WorkerConfig{});
    // Sample every 5 ms until the handler has run `jobs` times.
    const auto deadline = Clock::now() + std::chrono::minutes(10);
    {
        std::unique_lock lock(state->mutex);
        while (true) {
            lock.unlock();
            peak = std::max(peak, heap_in_use());
            lock.lock();
            if (state->all_handled.wait_for(lock, std::chrono::milliseconds(5),
                                            [&] { return state->handled.load() >= jobs; }))
                break;
            expect(Clock::now() < deadline, "the worker handled its jobs within 10 minutes");
        }
    }
    peak = std::max(peak, heap_in_use());
    running.stop_or_abandon(gqs::Duration(60000));
    return static_cast<double>(peak - baseline) / 1024.0;
}

#else

double gqs_worker_drain(const Settings&, std::size_t, int, int, DrainJobs, std::size_t) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

std::vector<double> gqs_latency(const Settings&, std::size_t, double) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

std::vector<double> gqs_latency_xproc(const Settings&, std::size_t, double,
                                      std::chrono::microseconds) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

int run_xproc_pusher(const char*, const char*) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

int run_xproc_drainer(const char*, const char*) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

double gqs_drain_processes(const Settings&, std::size_t, int) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

IdleResult gqs_idle(const Settings&, double) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

double gqs_memory_growth_kib(const Settings&, std::size_t, std::size_t) {
    throw std::runtime_error("gqs/worker.hpp is not available in this build");
}

#endif

} // namespace gqs_bench
