// SPDX-License-Identifier: Apache-2.0
// The kill-point cells of the crash matrix (issue 22), for every backend: a worker process
// SIGKILLs itself at a chosen point (gqs_stress_child's KILL_AT: before or after its Nth pull,
// before or after its Nth stored settle, or inside its Nth handler), then a second worker
// process drains the queue. Every pushed job must end Done; a job may run twice only where
// the killed process had started it and its completion was not stored; no completion is
// stored twice; and the point must really have been reached with work in hand.
#pragma once

#include "support/catch.hpp"
#include "support/stress_run.hpp"
#include "support/test_support.hpp"

#include <gqs/interfaces.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

namespace gqs::test {

/// The points gqs_stress_child can kill itself at, each at its 3rd call: by then the worker
/// holds leases and has stored results.
inline const std::vector<std::string>& kill_points() {
    static const std::vector<std::string> points{"before-pull:3", "after-pull:3", "before-settle:3",
                                                 "after-settle:3", "handler:3"};
    return points;
}

/// Waits up to `timeout` for the child to exit; returns its status as wait_child does, or
/// nothing (after killing it) if it did not exit in time.
inline std::optional<int> wait_exit(Child& child, std::chrono::seconds timeout) {
    std::optional<int> status;
    wait_until(
        [&] {
            int raw = 0;
            if (::waitpid(child.pid, &raw, WNOHANG) != child.pid) return false;
            status = WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : WEXITSTATUS(raw);
            return true;
        },
        timeout);
    if (!status) {
        ::kill(child.pid, SIGKILL);
        wait_child(child);
    }
    child.pid = -1;
    return status;
}

/// Runs one kill point (`kill_at`, e.g. "after-settle:3") on `db`, a fresh queue
/// (gqs_stress_child's DB argument), with the processes' logs in `dir`; checks every job
/// through `observer`.
inline void kill_point_run(const std::string& db, Observer& observer,
                           const std::filesystem::path& dir, const std::string& kill_at) {
    using stress_detail::read_log;
    constexpr long total = 300;
    constexpr const char* lease = "1000"; // ms: the killed process's jobs come back after it
    const std::string child = GQS_STRESS_CHILD;
    const std::string point = kill_at.substr(0, kill_at.find(':'));
    INFO("kill point " << kill_at);

    // Every job first, pushed one at a time as fast as that goes.
    auto producer = spawn(
        child, {"trickle", db, std::to_string(total), "1000000", (dir / "pushed.log").string()},
        dir / "producer.out");
    INFO("producer: " << read_file(dir / "producer.out"));
    REQUIRE(wait_exit(producer, std::chrono::seconds(60)) == 0);

    auto victim = spawn(
        child,
        {"work", db, (dir / "victim.log").string(), "2", std::to_string(total), lease, kill_at},
        dir / "victim.out");
    {
        INFO("victim: " << read_file(dir / "victim.out"));
        REQUIRE(wait_exit(victim, std::chrono::seconds(60)) == 128 + SIGKILL);
    }
    auto survivor = spawn(
        child, {"work", db, (dir / "survivor.log").string(), "2", std::to_string(total), lease},
        dir / "survivor.out");
    {
        INFO("survivor: " << read_file(dir / "survivor.out"));
        CHECK(wait_exit(survivor, std::chrono::seconds(60)) == 0);
    }

    std::set<Uuid> pushed;
    for (const auto& line : read_log(dir / "pushed.log"))
        pushed.insert(line.id);
    // What the killed process did with each job, and how often each was started and stored.
    std::set<Uuid> victim_pulled, victim_started, victim_done, victim_settled;
    std::map<Uuid, int> starts, settles;
    for (const auto& line : read_log(dir / "victim.log")) {
        if (line.what == "pulled") victim_pulled.insert(line.id);
        if (line.what == "start") victim_started.insert(line.id);
        if (line.what == "done") victim_done.insert(line.id);
        if (line.what == "settled") victim_settled.insert(line.id);
    }
    for (const auto* log : {"victim.log", "survivor.log"})
        for (const auto& line : read_log(dir / log)) {
            if (line.what == "start") ++starts[line.id];
            if (line.what == "settled") ++settles[line.id];
        }
    std::map<Uuid, Status> stored;
    for (const auto& job : observer.list(std::nullopt, 0))
        stored[job.id] = job.status;

    long lost = 0, twice = 0, unexplained = 0, stored_twice = 0;
    for (const auto& id : pushed) {
        auto it = stored.find(id);
        if (it == stored.end() || it->second != Status::Done) ++lost;
        if (settles[id] > 1) ++stored_twice;
        if (starts[id] > 1) {
            ++twice;
            // Allowed only for a job the killed process started and did not complete.
            if (!victim_started.count(id) || victim_settled.count(id)) ++unexplained;
        } else if (starts[id] == 0) {
            ++unexplained; // Done without a handler run
        }
    }
    // The point was reached with work in hand.
    long in_hand = 0;
    if (point == "after-pull")
        for (const auto& id : victim_pulled)
            in_hand += victim_started.count(id) ? 0 : 1; // leased, never started
    if (point == "before-settle")
        for (const auto& id : victim_done)
            in_hand += victim_settled.count(id) ? 0 : 1; // finished, result not stored
    if (point == "after-settle") in_hand = static_cast<long>(victim_settled.size());
    if (point == "handler")
        for (const auto& id : victim_started)
            in_hand += victim_done.count(id) ? 0 : 1; // killed inside the handler
    if (point == "before-pull") in_hand = static_cast<long>(victim_pulled.size());

    std::ostringstream report;
    report << "kill point " << kill_at << ": pushed " << pushed.size() << ", lost " << lost
           << ", run twice " << twice << " (unexplained " << unexplained
           << "), completions stored twice " << stored_twice << ", jobs in hand at the kill "
           << in_hand;
    WARN(report.str());
    CHECK(static_cast<long>(pushed.size()) == total);
    CHECK(static_cast<long>(stored.size()) == total);
    CHECK(lost == 0);
    CHECK(unexplained == 0);
    CHECK(stored_twice == 0);
    CHECK(in_hand > 0);
}

} // namespace gqs::test
