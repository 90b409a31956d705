// SPDX-License-Identifier: Apache-2.0
// The crash matrix (issue 22) on SQLite: a disk that fills up during pushes and settles (a
// test VFS with a quota, support/full_vfs.hpp), and a clock that jumps by a minute.
#include "support/catch.hpp"
#include "support/faults_run.hpp"
#include "support/full_vfs.hpp"
#include "support/sqlite_queue.hpp"
#include "support/sync.hpp"
#include "support/worker_support.hpp"

#include <gqs/sqlite.hpp>
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
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::Uuid;
using gqs::test::TempDb;
using SteadyClock = std::chrono::steady_clock;

namespace {

gqs::test::FullVfs& full_vfs() {
    static gqs::test::FullVfs instance;
    return instance;
}

} // namespace

TEST_CASE("faults: the disk fills up during pushes and settles and space returns",
          "[faults][sqlite][full]") {
    auto& vfs = full_vfs();
    vfs.set_quota(gqs::test::FullVfs::unlimited);
    TempDb tmp;
    gqs::sqlite::Options options;
    options.vfs = vfs.name();
    auto producer_db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::init_db(*producer_db);
    auto worker_db = gqs::sqlite::Connection::open(tmp.path(), options);
    auto manual_db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::Pusher pusher(producer_db);
    gqs::sqlite::Observer observer(producer_db);
    gqs::sqlite::Puller worker_puller(worker_db);
    gqs::sqlite::Puller manual_puller(manual_db);
    const auto refused_before = vfs.refused();
    gqs::test::DiskFullTarget target{
        pusher, worker_puller, manual_puller, observer,
        // A few pages more than the files take now: the next writes that grow them fail.
        [&] { vfs.set_quota(vfs.used() + 16 * 1024); },
        [&] { vfs.set_quota(gqs::test::FullVfs::unlimited); },
        [&] { return gqs::test::query_text(*producer_db, "PRAGMA integrity_check"); }};
    gqs::test::disk_full_run(target, "sqlite");
    CHECK(vfs.refused() > refused_before);
}

// A write with RETURNING (requeue, release, snooze, kill, a lease extension) commits, in
// autocommit mode, when the statement runs to its end, after its row was read: a commit that
// fails there (a full disk) must throw, not pass for a stored transition.
TEST_CASE("faults: a single transition or extension whose commit fails on a full disk throws "
          "and stores nothing",
          "[faults][sqlite][full]") {
    auto& vfs = full_vfs();
    vfs.set_quota(gqs::test::FullVfs::unlimited);
    TempDb tmp;
    gqs::sqlite::Options options;
    options.vfs = vfs.name();
    options.background_checkpoint = false; // the WAL only grows: every commit needs space
    auto db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);
    for (int i = 0; i < 5; ++i) {
        gqs::Message m;
        (void)pusher.push(m);
    }
    auto jobs = puller.pull(5, 1h);
    REQUIRE(jobs.size() == 5);
    vfs.set_quota(vfs.used()); // not one byte more
    const std::vector<std::string> names{"extend", "requeue", "release", "snooze", "kill"};
    std::vector<std::function<void(gqs::Job&)>> calls{
        [&](gqs::Job& job) { puller.extend_lock(job, 2h); },
        [&](gqs::Job& job) { puller.requeue(job, 0ms); },
        [&](gqs::Job& job) { puller.release(job); },
        [&](gqs::Job& job) { puller.snooze(job, 0ms); }, [&](gqs::Job& job) { puller.kill(job); }};
    for (std::size_t i = 0; i < calls.size(); ++i) {
        INFO(names[i]);
        const auto before = jobs[i];
        bool full = false;
        try {
            calls[i](jobs[i]);
        } catch (const gqs::StorageError& e) {
            full = e.kind() == gqs::StorageErrorKind::Full;
        }
        CHECK(full);
        const auto stored = observer.get(before.id);
        REQUIRE(stored.has_value());
        CHECK(stored->status == Status::Processing);
        CHECK(stored->locked_until == before.locked_until);
    }
    // Space again: the same calls are stored.
    vfs.set_quota(gqs::test::FullVfs::unlimited);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        INFO(names[i]);
        jobs[i] = observer.get(jobs[i].id).value();
        calls[i](jobs[i]);
        CHECK(observer.get(jobs[i].id)->status == (i == 0   ? Status::Processing
                                                   : i == 4 ? Status::Dead
                                                            : Status::Pending));
    }
    CHECK(gqs::test::query_text(*db, "PRAGMA integrity_check") == "ok");
}

