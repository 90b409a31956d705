// SPDX-License-Identifier: Apache-2.0
// Tests of gqs::Worker over every backend (a fresh queue of its factory) and real threads.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/worker.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace gqs;
using namespace gqs::test;

namespace {

// Small intervals so that tests run fast; a long lease unless a test is about leases.
WorkerConfig quick_config() {
    WorkerConfig config;
    config.concurrency = 2;
    config.batch_size = 4;
    config.pull_interval = 10ms;
    config.lock_timeout = 10s;
    config.backoff = {.max_retries = 5,
                      .initial_interval = Duration(1),
                      .max_interval = Duration(10),
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    return config;
}

// The verbs of the recorded transitions of one job, in order, as "verb@attempts".
std::vector<std::string> history(const ProbePuller& probe, const Uuid& id) {
    std::vector<std::string> out;
    for (const auto& t : probe.transitions()) {
        if (t.id == id) out.push_back(t.verb + "@" + std::to_string(t.attempts));
    }
    return out;
}

// Points std::clog at a string while alive.
class ClogCapture {
public:
    ClogCapture() : old_(std::clog.rdbuf(text_.rdbuf())) {}
    ~ClogCapture() { std::clog.rdbuf(old_); }
    ClogCapture(const ClogCapture&) = delete;
    ClogCapture& operator=(const ClogCapture&) = delete;
    [[nodiscard]] std::string text() const { return text_.str(); }

private:
    std::ostringstream text_;
    std::streambuf* old_;
};

} // namespace

TEST_CASE("worker: a handler that returns completes its job", "[worker]") {
    Queue queue;
    Message message;
    message.payload = std::string("bin\0ary", 7);
    message.set("kind", "greeting");
    queue.pusher.push(message);

    LogCapture log;
    std::mutex mutex;
    std::vector<Job> seen;
    {
        Worker worker(
            queue.puller,
            [&](const Job& job, std::stop_token) {
                std::lock_guard lock(mutex);
                seen.push_back(job);
            },
            quick_config(), log.logger());
        worker.start();
        REQUIRE(wait_until([&] { return queue.has_status(message.id, Status::Done); }));
        worker.stop(patience);
    }
    REQUIRE(seen.size() == 1);
    CHECK(seen[0].id == message.id);
    CHECK(seen[0].payload == message.payload);
    CHECK(seen[0].get<std::string>("kind") == "greeting");
    CHECK(seen[0].status == Status::Processing);
    CHECK(seen[0].attempts == 1);
    const Job stored = queue.stored(message.id);
    CHECK(stored.attempts == 1);
    CHECK_FALSE(stored.locked_until.has_value());
    INFO(log.text());
    CHECK(log.count(LogLevel::Warning) == 0);
    CHECK(log.count(LogLevel::Error) == 0);
}

TEST_CASE("worker: a failed handler is retried until it succeeds", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push().id;
    std::atomic<int> runs{0};
    bool standard = true;
    SECTION("std::exception") { standard = true; }
    SECTION("an exception not derived from std::exception") { standard = false; }

    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            if (++runs < 3) {
                if (standard) throw std::runtime_error("transient failure");
                throw 42;
            }
        },
        quick_config(), log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);

    CHECK(runs == 3);
    CHECK(queue.stored(id).attempts == 3);
    CHECK(history(probe, id) == std::vector<std::string>{"requeue@1", "requeue@2", "complete@3"});
    INFO(log.text());
    CHECK(log.count(LogLevel::Warning, standard ? "transient failure" : "not derived from") == 2);
}

