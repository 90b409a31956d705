// SPDX-License-Identifier: Apache-2.0
// The multi-process stress run, for every backend: a producer and 4 worker processes
// (gqs_stress_child) on one queue, jobs scripted to fail or die, one worker SIGKILLed
// mid-run and restarted; then every job is checked. GQS_STRESS_JOBS sets the size (default
// 20,000; e.g. GQS_STRESS_JOBS=1000000 by hand).
#pragma once

#include "support/catch.hpp"
#include "support/test_support.hpp"

#include <gqs/interfaces.hpp>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

namespace gqs::test {

namespace stress_detail {

inline long stress_jobs() {
    const char* env = std::getenv("GQS_STRESS_JOBS");
    return env ? std::stol(env) : 20000;
}

struct Line {
    std::string what;
    gqs::Uuid id;
    std::uint32_t attempts;
};

inline std::vector<Line> read_log(const std::filesystem::path& path) {
    std::vector<Line> out;
    for (const auto& text : gqs::test::lines(gqs::test::read_file(path))) {
        std::istringstream in(text);
        std::string what, id;
        std::uint32_t attempts = 0;
        in >> what >> id >> attempts;
        auto parsed = gqs::Uuid::parse(id);
        if (!parsed) throw std::runtime_error("bad log line: " + text);
        out.push_back({what, *parsed, attempts});
    }
    return out;
}

} // namespace stress_detail

/// Runs the stress processes on `db` (gqs_stress_child's DB argument), with their logs in
/// `dir`, and checks every job through `observer` (on the same queue): nothing missing, the
/// scripted outcome and attempts, and no job completed twice unless the killed process held it.
inline void stress_run(const std::string& db, Observer& observer,
                       const std::filesystem::path& dir) {
    using gqs::Status;
    using stress_detail::read_log;
    const long total = stress_detail::stress_jobs();
    const std::string child = GQS_STRESS_CHILD;
    auto log_of = [&](const std::string& name) { return dir / (name + ".log"); };
    auto worker = [&](const std::string& name) {
        return gqs::test::spawn(child,
                                {"work", db, log_of(name).string(), "3", std::to_string(total)},
                                dir / (name + ".out"));
    };

    auto producer =
        gqs::test::spawn(child, {"produce", db, std::to_string(total)}, dir / "producer.out");
    // The victim starts first and is killed once it has run 100 jobs, so it dies holding
    // leases, just as the other three start. (Started together, the four compete for SQLite's
    // write lock, which is not fair: in one CI run the victim did not get 100 jobs in time.)
    std::vector<gqs::test::Child> workers;
    workers.push_back(worker("victim"));
    // Should it exit or stall first, say what every process printed and how far each got.
    const auto victim_log = log_of("victim");
    bool victim_exited = false;
    const bool victim_busy = gqs::test::wait_until(
        [&] {
            if (gqs::test::lines(gqs::test::read_file(victim_log)).size() >= 200) return true;
            int status = 0;
            victim_exited = ::waitpid(workers.back().pid, &status, WNOHANG) == workers.back().pid;
            return victim_exited;
        },
        std::chrono::minutes(5));
    if (!victim_busy || victim_exited) {
        std::ostringstream report;
        const auto stats = observer.stats();
        report << "pending " << stats.pending << ", processing " << stats.processing << ", done "
               << stats.done << ", dead " << stats.dead << "\n";
        report << "victim: " << gqs::test::lines(gqs::test::read_file(victim_log)).size()
               << " log lines; output:\n"
               << gqs::test::read_file(dir / "victim.out") << "\n";
        report << "producer output:\n" << gqs::test::read_file(dir / "producer.out");
        FAIL((victim_exited ? "the victim exited early\n" : "the victim stalled\n") + report.str());
    }
    for (const char* name : {"w1", "w2", "w3"})
        workers.insert(workers.end() - 1, worker(name)); // the victim stays last
    ::kill(workers.back().pid, SIGKILL);
    CHECK(gqs::test::wait_child(workers.back()) == 128 + SIGKILL);
    // The leases held at the moment of the kill (the victim's, and the live workers' own).
    // The victim may have died between a pull's commit and its handlers' first log line.
    std::map<gqs::Uuid, std::uint32_t> leased_at_kill;
    for (const auto& job : observer.list(Status::Processing, 0))
        leased_at_kill[job.id] = job.attempts;
    workers.back() = worker("restarted");

    INFO(gqs::test::read_file(dir / "producer.out"));
    CHECK(gqs::test::wait_child(producer) == 0);
    for (auto& w : workers) {
        INFO(gqs::test::read_file(w.output));
        CHECK(gqs::test::wait_child(w) == 0);
    }

    // What the killed process held may have run again elsewhere: what it started, and what
    // was leased when it died but never started at that attempt (a live worker starts
    // everything it pulls, so those leases were the victim's).
    std::set<gqs::Uuid> held_by_victim;
    for (const auto& line : read_log(victim_log))
        held_by_victim.insert(line.id);
    std::map<gqs::Uuid, int> done_runs;
    std::map<gqs::Uuid, std::set<std::uint32_t>> done_attempts;
    std::set<std::pair<gqs::Uuid, std::uint32_t>> started;
    for (const char* name : {"w1", "w2", "w3", "victim", "restarted"}) {
        for (const auto& line : read_log(log_of(name))) {
            if (line.what == "start") started.insert({line.id, line.attempts});
            if (line.what != "done") continue;
            ++done_runs[line.id];
            done_attempts[line.id].insert(line.attempts);
        }
    }
    for (const auto& [id, attempts] : leased_at_kill)
        if (!started.count({id, attempts})) held_by_victim.insert(id);
    // The live processes log every job their pulls return: an attempt none of them pulled was
    // the victim's. (On PostgreSQL a pull the victim sent just before it died may still
    // commit after leased_at_kill was read; its jobs come back after their leases expire.)
    std::set<std::pair<gqs::Uuid, std::uint32_t>> pulled_live;
    for (const char* name : {"w1", "w2", "w3", "restarted"})
        for (const auto& line : read_log(log_of(name)))
            if (line.what == "pulled") pulled_live.insert({line.id, line.attempts});

    auto jobs = observer.list(std::nullopt, 0);
    REQUIRE(static_cast<long>(jobs.size()) == total); // nothing missing
    std::set<long> numbers;
    long wrong = 0, twice = 0;
    for (const auto& job : jobs) {
        numbers.insert(job.get<long>("n").value_or(-1));
        const bool die = job.get<bool>("die").value_or(false);
        const int fail = job.get<int>("fail").value_or(0);
        bool held = held_by_victim.count(job.id) > 0;
        for (std::uint32_t a = 1; a <= job.attempts && !held; ++a)
            held = !pulled_live.count({job.id, a});
        Status want = Status::Done;
        std::uint32_t attempts = static_cast<std::uint32_t>(fail) + 1;
        if (die) {
            want = Status::Dead;
            attempts = 1;
        } else if (fail > 5) {
            want = Status::Dead; // max_retries 5: dead after 6 runs
            attempts = 6;
        }
        const bool attempts_ok = job.attempts == attempts || (held && job.attempts == attempts + 1);
        if (job.status != want || !attempts_ok) {
            if (++wrong <= 5)
                UNSCOPED_INFO("job " << job.id.to_string()
                                     << " n=" << job.get<long>("n").value_or(-1) << " status "
                                     << gqs::to_string(job.status) << " attempts " << job.attempts
                                     << " (want " << gqs::to_string(want) << "/" << attempts
                                     << (held ? ", held by the killed process" : "") << ")");
        }
        if (job.status == Status::Done && !done_attempts[job.id].count(job.attempts)) ++wrong;
        if (done_runs[job.id] > 1 && !held) ++twice;
    }
    CHECK(wrong == 0);
    CHECK(twice == 0); // completed twice only where the killed process held the job
    CHECK(static_cast<long>(numbers.size()) == total);
    CHECK(*numbers.begin() == 0);
    CHECK(*numbers.rbegin() == total - 1);
}

} // namespace gqs::test
