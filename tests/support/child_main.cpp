// SPDX-License-Identifier: Apache-2.0
// A separate process for multi-process tests. Modes:
//   pull DB LEASE_MS          lease jobs one at a time until none is left; print each id
//   hold-lock DB MS           take the write lock, print "locked", hold it MS ms, roll back
//   push-batches DB SIZE      push batches of SIZE jobs forever, printing "batch N" after each
//                             commit (the test kills it with SIGKILL)
//   use DB                    open, init_db, read, push and pull once; print "ok" or the error
//   use-at DB GO              as `use`, once the file GO exists (so that many children
//                             open a new database at the same moment)
//   settle-loop DB SIZE       pull SIZE jobs and complete them with one settle, printing
//                             "settle N" before each settle, until the queue is empty
//   push-keys DB GO KEYS      once the file GO exists, push one job with each unique key
//                             key-0 .. key-(KEYS-1); print "KEY ID new|duplicate" per push
//   upgrade-crash DB STEPS    run init_db on DB and SIGKILL this process after STEPS SQLite
//                             VM steps (a crash in the middle of a schema upgrade); prints
//                             "upgraded" if init_db finished first
//   push-one DB DELAY_MS      push one job runnable after DELAY_MS; print its id
//   push-stream DB N GAP_US   push N jobs one by one, GAP_US microseconds apart; print "pushed"
//   work DB STOP              run a Worker (pull_interval 10 minutes) until the file STOP
//                             exists; print "ready" once started, then each job's id as its
//                             handler runs
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <SQLiteCpp/Database.h>
#include <sqlite3.h>

#include <csignal>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

// Waits up to a minute for the write lock: a loaded machine (sanitizers, parallel tests)
// must not turn lock contention between the pulling processes into a failed test.
int pull(const char* path, long long lease_ms) {
    gqs::sqlite::Options patient;
    patient.busy_timeout = std::chrono::minutes(1);
    auto db = gqs::sqlite::Connection::open(path, patient);
    gqs::sqlite::Puller puller(db);
    std::string out;
    while (true) {
        auto jobs = puller.pull(1, gqs::Duration(lease_ms));
        if (jobs.empty()) break;
        for (const auto& job : jobs)
            out += job.id.to_string() + "\n";
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

int hold_lock(const char* path, long long ms) {
    auto db = gqs::sqlite::Connection::open(path);
    auto tx = db->begin(); // BEGIN IMMEDIATE: the write lock
    std::printf("locked\n");
    std::fflush(stdout);
    // Holding the lock for a fixed time is the point of this mode, not a synchronisation.
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    tx.rollback();
    return 0;
}

int push_batches(const char* path, int size) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Pusher pusher(db);
    for (long n = 1;; ++n) {
        std::vector<gqs::Message> batch(static_cast<std::size_t>(size));
        for (auto& m : batch)
            m.payload = std::string(100, 'x');
        pusher.push_batch(batch);
        std::printf("batch %ld\n", n);
        std::fflush(stdout);
    }
}

int use(const char* path) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Observer observer(db);
    (void)observer.list(std::nullopt, 0);
    gqs::sqlite::Pusher(db).push(gqs::Message{});
    (void)gqs::sqlite::Puller(db).pull(1, std::chrono::seconds(1));
    std::printf("ok\n");
    return 0;
}

int use_at(const char* path, const char* go) {
    // A start line for several processes: a yield loop, not a timed sleep.
    while (!std::filesystem::exists(go))
        std::this_thread::yield();
    return use(path);
}

int settle_loop(const char* path, int size) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Puller puller(db);
    for (long n = 1;; ++n) {
        auto jobs = puller.pull(size, std::chrono::hours(1));
        if (jobs.empty()) return 0;
        std::printf("settle %ld\n", n);
        std::fflush(stdout);
        for (const auto& result : puller.complete_batch(jobs))
            if (!result.applied()) throw std::runtime_error(result.error);
    }
}