TEST_CASE("worker: a job that always fails is dead after exactly max_retries + 1 runs",
          "[worker]") {
    const std::uint32_t max_retries = GENERATE(1u, 4u);
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.backoff = {.max_retries = max_retries,
                      .initial_interval = Duration(10),
                      .max_interval = Duration(25),
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    std::atomic<int> runs{0};
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            ++runs;
            throw std::runtime_error("always fails");
        },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Dead); }));
    worker.stop(patience);

    CHECK(runs == static_cast<int>(max_retries) + 1);
    CHECK(queue.stored(id).attempts == max_retries + 1);
    std::vector<std::string> expected;
    std::vector<Duration> expected_backoffs;
    for (std::uint32_t attempt = 1; attempt <= max_retries; ++attempt) {
        expected.push_back("requeue@" + std::to_string(attempt));
        expected_backoffs.push_back(std::min(Duration(10 << (attempt - 1)), Duration(25)));
    }
    expected.push_back("kill@" + std::to_string(max_retries + 1));
    CHECK(history(probe, id) == expected);
    std::vector<Duration> backoffs;
    for (const auto& t : probe.transitions()) {
        if (t.verb == "requeue") backoffs.push_back(t.backoff);
    }
    CHECK(backoffs == expected_backoffs);
    CHECK(log.count(LogLevel::Warning, "no retries left") == 1);
}

TEST_CASE("worker: max_retries 0 retries without limit", "[worker]") {
    Queue queue;
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.backoff.max_retries = 0;
    std::atomic<int> runs{0};
    LogCapture log;
    Worker worker(
        queue.puller,
        [&](const Job&, std::stop_token) {
            if (++runs <= 7) throw std::runtime_error("not yet");
        },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    CHECK(runs == 8);
    CHECK(queue.stored(id).attempts == 8);
}

TEST_CASE("worker: gqs::Kill sends the job to Dead after one run", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push().id;
    std::atomic<int> runs{0};
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            ++runs;
            throw Kill("malformed payload");
        },
        quick_config(), log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Dead); }));
    worker.stop(patience);
    CHECK(runs == 1);
    CHECK(queue.stored(id).attempts == 1);
    CHECK(history(probe, id) == std::vector<std::string>{"kill@1"});
    CHECK(log.count(LogLevel::Warning, "malformed payload") == 1);
}

TEST_CASE("worker: requeue waits the backoff of the job's attempt", "[worker]") {
    Queue queue;
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.backoff = {.max_retries = 3,
                      .initial_interval = Duration(std::chrono::hours(1)),
                      .max_interval = Duration(std::chrono::hours(2)),
                      .multiplier = 2.0,
                      .randomization_factor = 0.0};
    LogCapture log;
    Worker worker(
        queue.puller, [](const Job&, std::stop_token) { throw std::runtime_error("later"); },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] {
        const auto job = queue.observer.get(id);
        return job && job->status == Status::Pending && job->attempts == 1;
    }));
    worker.stop(patience);
    const Job job = queue.stored(id);
    CHECK(job.next_run_at - job.updated_at == std::chrono::hours(1));
}

TEST_CASE("worker: a long handler keeps its lease, so no other puller gets its job",
          "[worker][lease]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push().id;
    auto session = queue.open_second(); // another connection, as another process has
    Puller& other = session->puller();

    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.lock_timeout = 500ms;
    Signal started;
    Signal release;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            started.set();
            release.wait();
        },
        config, log.logger());
    worker.start();
    REQUIRE(started.wait());

    // Try to take the job for four lease lengths; each try is a fresh pull on another
    // connection, as another process would do.
    bool stolen = false;
    int tries = 0;
    Signal never;
    const auto until = std::chrono::steady_clock::now() + 4 * config.lock_timeout;
    while (std::chrono::steady_clock::now() < until) {
        if (!other.pull(1, config.lock_timeout).empty()) {
            stolen = true;
            break;
        }
        ++tries;
        never.wait(25ms); // pacing, not synchronisation
    }
    release.set();
    INFO(log.text());
    REQUIRE_FALSE(stolen);
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    CHECK(tries > 1);
    CHECK(probe.extends >= 1);
    CHECK(queue.stored(id).attempts == 1);
}

