// SPDX-License-Identifier: Apache-2.0
// WorkerConfig::hooks wired to a log and to counters an app could export as metrics.
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

// Counters a metrics exporter would read; hooks only add to them (they must not block).
struct Metrics {
    std::atomic<long> started{0}, completed{0}, retried{0}, killed{0}, pulls{0};
    std::atomic<long> run_us{0}, wait_us{0};
};

const char* name_of(gqs::Action action) {
    switch (action) {
    case gqs::Action::Complete: return "done";
    case gqs::Action::Requeue: return "retry";
    case gqs::Action::Kill: return "dead";
    case gqs::Action::Snooze: return "snoozed";
    case gqs::Action::Release: return "released";
    }
    return "?";
}

int run(int argc, char** argv) {
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-hooks-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);

    constexpr int total = 20;
    std::vector<gqs::Message> messages(total);
    for (int i = 0; i < total; ++i)
        messages[i].payload = "job " + std::to_string(i);
    pusher.push_batch(messages);

    Metrics metrics;
    std::mutex log_mutex; // the log: one line per finished job
    gqs::WorkerConfig config;
    config.backoff.initial_interval = 1ms;
    config.backoff.max_retries = 1;
    config.hooks.on_start = [&](const gqs::Job&) { ++metrics.started; };
    config.hooks.on_finish = [&](const gqs::Job& job, gqs::Action action,
                                 std::chrono::microseconds ran, std::chrono::microseconds waited) {
        if (action == gqs::Action::Complete) ++metrics.completed;
        if (action == gqs::Action::Requeue) ++metrics.retried;
        if (action == gqs::Action::Kill) ++metrics.killed;
        metrics.run_us += ran.count();
        metrics.wait_us += waited.count();
        std::lock_guard lock(log_mutex);
        std::cout << job.payload << " attempt " << job.attempts << ": " << name_of(action)
                  << " after " << ran.count() << " us\n";
    };
    config.hooks.on_pull = [&](int, std::chrono::microseconds) { ++metrics.pulls; };
    config.hooks.on_storage_error = [&](const gqs::StorageError& e) {
        std::lock_guard lock(log_mutex);
        std::cerr << "storage error: " << e.what() << "\n";
    };

    {
        // Job 7 fails twice (retried once, then dead); the others sleep a millisecond.
        gqs::Worker worker(
            puller,
            [](const gqs::Job& job, std::stop_token) {
                if (job.payload == "job 7") throw std::runtime_error("flaky service");
                std::this_thread::sleep_for(1ms);
            },
            config);
        worker.start();
        while (metrics.completed + metrics.killed < total)
            std::this_thread::sleep_for(10ms); // the demo polls its own counters
        worker.stop(5s);
    }
    std::cout << "started " << metrics.started << ", done " << metrics.completed << ", retried "
              << metrics.retried << ", dead " << metrics.killed << ", pulls " << metrics.pulls
              << ", mean run " << metrics.run_us / metrics.started << " us\n";
    const bool ok = metrics.started == total + 1 && metrics.completed == total - 1 &&
                    metrics.retried == 1 && metrics.killed == 1;
    std::cout << (ok ? "hooks: every job accounted for\n" : "hooks: counts are off\n");
    return ok ? 0 : 1;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "hooks example: " << e.what() << "\n";
        return 1;
    }
}
