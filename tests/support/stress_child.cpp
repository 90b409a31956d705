// SPDX-License-Identifier: Apache-2.0
// The processes of the multi-process stress tests (tests/sqlite/multiprocess_stress_test.cpp,
// tests/postgres/stress_test.cpp):
//   produce DB TOTAL          push TOTAL scripted jobs in batches, then exit
//   work DB LOG THREADS TOTAL [LEASE_MS [KILL_AT]]
//                             run a Worker until TOTAL jobs are finished; append
//                             "start ID ATTEMPT" and "done ID ATTEMPT" lines (the
//                             handler), "pulled ..." (a pull returned it) and "settled ..."
//                             (its completion was stored) to LOG. KILL_AT = POINT:N
//                             SIGKILLs the process at the Nth call of POINT (see KillPoint)
//   trickle DB TOTAL RATE LOG [RETRY_S]
//                             push TOTAL plain jobs one at a time, RATE per second, and
//                             append "pushed ID 0" to LOG once each push returned; with
//                             RETRY_S, a push that failed in storage is tried again with the
//                             same Message (same id) for up to RETRY_S seconds
//   serve DB LOG THREADS TOTAL LEASE_MS SLEEP_MS LONG_MS
//                             run a Worker until TOTAL jobs are finished; its handler sleeps
//                             SLEEP_MS (LONG_MS for every 25th job) and stops early when asked
//                             to (gqs::Snooze); appends "start ID ATTEMPT T MS" (MS: how long
//                             it will sleep) and "done|stopped ID ATTEMPT T" to LOG, T in
//                             steady-clock milliseconds (one clock for every process)
//   share DB LOG THREADS TOTAL [PREFETCH]
//                             run a Worker with the default config (but THREADS and
//                             PREFETCH, a number or -1 for adaptive), print
//                             "ready" once it started, append "start ID ATTEMPT" to LOG for
//                             every job, whose handler sleeps 5 ms, and exit once TOTAL
//                             jobs are finished
//   schedule DB NAME [KILL_TICK]
//                             run a Worker with the default config (and so a scheduler
//                             thread), 2 threads, no-op handler; print "ready" once it
//                             started, and exit once the schedule NAME is paused or gone.
//                             KILL_TICK = N: the scheduler is a ScheduleWorker whose Nth
//                             tick SIGKILLs the process while it runs
//   limited DB LOG QUEUE TOTAL LEASE_MS [KILL_AFTER]
//                             run a Worker of 4 threads (adaptive prefetch, lease LEASE_MS) on
//                             QUEUE, print "ready" once it started, and exit once TOTAL jobs
//                             are finished. Its handler appends "start ID ATTEMPT T", sleeps
//                             2 to 5 ms, then appends "end ID ATTEMPT T" (T in steady-clock
//                             microseconds, one clock for every process); "pulled ID ATTEMPT"
//                             and "settled ID ATTEMPT" as `work` does. KILL_AFTER = N: the Nth
//                             handler SIGKILLs the process after its "start" line
// A job's script is in its metadata: "fail" = how many runs throw before one succeeds,
// "die" = the handler throws gqs::Kill.
// DB is a SQLite file, or "pg:SCHEMA:CONNINFO" for a PostgreSQL schema (init_db'd already).
#include <gqs/backend_of.hpp>
#include <gqs/schedule_worker.hpp>
#include <gqs/sqlite.hpp>
#ifdef GQS_STRESS_POSTGRES
#include <gqs/postgres.hpp>
#endif

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