TEST_CASE("worker: a lost lease requests the handler's stop token and leaves the job alone",
          "[worker][lease]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.lock_timeout = 200ms;
    Signal started;
    Signal finished;
    std::atomic<bool> saw_stop{false};
    LogCapture log;

    SECTION("extend_lock reports LockLost") {
        probe.lose_locks = true;
        Worker worker(
            probe,
            [&](const Job& job, std::stop_token stop) {
                if (job.attempts != 1) return;
                saw_stop = wait_for_stop(stop);
                probe.lose_locks = false;
            },
            config, log.logger());
        worker.start();
        // The lease was never really lost, so the job runs again once it expires.
        REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
        worker.stop(patience);
        CHECK(saw_stop);
        const auto steps = history(probe, id);
        CHECK(std::none_of(steps.begin(), steps.end(),
                           [](const std::string& s) { return s.ends_with("@1"); }));
        CHECK(queue.stored(id).attempts >= 2);
    }

    SECTION("another connection takes the lease") {
        Worker worker(
            probe,
            [&](const Job&, std::stop_token stop) {
                started.set();
                saw_stop = wait_for_stop(stop);
                finished.set();
            },
            config, log.logger());
        worker.start();
        REQUIRE(started.wait());
        // What another worker does when it re-pulls an expired lease: a new attempt (the
        // fence) and a new lease end, here an hour ahead so that ours never gets it back.
        queue.backend->exec_sql("UPDATE jobs SET attempts = attempts + 1, locked_until = "
                                "locked_until + " +
                                queue.backend->sql_duration(std::chrono::hours(1)));
        REQUIRE(finished.wait());
        REQUIRE(wait_until([&] { return log.count(LogLevel::Warning, "result is dropped") == 1; }));
        worker.stop(patience);
        CHECK(saw_stop);
        CHECK(probe.transitions().empty());
        const Job job = queue.stored(id);
        CHECK(job.status == Status::Processing);
        CHECK(job.attempts == 2);
    }
    INFO(log.text());
    CHECK(log.count(LogLevel::Warning, "lease lost") >= 1);
}

// The rule of docs/design.md section 8: once less than lock_timeout / 4 is left of a lease the
// keeper could not extend, the handler is asked to stop, so that it can return before
// another worker leases the job.
TEST_CASE("worker: a handler whose lease cannot be extended is asked to stop before the lease "
          "runs out",
          "[worker][lease]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    Signal hold; // the extensions' answer, in the section where they hang
    SECTION("the extensions fail") { probe.failing_extends = 1'000'000; }
    SECTION("the extensions hang (a database that does not answer)") { probe.hold_extends = &hold; }
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.lock_timeout = 2s;
    Counter runs;
    Signal stopped;
    TimePoint stopped_at{};
    TimePoint lease_end{};
    LogCapture log;
    const Uuid id = queue.push().id;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token stop) {
            runs.bump();
            if (!wait_for_stop(stop, 10s)) return;
            stopped_at = std::chrono::system_clock::now();
            lease_end = queue.stored(job.id).locked_until.value_or(TimePoint{});
            stopped.set();
        },
        config, log.logger());
    worker.start();
    const bool was_stopped = stopped.wait();
    // The handler's result waits for the extension under way (it may say the lease is lost).
    hold.set();
    probe.failing_extends = 0;
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    INFO(log.text());
    REQUIRE(was_stopped);
    // The handler heard the stop while the stored lease still held: no one else could have
    // leased the job yet.
    CHECK(stopped_at < lease_end);
    CHECK(runs.value() == 1);
    CHECK(queue.stored(id).attempts == 1);
    CHECK(log.count(LogLevel::Warning, "requesting its handler's stop") == 1);
}

