// SPDX-License-Identifier: Apache-2.0
// Workers under stored queue limits (docs/limits.md) over every backend: the rate and pause a
// Worker honours without busy-polling, and max_running across several workers with prefetch.
// The pulls themselves are the conformance suite's (conformance/queue_limits_pull_test.cpp).
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"
#include "support/test_support.hpp"
#include "support/worker_support.hpp"

#include <gqs/queues.hpp>
#include <gqs/worker.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using namespace gqs;
using namespace gqs::test;

namespace {

void push_many(Queue& q, const std::string& queue, int n) {
    gqs::test::push_to(q.pusher, queue, n);
}

// Runs three Workers (on q's Puller and on `second`'s and `third`'s) with `handler` and
// `config` until `drained` says so (or for `patience`), calling `meanwhile` every 3 ms.
template <class Handler>
void run_three(Queue& q, Session& second, Session& third, Handler& handler,
               const WorkerConfig& config, LogCapture& log, const std::function<bool()>& drained,
               const std::function<void()>& meanwhile) {
    Worker a(q.puller, handler, config, log.logger());
    Worker b(second.puller(), handler, config, log.logger());
    Worker c(third.puller(), handler, config, log.logger());
    a.start();
    b.start();
    c.start();
    const auto deadline = std::chrono::steady_clock::now() + patience;
    while (!drained() && std::chrono::steady_clock::now() < deadline) {
        meanwhile();
        std::this_thread::sleep_for(3ms); // the sampling period, not a synchronisation
    }
    a.stop(patience);
    b.stop(patience);
    c.stop(patience);
}

std::int64_t processing_in(Observer& observer, const std::string& queue) {
    const auto stats = observer.stats();
    const auto it = stats.queues.find(queue);
    return it == stats.queues.end() ? 0 : it->second.processing;
}

} // namespace

TEST_CASE("Worker: a rate-limited queue starts its burst then its rate; pause and resume",
          "[worker][limits]") {
    Queue q;
    push_many(q, "mail", 400);
    QueueLimits limits;
    limits.rate = 20;
    limits.burst = 5;
    q.queues.set_limits("mail", limits);

    using Clock = std::chrono::steady_clock;
    std::mutex mutex;
    std::vector<Clock::time_point> starts;
    auto started = [&] {
        std::lock_guard lock(mutex);
        return starts.size();
    };
    WorkerConfig config;
    // An hour between polls: only the limit's own wait (Puller::limit_wait) and the wake-up of
    // resume explain any start after the first pull.
    config.pull_interval = std::chrono::hours(1);
    config.schedules = false;
    LogCapture log;
    Worker worker(
        q.puller,
        [&](const Job&, std::stop_token) {
            std::lock_guard lock(mutex);
            starts.push_back(Clock::now());
        },
        config, log.logger());
    const auto begin = Clock::now();
    worker.start();
    std::this_thread::sleep_for(10s); // the measured window, not a synchronisation
    const auto end = Clock::now();
    std::size_t in_window = 0;
    {
        std::lock_guard lock(mutex);
        in_window = static_cast<std::size_t>(
            std::count_if(starts.begin(), starts.end(), [&](auto t) { return t <= end; }));
    }
    const double seconds = std::chrono::duration<double>(end - begin).count();
    INFO("starts in " << seconds << " s: " << in_window);
    CHECK(in_window <= static_cast<std::size_t>(5 + 20 * seconds) + 1);
    CHECK(in_window >= 190);

    // Paused: no start but of jobs leased before the pause returned.
    q.queues.pause("mail");
    const auto leased = processing_in(q.observer, "mail");
    const auto at_pause = started();
    std::this_thread::sleep_for(500ms); // ten tokens' worth: a pull would have started some
    CHECK(started() <= at_pause + static_cast<std::size_t>(leased));
    const auto paused_total = started();
    // Resumed: a start at once (the resume wakes the worker; its next poll is an hour away).
    q.queues.resume("mail");
    CHECK(wait_until([&] { return started() > paused_total; }, patience));
    worker.stop(patience);
    INFO(log.text());
    CHECK(log.count(LogLevel::Error) == 0);
}