namespace {

// The clock every Connection of the clock cell uses: the system clock plus an offset the test
// jumps. Thread-safe.
class JumpClock {
public:
    [[nodiscard]] gqs::TimePoint now() const {
        return std::chrono::system_clock::now() + std::chrono::milliseconds(offset_ms_.load());
    }
    void set_offset(std::chrono::milliseconds offset) { offset_ms_ = offset.count(); }
    [[nodiscard]] gqs::sqlite::Options options() const {
        gqs::sqlite::Options o;
        o.clock = [this] { return now(); };
        return o;
    }

private:
    std::atomic<std::int64_t> offset_ms_{0};
};

// A Puller that forwards to another one and notes every lease its pulls return, with the
// steady time the pull began (before it read the clock). Thread-safe.
class PullLog final : public gqs::Puller {
public:
    struct Lease {
        Uuid id;
        std::uint32_t attempts;
        SteadyClock::time_point entered; // the pull began
        SteadyClock::time_point left;    // the pull returned
    };
    explicit PullLog(gqs::Puller& inner) : inner_(inner) {}

    std::vector<Lease> leases() const {
        std::lock_guard lock(mutex_);
        return leases_;
    }

    std::vector<gqs::Job> pull(int batch, gqs::Duration lock,
                               std::span<const std::string> queues = {}) override {
        const auto entered = SteadyClock::now();
        auto jobs = inner_.pull(batch, lock, queues);
        note(jobs, entered);
        return jobs;
    }
    void extend_lock(gqs::Job& job, gqs::Duration lock) override { inner_.extend_lock(job, lock); }
    std::vector<gqs::SettleResult> settle(std::span<const gqs::Settlement> settlements) override {
        return inner_.settle(settlements);
    }
    std::vector<gqs::Job> settle_and_pull(std::span<const gqs::Settlement> settlements,
                                          std::vector<gqs::SettleResult>& results, int batch,
                                          gqs::Duration lock,
                                          std::span<const std::string> queues = {}) override {
        const auto entered = SteadyClock::now();
        auto jobs = inner_.settle_and_pull(settlements, results, batch, lock, queues);
        note(jobs, entered);
        return jobs;
    }
    gqs::Subscription on_push(std::function<void()> notify) override {
        return inner_.on_push(std::move(notify));
    }
    bool has_ready(std::span<const std::string> queues = {}) override {
        return inner_.has_ready(queues);
    }
    gqs::PullerCapabilities capabilities() const noexcept override { return inner_.capabilities(); }
    std::optional<gqs::Duration> limit_wait() const noexcept override {
        return inner_.limit_wait();
    }
    void interrupt() noexcept override { inner_.interrupt(); }

private:
    void note(const std::vector<gqs::Job>& jobs, SteadyClock::time_point entered) {
        const auto left = SteadyClock::now();
        std::lock_guard lock(mutex_);
        for (const auto& job : jobs)
            leases_.push_back({job.id, job.attempts, entered, left});
    }

    gqs::Puller& inner_;
    mutable std::mutex mutex_;
    std::vector<Lease> leases_;
};

} // namespace