TEST_CASE("worker: while its leases cannot be extended a worker takes no new job and takes "
          "them again once the database answers",
          "[worker][lease]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    WorkerConfig config = quick_config();
    config.concurrency = 2; // a free thread that would pull every pull_interval
    config.lock_timeout = 4s;
    Signal started;
    Signal stopped;
    LogCapture log;
    const Uuid first = queue.push().id;
    Worker worker(
        probe,
        [&](const Job& job, std::stop_token stop) {
            if (job.id != first || job.attempts != 1) return;
            started.set();
            wait_for_stop(stop, 10s);
            stopped.set();
        },
        config, log.logger());
    worker.start();
    REQUIRE(started.wait());
    probe.down = true; // extensions, pulls and settles all fail from now on
    REQUIRE(stopped.wait());
    const int pulls_at_stop = probe.pulls.load();
    const auto stopped_at = std::chrono::steady_clock::now();
    const Uuid second = queue.push().id;
    // The first job's lease holds for about a second more (lock_timeout / 4); a worker
    // that kept polling would try some 30 pulls in these 300 ms.
    wait_until([&] { return std::chrono::steady_clock::now() >= stopped_at + 300ms; });
    const int pulls_while_down = probe.pulls.load() - pulls_at_stop;
    probe.down = false;
    REQUIRE(wait_until([&] { return queue.has_status(second, Status::Done); }));
    REQUIRE(wait_until([&] { return queue.has_status(first, Status::Done); }));
    worker.stop(patience);
    INFO(log.text());
    CHECK(pulls_while_down <= 1); // one may have begun as the stop was requested
    CHECK(log.count(LogLevel::Warning, "no new jobs are taken") == 1);
    CHECK(log.count(LogLevel::Info, "the database answers again") == 1);
}

// The crash matrix (issue 22), "a handler outlives its lease": worker A's lease keeper is
// blocked (its extensions fail, or hang as on a database that does not answer) while A's
// handler keeps running, ignoring its stop token, past the end of its lease; worker B, on a
// connection of its own as another process has, takes the job once the lease has expired.
// Counted: the job runs twice (allowed: the lease really expired before B leased it), A's
// handler was asked to stop before the lease ran out (the watchdog), A's late complete is
// refused by the fence (LeaseLost), the job ends Done once, by B, and nothing is lost or stuck.
TEST_CASE("worker: crash matrix - a handler outlives its lease while its lease keeper is blocked",
          "[worker][lease][faults]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    Signal hold; // the extensions' answer, in the section where they hang
    std::string how;
    SECTION("the extensions fail") {
        probe.failing_extends = 1'000'000;
        how = "failing";
    }
    SECTION("the extensions hang") {
        probe.hold_extends = &hold;
        how = "hanging";
    }
    auto second = queue.open_second();
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.lock_timeout = 1500ms;
    const auto begin = std::chrono::steady_clock::now();
    const Uuid id = queue.push().id;

    Counter runs;
    Signal a_started;
    Signal a_stop_heard;
    Signal b_done;
    Signal a_returned;
    TimePoint a_lease_end{};  // attempt 1's locked_until (never extended)
    TimePoint a_stop_at{};    // when A's stop token was requested
    TimePoint b_started_at{}; // when B's handler began (after its pull)
    std::atomic<std::uint32_t> b_attempt{0};
    LogCapture log_a;
    LogCapture log_b;
    Worker a(
        probe,
        [&](const Job& job, std::stop_token stop) {
            runs.bump();
            a_lease_end = job.locked_until.value_or(TimePoint{});
            a_started.set();
            if (wait_for_stop(stop, 10s)) {
                a_stop_at = std::chrono::system_clock::now();
                a_stop_heard.set();
            }
            // The handler ignores the stop and runs on past its lease, until B has run the job.
            b_done.wait(20s);
            a_returned.set();
        },
        config, log_a.logger());
    a.start();
    REQUIRE(a_started.wait());
    Worker b(
        second->puller(),
        [&](const Job& job, std::stop_token) {
            runs.bump();
            b_started_at = std::chrono::system_clock::now();
            b_attempt = job.attempts;
        },
        config, log_b.logger());
    b.start();
    // B's complete is stored once the job is Done with attempt 2; then A's handler returns.
    const bool b_finished = wait_until([&] {
        auto job = queue.observer.get(id);
        return job && job->status == Status::Done;
    });
    b_done.set();
    REQUIRE(a_returned.wait());
    hold.set(); // a hanging extension answers (with an error) once A's handler is done
    // A's late result is refused by the fence: LeaseLost, logged, and the job left to B.
    const bool refused = wait_until(
        [&] { return log_a.count(LogLevel::Warning, "lease lost before it could") == 1; });
    const auto fault_end = std::chrono::steady_clock::now();
    probe.failing_extends = 0;
    b.stop(patience);
    a.stop(patience);
    INFO("worker A:\n" << log_a.text() << "worker B:\n" << log_b.text());
    REQUIRE(b_finished);
    REQUIRE(a_stop_heard.is_set());

    const Job job = queue.stored(id);
    const long pushed = 1;
    const long done = job.status == Status::Done ? 1 : 0;
    const long lost = pushed - done;
    const long twice = runs.value() > 1 ? 1 : 0;
    // The explanation of the second run: B leased the job only after attempt 1's lease ended.
    const long expired = b_started_at >= a_lease_end ? 1 : 0;
    const auto stuck =
        static_cast<long>(queue.count(Status::Pending) + queue.count(Status::Processing));
    const auto margin =
        std::chrono::duration_cast<std::chrono::milliseconds>(a_lease_end - a_stop_at).count();
    std::ostringstream report;
    report << "lease keeper blocked (" << how << " extensions): pushed " << pushed << ", done "
           << done << ", lost " << lost << ", run twice " << twice << " (lease expired " << expired
           << "), stuck " << stuck << "; stop requested " << margin
           << " ms before the lease end; late settle refused " << (refused ? 1 : 0) << "; "
           << std::chrono::duration<double>(fault_end - begin).count() << " s";
    WARN(report.str());
    CHECK(lost == 0);
    CHECK(runs.value() == 2);
    CHECK(twice == expired);
    CHECK(stuck == 0);
    CHECK(a_stop_at < a_lease_end); // the watchdog asked before the lease ran out
    CHECK(refused);
    CHECK(b_attempt == 2);
    CHECK(job.attempts == 2);
    // A tried to complete attempt 1 once, and nothing else; B's complete is the one stored.
    CHECK(history(probe, id) == std::vector<std::string>{"complete@1"});
    CHECK(log_a.count(LogLevel::Warning, "requesting its handler's stop") == 1);
    CHECK(queue.count(Status::Done) == 1);
}