namespace {

using namespace std::chrono_literals;

// The script of job number i; the test computes the same.
struct Script {
    int fail = 0;
    bool die = false;
};

Script script_of(long i) {
    Script s;
    if (i % 37 == 0)
        s.die = true;
    else if (i % 101 == 0)
        s.fail = 100; // more than max_retries: dead after max_retries + 1
    else if (i % 10 == 0)
        s.fail = 2;
    return s;
}

// The backend's objects on one connection to DB.
struct Queue {
    std::shared_ptr<void> connection;
    std::unique_ptr<gqs::Pusher> pusher;
    std::unique_ptr<gqs::Puller> puller;
    std::unique_ptr<gqs::Observer> observer;
    std::unique_ptr<gqs::Schedules> schedules;
};

template <class Backend, class Connection>
Queue make_queue(std::shared_ptr<Connection> db) {
    Queue q;
    q.pusher = std::make_unique<typename Backend::Pusher>(db);
    q.puller = std::make_unique<typename Backend::Puller>(db);
    q.observer = std::make_unique<typename Backend::Observer>(db);
    q.schedules = std::make_unique<typename Backend::Schedules>(db);
    q.connection = std::move(db);
    return q;
}

struct Sqlite {
    using Pusher = gqs::sqlite::Pusher;
    using Puller = gqs::sqlite::Puller;
    using Observer = gqs::sqlite::Observer;
    using Schedules = gqs::sqlite::Schedules;
};
#ifdef GQS_STRESS_POSTGRES
struct Postgres {
    using Pusher = gqs::postgres::Pusher;
    using Puller = gqs::postgres::Puller;
    using Observer = gqs::postgres::Observer;
    using Schedules = gqs::postgres::Schedules;
};
#endif

// "pg:" carries the schema; what follows it must be what gqs::backend_of calls PostgreSQL,
// and a DB without it must be what backend_of calls a SQLite file.
Queue open_queue(const std::string& db) {
    if (db.starts_with("pg:")) {
        const auto colon = db.find(':', 3);
        if (colon == std::string::npos) throw std::runtime_error("DB: pg:SCHEMA:CONNINFO");
        const std::string conninfo = db.substr(colon + 1);
        if (gqs::backend_of(conninfo) != gqs::BackendKind::Postgres)
            throw std::runtime_error("DB: pg:SCHEMA:CONNINFO needs a URI or conninfo string");
#ifdef GQS_STRESS_POSTGRES
        return make_queue<Postgres>(
            gqs::postgres::Connection::open(conninfo, {.schema = db.substr(3, colon - 3)}));
#else
        throw std::runtime_error("built without PostgreSQL");
#endif
    }
    if (gqs::backend_of(db) != gqs::BackendKind::Sqlite)
        throw std::runtime_error("DB: a PostgreSQL database needs pg:SCHEMA:CONNINFO");
    return make_queue<Sqlite>(gqs::sqlite::Connection::open(db));
}

int produce(const char* path, long total) {
    auto q = open_queue(path);
    auto& pusher = *q.pusher;
    constexpr long batch = 500;
    for (long first = 0; first < total; first += batch) {
        std::vector<gqs::Message> messages;
        for (long i = first; i < std::min(total, first + batch); ++i) {
            auto s = script_of(i);
            gqs::Message m;
            m.set("n", i).set("fail", s.fail).set("die", s.die);
            m.payload = std::string(100, 'x');
            messages.push_back(std::move(m));
        }
        pusher.push_batch(messages);
    }
    return 0;
}

// O_APPEND writes of whole lines: a line is in the file once write() returned, even if the
// process is killed the next instant.
int open_log(const char* log_path) {
    int log = ::open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (log < 0) throw std::runtime_error("cannot open the log");
    return log;
}

void note(int log, const char* what, const gqs::Uuid& id, std::uint32_t attempts) {
    std::string line =
        std::string(what) + " " + id.to_string() + " " + std::to_string(attempts) + "\n";
    if (::write(log, line.data(), line.size()) != static_cast<ssize_t>(line.size())) std::abort();
}

// Pushes `m`. With retry_for > 0, a push that failed in storage (the server went away) is
// tried again with the same Message, so the same id, until retry_for has passed: a failed
// push may have committed with only its answer lost, and then the retry finds the id stored
// (DuplicateJob), which means it was accepted. Counts the retries and those duplicates.
struct Retries {
    long tries = 0;
    long duplicates = 0;
};

void push_retrying(gqs::Pusher& pusher, const gqs::Message& m, std::chrono::seconds retry_for,
                   Retries& retries) {
    const auto give_up = std::chrono::steady_clock::now() + retry_for;
    bool retried = false;
    while (true) {
        try {
            pusher.push(m);
            return;
        } catch (const gqs::DuplicateJob&) {
            if (!retried) throw; // a fresh id cannot be stored already
            ++retries.duplicates;
            return;
        } catch (const gqs::StorageError&) {
            if (retry_for.count() <= 0 || std::chrono::steady_clock::now() >= give_up) throw;
            retried = true;
            ++retries.tries;
            std::this_thread::sleep_for(20ms); // a pause between tries, not a synchronisation
        }
    }
}

int trickle(const char* path, long total, long rate, const char* log_path,
            std::chrono::seconds retry_for) {
    const int log = open_log(log_path);
    auto q = open_queue(path);
    const auto period = std::chrono::microseconds(1'000'000 / std::max(rate, 1L));
    auto next = std::chrono::steady_clock::now();
    Retries retries;
    for (long i = 0; i < total; ++i) {
        gqs::Message m;
        m.set("n", i);
        m.payload = std::string(100, 'x');
        push_retrying(*q.pusher, m, retry_for, retries);
        note(log, "pushed", m.id, 0);
        next += period;
        // The rate, not a synchronisation; after an outage it catches up at once.
        std::this_thread::sleep_until(next);
    }
    ::close(log);
    if (retry_for.count() > 0)
        std::cout << "trickle: " << retries.tries << " retries, " << retries.duplicates
                  << " duplicates (committed, answer lost)\n";
    return 0;
}

// Where `work` SIGKILLs its own process (the crash matrix's kill points): before or after
// the Nth call of the puller that pulls jobs (pull, or settle_and_pull with a batch), before
// or after the Nth call that stores settlements, or in the Nth handler after its "start".
enum class KillPoint { None, BeforePull, AfterPull, BeforeSettle, AfterSettle, Handler };

struct KillAt {
    KillPoint point = KillPoint::None;
    long nth = 0;
};

KillAt parse_kill_at(const std::string& spec) {
    const auto colon = spec.find(':');
    if (colon == std::string::npos) throw std::runtime_error("KILL_AT: POINT:N");
    const std::string name = spec.substr(0, colon);
    KillAt at{KillPoint::None, std::stol(spec.substr(colon + 1))};
    if (name == "before-pull") at.point = KillPoint::BeforePull;
    if (name == "after-pull") at.point = KillPoint::AfterPull;
    if (name == "before-settle") at.point = KillPoint::BeforeSettle;
    if (name == "after-settle") at.point = KillPoint::AfterSettle;
    if (name == "handler") at.point = KillPoint::Handler;
    if (at.point == KillPoint::None || at.nth < 1)
        throw std::runtime_error("KILL_AT: before-pull, after-pull, before-settle, "
                                 "after-settle or handler, then :N with N >= 1");
    return at;
}

// Forwards to the backend's Puller, logs "pulled ID ATTEMPT" for every job a pull returned
// and "settled ID ATTEMPT" for every completion stored, and kills the process at its point.
class KillingPuller final : public gqs::Puller {
public:
    KillingPuller(gqs::Puller& inner, int log, KillAt at) : inner_(inner), log_(log), at_(at) {}

