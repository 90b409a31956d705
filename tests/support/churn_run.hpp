// SPDX-License-Identifier: Apache-2.0
// The churn cell of the crash matrix (issue 22), for every backend: a producer pushes single
// jobs at a steady rate while 3 worker processes are SIGKILLed and restarted every second;
// then the last three drain the queue. Every accepted push (its "pushed" line is written
// after push() returned) must end Done; a job may run more than once only where a killed
// process had started it. GQS_CHURN_SECONDS sets the length (CI: 10; the full run: 60).
#pragma once

#include "support/catch.hpp"
#include "support/stress_run.hpp"
#include "support/test_support.hpp"

#include <gqs/interfaces.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

namespace gqs::test {

/// What a churn run counted, for the README's table.
struct ChurnCounts {
    long pushed = 0;       // pushes that returned
    long done = 0;         // jobs Done at the end
    long lost = 0;         // pushed, and missing or not Done at the end
    long twice = 0;        // jobs run to completion more than once (all after a kill)
    long unexplained = 0;  // of those, run twice without a killed process having started them
    long stored_twice = 0; // jobs whose completion was stored twice (the fence forbids it)
    long kills = 0;        // worker processes SIGKILLed
    double drain_s = 0;    // from the last kill to every job Done
};

// "w<i>": the name of the i-th worker process. (Built with += : GCC 12 reports a false
// -Wrestrict for "w" + std::to_string(i).)
inline std::string worker_name(int i) {
    std::string name = "w";
    name += std::to_string(i);
    return name;
}

inline long churn_seconds() {
    const char* env = std::getenv("GQS_CHURN_SECONDS");
    return env ? std::stol(env) : 10;
}

/// Runs the churn cell on `db` (gqs_stress_child's DB argument), with the processes' logs in
/// `dir`, and checks every job through `observer`.
inline ChurnCounts churn_run(const std::string& db, Observer& observer,
                             const std::filesystem::path& dir) {
    using Clock = std::chrono::steady_clock;
    constexpr long rate = 200;            // pushes per second
    constexpr const char* lease = "2000"; // ms: a killed process's jobs come back after it
    const long seconds = churn_seconds();
    const long total = seconds * rate;
    const std::string child = GQS_STRESS_CHILD;
    ChurnCounts counts;

    auto producer = spawn(
        child,
        {"trickle", db, std::to_string(total), std::to_string(rate), (dir / "pushed.log").string()},
        dir / "producer.out");
    int incarnation = 0;
    std::vector<std::string> killed_logs;
    auto start_worker = [&] {
        const std::string name = worker_name(incarnation++);
        return std::pair{name, spawn(child,
                                     {"work", db, (dir / (name + ".log")).string(), "2",
                                      std::to_string(total), lease},
                                     dir / (name + ".out"))};
    };
    std::vector<std::pair<std::string, Child>> workers;
    for (int i = 0; i < 3; ++i)
        workers.push_back(start_worker());
    const auto begin = Clock::now();
    auto last_kill = begin;
    for (long second = 1; second < seconds; ++second) {
        // The kills are the fault being tested, once a second: a pace, not a synchronisation.
        std::this_thread::sleep_until(begin + std::chrono::seconds(second));
        for (auto& [name, w] : workers) {
            ::kill(w.pid, SIGKILL);
            const int status = wait_child(w);
            // A worker that exited by itself before the kill has failed.
            INFO(name << " output: " << read_file(w.output));
            CHECK(status == 128 + SIGKILL);
            killed_logs.push_back(name);
            ++counts.kills;
        }
        last_kill = Clock::now();
        for (auto& w : workers)
            w = start_worker();
    }
    INFO(read_file(dir / "producer.out"));
    CHECK(wait_child(producer) == 0);
    // The last three drain the queue and exit once every job is finished.
    bool drained = wait_until(
        [&] {
            for (auto& [name, w] : workers) {
                if (w.pid < 0) continue;
                int status = 0;
                if (::waitpid(w.pid, &status, WNOHANG) != w.pid) return false;
                INFO(name << " output: " << read_file(w.output));
                CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
                w.pid = -1;
            }
            return true;
        },
        std::chrono::minutes(3));
    counts.drain_s = std::chrono::duration<double>(Clock::now() - last_kill).count();
    for (auto& [name, w] : workers) {
        if (w.pid < 0) continue;
        ::kill(w.pid, SIGKILL);
        wait_child(w);
    }

    std::set<Uuid> pushed;
    for (const auto& line : stress_detail::read_log(dir / "pushed.log"))
        pushed.insert(line.id);
    counts.pushed = static_cast<long>(pushed.size());
    std::set<Uuid> started_by_killed;
    for (const auto& name : killed_logs)
        for (const auto& line : stress_detail::read_log(dir / (name + ".log")))
            if (line.what == "start") started_by_killed.insert(line.id);
    std::map<Uuid, int> done_runs, settles;
    for (int i = 0; i < incarnation; ++i)
        for (const auto& line : stress_detail::read_log(dir / (worker_name(i) + ".log"))) {
            if (line.what == "done") ++done_runs[line.id];
            if (line.what == "settled") ++settles[line.id];
        }
    std::map<Uuid, Status> stored;
    for (const auto& job : observer.list(std::nullopt, 0))
        stored[job.id] = job.status;
    for (const auto& id : pushed) {
        auto it = stored.find(id);
        if (it == stored.end() || it->second != Status::Done) {
            ++counts.lost;
        } else {
            ++counts.done;
        }
        if (settles[id] > 1) ++counts.stored_twice;
        if (done_runs[id] > 1) {
            ++counts.twice;
            if (!started_by_killed.count(id)) ++counts.unexplained;
        }
    }
    std::ostringstream report;
    report << "churn: " << seconds << " s, pushed " << counts.pushed << ", done " << counts.done
           << ", lost " << counts.lost << ", run twice " << counts.twice << " (unexplained "
           << counts.unexplained << "), completions stored twice " << counts.stored_twice
           << ", workers killed " << counts.kills << ", drained " << counts.drain_s
           << " s after the last kill";
    WARN(report.str());
    CHECK(drained);
    CHECK(counts.pushed == total);
    CHECK(static_cast<long>(stored.size()) == total); // nothing stored that was not pushed
    CHECK(counts.lost == 0);
    CHECK(counts.unexplained == 0);
    CHECK(counts.stored_twice == 0);
    return counts;
}

} // namespace gqs::test