TEST_CASE("worker: stop throws StopTimeout while a handler ignores its stop token",
          "[worker][stop]") {
    Queue queue;
    const Uuid first = queue.push().id;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    Signal started;
    Signal release;
    LogCapture log;
    const Handler handler = [&](const Job&, std::stop_token) {
        started.set();
        release.wait();
    };

    SECTION("the worker finishes in the background and can start again") {
        Worker worker(queue.puller, handler, config, log.logger());
        worker.start();
        REQUIRE(started.wait());
        CHECK_THROWS_AS(worker.stop(20ms), StopTimeout);
        CHECK_THROWS_AS(worker.start(), DoubleStarted); // its handler is still busy
        SECTION("a second stop waits for the stop to finish") {
            CHECK_THROWS_AS(worker.stop(Duration::zero()), StopTimeout); // still busy
            release.set();
            worker.stop(patience);
            CHECK(queue.stored(first).status == Status::Done); // settled before it returned
            CHECK_THROWS_AS(worker.stop(patience), DoubleStopped);
            worker.start();
        }
        SECTION("or start again once the handler is done") {
            release.set();
            REQUIRE(wait_until([&] { return queue.has_status(first, Status::Done); }));
            REQUIRE(wait_until([&] {
                try {
                    worker.start();
                    return true;
                } catch (const DoubleStarted&) {
                    return false;
                }
            }));
        }
        const Uuid second = queue.push().id;
        REQUIRE(wait_until([&] { return queue.has_status(second, Status::Done); }));
        worker.stop(patience);
    }

    SECTION("the destructor waits for the handler and settles its job") {
        {
            Worker worker(queue.puller, handler, config, log.logger());
            worker.start();
            REQUIRE(started.wait());
            CHECK_THROWS_AS(worker.stop(Duration::zero()), StopTimeout);
            release.set();
        }
        CHECK(queue.stored(first).status == Status::Done);
    }
}