    std::vector<gqs::Job> pull(int batch, gqs::Duration lock,
                               std::span<const std::string> queues) override {
        const bool last = count(pulls_, KillPoint::BeforePull, KillPoint::AfterPull);
        if (last && at_.point == KillPoint::BeforePull) die();
        auto jobs = inner_.pull(batch, lock, queues);
        pulled(jobs);
        if (last && at_.point == KillPoint::AfterPull) die();
        return jobs;
    }
    void extend_lock(gqs::Job& job, gqs::Duration lock) override { inner_.extend_lock(job, lock); }
    std::vector<gqs::SettleResult> settle(std::span<const gqs::Settlement> settlements) override {
        const bool last = !settlements.empty() &&
                          count(settles_, KillPoint::BeforeSettle, KillPoint::AfterSettle);
        if (last && at_.point == KillPoint::BeforeSettle) die();
        auto results = inner_.settle(settlements);
        settled(settlements, results);
        if (last && at_.point == KillPoint::AfterSettle) die();
        return results;
    }
    std::vector<gqs::Job> settle_and_pull(std::span<const gqs::Settlement> settlements,
                                          std::vector<gqs::SettleResult>& results, int batch,
                                          gqs::Duration lock,
                                          std::span<const std::string> queues) override {
        const bool last_settle = !settlements.empty() &&
                                 count(settles_, KillPoint::BeforeSettle, KillPoint::AfterSettle);
        const bool last_pull =
            batch > 0 && count(pulls_, KillPoint::BeforePull, KillPoint::AfterPull);
        if ((last_settle && at_.point == KillPoint::BeforeSettle) ||
            (last_pull && at_.point == KillPoint::BeforePull))
            die();
        auto jobs = inner_.settle_and_pull(settlements, results, batch, lock, queues);
        settled(settlements, results);
        pulled(jobs);
        if ((last_settle && at_.point == KillPoint::AfterSettle) ||
            (last_pull && at_.point == KillPoint::AfterPull))
            die();
        return jobs;
    }
    gqs::Subscription on_push(std::function<void()> notify) override {
        return inner_.on_push(std::move(notify));
    }
    bool has_ready(std::span<const std::string> queues) override {
        return inner_.has_ready(queues);
    }
    gqs::PullerCapabilities capabilities() const noexcept override { return inner_.capabilities(); }
    void interrupt() noexcept override { inner_.interrupt(); }
    std::optional<gqs::Duration> limit_wait() const noexcept override {
        return inner_.limit_wait();
    }

