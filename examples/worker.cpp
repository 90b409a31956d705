// SPDX-License-Identifier: Apache-2.0
// A producer and a four-thread Worker on one SQLite file: retries, a kill, live progress.
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

using namespace std::chrono_literals;

namespace {

int run(int argc, char** argv) {
    // A real file: the queue survives the process. Start fresh for the demo.
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-worker-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);

    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);

    // Producer: 50 orders in one transaction. Every tenth fails on its first run (a flaky
    // payment service); order 37 can never be fulfilled.
    constexpr int total = 50;
    std::vector<gqs::Message> orders(total);
    for (int i = 0; i < total; ++i) {
        orders[i].set("order", i).set("flaky", i % 10 == 3).set("hopeless", i == 37);
        orders[i].payload = "order #" + std::to_string(i);
    }
    pusher.push_batch(orders);

    // The handler: return = Done, throw gqs::Kill = Dead, throw anything else = retry later.
    // Delivery is at-least-once, so a real handler must be idempotent.
    std::mutex mutex;
    std::condition_variable progress;
    int returned = 0; // handlers that returned or threw, to wake the progress line
    auto handler = [&](const gqs::Job& job, std::stop_token stop) {
        struct Wake {
            std::mutex& mutex;
            std::condition_variable& cv;
            int& count;
            ~Wake() {
                std::lock_guard lock(mutex);
                ++count;
                cv.notify_all();
            }
        } wake{mutex, progress, returned};
        if (job.get<bool>("hopeless").value_or(false)) throw gqs::Kill("order cannot be fulfilled");
        if (job.get<bool>("flaky").value_or(false) && job.attempts == 1)
            throw std::runtime_error("payment service unavailable");
        // 20 ms of "work" that ends early if the worker stops.
        std::mutex work;
        std::condition_variable_any wait;
        std::unique_lock lock(work);
        wait.wait_for(lock, stop, 20ms, [] { return false; });
        if (stop.stop_requested()) throw std::runtime_error("interrupted by shutdown");
    };

    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.batch_size = 4;
    config.pull_interval = 50ms;
    config.lock_timeout = 10s;
    config.backoff.max_retries = 3;
    config.backoff.initial_interval = 100ms;

    // Warnings (failed and killed jobs) are counted; errors go to stderr on their own line.
    std::atomic<int> warnings{0};
    gqs::Logger logger = [&](gqs::LogLevel level, std::string_view message) {
        if (level == gqs::LogLevel::Warning) ++warnings;
        if (level == gqs::LogLevel::Error) std::cerr << "\nerror: " << message << '\n';
    };

    gqs::Worker worker(puller, handler, config, logger);
    worker.start();

    // Progress: count the orders that reached Done or Dead, each time a handler finishes.
    const auto finished_orders = [&] {
        int finished = 0;
        for (const auto& order : orders) {
            auto job = observer.get(order.id);
            if (job && gqs::is_terminal(job->status)) ++finished;
        }
        return finished;
    };
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    int finished = 0;
    while (finished < total && std::chrono::steady_clock::now() < deadline) {
        {
            std::unique_lock lock(mutex);
            const int seen = returned;
            progress.wait_for(lock, 100ms, [&] { return returned != seen; });
        }
        finished = finished_orders();
        std::cout << "\rprocessed " << finished << "/" << total << std::flush;
    }
    std::cout << '\n';
    worker.stop(5s); // graceful: running handlers see their stop token, then settle

    // Summary, and a check that every order ended where it should.
    std::map<gqs::Status, int> by_status;
    int wrong = 0;
    for (int i = 0; i < total; ++i) {
        const auto job = observer.get(orders[i].id);
        if (!job) {
            ++wrong;
            continue;
        }
        ++by_status[job->status];
        const bool hopeless = i == 37;
        const bool flaky = i % 10 == 3;
        const gqs::Status want = hopeless ? gqs::Status::Dead : gqs::Status::Done;
        const std::uint32_t attempts = flaky ? 2 : 1;
        if (job->status != want || job->attempts != attempts) {
            std::cout << "order " << i << ": " << gqs::to_string(job->status) << " after "
                      << job->attempts << " attempts, expected " << gqs::to_string(want)
                      << " after " << attempts << '\n';
            ++wrong;
        }
    }
    for (auto status :
         {gqs::Status::Pending, gqs::Status::Processing, gqs::Status::Done, gqs::Status::Dead})
        std::cout << gqs::to_string(status) << ": " << by_status[status] << '\n';
    std::cout << "warnings logged: " << warnings << " (5 retries, 1 kill)\n";
    if (wrong != 0) {
        std::cout << wrong << " orders did not end as expected\n";
        return 1;
    }
    std::cout << "all jobs accounted for\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "\nfailed: " << e.what() << '\n';
        return 1;
    }
}