TEST_CASE("worker: stop from one of its own handlers throws at once", "[worker][stop]") {
    Queue queue;
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    LogCapture log;
    std::string caught;
    Worker* self = nullptr;
    Worker worker(
        queue.puller,
        [&](const Job&, std::stop_token) {
            try {
                self->stop(std::chrono::hours(1)); // would wait an hour for itself
                caught = "nothing";
            } catch (const std::logic_error& e) {
                caught = e.what();
            }
        },
        config, log.logger());
    self = &worker;
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    // The failed call changed nothing: the worker runs on and stops normally.
    const Uuid second = queue.push().id;
    REQUIRE(wait_until([&] { return queue.has_status(second, Status::Done); }));
    worker.stop(patience);
    CHECK(caught.find("from one of its own threads") != std::string::npos);
}

TEST_CASE("worker: start twice or stop when not running throws", "[worker][stop]") {
    Queue queue;
    LogCapture log;
    Worker worker(
        queue.puller, [](const Job&, std::stop_token) {}, quick_config(), log.logger());
    CHECK_THROWS_AS(worker.stop(patience), DoubleStopped);
    worker.start();
    CHECK_THROWS_AS(worker.start(), DoubleStarted);
    const Uuid first = queue.push().id;
    REQUIRE(wait_until([&] { return queue.has_status(first, Status::Done); }));
    worker.stop(patience);
    CHECK_THROWS_AS(worker.stop(patience), DoubleStopped);

    // A stopped worker starts again.
    const Uuid second = queue.push().id;
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(second, Status::Done); }));
    worker.stop(patience);
}

TEST_CASE("worker: destroying a running worker stops it", "[worker][stop]") {
    Queue queue;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.backoff.initial_interval = std::chrono::hours(1);
    config.backoff.max_interval = std::chrono::hours(1);
    Signal started;
    std::atomic<bool> saw_stop{false};
    LogCapture log;

    SECTION("a running handler is asked to stop") {
        const Uuid id = queue.push().id;
        {
            Worker worker(
                queue.puller,
                [&](const Job&, std::stop_token stop) {
                    started.set();
                    saw_stop = wait_for_stop(stop);
                    throw std::runtime_error("interrupted by shutdown");
                },
                config, log.logger());
            worker.start();
            REQUIRE(started.wait());
        }
        CHECK(saw_stop);
        // The interrupted run counts as an attempt: it is retried after its backoff.
        const Job job = queue.stored(id);
        CHECK(job.status == Status::Pending);
        CHECK(job.attempts == 1);
        CHECK(job.next_run_at > job.updated_at);
    }

    SECTION("an idle worker") {
        Worker worker(
            queue.puller, [](const Job&, std::stop_token) {}, config, log.logger());
        worker.start();
    }

    SECTION("a worker never started") {
        Worker worker(
            queue.puller, [](const Job&, std::stop_token) {}, config, log.logger());
    }
}

TEST_CASE("worker: jobs leased but not started are Pending again right after stop, attempts "
          "unchanged",
          "[worker][stop]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    std::vector<Uuid> ids;
    for (int i = 0; i < 10; ++i)
        ids.push_back(queue.push("job " + std::to_string(i)).id);
    WorkerConfig config = quick_config();
    config.concurrency = 2;
    config.batch_size = 10;
    Counter running;
    LogCapture log;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token stop) {
            running.bump();
            wait_for_stop(stop);
        },
        config, log.logger());
    worker.start();
    REQUIRE(running.wait_for(2));
    // Both threads are busy: the worker holds exactly the two leases it is running.
    CHECK(queue.count(Status::Processing) == 2);
    worker.stop(patience);

    CHECK(running.value() == 2);
    CHECK(probe.largest_batch <= 2);
    CHECK(queue.count(Status::Processing) == 0);
    CHECK(queue.count(Status::Done) == 2);
    const auto pending = queue.observer.list(Status::Pending, 0);
    CHECK(pending.size() == 8);
    for (const Job& job : pending)
        CHECK(job.attempts == 0);
}

