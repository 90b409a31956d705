// SPDX-License-Identifier: Apache-2.0
// Queue limits stored in the database and honoured by every worker: at most 2 jobs of "api"
// at once, "mail" at 20 starts per second after a burst of 5, one "imports" job per customer
// at a time (a concurrency key), "tenants" shared fairly between a tenant with 200 jobs and
// one with 5 pushed after them (fair share), and "reports" paused, then resumed. One Worker
// serves all five queues (docs/limits.md).
#include <gqs/queues.hpp>
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;

namespace {

void push(gqs::Pusher& pusher, const std::string& queue, int count) {
    std::vector<gqs::Message> batch(static_cast<std::size_t>(count));
    for (auto& m : batch)
        m.queue = queue;
    (void)pusher.push_batch(batch);
}

int run(int argc, char** argv) {
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-limits-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Queues queues(db);

    // Limits live in the database: every process that opens it honours the same ones.
    gqs::QueueLimits api;
    api.max_running = 2; // across every worker and process
    queues.set_limits("api", api);
    gqs::QueueLimits mail;
    mail.rate = 20; // starts per second ...
    mail.burst = 5; // ... after up to 5 at once
    queues.set_limits("mail", mail);
    gqs::QueueLimits imports;
    imports.max_running_per_key = 1; // one import per customer at a time
    queues.set_limits("imports", imports);
    gqs::QueueLimits tenants;
    tenants.fair_share = true; // round-robin across Message::group
    queues.set_limits("tenants", tenants);
    queues.pause("reports");

    push(pusher, "api", 12);
    push(pusher, "mail", 15);
    push(pusher, "reports", 3);
    for (const char* customer : {"customer-a", "customer-b", "customer-a", "customer-b"}) {
        gqs::Message m;
        m.queue = "imports";
        m.concurrency_key = customer; // jobs with the same key never run side by side
        (void)pusher.push(m);
    }

    std::mutex mutex;
    std::condition_variable changed;
    std::map<std::string, int> done;
    std::atomic<int> api_running{0};
    std::atomic<int> api_most{0};
    std::map<std::string, int> importing; // running imports per customer
    int imports_most = 0;
    int big_started = 0;           // big's jobs started so far
    int big_before_small_done = 0; // ... when small's last job started
    int small_started = 0;
    const auto begin = std::chrono::steady_clock::now();
    std::chrono::steady_clock::duration mail_took{};

    gqs::WorkerConfig config;
    config.concurrency = 8;
    gqs::Worker worker(
        puller,
        [&](const gqs::Job& job, std::stop_token) {
            if (job.queue == "api") {
                const int now = ++api_running;
                int seen = api_most.load();
                while (now > seen && !api_most.compare_exchange_weak(seen, now)) {
                }
                std::this_thread::sleep_for(20ms); // a call to a service that takes 2 at a time
                --api_running;
            }
            if (job.queue == "imports") {
                const std::string customer = job.concurrency_key.value_or("");
                {
                    std::lock_guard lock(mutex);
                    imports_most = std::max(imports_most, ++importing[customer]);
                }
                std::this_thread::sleep_for(20ms); // the import
                std::lock_guard lock(mutex);
                --importing[customer];
            }
            if (job.queue == "tenants") {
                std::this_thread::sleep_for(1ms); // a little work
                std::lock_guard lock(mutex);
                if (job.group == "big") {
                    ++big_started;
                } else if (++small_started == 5) {
                    big_before_small_done = big_started;
                }
            }
            std::lock_guard lock(mutex);
            if (++done[job.queue] == 15 && job.queue == "mail")
                mail_took = std::chrono::steady_clock::now() - begin;
            changed.notify_all();
        },
        config);
    worker.start();

    auto wait_for = [&](const std::string& queue, int count) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, 60s, [&] { return done[queue] >= count; });
    };
    if (!wait_for("api", 12) || !wait_for("mail", 15) || !wait_for("imports", 4))
        throw std::runtime_error("timed out");
    // Tenant "big" pushes 200 jobs, then "small" 5: with fair share, small's jobs start
    // alongside big's first ones, not after all 200.
    for (const auto& [tenant, count] : {std::pair{"big", 200}, std::pair{"small", 5}}) {
        std::vector<gqs::Message> batch(static_cast<std::size_t>(count));
        for (auto& m : batch) {
            m.queue = "tenants";
            m.group = tenant;
        }
        (void)pusher.push_batch(batch);
    }
    if (!wait_for("tenants", 205)) throw std::runtime_error("timed out");
    {
        std::lock_guard lock(mutex);
        std::cout << "api: 12 jobs done, at most " << api_most.load() << " at once\n";
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(mail_took).count();
        // 5 at once, then one every 50 ms: about 500 ms for the other 10.
        std::cout << "mail: 15 jobs done in " << (ms >= 450 ? "at least 450 ms" : "too little time")
                  << " (burst 5, then 20 per second)\n";
        std::cout << "imports: 4 jobs done, at most " << imports_most << " per customer at once\n";
        std::cout << "tenants: small's 5 jobs started "
                  << (big_before_small_done < 50 ? "before big's 50th" : "too late") << " (after "
                  << big_before_small_done << " of big's 200)\n";
        std::cout << "reports while paused: " << done["reports"] << " done\n";
    }
    queues.resume("reports"); // wakes the worker at once
    if (!wait_for("reports", 3)) throw std::runtime_error("timed out");
    std::cout << "reports after resume: 3 done\n";
    worker.stop(10s);

    for (const auto& [queue, limits] : queues.list())
        std::cout << "limits of " << queue << ": max_running "
                  << (limits.max_running ? std::to_string(*limits.max_running) : "none")
                  << ", rate " << (limits.rate ? std::to_string(*limits.rate) : "none")
                  << ", paused " << (limits.paused ? "yes" : "no") << "\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "limits example failed: " << e.what() << "\n";
        return 1;
    }
}