    /// Called by the handler after its "start" line.
    void handler_started() {
        if (at_.point == KillPoint::Handler && ++handlers_ == at_.nth) die();
    }

private:
    // Counts a call of a kind whose points are `before` and `after`; true for the Nth.
    bool count(std::atomic<long>& calls, KillPoint before, KillPoint after) {
        if (at_.point != before && at_.point != after) return false;
        return ++calls == at_.nth;
    }
    void pulled(const std::vector<gqs::Job>& jobs) {
        for (const auto& job : jobs)
            write_line("pulled", job.id, job.attempts);
    }
    void settled(std::span<const gqs::Settlement> settlements,
                 const std::vector<gqs::SettleResult>& results) {
        for (std::size_t i = 0; i < settlements.size() && i < results.size(); ++i)
            if (settlements[i].action == gqs::Action::Complete &&
                results[i].status == gqs::SettleStatus::Applied)
                write_line("settled", settlements[i].lease.id, settlements[i].lease.attempts);
    }
    void write_line(const char* what, const gqs::Uuid& id, std::uint32_t attempts);
    [[noreturn]] static void die() {
        ::raise(SIGKILL);
        std::abort(); // not reached
    }

    gqs::Puller& inner_;
    int log_;
    KillAt at_;
    std::atomic<long> pulls_{0};
    std::atomic<long> settles_{0};
    std::atomic<long> handlers_{0};
};

void KillingPuller::write_line(const char* what, const gqs::Uuid& id, std::uint32_t attempts) {
    note(log_, what, id, attempts);
}

// Polls the queue until `total` jobs are finished (Done or Dead); the workers themselves are
// event-driven. A server away is waited for (the next call reconnects); gone for good (the
// test ended early and dropped the schema) for 120 s: false rather than wait forever.
bool wait_finished(gqs::Observer& observer, long total) {
    auto answered = std::chrono::steady_clock::now();
    while (true) {
        gqs::Stats s;
        try {
            s = observer.stats();
            answered = std::chrono::steady_clock::now();
        } catch (const gqs::StorageError&) {
            if (std::chrono::steady_clock::now() - answered > 120s) {
                std::cerr << "gqs_stress_child: no answer from the database for 120 s\n";
                return false;
            }
        }
        if (s.done + s.dead >= total) return true;
        std::this_thread::sleep_for(50ms);
    }
}

int work(const char* path, const char* log_path, int threads, long total,
         std::chrono::milliseconds lease, KillAt kill_at) {
    const int log = open_log(log_path);
    auto note_job = [log](const char* what, const gqs::Job& job) {
        note(log, what, job.id, job.attempts);
    };
    auto q = open_queue(path);
    KillingPuller puller(*q.puller, log, kill_at);
    auto& observer = *q.observer;
    gqs::WorkerConfig config;
    config.concurrency = threads;
    config.batch_size = threads;
    config.pull_interval = 20ms;
    // 10 s by default, above busy_timeout (5 s): a result may wait for one lock before it is
    // stored. A killed process's jobs come back when their lease ends.
    config.lock_timeout = lease;
    config.backoff = {.max_retries = 5,
                      .initial_interval = 1ms,
                      .max_interval = 5ms,
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    gqs::Worker worker(
        puller,
        [&](const gqs::Job& job, std::stop_token) {
            note_job("start", job);
            puller.handler_started();
            if (job.get<bool>("die").value_or(false)) throw gqs::Kill();
            if (static_cast<int>(job.attempts) <= job.get<int>("fail").value_or(0))
                throw std::runtime_error("scripted failure");
            note_job("done", job);
        },
        config,
        [](gqs::LogLevel level, std::string_view message) {
            if (level == gqs::LogLevel::Error) std::cerr << message << "\n";
        });
    worker.start();
    if (!wait_finished(observer, total)) return 1;
    worker.stop(std::chrono::seconds(60));
    ::close(log);
    return 0;
}

// Milliseconds on the steady clock (CLOCK_MONOTONIC: one clock for every process).
std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

int serve(const char* path, const char* log_path, int threads, long total,
          std::chrono::milliseconds lease, std::chrono::milliseconds sleep,
          std::chrono::milliseconds long_sleep) {
    const int log = open_log(log_path);
    auto note_at = [log](const char* what, const gqs::Job& job, std::string_view more = {}) {
        std::string line = what;
        line += ' ';
        line += job.id.to_string();
        line += ' ';
        line += std::to_string(job.attempts);
        line += ' ';
        line += std::to_string(now_ms());
        line += more;
        line += '\n';
        if (::write(log, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            std::abort();
    };
    auto q = open_queue(path);
    gqs::WorkerConfig config;
    config.concurrency = threads;
    config.batch_size = threads;
    config.pull_interval = 20ms;
    config.lock_timeout = lease;
    gqs::Worker worker(
        *q.puller,
        [&](const gqs::Job& job, std::stop_token stop) {
            const auto length = job.get<long>("n").value_or(0) % 25 == 12 ? long_sleep : sleep;
            std::string planned = " ";
            planned += std::to_string(length.count());
            note_at("start", job, planned);
            const auto end = std::chrono::steady_clock::now() + length;
            // The job's work: a sleep that ends early when the handler is asked to stop.
            while (std::chrono::steady_clock::now() < end) {
                if (stop.stop_requested()) {
                    note_at("stopped", job);
                    throw gqs::Snooze(gqs::Duration(0));
                }
                std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
                    5ms, end - std::chrono::steady_clock::now()));
            }
            note_at("done", job);
        },
        config,
        [](gqs::LogLevel level, std::string_view message) {
            if (level != gqs::LogLevel::Debug) std::cerr << now_ms() << " " << message << "\n";
        });
    worker.start();
    if (!wait_finished(*q.observer, total)) return 1;
    worker.stop(std::chrono::seconds(60));
    ::close(log);
    return 0;
}

// Microseconds on the steady clock (CLOCK_MONOTONIC: one clock for every process).
std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// A Worker of 4 threads with the default prefetch (adaptive) on `queue`, whose stored limits
// decide how many of its jobs run at once. Every handler's interval is in the log, taken
// inside the handler (after the pull that leased its job, before the settle that ends the
// lease), so handlers that overlap in the log ran at once. With `kill_after` > 0, the
// kill_after-th handler SIGKILLs the process once its "start" line is written: the process
// dies holding that job's lease (and whatever else it leased).
int limited(const char* path, const char* log_path, const std::string& queue, long total,
            std::chrono::milliseconds lease, long kill_after) {
    const int log = open_log(log_path);
    auto note_at = [log](const char* what, const gqs::Job& job) {
        std::string line = what;
        line += ' ';
        line += job.id.to_string();
        line += ' ';
        line += std::to_string(job.attempts);
        line += ' ';
        line += std::to_string(now_us());
        line += '\n';
        if (::write(log, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
            std::abort();
    };
    auto q = open_queue(path);
    KillingPuller puller(*q.puller, log,
                         kill_after > 0 ? KillAt{KillPoint::Handler, kill_after} : KillAt{});
    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.pull_interval = 20ms;
    config.lock_timeout = lease;
    config.queues = {queue};
    config.schedules = false;
    gqs::Worker worker(
        puller,
        [&](const gqs::Job& job, std::stop_token) {
            note_at("start", job);
            puller.handler_started();
            // The job's work: 2 to 5 ms.
            std::this_thread::sleep_for(
                std::chrono::milliseconds(2 + job.get<long>("n").value_or(0) % 4));
            note_at("end", job);
        },
        config,
        [](gqs::LogLevel level, std::string_view message) {
            if (level == gqs::LogLevel::Error) std::cerr << message << "\n";
        });
    worker.start();
    std::cout << "ready" << std::endl;
    if (!wait_finished(*q.observer, total)) return 1;
    worker.stop(std::chrono::seconds(60));
    ::close(log);
    return 0;
}

// A Worker with the default config but `threads`: prints "ready" once started, appends
// "start ID ATTEMPT" for every job it runs, and exits once TOTAL jobs are finished.
int share(const char* path, const char* log_path, int threads, long total, int prefetch) {
    const int log = open_log(log_path);
    auto q = open_queue(path);
    gqs::WorkerConfig config;
    config.concurrency = threads;
    config.prefetch = prefetch;
    gqs::Worker worker(
        *q.puller,
        [&](const gqs::Job& job, std::stop_token) {
            note(log, "start", job.id, job.attempts);
            std::this_thread::sleep_for(5ms); // the job's work: waiting on I/O, say
        },
        config,
        [](gqs::LogLevel level, std::string_view message) {
            if (level == gqs::LogLevel::Error) std::cerr << message << "\n";
        });
    worker.start();
    std::cout << "ready" << std::endl;
    if (!wait_finished(*q.observer, total)) return 1;
    worker.stop(std::chrono::seconds(60));
    ::close(log);
    return 0;
}

// Forwards to the backend's Schedules, but its `kill_at`th tick SIGKILLs the process: a
// thread raises the signal 100 us after the tick began, so that it lands while the tick's
// transaction is open or just after it committed (a SQLite tick can take about that long).
class KillingSchedules final : public gqs::Schedules {
public:
    KillingSchedules(gqs::Schedules& inner, int kill_at) : inner_(inner), kill_at_(kill_at) {}
    void put(const gqs::Schedule& schedule) override { inner_.put(schedule); }
    bool remove(const std::string& name) override { return inner_.remove(name); }
    void pause(const std::string& name) override { inner_.pause(name); }
    void resume(const std::string& name) override { inner_.resume(name); }
    std::vector<gqs::ScheduleInfo> list() override { return inner_.list(); }
    std::optional<gqs::ScheduleInfo> get(const std::string& name) override {
        return inner_.get(name);
    }
    gqs::PushResult run_now(const std::string& name) override { return inner_.run_now(name); }
    int tick() override {
        if (++ticks_ == kill_at_) {
            std::thread([] {
                std::this_thread::sleep_for(100us);
                ::raise(SIGKILL);
            }).detach();
        }
        return inner_.tick();
    }
    std::optional<gqs::Duration> next_due_in() override { return inner_.next_due_in(); }
    gqs::Subscription on_change(std::function<void()> notify) override {
        return inner_.on_change(std::move(notify));
    }

private:
    gqs::Schedules& inner_;
    const int kill_at_;
    int ticks_ = 0; // only the scheduler thread ticks
};

// Runs the stored schedules inside a default Worker until the schedule `name` is paused or
// removed; with `kill_at` > 0, in a ScheduleWorker whose kill_at-th tick SIGKILLs the
// process. A read that fails (the database away) is tried again.
int schedule(const char* path, const std::string& name, int kill_at) {
    auto q = open_queue(path);
    gqs::WorkerConfig config;
    config.concurrency = 2;
    config.schedules = kill_at <= 0;
    auto log_errors = [](gqs::LogLevel level, std::string_view message) {
        if (level == gqs::LogLevel::Error) std::cerr << message << "\n";
    };
    gqs::Worker worker(
        *q.puller, [](const gqs::Job&, std::stop_token) {}, config, log_errors);
    KillingSchedules killing(*q.schedules, kill_at);
    std::optional<gqs::ScheduleWorker> scheduler;
    if (kill_at > 0) scheduler.emplace(killing, gqs::ScheduleConfig{}, log_errors);
    worker.start();
    if (scheduler) scheduler->start();
    std::cout << "ready" << std::endl;
    for (;;) {
        try {
            const auto info = q.schedules->get(name);
            if (!info || info->schedule.paused) break;
        } catch (const gqs::StorageError&) {
            // tried again below
        }
        std::this_thread::sleep_for(20ms);
    }
    if (scheduler) scheduler->stop(std::chrono::seconds(60));
    worker.stop(std::chrono::seconds(60));
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "produce" && argc == 4) return produce(argv[2], std::stol(argv[3]));
        if (mode == "work" && argc >= 6 && argc <= 8)
            return work(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]),
                        std::chrono::milliseconds(argc >= 7 ? std::stol(argv[6]) : 10000),
                        argc == 8 ? parse_kill_at(argv[7]) : KillAt{});
        if (mode == "trickle" && (argc == 6 || argc == 7))
            return trickle(argv[2], std::stol(argv[3]), std::stol(argv[4]), argv[5],
                           std::chrono::seconds(argc == 7 ? std::stol(argv[6]) : 0));
        if (mode == "serve" && argc == 9)
            return serve(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]),
                         std::chrono::milliseconds(std::stol(argv[6])),
                         std::chrono::milliseconds(std::stol(argv[7])),
                         std::chrono::milliseconds(std::stol(argv[8])));
        if (mode == "share" && (argc == 6 || argc == 7))
            return share(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]),
                         argc == 7 ? std::stoi(argv[6]) : gqs::WorkerConfig::adaptive);
        if (mode == "schedule" && (argc == 4 || argc == 5))
            return schedule(argv[2], argv[3], argc == 5 ? std::stoi(argv[4]) : 0);
        if (mode == "limited" && (argc == 7 || argc == 8))
            return limited(argv[2], argv[3], argv[4], std::stol(argv[5]),
                           std::chrono::milliseconds(std::stol(argv[6])),
                           argc == 8 ? std::stol(argv[7]) : 0);
        std::cerr << "usage: gqs_stress_child produce DB TOTAL | work DB LOG THREADS TOTAL "
                     "[LEASE_MS [KILL_AT]] | trickle DB TOTAL RATE LOG [RETRY_S] | serve DB LOG "
                     "THREADS TOTAL LEASE_MS SLEEP_MS LONG_MS | share DB LOG THREADS TOTAL "
                     "[PREFETCH] | schedule DB NAME [KILL_TICK] | limited DB LOG QUEUE TOTAL "
                     "LEASE_MS [KILL_AFTER]\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "gqs_stress_child: " << e.what() << "\n";
        return 1;
    }
}