TEST_CASE("worker: a pull under way when stop is called releases its jobs unstarted",
          "[worker][stop]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    Signal hold;
    probe.hold_first_pull = &hold;
    const Uuid id = queue.push().id;
    Signal ran;
    LogCapture log;
    Worker worker(
        probe, [&](const Job&, std::stop_token) { ran.set(); }, quick_config(), log.logger());
    worker.start();
    REQUIRE(probe.pull_entered.wait());

    std::atomic<bool> stop_failed{false};
    std::thread stopper([&] {
        try {
            worker.stop(patience);
        } catch (...) {
            stop_failed = true;
        }
    });
    const bool stopping =
        wait_until([&] { return log.count(LogLevel::Debug, "worker stopping") == 1; });
    hold.set();
    stopper.join();

    REQUIRE(stopping);
    CHECK_FALSE(stop_failed);
    CHECK_FALSE(ran.is_set());
    // Pending again at once, and the pull's attempt is taken back.
    const Job job = queue.stored(id);
    CHECK(job.status == Status::Pending);
    CHECK(job.attempts == 0);
    CHECK_FALSE(job.locked_until.has_value());
    CHECK(probe.count("release") == 1);
}

TEST_CASE("worker: runs concurrency handlers at once, and no more", "[worker]") {
    constexpr int n = 4;
    Queue queue;
    std::vector<Uuid> ids;
    for (int i = 0; i < 2 * n; ++i)
        ids.push_back(queue.push().id);
    WorkerConfig config = quick_config();
    config.concurrency = n;
    config.batch_size = 2 * n;

    std::mutex mutex;
    std::condition_variable cv;
    int inside = 0;
    int peak = 0;
    LogCapture log;
    Worker worker(
        queue.puller,
        [&](const Job&, std::stop_token) {
            std::unique_lock lock(mutex);
            peak = std::max(peak, ++inside);
            cv.notify_all();
            cv.wait_for(lock, patience, [&] { return peak >= n; });
            --inside;
        },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == ids.size(); }));
    worker.stop(patience);
    CHECK(peak == n);
}

TEST_CASE("worker: a backlog drains without waiting a pull interval per batch", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    constexpr std::size_t total = 40;
    std::vector<Message> messages(total);
    queue.pusher.push_batch(messages);
    WorkerConfig config = quick_config();
    config.concurrency = 4;
    config.batch_size = 4;
    config.pull_interval = std::chrono::hours(1);
    LogCapture log;
    Worker worker(
        probe, [](const Job&, std::stop_token) {}, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.count(Status::Done) == total; }));
    // The pause after the last (short) pull is an hour; stop must cut it short.
    worker.stop(patience);
    CHECK(probe.pulls >= static_cast<int>(total / 4));
    CHECK(probe.largest_batch <= 4);
}

TEST_CASE("worker: storage errors are logged and retried, never fatal", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    probe.failing_pulls = 3;
    probe.failing_extends = 2;
    probe.failing_completes = 1;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.lock_timeout = 200ms;
    LogCapture log;
    const Uuid first = queue.push().id;
    Worker worker(
        probe,
        [&](const Job&, std::stop_token) {
            // Run until the keeper got past its two failed extensions.
            wait_until([&] { return probe.extends >= 3; }, patience);
        },
        config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(first, Status::Done); }));
    const Uuid second = queue.push().id;
    REQUIRE(wait_until([&] { return queue.has_status(second, Status::Done); }));
    worker.stop(patience);

    INFO(log.text());
    CHECK(log.count(LogLevel::Error, "pulling up to 1 job failed: ") == 3);
    CHECK(log.count(LogLevel::Error, "cannot extend its lease") == 2);
    CHECK(log.count(LogLevel::Error, "cannot complete") == 1);
    CHECK(queue.stored(first).attempts == 1);
}

