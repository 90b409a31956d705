// SPDX-License-Identifier: Apache-2.0
// Worker: its configuration, start and stop. Its threads: `concurrency` handler threads, which
// also lease the jobs and store the results (handlers.cpp), and one lease keeper, which also
// stores results that would otherwise wait (lease_keeper.cpp).
#include "worker/worker_impl.hpp"

#include <gqs/errors.hpp>

#include "backend/codec.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace gqs {

void validate(const WorkerConfig& config) {
    if (config.concurrency <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: concurrency must be > 0");
    if (config.prefetch < 0 && config.prefetch != WorkerConfig::adaptive)
        throw std::invalid_argument(
            "gqs::WorkerConfig: prefetch must be >= 0 or WorkerConfig::adaptive");
    if (config.batch_size <= 0)
        throw std::invalid_argument("gqs::WorkerConfig: batch_size must be > 0");
    if (config.pull_interval <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: pull_interval must be > 0");
    if (config.lock_timeout <= Duration::zero())
        throw std::invalid_argument("gqs::WorkerConfig: lock_timeout must be > 0");
    validate(config.backoff);
    detail::check_queues(config.queues);
}

using detail::group_delay;
using detail::SteadyClock;

Worker::Impl::Impl(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : puller_(puller), handler_(std::move(handler)), config_(config),
      logger_(logger ? std::move(logger) : Logger(default_logger)),
      extend_every_(std::max(Duration(1), config.lock_timeout / 2)),
      extend_retry_(std::max(Duration(1), config.lock_timeout / 10)),
      risk_margin_(std::max(Duration(1), config.lock_timeout / 4)),
      pulls_(config, puller.capabilities().cheap_ready_check),
      results_(group_delay, config.pull_interval) {
    if (!handler_) throw std::invalid_argument("gqs::Worker: the handler is empty");
    validate(config_);
    if (config_.schedules) schedules_ = puller_.schedules();
    if (schedules_)
        scheduler_ = std::make_unique<detail::ScheduleLoop>(*schedules_, ScheduleConfig{}, logger_);
}

void Worker::Impl::end_wakeups() noexcept {
    pushes_.reset();
    if (scheduler_) scheduler_->end_wakeups();
}

template <class Body>
void Worker::Impl::launch(Body body, bool handler_thread) {
    if (handler_thread) {
        std::lock_guard lock(mutex_);
        ++handlers_alive_;
    }
    try {
        lifecycle_.spawn(std::move(body));
    } catch (...) {
        if (handler_thread) {
            std::lock_guard lock(mutex_);
            --handlers_alive_;
        }
        throw;
    }
}

void Worker::Impl::start() {
    lifecycle_.start([this] { launch_run(); },
                     [this] {
                         end_wakeups();
                         request_stop();
                     });
    log(LogLevel::Debug, "worker started with ", config_.concurrency, " handler threads");
}

// Called by the lifecycle with no thread of an earlier run alive.
void Worker::Impl::launch_run() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
        cycling_ = false;
        giving_up_ = false;
        storage_failed_ = false;
        at_risk_ = false;
        pulls_.reset(SteadyClock::now()); // the first pull happens at once
        results_.clear();
        leases_.reset(static_cast<std::size_t>(config_.concurrency));
    }
    // Called on the pushing thread; it must not wait on anything that waits for a push.
    pushes_ = puller_.on_push([this] {
        {
            std::lock_guard lock(mutex_);
            pulls_.pushed();
        }
        work_cv_.notify_one();
    });
    // The keeper first: a handler thread may lease a job as soon as it exists.
    launch([this] { keeper_main(); }, false);
    launch([this] { watchdog_main(); }, false);
    for (std::size_t i = 0; i < static_cast<std::size_t>(config_.concurrency); ++i) {
        launch([this, i] { handler_main(i); }, true);
    }
    if (scheduler_) {
        scheduler_->begin();
        launch([this] { scheduler_->run(); }, false);
    }
}

void Worker::Impl::request_stop() {
    std::vector<std::stop_source> running;
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
        running = leases_.running_stops();
    }
    work_cv_.notify_all();
    keeper_cv_.notify_all();
    watchdog_cv_.notify_all();
    state_cv_.notify_all();
    if (scheduler_) scheduler_->request_stop();
    // Outside the lock: request_stop runs the callbacks the handlers registered.
    for (std::stop_source& source : running)
        source.request_stop();
}

void Worker::Impl::stop(Duration timeout) {
    try {
        lifecycle_.stop(timeout, [this, timeout] {
            end_wakeups(); // before request_stop: a callback takes a lock, reset waits for it
            request_stop();
            log(LogLevel::Debug, "worker stopping, waiting up to ", timeout, " for its handlers");
        });
    } catch (const StopTimeout&) {
        give_up_storage();
        throw;
    }
    log(LogLevel::Debug, "worker stopped");
}

// After a stop timed out: a call stuck on a database that does not answer is interrupted,
// and results that cannot be stored are left to run again once their leases expire, so the
// threads can end (handlers still running are waited for: only they can return).
void Worker::Impl::give_up_storage() noexcept {
    bool in_call = false;
    {
        std::lock_guard lock(mutex_);
        giving_up_ = true;
        in_call = cycling_ || leases_.any_extending();
    }
    in_call = in_call || (scheduler_ && scheduler_->in_call());
    if (in_call) {
        log(LogLevel::Warning, "worker stop timed out while waiting for the database; "
                               "interrupting the call and giving up results it cannot store");
        puller_.interrupt();
    }
    work_cv_.notify_all();
    keeper_cv_.notify_all();
    watchdog_cv_.notify_all();
    state_cv_.notify_all();
}

void Worker::Impl::shutdown() noexcept {
    lifecycle_.shutdown([this] {
        end_wakeups();
        request_stop();
    });
}

// ---- Worker --------------------------------------------------------------------------------

Worker::Worker(Puller& puller, Handler handler, WorkerConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(puller, std::move(handler), config, std::move(logger))) {}

Worker::~Worker() { impl_->shutdown(); }

void Worker::start() { impl_->start(); }

void Worker::stop(Duration timeout) { impl_->stop(timeout); }

} // namespace gqs
