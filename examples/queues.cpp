// SPDX-License-Identifier: Apache-2.0
// Named queues, priorities, a unique key, a snooze and the error history, on one SQLite file.
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

gqs::Message message(std::string queue, int priority, std::string name) {
    gqs::Message m;
    m.queue = std::move(queue); // default: "default"
    m.priority = priority;      // 0 runs first, 9 last
    m.set("name", std::move(name));
    return m;
}

int run(int argc, char** argv) {
    // A real file: the queue survives the process. Start fresh for the demo.
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-queues-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);

    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db); // schema version 2: queues, priorities, unique keys
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);

    // Producer. The reports go in first, at priority 5; the emails after them, at priority 0,
    // still run first. The monthly report hits a rate limit on its first run and snoozes.
    std::vector<gqs::Message> reports = {message("reports", 5, "daily"),
                                         message("reports", 5, "monthly")};
    reports[1].set("rate_limited", true);
    pusher.push_batch(reports);

    // A unique key: while the welcome email is Pending or Processing, pushing it again stores
    // nothing and returns the id of the job that holds the key.
    gqs::Message welcome = message("emails", 0, "welcome");
    welcome.unique_key = "welcome:ana@example.com";
    const gqs::PushResult first = pusher.push(welcome);
    gqs::Message again = message("emails", 0, "welcome (again)");
    again.unique_key = welcome.unique_key;
    const gqs::PushResult second = pusher.push(again);
    std::cout << "push welcome:         id " << first.id.to_string()
              << " duplicate=" << std::boolalpha << first.duplicate << '\n'
              << "push welcome again:   id " << second.id.to_string()
              << " duplicate=" << second.duplicate << " (the holder's id)\n";

    // The receipt fails on its first run; its error is kept in the job's history.
    gqs::Message receipt = message("emails", 0, "receipt");
    receipt.set("flaky", true);
    pusher.push(receipt);

    // A queue this worker does not serve: its job stays Pending.
    pusher.push(message("audit", 0, "export"));

    // The handler: return = Done, throw gqs::Snooze(d) = Pending again after d (the attempt
    // not counted, no error recorded), throw anything else = retry later with the error kept.
    std::mutex mutex;
    std::condition_variable finished_cv;
    std::vector<std::string> runs; // queue/name of each run, in order
    std::set<gqs::Uuid> snoozed;   // jobs that have snoozed once
    std::set<gqs::Uuid> finished;  // jobs whose handler returned
    auto handler = [&](const gqs::Job& job, std::stop_token) {
        const std::string name = job.queue + "/" + job.get<std::string>("name").value_or("?");
        const auto note = [&](std::string_view what) {
            std::lock_guard lock(mutex);
            runs.push_back(name);
            std::cout << "run " << runs.size() << ": " << name << " (priority " << job.priority
                      << ", attempt " << job.attempts << "): " << what << '\n';
        };
        if (job.get<bool>("rate_limited").value_or(false)) {
            bool first_time = false;
            {
                std::lock_guard lock(mutex);
                first_time = snoozed.insert(job.id).second;
            }
            if (first_time) {
                note("rate limited, snoozed for 200 ms");
                throw gqs::Snooze(200ms);
            }
        }
        if (job.get<bool>("flaky").value_or(false) && job.attempts == 1) {
            note("failed, retried after the backoff");
            throw std::runtime_error("smtp: 421 try again later");
        }
        note("returned");
        {
            std::lock_guard lock(mutex);
            finished.insert(job.id);
        }
        finished_cv.notify_all();
    };

    gqs::WorkerConfig config;
    config.concurrency = 1; // one job at a time, so the order of the runs shows the priorities
    config.pull_interval = 20ms;
    config.lock_timeout = 10s;
    config.backoff.initial_interval = 100ms;
    config.queues = {"emails", "reports"}; // not "audit"

    gqs::Worker worker(puller, handler, config);
    worker.start();
    constexpr std::size_t served = 4; // welcome, receipt, daily, monthly
    bool all_ran = false;
    {
        std::unique_lock lock(mutex);
        all_ran = finished_cv.wait_for(lock, 30s, [&] { return finished.size() == served; });
    }
    worker.stop(5s); // waits until the results of the handlers that returned are stored

    // What the Observer sees.
    int wrong = 0;
    const auto check = [&](bool ok, std::string_view what) {
        if (!ok) {
            std::cout << "unexpected: " << what << '\n';
            ++wrong;
        }
    };
    check(all_ran, "every served job ran within 30 s");
    check(second.duplicate && second.id == first.id, "the second welcome push is a duplicate");
    check(runs.size() >= 2 && runs[0].starts_with("emails/") && runs[1].starts_with("emails/"),
          "the emails (priority 0) ran before the reports (priority 5)");

    const auto stored_receipt = observer.get(receipt.id);
    check(stored_receipt && stored_receipt->status == gqs::Status::Done &&
              stored_receipt->attempts == 2 && stored_receipt->errors.size() == 1,
          "the receipt is Done after 2 attempts, with 1 error");
    if (stored_receipt) {
        std::cout << "receipt: " << gqs::to_string(stored_receipt->status) << " after "
                  << stored_receipt->attempts << " attempts; error history:\n";
        for (const auto& error : stored_receipt->errors)
            std::cout << "  attempt " << error.attempt << ": " << error.message << '\n';
    }
    const auto monthly = observer.get(reports[1].id);
    check(monthly && monthly->status == gqs::Status::Done && monthly->attempts == 1 &&
              monthly->errors.empty(),
          "the monthly report is Done after 1 attempt, with no error");
    if (monthly)
        std::cout << "monthly report: " << gqs::to_string(monthly->status) << " after "
                  << monthly->attempts << " attempt (the snooze did not count), "
                  << monthly->errors.size() << " errors\n";

    // The welcome email is Done, so its key is free again.
    const gqs::PushResult third = pusher.push(again);
    std::cout << "push welcome after it is done: duplicate=" << third.duplicate << '\n';
    check(!third.duplicate && third.id == again.id, "the key is free once its job is Done");

    const gqs::Stats stats = observer.stats();
    for (const auto& [queue, counts] : stats.queues)
        std::cout << "queue " << queue << ": pending " << counts.pending << ", done " << counts.done
                  << ", dead " << counts.dead << '\n';
    const auto audit = stats.queues.find("audit");
    check(audit != stats.queues.end() && audit->second.pending == 1,
          "the audit job waits in a queue no worker serves");

    if (wrong != 0) {
        std::cout << wrong << " checks failed\n";
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
        std::cerr << "failed: " << e.what() << '\n';
        return 1;
    }
}