TEST_CASE("worker: a result that fails on storage is tried again while its lease lasts",
          "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    config.pull_interval = 10ms; // the pause between tries of a result
    SECTION("a long lease: many tries") {
        // Well past the three tries a result once had (about 1 s of a database restart).
        probe.failing_completes = 12;
        config.lock_timeout = 60s;
    }
    SECTION("a short lease, extended while the result waits") {
        // The tries take longer than the lease: only extending it keeps the job ours.
        probe.failing_completes = 40;
        config.lock_timeout = 200ms;
    }
    Counter runs;
    LogCapture log;
    const Uuid id = queue.push().id;
    Worker worker(
        probe, [&](const Job&, std::stop_token) { runs.bump(); }, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    INFO(log.text());
    CHECK(runs.value() == 1);
    CHECK(queue.stored(id).attempts == 1);
    CHECK(probe.failing_completes == 0);
    // One error line for the first failure; the tries after it are debug lines.
    CHECK(log.count(LogLevel::Error, "cannot complete") == 1);
    CHECK(log.count(LogLevel::Error, "left Processing") == 0);
}

TEST_CASE("worker: a failed transaction's log line names what it was doing", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    probe.failing_settles = 1;
    WorkerConfig config = quick_config();
    config.concurrency = 1;
    LogCapture log;
    const Uuid id = queue.push().id;
    Worker worker(
        probe, [](const Job&, std::stop_token) {}, config, log.logger());
    worker.start();
    REQUIRE(wait_until([&] { return queue.has_status(id, Status::Done); }));
    worker.stop(patience);
    INFO(log.text());
    // The result is stored in the cycle after the one that failed on it.
    CHECK(log.count(LogLevel::Error, "storing 1 job result") == 1);
    CHECK(log.count(LogLevel::Error, "pull failed") == 0);
}

TEST_CASE("worker: an empty logger writes warnings to std::clog", "[worker]") {
    Queue queue;
    const Uuid id = queue.push().id;
    WorkerConfig config = quick_config();
    config.concurrency = 1; // one thread writes to the captured (unsynchronised) buffer
    ClogCapture clog;
    {
        Worker worker(
            queue.puller, [](const Job&, std::stop_token) { throw Kill("no good"); }, config);
        worker.start();
        REQUIRE(wait_until([&] { return queue.has_status(id, Status::Dead); }));
        worker.stop(patience);
    }
    CHECK(clog.text().find("gqs: warning: job " + id.to_string()) != std::string::npos);
}

TEST_CASE("worker: rejects an invalid configuration or an empty handler", "[worker]") {
    Queue queue;
    const Handler handler = [](const Job&, std::stop_token) {};
    CHECK_NOTHROW(validate(WorkerConfig{}));
    WorkerConfig config;
    SECTION("concurrency 0") { config.concurrency = 0; }
    SECTION("negative concurrency") { config.concurrency = -1; }
    SECTION("negative prefetch") { config.prefetch = -2; }
    SECTION("batch 0") { config.batch_size = 0; }
    SECTION("pull interval 0") { config.pull_interval = Duration::zero(); }
    SECTION("lock timeout 0") { config.lock_timeout = Duration::zero(); }
    SECTION("negative lock timeout") { config.lock_timeout = Duration(-5); }
    SECTION("bad backoff") { config.backoff.multiplier = 0.5; }
    CHECK_THROWS_AS(validate(config), std::invalid_argument);
    CHECK_THROWS_AS(Worker(queue.puller, handler, config), std::invalid_argument);
    CHECK_THROWS_AS(Worker(queue.puller, Handler{}, WorkerConfig{}), std::invalid_argument);
}

TEST_CASE("puller: a single call rethrows the storage error its settlement met", "[worker]") {
    Queue queue;
    ProbePuller probe(queue.puller);
    queue.push();
    auto jobs = probe.pull(1, std::chrono::seconds(30));
    REQUIRE(jobs.size() == 1);
    probe.failing_completes = 1;
    try {
        probe.complete(jobs[0]);
        FAIL("complete did not throw");
    } catch (const LeaseLost&) {
        FAIL("a storage failure was reported as a lost lease");
    } catch (const StorageError& e) {
        CHECK(e.kind() == StorageErrorKind::Busy);
        CHECK(e.native_code() == "SQLITE_BUSY");
        CHECK(jobs[0].status == Status::Processing);
    }
    // Nothing changed, so the lease still holds and the next call stores it.
    probe.complete(jobs[0]);
    CHECK(jobs[0].status == Status::Done);
    CHECK(probe.count("complete") == 2);
}
