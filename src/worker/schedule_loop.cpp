// SPDX-License-Identifier: Apache-2.0
// The scheduler thread's loop, and ScheduleWorker around it.
#include "worker/schedule_loop.hpp"

#include <gqs/errors.hpp>

#include "worker/lifecycle.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <utility>

namespace gqs {

void validate(const ScheduleConfig& config) {
    if (config.recheck <= Duration::zero())
        throw std::invalid_argument("gqs::ScheduleConfig: recheck must be > 0");
}

namespace detail {

ScheduleLoop::ScheduleLoop(Schedules& schedules, ScheduleConfig config, const Logger& logger)
    : schedules_(schedules), config_(config), logger_(logger) {
    validate(config_);
}

void ScheduleLoop::begin() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
        woken_ = false;
    }
    failing_ = false;
    changes_ = schedules_.on_change([this] { wake(); });
}

void ScheduleLoop::end_wakeups() noexcept { changes_.reset(); }

void ScheduleLoop::wake() noexcept {
    {
        std::lock_guard lock(mutex_);
        woken_ = true;
    }
    cv_.notify_one();
}

void ScheduleLoop::request_stop() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    cv_.notify_one();
}

void ScheduleLoop::run() noexcept {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        woken_ = false;
        lock.unlock();
        const auto looked = SteadyClock::now();
        const Duration sleep = look();
        lock.lock();
        const auto deadline = deadline_after(sleep);
        cv_.wait_until(lock, deadline, [this] { return stopping_ || woken_; });
        // Woken early, perhaps by a push: not more than one read per min_gap.
        if (woken_ && !stopping_)
            cv_.wait_until(lock, std::min(deadline, looked + min_gap),
                           [this] { return stopping_; });
    }
}

Duration ScheduleLoop::look() noexcept {
    struct InCall {
        std::atomic<bool>& flag;
        explicit InCall(std::atomic<bool>& f) : flag(f) { flag.store(true); }
        ~InCall() { flag = false; }
        InCall(const InCall&) = delete;
        InCall& operator=(const InCall&) = delete;
    } in_call(in_call_);
    try {
        auto due = schedules_.next_due_in();
        // A tick advances every due schedule past the time it read, so this ends; the bound
        // only keeps a backend whose clock disagrees with itself from holding the thread.
        for (int ticks = 0; due && *due <= Duration::zero() && ticks < 3; ++ticks) {
            const int pushed = schedules_.tick();
            if (pushed > 0) log(logger_, LogLevel::Debug, "schedules: pushed ", pushed, " jobs");
            due = schedules_.next_due_in();
        }
        if (std::exchange(failing_, false))
            log(logger_, LogLevel::Info, "schedules: ticking again");
        if (!due) return config_.recheck;
        return std::clamp(*due, Duration{1}, config_.recheck);
    } catch (const std::exception& e) {
        log(logger_, failing_ ? LogLevel::Debug : LogLevel::Error,
            "schedules: tick failed: ", e.what(), "; retrying in ", config_.recheck);
    } catch (...) {
        log(logger_, failing_ ? LogLevel::Debug : LogLevel::Error,
            "schedules: tick failed; retrying in ", config_.recheck);
    }
    failing_ = true;
    return config_.recheck;
}

} // namespace detail

class ScheduleWorker::Impl {
public:
    Impl(Schedules& schedules, ScheduleConfig config, Logger logger)
        : logger_(logger ? std::move(logger) : Logger(default_logger)),
          loop_(schedules, config, logger_) {}

    void start() {
        lifecycle_.start(
            [this] {
                loop_.begin();
                lifecycle_.spawn([this] { loop_.run(); });
            },
            [this] { halt(); });
    }
    void stop(Duration timeout) {
        lifecycle_.stop(timeout, [this] { halt(); });
    }
    void shutdown() noexcept {
        lifecycle_.shutdown([this] { halt(); });
    }

private:
    void halt() noexcept {
        loop_.end_wakeups();
        loop_.request_stop();
    }

    const Logger logger_;
    detail::ScheduleLoop loop_;
    // Last: its shutdown joins the thread before anything above goes.
    detail::Lifecycle lifecycle_{"gqs::ScheduleWorker", "a tick"};
};

ScheduleWorker::ScheduleWorker(Schedules& schedules, ScheduleConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(schedules, config, std::move(logger))) {}

ScheduleWorker::~ScheduleWorker() { impl_->shutdown(); }

void ScheduleWorker::start() { impl_->start(); }

void ScheduleWorker::stop(Duration timeout) { impl_->stop(timeout); }

} // namespace gqs
