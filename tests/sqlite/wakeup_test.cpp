// SPDX-License-Identifier: Apache-2.0
// Cross-process wake-up: a job another process (or another Connection) commits starts on an
// idle worker here without waiting for pull_interval; commits that add no ready job cause no
// pull; the watcher goes away with its last worker and never spins on a vanished file.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <time.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

using namespace std::chrono_literals;
using gqs::test::Child;
using gqs::test::Counter;
using gqs::test::ProbePuller;
using Queue = gqs::test::SqliteQueue;

namespace {

// Runs the test child in `mode` against the queue's file and waits for it to succeed.
void run_child(Queue& q, const std::vector<std::string>& args, const std::string& name) {
    std::vector<std::string> all = args;
    all.insert(all.begin() + 1, q.tmp.path().string());
    Child child = gqs::test::spawn(gqs::test::child_program(), all, q.tmp.dir() / (name + ".out"));
    const int status = gqs::test::wait_child(child);
    INFO(gqs::test::read_file(child.output));
    REQUIRE(status == 0);
}

// How many inotify descriptors this process has open.
int inotify_fds() {
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        std::error_code ec;
        const auto target = std::filesystem::read_symlink(entry.path(), ec);
        if (!ec && target.string().find("inotify") != std::string::npos) ++n;
    }
    return n;
}

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

} // namespace

TEST_CASE("wake-up: a job pushed by another process starts without waiting for the poll",
          "[wakeup][sqlite][process]") {
    Queue q;
    gqs::test::IdleWorker idle(q.puller);
    for (int i = 1; i <= 3; ++i) {
        run_child(q, {"push-one", "0"}, "push" + std::to_string(i));
        // The deadline (30 s) is far below pull_interval (10 min).
        REQUIRE(idle.started.wait_for(i));
    }
    REQUIRE(gqs::test::wait_until([&] { return q.count(gqs::Status::Done) == 3; }));
}

TEST_CASE("wake-up: several worker processes: each job pushed here runs once, without a poll",
          "[wakeup][sqlite][process]") {
    Queue q;
    constexpr int workers = 3, jobs = 30;
    const auto stop = q.tmp.dir() / "stop";
    std::vector<Child> children;
    for (int i = 0; i < workers; ++i)
        children.push_back(gqs::test::spawn(gqs::test::child_program(),
                                            {"work", q.tmp.path().string(), stop.string()},
                                            q.tmp.dir() / ("worker" + std::to_string(i) + ".out")));
    auto all_output = [&] {
        std::vector<std::string> rows;
        for (const auto& c : children)
            for (auto& row : gqs::test::lines(gqs::test::read_file(c.output)))
                rows.push_back(std::move(row));
        return rows;
    };
    auto count_of = [&](const std::string& what) {
        const auto rows = all_output();
        return std::count(rows.begin(), rows.end(), what);
    };
    REQUIRE(gqs::test::wait_until([&] { return count_of("ready") == workers; }));
    // One at a time: each job is pushed once the previous one ran, when every worker is idle,
    // so each start needs a wake-up (pull_interval is 10 minutes).
    std::vector<std::string> ids;
    for (int i = 0; i < jobs; ++i) {
        ids.push_back(q.push("job").id.to_string());
        REQUIRE(gqs::test::wait_until([&] { return count_of(ids.back()) >= 1; }));
    }
    REQUIRE(gqs::test::wait_until([&] { return q.count(gqs::Status::Done) == jobs; }));
    std::ofstream(stop).put('\n');
    for (auto& c : children) {
        INFO(gqs::test::read_file(c.output));
        CHECK(gqs::test::wait_child(c) == 0);
    }
    for (const auto& id : ids)
        CHECK(count_of(id) == 1); // ran once, in one process
}

