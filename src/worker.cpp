// SPDX-License-Identifier: Apache-2.0
// Worker's threads: one pull loop, one lease keeper and `concurrency` handler threads.
#include <gqs/worker.hpp>

#include <gqs/errors.hpp>

#include "detail/background.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gqs {

void validate(const WorkerConfig& config) {
    if (config.concurrency <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: concurrency must be > 0");
    if (config.queue < 0) throw std::invalid_argument("gqs::WorkerConfig: queue must be >= 0");
    if (config.batch_size <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: batch_size must be > 0");
    if (config.pull_interval <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: pull_interval must be > 0");
    if (config.lock_timeout <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: lock_timeout must be > 0");
    validate(config.backoff);
}

namespace {

using detail::SteadyClock;

// A result (complete, requeue, kill) that fails on a storage error is tried this many
// times, one pull_interval apart, before the job is left to run again once its lease expires.
constexpr int settle_tries = 3;

// What the lease keeper works on: the job's identity and lease, without payload and metadata.
// The handler reads its own copy of the job meanwhile, so the two never share an object.
Job lease_of(const Job& job) {
    Job lease;
    lease.id = job.id;
    lease.created_at = job.created_at;
    lease.updated_at = job.updated_at;
    lease.status = job.status;
    lease.attempts = job.attempts;
    lease.locked_until = job.locked_until;
    lease.next_run_at = job.next_run_at;
    return lease;
}

} // namespace

class Worker::Impl {
public:
    Impl(Puller& puller, Handler handler, WorkerConfig config, Logger logger);
    void start();
    void stop(Duration timeout);
    void shutdown() noexcept;

private:
    enum class Outcome : std::uint8_t { Success, Kill, Failure };
    struct Result {
        Outcome outcome = Outcome::Success;
        std::string error;
    };
    enum class Extension : std::uint8_t { Extended, Lost, Failed };

    // A pulled job on its way to a handler thread (it waits only until an idle thread wakes).
    struct Pulled {
        Job job;
        SteadyClock::time_point leased_at; // taken before the pull: the lease is no older
    };

    // One handler thread's running job, as the lease keeper sees it. Guarded by mutex_.
    struct Slot {
        bool active = false;    // a job is leased to this thread
        bool settling = false;  // its handler returned: no more extensions
        bool extending = false; // the keeper is inside extend_lock for it
        bool lost = false;      // extend_lock said the lease is gone
        Job lease;
        std::stop_source stop{std::nostopstate};
        SteadyClock::time_point next_extension{};
    };

    template <class... Parts>
    void log(LogLevel level, const Parts&... parts) const noexcept {
        detail::log(logger_, level, parts...);
    }

    template <class Body>
    void launch(Body body, bool handler_thread);
    void request_stop();

    void pull_main() noexcept;
    void pull_loop(std::unique_lock<std::mutex>& lock);
    void keeper_main() noexcept;
    void keeper_loop(std::unique_lock<std::mutex>& lock);
    Extension extend(Job& lease) noexcept;
    void handler_main(std::size_t index) noexcept;
    void handler_loop(std::unique_lock<std::mutex>& lock, Slot& slot);
    Result run(const Job& job, std::stop_token stop) const;

    // A handler's result on its way to storage: the pull loop stores it with its next pull.
    struct Finished {
        Job job;
        gqs::Action action = gqs::Action::Complete;
        Duration backoff{};
        int tries = 0;
    };
    std::optional<Finished> decide(Job job, const Result& result, bool lost) const;
    bool finish(std::vector<Finished>& done, const std::vector<std::exception_ptr>& results);

    Puller& puller_;
    const Handler handler_;
    const WorkerConfig config_;
    const Logger logger_;
    const Duration extend_every_;
    const Duration extend_retry_;

    std::mutex lifecycle_; // serialises start, stop and shutdown; guards the three below
    bool running_ = false;
    std::vector<std::jthread> threads_;
    Subscription pushes_; // wakes the pull loop when jobs are pushed in this process

    std::mutex mutex_;                  // guards everything below
    std::condition_variable work_cv_;   // handler threads: a job is ready, or time to exit
    std::condition_variable pull_cv_;   // pull loop: stop, or a thread became idle
    std::condition_variable keeper_cv_; // lease keeper: a lease to watch, or stop
    std::condition_variable state_cv_;  // an extension ended, a thread exited, stop
    bool stopping_ = false;
    bool pulling_ = false;
    bool backlog_ = false;   // the last pull filled its batch: more jobs are likely waiting
    bool pushed_ = false;    // jobs were pushed since the last pull began
    int busy_ = 0;           // jobs reserved for, waiting for, or held by handler threads
    int alive_ = 0;          // threads of the current (or timed-out) run not yet returned
    int handlers_alive_ = 0; // of which handler threads
    std::deque<Pulled> ready_;
    std::vector<Slot> slots_;
    // When the lease keeper wakes next on its own; a job whose first extension is due later
    // needs no wake-up call (one context switch less per job).
    SteadyClock::time_point keeper_wakeup_{};

    // Results of returned handlers, not yet stored. The pull loop stores them all with its
    // next pull in one Puller::settle_and_pull call: one commit per cycle, however many
    // handlers finished meanwhile, and no result waits on a timer.
    std::vector<Finished> finished_;
};

Worker::Impl::Impl(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : puller_(puller), handler_(std::move(handler)), config_(config),
      logger_(logger ? std::move(logger) : Logger(default_logger)),
      extend_every_(std::max(Duration(1), config.lock_timeout / 2)),
      extend_retry_(std::max(Duration(1), config.lock_timeout / 10)) {
    if (!handler_) throw std::invalid_argument("gqs::Worker: the handler is empty");
    validate(config_);
}

template <class Body>
void Worker::Impl::launch(Body body, bool handler_thread) {
    {
        std::lock_guard lock(mutex_);
        ++alive_;
        if (handler_thread) ++handlers_alive_;
    }
    try {
        threads_.emplace_back(std::move(body));
    } catch (...) {
        std::lock_guard lock(mutex_);
        --alive_;
        if (handler_thread) --handlers_alive_;
        throw;
    }
}

void Worker::Impl::start() {
    std::lock_guard life(lifecycle_);
    if (running_) throw DoubleStarted("gqs::Worker::start: the worker is already running");
    {
        std::lock_guard lock(mutex_);
        if (alive_ > 0) {
            throw DoubleStarted("gqs::Worker::start: a handler of the previous run is still "
                                "busy (its stop() timed out)");
        }
        stopping_ = false;
        pulling_ = false;
        backlog_ = false;
        pushed_ = false;
        busy_ = 0;
        finished_.clear();
        ready_.clear();
        slots_.assign(static_cast<std::size_t>(config_.concurrency), Slot{});
    }
    threads_.clear(); // a timed-out run's threads, all returned by now
    // Called on the pushing thread; it must not wait on anything that waits for a push.
    pushes_ = puller_.on_push([this] {
        {
            std::lock_guard lock(mutex_);
            pushed_ = true;
        }
        pull_cv_.notify_all();
    });
    try {
        threads_.reserve(slots_.size() + 2);
        for (std::size_t i = 0; i < slots_.size(); ++i) {
            launch([this, i] { handler_main(i); }, true);
        }
        launch([this] { keeper_main(); }, false);
        // Last, so that no job is pulled before the threads that will run it exist.
        launch([this] { pull_main(); }, false);
    } catch (...) {
        pushes_.reset();
        request_stop();
        threads_.clear();
        throw;
    }
    running_ = true;
    log(LogLevel::Debug, "worker started with ", config_.concurrency, " handler threads");
}

void Worker::Impl::request_stop() {
    std::vector<std::stop_source> running;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        for (const Slot& slot : slots_) {
            if (slot.active) running.push_back(slot.stop);
        }
    }
    work_cv_.notify_all();
    pull_cv_.notify_all();
    keeper_cv_.notify_all();
    state_cv_.notify_all();
    // Outside the lock: request_stop runs the callbacks the handlers registered.
    for (std::stop_source& source : running)
        source.request_stop();
}

void Worker::Impl::stop(Duration timeout) {
    std::lock_guard life(lifecycle_);
    if (!running_) throw DoubleStopped("gqs::Worker::stop: the worker is not running");
    running_ = false;
    pushes_.reset(); // before request_stop: the callback takes mutex_, reset waits for it
    request_stop();
    log(LogLevel::Debug, "worker stopping, waiting up to ", timeout, " for its handlers");
    bool finished = false;
    {
        std::unique_lock lock(mutex_);
        finished = state_cv_.wait_until(lock, detail::deadline_after(timeout),
                                        [this] { return alive_ == 0; });
    }
    if (!finished) {
        // The threads keep running; the next start() or the destructor joins them.
        throw StopTimeout("gqs::Worker::stop: handlers still running after " +
                          std::to_string(timeout.count()) +
                          " ms; the worker finishes stopping in the background");
    }
    threads_.clear();
    log(LogLevel::Debug, "worker stopped");
}

void Worker::Impl::shutdown() noexcept {
    try {
        std::lock_guard life(lifecycle_);
        if (running_) {
            running_ = false;
            pushes_.reset();
            request_stop();
        }
        threads_.clear();
    } catch (...) {
        // Only a failure to lock or join gets here; the jthreads still join when destroyed.
    }
}

// ---- pull loop -----------------------------------------------------------------------------

void Worker::Impl::pull_main() noexcept {
    std::unique_lock lock(mutex_);
    try {
        pull_loop(lock);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        log(LogLevel::Error, "internal error in the pull loop; the worker pulls no more jobs");
    }
    pulling_ = false;
    --alive_;
    work_cv_.notify_all();
    state_cv_.notify_all();
}

// The only place that leases jobs and stores results. It leases no more than the threads
// that are idle, and reserves them before the pull, so every pulled job starts at once: none
// waits locally while its lease runs out, and stop() never finds a job leased but not
// started. Each round stores the results of the handlers that returned since the last one
// and leases the next jobs in one call (one commit).
void Worker::Impl::pull_loop(std::unique_lock<std::mutex>& lock) {
    // After an interval passed with no push, no backlog and no result to store, ask
    // has_ready() first: a read, so an idle worker polling an empty queue never takes the
    // database's write lock.
    bool check_first = false;
    while (!(stopping_ && handlers_alive_ == 0 && finished_.empty())) {
        const int idle = stopping_ ? 0 : config_.concurrency - busy_;
        bool want_pull = idle > 0;
        if (want_pull && check_first && finished_.empty()) {
            lock.unlock();
            try {
                want_pull = puller_.has_ready();
            } catch (...) {
                want_pull = true; // let the pull itself report what is wrong
            }
            lock.lock();
            if (stopping_) want_pull = false;
        }
        std::vector<Finished> done;
        done.swap(finished_);
        bool failed = false;
        int batch = 0;
        if (want_pull || !done.empty()) {
            batch = want_pull ? std::min(config_.batch_size, config_.concurrency - busy_) : 0;
            busy_ += batch;
            pulling_ = batch > 0;
            // Pushes before this point are visible to the pull; later ones wake us again.
            if (batch > 0) pushed_ = false;
            lock.unlock();
            std::vector<Settlement> settlements;
            settlements.reserve(done.size());
            for (Finished& f : done)
                settlements.push_back({&f.job, f.action, f.backoff});
            const auto leased_at = SteadyClock::now();
            std::vector<std::exception_ptr> results;
            std::vector<Job> jobs;
            try {
                jobs = puller_.settle_and_pull(settlements, results, batch, config_.lock_timeout);
            } catch (const std::exception& e) {
                failed = batch > 0;
                log(LogLevel::Error, "pull failed: ", e.what(), "; retrying in ",
                    config_.pull_interval);
            } catch (...) {
                failed = batch > 0;
                log(LogLevel::Error,
                    "pull failed with an exception not derived from "
                    "std::exception; retrying in ",
                    config_.pull_interval);
            }
            if (results.size() != done.size() && !done.empty()) {
                // The puller failed before it could say anything about the settlements.
                results.assign(done.size(),
                               std::make_exception_ptr(
                                   Error("the puller reported no result for this settlement")));
            }
            failed = finish(done, results) || failed;
            const int got = static_cast<int>(jobs.size());
            if (got > batch) {
                log(LogLevel::Warning, "the puller returned ", got, " jobs for a batch of ", batch,
                    "; they wait for a thread");
            }
            lock.lock();
            pulling_ = false;
            busy_ += got - batch;
            for (Job& job : jobs) {
                ready_.push_back(Pulled{std::move(job), leased_at});
                work_cv_.notify_one(); // one idle thread per job, not all of them
            }
            // Handler threads exit once stopping and no pull is in flight: tell them all that
            // this one is over, even when it brought no job.
            if (stopping_) work_cv_.notify_all();
            // Results that failed on storage are tried again after a pause.
            for (Finished& f : done)
                finished_.push_back(std::move(f));
            // A full batch suggests a backlog: pull again as soon as a thread is idle instead
            // of waiting an interval per batch.
            backlog_ = batch > 0 && !failed && got >= batch;
            if (backlog_ && !stopping_) {
                check_first = false;
                continue;
            }
        }
        if (failed) {
            pull_cv_.wait_until(lock, detail::deadline_after(config_.pull_interval),
                                [this] { return stopping_ && handlers_alive_ == 0; });
        } else if (stopping_) {
            pull_cv_.wait(lock, [this] { return !finished_.empty() || handlers_alive_ == 0; });
        } else {
            pull_cv_.wait_until(lock, detail::deadline_after(config_.pull_interval), [this] {
                return stopping_ || !finished_.empty() ||
                       ((backlog_ || pushed_) && busy_ < config_.concurrency);
            });
        }
        check_first = !backlog_ && !pushed_ && finished_.empty();
    }
}

// ---- lease keeper --------------------------------------------------------------------------

void Worker::Impl::keeper_main() noexcept {
    std::unique_lock lock(mutex_);
    try {
        keeper_loop(lock);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        for (Slot& slot : slots_)
            slot.extending = false;
        log(LogLevel::Error, "internal error in the lease keeper; leases are no longer extended");
    }
    --alive_;
    state_cv_.notify_all();
}

// Extends every running job's lease each extend_every_, one job at a time. It outlives the
// handler threads, so a handler that is slow to honour stop() keeps its lease.
void Worker::Impl::keeper_loop(std::unique_lock<std::mutex>& lock) {
    while (!(stopping_ && handlers_alive_ == 0)) {
        const auto now = SteadyClock::now();
        Slot* due = nullptr;
        auto next = SteadyClock::time_point::max();
        for (Slot& slot : slots_) {
            if (!slot.active || slot.settling || slot.extending || slot.lost) continue;
            if (slot.next_extension <= now) {
                due = &slot;
                break;
            }
            next = std::min(next, slot.next_extension);
        }
        if (due == nullptr) {
            // With nothing to watch, look again after one extension period: a job that
            // starts meanwhile is not due before then.
            keeper_wakeup_ = next == SteadyClock::time_point::max() ? now + extend_every_ : next;
            keeper_cv_.wait_until(lock, keeper_wakeup_);
            continue;
        }
        due->extending = true;
        Job lease = due->lease;
        lock.unlock();
        const auto started = SteadyClock::now();
        const Extension extension = extend(lease);
        lock.lock();
        due->extending = false;
        std::stop_source lost{std::nostopstate};
        switch (extension) {
        case Extension::Extended:
            due->lease = std::move(lease);
            due->next_extension = started + extend_every_;
            break;
        case Extension::Lost:
            due->lost = true;
            lost = due->stop;
            break;
        case Extension::Failed: due->next_extension = SteadyClock::now() + extend_retry_; break;
        }
        state_cv_.notify_all();
        if (lost.stop_possible()) {
            lock.unlock();
            lost.request_stop(); // runs the handler's stop callbacks: not under our lock
            lock.lock();
        }
    }
}

Worker::Impl::Extension Worker::Impl::extend(Job& lease) noexcept {
    try {
        puller_.extend_lock(lease, config_.lock_timeout);
        return Extension::Extended;
    } catch (const LockLost& e) {
        log(LogLevel::Warning, "job ", lease.id.to_string(), ": lease lost (", e.what(),
            "); requesting its handler's stop");
        return Extension::Lost;
    } catch (const JobLost& e) {
        log(LogLevel::Warning, "job ", lease.id.to_string(), ": lease lost (", e.what(),
            "); requesting its handler's stop");
        return Extension::Lost;
    } catch (const std::exception& e) {
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease: ", e.what(),
            "; retrying in ", extend_retry_);
    } catch (...) {
        log(LogLevel::Error, "job ", lease.id.to_string(), ": cannot extend its lease; ",
            "retrying in ", extend_retry_);
    }
    return Extension::Failed;
}

// ---- handler threads -----------------------------------------------------------------------

void Worker::Impl::handler_main(std::size_t index) noexcept {
    std::unique_lock lock(mutex_);
    Slot& slot = slots_[index];
    try {
        handler_loop(lock, slot);
    } catch (...) {
        if (!lock.owns_lock()) lock.lock();
        if (slot.active) {
            slot.active = false;
            --busy_;
        }
        log(LogLevel::Error, "internal error in a handler thread; it exits, and its job runs "
                             "again once its lease expires");
    }
    --handlers_alive_;
    --alive_;
    keeper_cv_.notify_all();
    pull_cv_.notify_all();
    state_cv_.notify_all();
}

void Worker::Impl::handler_loop(std::unique_lock<std::mutex>& lock, Slot& slot) {
    while (true) {
        // Pulled jobs are always started, even after stop(): they were leased for this thread.
        work_cv_.wait(lock, [this] { return !ready_.empty() || (stopping_ && !pulling_); });
        if (ready_.empty()) return;
        Pulled pulled = std::move(ready_.front());
        ready_.pop_front();
        slot.lease = lease_of(pulled.job);
        slot.stop = std::stop_source();
        if (stopping_) slot.stop.request_stop();
        slot.next_extension = pulled.leased_at + extend_every_;
        slot.settling = false;
        slot.lost = false;
        slot.active = true;
        const std::stop_token token = slot.stop.get_token();
        if (slot.next_extension < keeper_wakeup_) keeper_cv_.notify_all();
        lock.unlock();

        const Result result = run(pulled.job, token);

        lock.lock();
        slot.settling = true;
        state_cv_.wait(lock, [&slot] { return !slot.extending; });
        const bool lost = slot.lost;
        pulled.job.status = slot.lease.status;
        pulled.job.locked_until = slot.lease.locked_until;
        pulled.job.updated_at = slot.lease.updated_at;
        lock.unlock();

        auto outcome = decide(std::move(pulled.job), result, lost);

        lock.lock();
        if (outcome) finished_.push_back(std::move(*outcome));
        // The thread is free now; its job stays leased to us until the pull loop stores the
        // result, so nobody else can take it meanwhile.
        slot.active = false;
        --busy_;
        pull_cv_.notify_all();
    }
}

Worker::Impl::Result Worker::Impl::run(const Job& job, std::stop_token stop) const {
    try {
        handler_(job, std::move(stop));
        return {Outcome::Success, {}};
    } catch (const Kill& e) {
        return {Outcome::Kill, e.what()};
    } catch (const std::exception& e) {
        return {Outcome::Failure, e.what()};
    } catch (...) {
        return {Outcome::Failure, "an exception not derived from std::exception"};
    }
}

// Turns a handler's result into the transition to store (complete, requeue or kill), or
// nothing when the lease was lost meanwhile.
std::optional<Worker::Impl::Finished> Worker::Impl::decide(Job job, const Result& result,
                                                           bool lost) const {
    if (lost) {
        log(LogLevel::Warning, "job ", job.id.to_string(), ": its lease was lost while the ",
            "handler ran; the result is dropped");
        return std::nullopt;
    }
    Finished out{std::move(job), gqs::Action::Complete, {}, 0};
    const std::string id = out.job.id.to_string();
    switch (result.outcome) {
    case Outcome::Success: break;
    case Outcome::Kill:
        out.action = gqs::Action::Kill;
        log(LogLevel::Warning, "job ", id, ": killed by its handler on attempt ", out.job.attempts,
            ": ", result.error);
        break;
    case Outcome::Failure:
        if (retries_spent(config_.backoff, out.job.attempts)) {
            out.action = gqs::Action::Kill;
            log(LogLevel::Warning, "job ", id, ": attempt ", out.job.attempts,
                " failed: ", result.error, "; no retries left, so it is dead");
        } else {
            out.action = gqs::Action::Requeue;
            out.backoff = backoff_interval(config_.backoff, out.job.attempts);
            log(LogLevel::Warning, "job ", id, ": attempt ", out.job.attempts,
                " failed: ", result.error, "; retrying in ", out.backoff);
        }
        break;
    }
    return out;
}

// The only place that looks at stored results. Keeps in `done` the ones to try again (a
// storage error, fewer than settle_tries tries); returns whether any failed on storage.
bool Worker::Impl::finish(std::vector<Finished>& done,
                          const std::vector<std::exception_ptr>& results) {
    std::vector<Finished> again;
    for (std::size_t i = 0; i < done.size(); ++i) {
        if (i >= results.size() || !results[i]) continue;
        Finished& f = done[i];
        const std::string id = f.job.id.to_string();
        const char* verb = f.action == gqs::Action::Complete  ? "complete"
                           : f.action == gqs::Action::Requeue ? "requeue"
                                                              : "kill";
        try {
            std::rethrow_exception(results[i]);
        } catch (const CompleteFailed& e) {
            log(LogLevel::Warning, "job ", id, ": lease lost before it could ", verb, " (",
                e.what(), "); leaving it to its new holder");
            continue;
        } catch (const JobLost& e) {
            log(LogLevel::Warning, "job ", id, ": lease lost before it could ", verb, " (",
                e.what(), "); leaving it to its new holder");
            continue;
        } catch (const LockLost& e) {
            log(LogLevel::Warning, "job ", id, ": lease lost before it could ", verb, " (",
                e.what(), "); leaving it to its new holder");
            continue;
        } catch (const std::exception& e) {
            log(LogLevel::Error, "job ", id, ": cannot ", verb, " (try ", f.tries + 1, " of ",
                settle_tries, "): ", e.what());
        } catch (...) {
            log(LogLevel::Error, "job ", id, ": cannot ", verb, " (try ", f.tries + 1, " of ",
                settle_tries, ")");
        }
        if (++f.tries < settle_tries) {
            again.push_back(std::move(f));
        } else {
            log(LogLevel::Error, "job ", id,
                ": left Processing; it runs again once its lease expires");
        }
    }
    const bool failed = !again.empty();
    done = std::move(again);
    return failed;
}

// ---- Worker --------------------------------------------------------------------------------

Worker::Worker(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(puller, std::move(handler), config, std::move(logger))) {}

Worker::~Worker() { impl_->shutdown(); }

void Worker::start() { impl_->start(); }

void Worker::stop(Duration timeout) { impl_->stop(timeout); }

} // namespace gqs
