// SPDX-License-Identifier: Apache-2.0
// The processes of the multi-process stress tests (tests/sqlite/multiprocess_stress_test.cpp,
// tests/postgres/stress_test.cpp):
//   produce DB TOTAL          push TOTAL scripted jobs in batches, then exit
//   work DB LOG THREADS TOTAL [LEASE_MS]
//                             run a Worker until TOTAL jobs are finished; append
//                             "start ID ATTEMPT" and "done ID ATTEMPT" lines to LOG
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
// A job's script is in its metadata: "fail" = how many runs throw before one succeeds,
// "die" = the handler throws gqs::Kill.
// DB is a SQLite file, or "pg:SCHEMA:CONNINFO" for a PostgreSQL schema (init_db'd already).
#include <gqs/backend_of.hpp>
#include <gqs/sqlite.hpp>
#ifdef GQS_STRESS_POSTGRES
#include <gqs/postgres.hpp>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <fcntl.h>
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
};

template <class Backend, class Connection>
Queue make_queue(std::shared_ptr<Connection> db) {
    Queue q;
    q.pusher = std::make_unique<typename Backend::Pusher>(db);
    q.puller = std::make_unique<typename Backend::Puller>(db);
    q.observer = std::make_unique<typename Backend::Observer>(db);
    q.connection = std::move(db);
    return q;
}

struct Sqlite {
    using Pusher = gqs::sqlite::Pusher;
    using Puller = gqs::sqlite::Puller;
    using Observer = gqs::sqlite::Observer;
};
#ifdef GQS_STRESS_POSTGRES
struct Postgres {
    using Pusher = gqs::postgres::Pusher;
    using Puller = gqs::postgres::Puller;
    using Observer = gqs::postgres::Observer;
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

int work(const char* path, const char* log_path, int threads, long total,
         std::chrono::milliseconds lease) {
    const int log = open_log(log_path);
    auto note_job = [log](const char* what, const gqs::Job& job) {
        note(log, what, job.id, job.attempts);
    };
    auto q = open_queue(path);
    auto& puller = *q.puller;
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
    while (true) {
        gqs::Stats s;
        try {
            s = observer.stats();
        } catch (const gqs::StorageError&) {
            // A server restart: the next call reconnects.
        }
        if (s.done + s.dead >= total) break;
        // Polling the shared file for the end; the workers themselves are event-driven.
        std::this_thread::sleep_for(50ms);
    }
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
    auto answered = std::chrono::steady_clock::now();
    while (true) {
        gqs::Stats s;
        try {
            s = q.observer->stats();
            answered = std::chrono::steady_clock::now();
        } catch (const gqs::StorageError&) {
            // The server is away: the next call reconnects. Gone for good (the test ended
            // early and dropped the schema): give up rather than wait forever.
            if (std::chrono::steady_clock::now() - answered > 120s) {
                std::cerr << "gqs_stress_child: no answer from the database for 120 s\n";
                return 1;
            }
        }
        if (s.done + s.dead >= total) break;
        std::this_thread::sleep_for(50ms); // polling for the end
    }
    worker.stop(std::chrono::seconds(60));
    ::close(log);
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "produce" && argc == 4) return produce(argv[2], std::stol(argv[3]));
        if (mode == "work" && (argc == 6 || argc == 7))
            return work(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]),
                        std::chrono::milliseconds(argc == 7 ? std::stol(argv[6]) : 10000));
        if (mode == "trickle" && (argc == 6 || argc == 7))
            return trickle(argv[2], std::stol(argv[3]), std::stol(argv[4]), argv[5],
                           std::chrono::seconds(argc == 7 ? std::stol(argv[6]) : 0));
        if (mode == "serve" && argc == 9)
            return serve(argv[2], argv[3], std::stoi(argv[4]), std::stol(argv[5]),
                         std::chrono::milliseconds(std::stol(argv[6])),
                         std::chrono::milliseconds(std::stol(argv[7])),
                         std::chrono::milliseconds(std::stol(argv[8])));
        std::cerr << "usage: gqs_stress_child produce DB TOTAL | work DB LOG THREADS TOTAL "
                     "[LEASE_MS] | trickle DB TOTAL RATE LOG [RETRY_S] | serve DB LOG THREADS "
                     "TOTAL LEASE_MS SLEEP_MS LONG_MS\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "gqs_stress_child: " << e.what() << "\n";
        return 1;
    }
}