TEST_CASE("wake-up: a job pushed through another Connection in this process wakes the worker",
          "[wakeup][sqlite]") {
    Queue q;
    gqs::test::IdleWorker idle(q.puller);
    gqs::sqlite::Pusher pusher(q.second_connection());
    pusher.push(gqs::Message{});
    REQUIRE(idle.started.wait_for(1));
}

TEST_CASE("wake-up: another process's delayed push or completion causes no pull",
          "[wakeup][sqlite][process]") {
    Queue q;
    // Leased by another connection before the worker starts: not the worker's to take.
    auto id = q.push("for another worker").id;
    gqs::sqlite::Puller other(q.second_connection());
    auto jobs = other.pull(1, std::chrono::minutes(1));
    REQUIRE(jobs.size() == 1);
    gqs::test::IdleWorker idle(q.puller);
    const int before = idle.probe.pulls.load();
    // Commits by others that add no ready job: a delayed push, a completion.
    run_child(q, {"push-one", "3600000"}, "delayed");
    other.complete(jobs.front());
    // Nothing to wait for: a wrong wake-up would pull within this window.
    std::this_thread::sleep_for(200ms);
    CHECK(idle.probe.pulls.load() == before);
    // A ready job then wakes it.
    run_child(q, {"push-one", "0"}, "ready");
    REQUIRE(idle.started.wait_for(1));
    CHECK(q.has_status(id, gqs::Status::Done));
}

TEST_CASE("wake-up: the watcher runs while a worker does, one per Connection", "[wakeup][sqlite]") {
    Queue q;
    const int at_start = inotify_fds();
    auto noop = [](const gqs::Job&, std::stop_token) {};
    {
        gqs::Worker first(q.puller, noop, gqs::test::idle_config());
        gqs::Worker second(q.puller, noop, gqs::test::idle_config());
        first.start();
        second.start();
        REQUIRE(gqs::test::wait_until([&] { return inotify_fds() == at_start + 1; }));
        first.stop(std::chrono::seconds(30));
        CHECK(inotify_fds() == at_start + 1); // the second worker still listens
        second.stop(std::chrono::seconds(30));
        CHECK(inotify_fds() == at_start); // stopped with its last worker
        second.start();
        CHECK(inotify_fds() == at_start + 1);
        second.stop(std::chrono::seconds(30));
    }
    CHECK(inotify_fds() == at_start);
}

TEST_CASE("wake-up: a deleted or replaced database file leaves no watcher spinning",
          "[wakeup][sqlite][process]") {
    Queue q;
    Counter started;
    gqs::Worker worker(
        q.puller, [&](const gqs::Job&, std::stop_token) { started.bump(); },
        gqs::test::idle_config());
    worker.start();
    REQUIRE(gqs::test::wait_until([&] { return inotify_fds() >= 1; }));
    const bool replace = GENERATE(false, true);
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(q.tmp.path().string() + suffix);
    if (replace) {
        // Another program makes a new queue at the same path and pushes to it.
        auto fresh = Queue::open_and_init(q.tmp.path());
        gqs::sqlite::Pusher pusher(fresh);
        for (int i = 0; i < 20; ++i)
            pusher.push(gqs::Message{});
    }
    const double cpu_before = cpu_seconds();
    const auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(1500ms); // the window the CPU time is measured over
    const double cpu = cpu_seconds() - cpu_before;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    // A spinning thread would use about all of the window.
    CHECK(cpu < wall * 0.25);
    worker.stop(std::chrono::seconds(30));
    CHECK(started.value() == 0);
}

TEST_CASE("wake-up: a stream of pushes by another process: every job starts without a poll",
          "[wakeup][sqlite][process]") {
    Queue q;
    gqs::test::IdleWorker idle(q.puller);
    constexpr int jobs = 200;
    run_child(q, {"push-stream", std::to_string(jobs), "2000"}, "stream");
    REQUIRE(idle.started.wait_for(jobs));
    REQUIRE(gqs::test::wait_until([&] { return q.count(gqs::Status::Done) == jobs; }));
}
