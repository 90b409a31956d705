// SPDX-License-Identifier: Apache-2.0
// The disk-full cell of the crash matrix (issue 22), for every backend: a producer pushes
// while a Worker runs the jobs and the test settles jobs of its own, then the disk fills up
// for a while and space returns. The backend's test provides the fault (fill, free) and an
// integrity check; this counts what happened.
#pragma once

#include "support/catch.hpp"
#include "support/sync.hpp"
#include "support/test_support.hpp"
#include "support/worker_support.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gqs::test {

/// What the backend under test provides: the objects on (at least) two connections to one
/// queue, and the fault.
struct DiskFullTarget {
    Pusher& pusher;
    Puller& worker_puller; // the Worker's
    Puller& manual_puller; // the test's own complete and requeue calls
    Observer& observer;
    std::function<void()> fill;             // from now on writes that need space fail
    std::function<void()> free;             // space again
    std::function<std::string()> integrity; // "ok", or what is wrong
};

struct DiskFullCounts {
    long pushed = 0;           // jobs whose push returned
    long refused = 0;          // jobs whose push threw StorageError (Full)
    long refused_stored = 0;   // of those, stored anyway (must be 0)
    long wrong_errors = 0;     // anything else thrown by a push or a settle (must be 0)
    long done = 0;             // pushed jobs Done at the end
    long lost = 0;             // pushed jobs missing or not Done at the end
    long twice = 0;            // jobs whose handler succeeded more than once
    long unexplained = 0;      // of those, without a lease the worker reported lost or expired
    long stuck = 0;            // not Done one lease time after space returned
    long manual_failed = 0;    // the test's own settles that failed while the disk was full
    long manual_retried = 0;   // and were stored when tried again afterwards
    long pulls_full = 0;       // the Worker's pulls while the disk was full
    long log_lines = 0;        // the Worker's log lines, all run long
    long settle_errors = 0;    // the Worker's results (settles) that failed on storage
    double full_s = 0;         // how long the disk was full
    std::string first_refusal; // what the first refused push threw
};