TEST_CASE("Worker: max_running holds across three workers of four threads with prefetch",
          "[worker][limits]") {
    Queue q;
    constexpr int jobs = 150;
    push_many(q, "api", jobs);
    QueueLimits limits;
    limits.max_running = 2;
    q.queues.set_limits("api", limits);
    auto second = q.open_second();
    auto third = q.open_second();

    std::atomic<int> running{0};
    std::atomic<int> most{0};
    std::atomic<int> done{0};
    auto handler = [&](const Job&, std::stop_token) {
        const int now = running.fetch_add(1) + 1;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(2ms);
        running.fetch_sub(1);
        done.fetch_add(1);
    };
    WorkerConfig config;
    config.concurrency = 4;
    config.pull_interval = 20ms;
    config.schedules = false; // prefetch stays adaptive (the default)
    LogCapture log;
    std::atomic<std::int64_t> sampled_most{0};
    // Sampled from the database every few milliseconds while they drain.
    run_three(
        q, *second, *third, handler, config, log, [&] { return done.load() >= jobs; },
        [&] { sampled_most = std::max(sampled_most.load(), processing_in(q.observer, "api")); });
    CHECK(done.load() == jobs);
    CHECK(most.load() <= 2);
    CHECK(sampled_most.load() <= 2);
    INFO(log.text());
    CHECK(log.count(LogLevel::Error) == 0);
}

// The keyed check: 50 keys x 20 jobs under max_running_per_key = 1, drained by three
// Workers of four threads (adaptive prefetch): never two jobs of a key in handlers at once.
// The drain against the same jobs without keys is a bench line (bench: keyed_drain).
TEST_CASE("Worker: max_running_per_key holds across three workers over 50 keys",
          "[worker][limits][keys]") {
    Queue q;
    constexpr int keys = 50;
    constexpr int per_key = 20;
    constexpr int jobs = keys * per_key;
    // Pushed key after key, so a pull's first candidates are mostly of one key.
    for (int k = 0; k < keys; ++k) {
        std::vector<Message> batch(per_key);
        for (auto& m : batch) {
            m.queue = "api";
            m.concurrency_key = numbered("customer-", k);
        }
        (void)q.pusher.push_batch(batch);
    }
    QueueLimits limits;
    limits.max_running_per_key = 1;
    q.queues.set_limits("api", limits);
    auto second = q.open_second();
    auto third = q.open_second();

    std::mutex mutex;
    std::map<std::string, int> running;
    int most = 0;
    std::atomic<int> done{0};
    auto handler = [&](const Job& job, std::stop_token) {
        const std::string key = job.concurrency_key.value_or("");
        {
            std::lock_guard lock(mutex);
            most = std::max(most, ++running[key]);
        }
        std::this_thread::sleep_for(1ms);
        {
            std::lock_guard lock(mutex);
            --running[key];
        }
        done.fetch_add(1);
    };
    WorkerConfig config;
    config.concurrency = 4;
    config.pull_interval = 20ms;
    config.schedules = false;
    LogCapture log;
    run_three(
        q, *second, *third, handler, config, log, [&] { return done.load() >= jobs; }, [] {});
    CHECK(done.load() == jobs);
    CHECK(most == 1);
    INFO(log.text());
    CHECK(log.count(LogLevel::Error) == 0);
}

namespace {

// Pushes `n` jobs of queue "tenants" in group `group`, in batches of 10,000.
void push_group(Queue& q, const std::string& group, int n) {
    while (n > 0) {
        std::vector<Message> batch(static_cast<std::size_t>(std::min(n, 10000)));
        for (auto& m : batch) {
            m.queue = "tenants";
            m.group = group;
        }
        (void)q.pusher.push_batch(batch);
        n -= static_cast<int>(batch.size());
    }
}

// The groups of the jobs a Worker started, in the order their handlers began.
struct StartLog {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<std::string> groups;