int push_keys(const char* path, const char* go, int keys) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Pusher pusher(db);
    while (!std::filesystem::exists(go))
        std::this_thread::yield();
    std::string out;
    for (int k = 0; k < keys; ++k) {
        gqs::Message m;
        m.unique_key = "key-" + std::to_string(k);
        auto result = pusher.push(m);
        out += *m.unique_key + " " + result.id.to_string() +
               (result.duplicate ? " duplicate\n" : " new\n");
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
}

// Pushes one job (payload "from a child"), runnable after `delay_ms`, and exits.
int push_one(const char* path, long long delay_ms) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Pusher pusher(db);
    gqs::Message m;
    m.payload = "from a child";
    pusher.push(m, gqs::Duration(delay_ms));
    std::printf("%s\n", m.id.to_string().c_str());
    return 0;
}

int push_stream(const char* path, int n, long long gap_us) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Pusher pusher(db);
    auto next = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        std::this_thread::sleep_until(next);
        next += std::chrono::microseconds(gap_us);
        gqs::Message m;
        m.payload = "from a stream";
        pusher.push(m);
    }
    std::printf("pushed\n");
    return 0;
}

int work(const char* path, const char* stop) {
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::Puller puller(db);
    gqs::WorkerConfig config;
    config.concurrency = 2;
    config.pull_interval = std::chrono::minutes(10); // only a wake-up explains a start
    gqs::Worker worker(
        puller,
        [](const gqs::Job& job, std::stop_token) {
            std::printf("%s\n", job.id.to_string().c_str());
            std::fflush(stdout);
        },
        config);
    worker.start();
    std::printf("ready\n");
    std::fflush(stdout);
    // Waiting for the test to say stop; how long it takes is the test's business.
    while (!std::filesystem::exists(stop))
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    worker.stop(std::chrono::seconds(30));
    return 0;
}

int upgrade_crash(const char* path, int steps) {
    SQLite::Database raw(path, SQLite::OPEN_READWRITE);
    raw.setBusyTimeout(5000);
    // Called every `steps` VM instructions: the first call kills the process where it stands,
    // in the middle of whatever statement init_db runs.
    sqlite3_progress_handler(
        raw.getHandle(), steps,
        [](void*) -> int {
            std::raise(SIGKILL);
            return 0;
        },
        nullptr);
    auto db = std::make_shared<gqs::sqlite::Connection>(std::move(raw));
    gqs::sqlite::init_db(*db);
    std::printf("upgraded\n");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "pull" && argc == 4) return pull(argv[2], std::stoll(argv[3]));
        if (mode == "hold-lock" && argc == 4) return hold_lock(argv[2], std::stoll(argv[3]));
        if (mode == "push-batches" && argc == 4) return push_batches(argv[2], std::stoi(argv[3]));
        if (mode == "use" && argc == 3) return use(argv[2]);
        if (mode == "use-at" && argc == 4) return use_at(argv[2], argv[3]);
        if (mode == "settle-loop" && argc == 4) return settle_loop(argv[2], std::stoi(argv[3]));
        if (mode == "push-keys" && argc == 5)
            return push_keys(argv[2], argv[3], std::stoi(argv[4]));
        if (mode == "work" && argc == 4) return work(argv[2], argv[3]);
        if (mode == "push-one" && argc == 4) return push_one(argv[2], std::stoll(argv[3]));
        if (mode == "push-stream" && argc == 5)
            return push_stream(argv[2], std::stoi(argv[3]), std::stoll(argv[4]));
        if (mode == "upgrade-crash" && argc == 4) return upgrade_crash(argv[2], std::stoi(argv[3]));
        std::cerr << "usage: gqs_test_child pull DB LEASE_MS | hold-lock DB MS | "
                     "push-batches DB SIZE | use DB | use-at DB GO | settle-loop DB SIZE | "
                     "push-keys DB GO KEYS | upgrade-crash DB STEPS\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "gqs_test_child: " << e.what() << "\n";
        return 1;
    }
}