inline DiskFullCounts disk_full_run(const DiskFullTarget& t, const std::string& name) {
    using namespace std::chrono_literals;
    using Clock = std::chrono::steady_clock;
    constexpr auto lease = 3s;
    constexpr auto pull_interval = 10ms;
    constexpr int manual_jobs = 20;
    DiskFullCounts counts;

    // The test's own jobs, in a queue the Worker does not serve, leased for a minute.
    for (int i = 0; i < manual_jobs; ++i) {
        Message m;
        m.queue = "manual";
        m.payload = std::string(200, 'm');
        (void)t.pusher.push(m);
    }
    const std::vector<std::string> manual_queue{"manual"};
    auto manual = t.manual_puller.pull(manual_jobs, 1min, manual_queue);
    REQUIRE(static_cast<int>(manual.size()) == manual_jobs);

    std::mutex mutex; // guards the sets and maps below
    std::map<Uuid, int> done_runs;
    std::set<Uuid> pushed;
    std::set<Uuid> refused;
    std::vector<std::string> wrong;
    auto note_wrong = [&](const std::string& what) {
        std::lock_guard lock(mutex);
        wrong.push_back(what);
    };

    ProbePuller probe(t.worker_puller);
    WorkerConfig config;
    config.concurrency = 4;
    config.batch_size = 4;
    config.pull_interval = pull_interval;
    config.lock_timeout = lease;
    config.queues = {"default"};
    config.backoff = {.max_retries = 5,
                      .initial_interval = 50ms,
                      .max_interval = 50ms,
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token stop) {
            // Each run takes 20 ms, so that some are under way, their results unstored, when
            // the disk fills up.
            wait_for_stop(stop, 20ms);
            // One job in 7 fails its first run: the Worker requeues it (a settle too).
            if (static_cast<int>(job.attempts) <= job.get<int>("fail").value_or(0))
                throw std::runtime_error("scripted failure");
            std::lock_guard lock(mutex);
            ++done_runs[job.id];
        },
        config, log.logger());
    worker.start();

    std::atomic<bool> producing{true};
    std::atomic<long> refusals{0};
    std::thread producer([&] {
        long n = 0;
        while (producing) {
            std::vector<Message> batch(n % 10 == 9 ? 3 : 1);
            for (auto& m : batch) {
                m.set("n", n).set("fail", n % 7 == 0 ? 1 : 0);
                m.payload = std::string(300, 'p');
                ++n;
            }
            try {
                if (batch.size() == 1)
                    (void)t.pusher.push(batch.front());
                else
                    (void)t.pusher.push_batch(batch);
                std::lock_guard lock(mutex);
                for (const auto& m : batch)
                    pushed.insert(m.id);
            } catch (const StorageError& e) {
                if (e.kind() != StorageErrorKind::Full) {
                    note_wrong(std::string("push: ") + e.what());
                } else {
                    std::lock_guard lock(mutex);
                    for (const auto& m : batch)
                        refused.insert(m.id);
                    if (counts.first_refusal.empty()) counts.first_refusal = e.what();
                }
                ++refusals;
            } catch (const std::exception& e) {
                note_wrong(std::string("push: ") + e.what());
            }
            std::this_thread::sleep_for(4ms); // the rate, not a synchronisation
        }
    });

    auto pushed_count = [&] {
        std::lock_guard lock(mutex);
        return pushed.size();
    };
    wait_until([&] { return pushed_count() >= 50; });
    // The fault.
    const int pulls_before = probe.pulls.load();
    t.fill();
    const auto full_at = Clock::now();
    // The test's settles while the disk is full: once the producer has met the full disk.
    wait_until([&] { return refusals.load() >= 1; }, 10s);
    std::vector<int> failed_settles;
    for (int i = 0; i < manual_jobs; ++i) {
        try {
            if (i % 2 == 0)
                t.manual_puller.complete(manual[static_cast<std::size_t>(i)]);
            else
                t.manual_puller.requeue(manual[static_cast<std::size_t>(i)], Duration{});
        } catch (const StorageError& e) {
            if (e.kind() == StorageErrorKind::Full)
                failed_settles.push_back(i);
            else
                note_wrong(std::string("settle: ") + e.what());
        } catch (const std::exception& e) {
            note_wrong(std::string("settle: ") + e.what());
        }
    }
    counts.manual_failed = static_cast<long>(failed_settles.size());
    // The disk stays full for 1.5 s (less than a lease: no lease needs to expire) and until
    // the producer met it several times.
    wait_until([&] { return refusals.load() >= 5 && Clock::now() >= full_at + 1500ms; }, 20s);
    t.free();
    const auto free_at = Clock::now();
    counts.full_s = std::chrono::duration<double>(free_at - full_at).count();
    counts.pulls_full = probe.pulls.load() - pulls_before;

    // Space again: the test's failed settles are tried again and stored; the jobs it requeued
    // are pulled and completed.
    for (int i : failed_settles) {
        try {
            if (i % 2 == 0)
                t.manual_puller.complete(manual[static_cast<std::size_t>(i)]);
            else
                t.manual_puller.requeue(manual[static_cast<std::size_t>(i)], Duration{});
            ++counts.manual_retried;
        } catch (const std::exception& e) {
            note_wrong(std::string("settle tried again: ") + e.what());
        }
    }
    for (auto& job : t.manual_puller.pull(manual_jobs, 1min, manual_queue))
        t.manual_puller.complete(job);
    std::this_thread::sleep_for(300ms); // a little normal traffic after the fault
    producing = false;
    producer.join();

    auto not_done = [&] {
        std::set<Uuid> ids;
        {
            std::lock_guard lock(mutex);
            ids = pushed;
        }
        long missing = 0;
        for (const auto& id : ids) {
            auto job = t.observer.get(id);
            if (!job || job->status != Status::Done) ++missing;
        }
        return missing;
    };
    // Stuck: not Done one lease time after space returned.
    wait_until(
        [&] { return not_done() == 0; },
        std::chrono::duration_cast<std::chrono::milliseconds>(free_at + lease - Clock::now()));
    counts.stuck = not_done();
    wait_until([&] { return not_done() == 0; }); // then what is lost for good
    worker.stop(patience);

    const std::string logged = log.text();
    counts.log_lines = static_cast<long>(lines(logged).size());
    counts.settle_errors = static_cast<long>(log.count(LogLevel::Error, ": cannot ") +
                                             log.count(LogLevel::Error, "storing "));
    counts.pushed = static_cast<long>(pushed.size());
    counts.refused = static_cast<long>(refused.size());
    for (const auto& id : pushed) {
        auto job = t.observer.get(id);
        if (job && job->status == Status::Done)
            ++counts.done;
        else
            ++counts.lost;
        if (done_runs[id] > 1) {
            ++counts.twice;
            const std::string prefix = "job " + id.to_string() + ": ";
            if (logged.find(prefix + "left Processing") == std::string::npos &&
                logged.find(prefix + "lease lost") == std::string::npos)
                ++counts.unexplained;
        }
    }
    for (const auto& id : refused)
        if (t.observer.get(id)) ++counts.refused_stored;
    long manual_done = 0;
    std::string manual_states;
    for (const auto& job : manual) {
        auto stored = t.observer.get(job.id);
        if (stored && stored->status == Status::Done) ++manual_done;
        if (stored) {
            manual_states += to_string(stored->status);
            manual_states += "/";
            manual_states += std::to_string(stored->attempts);
            manual_states += " ";
        }
    }
    const auto stored_total = static_cast<long>(t.observer.list(std::nullopt, 0).size());
    const std::string integrity = t.integrity();

    std::ostringstream report;
    report << "disk full (" << name << "): pushed " << counts.pushed << ", refused "
           << counts.refused << " (stored " << counts.refused_stored << "), done " << counts.done
           << ", lost " << counts.lost << ", run twice " << counts.twice << " (unexplained "
           << counts.unexplained << "), stuck " << counts.stuck << "; the test's settles failed "
           << counts.manual_failed << ", stored when tried again " << counts.manual_retried
           << "; the worker's pulls while full " << counts.pulls_full << " in " << counts.full_s
           << " s, its settles that failed " << counts.settle_errors << ", log lines "
           << counts.log_lines << "; integrity " << integrity;
    WARN(report.str());
    {
        std::string all_wrong;
        for (const auto& w : wrong)
            all_wrong += w + "\n";
        INFO(all_wrong);
        CHECK(wrong.empty());
    }
    INFO(logged.substr(0, 20000));
    CHECK(counts.refused > 0); // the disk really was full
    CHECK(counts.refused_stored == 0);
    CHECK(counts.lost == 0);
    CHECK(counts.unexplained == 0);
    CHECK(counts.stuck == 0);
    CHECK(counts.manual_retried == counts.manual_failed);
    INFO("the test's jobs: " << manual_states);
    CHECK(manual_done == manual_jobs);
    CHECK(stored_total == counts.pushed + manual_jobs); // nothing stored that was not pushed
    CHECK(integrity == "ok");
    // No spin: the Worker pulls at most about once per pull_interval while the disk is full,
    // and logs a bounded number of lines.
    const auto full_ms = static_cast<long>(counts.full_s * 1000);
    CHECK(counts.pulls_full <= 2 * full_ms / pull_interval.count() + 20);
    CHECK(counts.log_lines <= 4 * full_ms / pull_interval.count() + 4 * counts.pushed + 100);
    return counts;
}

} // namespace gqs::test