    void started(const Job& job) {
        {
            std::lock_guard lock(mutex);
            groups.push_back(job.group.value_or(""));
        }
        changed.notify_all();
    }
    // Waits (up to `patience`) until `ready` holds over the groups started so far.
    template <class Pred>
    bool wait(Pred ready) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, patience, [&] { return ready(groups); });
    }
};

// A Worker of four threads (adaptive prefetch) on q's Puller, started, that logs the group of
// each job it starts.
struct TenantsWorker {
    explicit TenantsWorker(Queue& q)
        : worker(
              q.puller, [this](const Job& job, std::stop_token) { log.started(job); }, config(),
              capture.logger()) {
        worker.start();
    }
    static WorkerConfig config() {
        WorkerConfig c;
        c.concurrency = 4;
        c.schedules = false;
        return c;
    }
    StartLog log;
    LogCapture capture;
    Worker worker; // last: stopped (by its destructor) before the log goes
};

} // namespace

// The fairness check: tenant A pushes 100,000 jobs, then B..E push 10 each while a
// Worker of four threads (adaptive prefetch) drains A: every job of B..E starts before A's
// 1,000th job after their push. A's jobs leased before that (the prefetch) run first.
TEST_CASE("Worker: fair share starts four small tenants' jobs within a turn of a 100000-job "
          "tenant",
          "[worker][limits][fair]") {
    Queue q;
    push_group(q, "A", 100000);
    QueueLimits limits;
    limits.fair_share = true;
    q.queues.set_limits("tenants", limits);
    TenantsWorker w(q);
    auto& log = w.log;
    REQUIRE(log.wait([](const auto& g) { return g.size() >= 100; }));
    std::size_t mark = 0;
    for (const char* tenant : {"B", "C", "D", "E"})
        push_group(q, tenant, 10);
    {
        std::lock_guard lock(log.mutex);
        mark = log.groups.size(); // every start after this began after the pushes
    }
    const bool all_small = log.wait([](const auto& g) {
        return std::count_if(g.begin(), g.end(), [](const std::string& s) { return s != "A"; }) ==
               40;
    });
    w.worker.stop(patience);
    REQUIRE(all_small);
    std::lock_guard lock(log.mutex);
    int a_after = 0, most_a_before_small = 0;
    for (std::size_t i = mark; i < log.groups.size(); ++i) {
        if (log.groups[i] == "A") {
            ++a_after;
        } else {
            most_a_before_small = a_after;
        }
    }
    INFO("A's jobs started after the push, before the last small tenant's job: "
         << most_a_before_small);
    CHECK(most_a_before_small < 1000);
    INFO(w.capture.text());
    CHECK(w.capture.count(LogLevel::Error) == 0);
}

// The weights check: two busy tenants with weights 3:1, drained by a Worker of four
// threads: over the first 10,000 starts, the counts are within 5% of 3:1.
TEST_CASE("Worker: fair share weights 3 to 1 hold over 10000 starts", "[worker][limits][fair]") {
    Queue q;
    push_group(q, "heavy", 10000);
    push_group(q, "light", 10000);
    QueueLimits limits;
    limits.group_weights = {{"heavy", 3}};
    q.queues.set_limits("tenants", limits);
    TenantsWorker w(q);
    auto& log = w.log;
    const bool done = log.wait([](const auto& g) { return g.size() >= 10000; });
    w.worker.stop(patience);
    REQUIRE(done);
    std::lock_guard lock(log.mutex);
    const auto first = log.groups.begin();
    const auto heavy = std::count(first, first + 10000, std::string("heavy"));
    const auto light = std::count(first, first + 10000, std::string("light"));
    INFO("heavy " << heavy << ", light " << light);
    CHECK(heavy + light == 10000);
    REQUIRE(light > 0);
    const double ratio = static_cast<double>(heavy) / static_cast<double>(light);
    CHECK(ratio >= 3.0 * 0.95);
    CHECK(ratio <= 3.0 * 1.05);
    INFO(w.capture.text());
    CHECK(w.capture.count(LogLevel::Error) == 0);
}