// Which clock rules on SQLite: the file has no clock of its own, so every time gqs stores or
// compares (created_at, locked_until, next_run_at) is the Connection's clock (Options::clock,
// by default the system clock); the Worker times its own lease extensions and watchdog with
// steady_clock. All processes on one machine share the system clock, so the fault here is
// that clock jumping, for every Connection at once: back a minute, forward again, and a
// minute further forward. A jump back makes the stored leases and delays a minute longer
// (nothing runs early, nothing runs twice); a jump forward makes every lease stamped before
// it expire at once, so another worker may lease and run those jobs again while their first
// run is still under way or unsettled. That is the only double run allowed: a job that ran
// twice must have a lease taken before a forward jump and a later one taken after it.
// Delays and backoffs follow the stored clock: no run starts before its next_run_at as the
// Connections' clock tells it.
TEST_CASE("faults: the clock of every SQLite connection jumps back and forth by a minute",
          "[faults][sqlite][clock]") {
    JumpClock clock;
    TempDb tmp;
    const auto options = clock.options();
    auto producer_db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::init_db(*producer_db);
    gqs::sqlite::Pusher pusher(producer_db);
    gqs::sqlite::Observer observer(producer_db);
    auto db1 = gqs::sqlite::Connection::open(tmp.path(), options);
    auto db2 = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::Puller puller1(db1);
    gqs::sqlite::Puller puller2(db2);
    PullLog log1(puller1);
    PullLog log2(puller2);

    gqs::WorkerConfig config;
    config.concurrency = 3;
    config.batch_size = 3;
    config.pull_interval = 10ms;
    config.lock_timeout = 2s;
    config.backoff = {.max_retries = 5,
                      .initial_interval = 300ms,
                      .max_interval = 300ms,
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    struct Run {
        Uuid id;
        std::uint32_t attempts;
        gqs::TimePoint leased_at;   // the Connections' clock as the pull leased the job
        gqs::TimePoint next_run_at; // the job's, as pulled
        gqs::TimePoint real_at;     // the system clock as the handler began
        bool done;
    };
    std::mutex mutex;
    std::vector<Run> runs;
    auto handler = [&](const gqs::Job& job, std::stop_token stop) {
        // The pull stamped locked_until with its clock reading plus the lease.
        const auto leased_at = job.locked_until.value_or(gqs::TimePoint{}) - config.lock_timeout;
        Run run{job.id, job.attempts, leased_at, job.next_run_at, std::chrono::system_clock::now(),
                false};
        // The handler's work takes 40 ms (less if its lease is lost).
        gqs::test::wait_for_stop(stop, 40ms);
        const bool fails = static_cast<int>(job.attempts) <= job.get<int>("fail").value_or(0);
        run.done = !fails;
        {
            std::lock_guard lock(mutex);
            runs.push_back(run);
        }
        if (fails) throw std::runtime_error("scripted failure");
    };
    gqs::test::LogCapture logs;
    gqs::Worker w1(log1, handler, config, logs.logger());
    gqs::Worker w2(log2, handler, config, logs.logger());

    const auto t0 = SteadyClock::now();
    // Due in 3 s by the clock of the push: not while the clock is a minute back.
    std::set<Uuid> delayed;
    for (int i = 0; i < 5; ++i) {
        gqs::Message m;
        m.set("delayed", true);
        (void)pusher.push(m, 3s);
        delayed.insert(m.id);
    }
    std::set<Uuid> pushed = delayed;
    std::atomic<bool> producing{true};
    std::thread producer([&] {
        for (long n = 0; producing; ++n) {
            gqs::Message m;
            m.set("n", n).set("fail", n % 10 == 0 ? 1 : 0);
            (void)pusher.push(m);
            {
                std::lock_guard lock(mutex);
                pushed.insert(m.id);
            }
            std::this_thread::sleep_for(10ms); // the rate, not a synchronisation
        }
    });
    w1.start();
    w2.start();
    // The fault: the pace of the jumps, not a synchronisation.
    std::this_thread::sleep_until(t0 + 2s);
    clock.set_offset(-60s);
    std::this_thread::sleep_until(t0 + 5s);
    // A jump is the span around set_offset: a pull that read the clock before it began
    // before the span ended, and one that read it after returned after the span began.
    const auto forward1_begin = SteadyClock::now();
    clock.set_offset(0s);
    const std::pair forward1{forward1_begin, SteadyClock::now()};
    std::this_thread::sleep_until(t0 + 7s);
    const auto forward2_begin = SteadyClock::now();
    clock.set_offset(60s);
    const std::pair forward2{forward2_begin, SteadyClock::now()};
    std::this_thread::sleep_until(t0 + 8s);
    producing = false;
    producer.join();
    const auto fault_end = SteadyClock::now();

    auto not_done = [&] {
        long missing = 0;
        for (const auto& id : pushed) {
            auto job = observer.get(id);
            if (!job || job->status != Status::Done) ++missing;
        }
        return missing;
    };
    gqs::test::wait_until([&] { return not_done() == 0; },
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              fault_end + config.lock_timeout - SteadyClock::now()));
    const long stuck = not_done();
    gqs::test::wait_until([&] { return not_done() == 0; });
    w1.stop(gqs::test::patience);
    w2.stop(gqs::test::patience);
    const double seconds = std::chrono::duration<double>(SteadyClock::now() - t0).count();

    // Which jobs a forward jump expired: leased by a pull that may have read the clock before
    // the jump (it began before the jump ended), and leased again (a later attempt) by a pull
    // that may have read it after (it returned after the jump began). A pull can take long
    // between its start and its clock reading on a busy machine, so its start alone does not
    // say which side of the jump it read.
    std::map<Uuid, std::vector<PullLog::Lease>> leases;
    for (const auto* log : {&log1, &log2})
        for (const auto& lease : log->leases())
            leases[lease.id].push_back(lease);
    auto expired_by_jump = [&](const Uuid& id) {
        for (const auto& jump : {forward1, forward2})
            for (const auto& before : leases[id])
                for (const auto& after : leases[id])
                    if (before.entered < jump.second && after.left > jump.first &&
                        after.attempts > before.attempts)
                        return true;
        return false;
    };
    std::map<Uuid, int> done_runs;
    long early = 0;
    long delayed_in_window = 0;
    for (const auto& run : runs) {
        if (run.done) ++done_runs[run.id];
        if (run.leased_at < run.next_run_at) ++early;
        // Leased while the clock was a minute back.
        if (delayed.count(run.id) && run.leased_at < run.real_at - 30s) ++delayed_in_window;
    }
    long done = 0, lost = 0, twice = 0, expired = 0, unexplained = 0;
    for (const auto& id : pushed) {
        auto job = observer.get(id);
        if (job && job->status == Status::Done)
            ++done;
        else
            ++lost;
        if (expired_by_jump(id)) ++expired;
        if (done_runs[id] > 1) {
            ++twice;
            if (!expired_by_jump(id)) ++unexplained;
        }
    }
    std::ostringstream report;
    report << "clock jumps -60 s / +60 s / +60 s (sqlite): pushed " << pushed.size() << ", done "
           << done << ", lost " << lost << ", run twice " << twice << " (unexplained "
           << unexplained << "; leases expired by a forward jump " << expired << "), stuck "
           << stuck << ", runs before their time " << early
           << ", delayed jobs run while the clock was back " << delayed_in_window << "; " << seconds
           << " s";
    WARN(report.str());
    INFO(logs.text().substr(0, 20000));
    CHECK(lost == 0);
    CHECK(unexplained == 0);
    CHECK(stuck == 0);
    CHECK(early == 0);
    CHECK(delayed_in_window == 0);
    CHECK(static_cast<long>(observer.list(std::nullopt, 0).size()) ==
          static_cast<long>(pushed.size()));
}
