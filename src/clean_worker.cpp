// SPDX-License-Identifier: Apache-2.0
// CleanWorker's background thread: one clean at start, then one per interval.
#include <gqs/clean_worker.hpp>

#include <gqs/errors.hpp>

#include "detail/background.hpp"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

namespace gqs {

void validate(const CleanConfig& config) {
    if (config.status != Status::Done && config.status != Status::Dead &&
        config.status != Status::Unknown) {
        throw std::invalid_argument(
            "gqs::CleanConfig: status must be Done, Dead or Unknown (both)");
    }
    if (config.interval <= Duration::zero())
        throw std::invalid_argument("gqs::CleanConfig: interval must be > 0");
    if (config.delta < Duration::zero())
        throw std::invalid_argument("gqs::CleanConfig: delta must be >= 0");
}

namespace {

// now - delta, or the epoch when delta reaches back past it (nothing is that old).
TimePoint cutoff(Duration delta) {
    const auto now = std::chrono::system_clock::now();
    if (delta >= std::chrono::duration_cast<Duration>(now.time_since_epoch())) return {};
    return now - delta;
}

} // namespace

class CleanWorker::Impl {
public:
    Impl(Cleaner& cleaner, CleanConfig config, Logger logger)
        : cleaner_(cleaner), config_(config),
          logger_(logger ? std::move(logger) : Logger(default_logger)) {
        validate(config_);
    }
    void start();
    void stop(Duration timeout);
    void shutdown() noexcept;

private:
    void main() noexcept;
    void clean_once() noexcept;

    Cleaner& cleaner_;
    const CleanConfig config_;
    const Logger logger_;

    std::mutex lifecycle_; // serialises start, stop and shutdown; guards the two below
    bool running_ = false;
    std::jthread thread_;

    std::mutex mutex_; // guards the two below
    std::condition_variable cv_;
    bool stopping_ = false;
    bool alive_ = false; // the thread has not returned yet
};

void CleanWorker::Impl::start() {
    std::lock_guard life(lifecycle_);
    if (running_) throw DoubleStarted("gqs::CleanWorker::start: already running");
    {
        std::lock_guard lock(mutex_);
        if (alive_) {
            throw DoubleStarted("gqs::CleanWorker::start: the clean of the previous run is "
                                "still under way (its stop() timed out)");
        }
        stopping_ = false;
        alive_ = true;
    }
    if (thread_.joinable()) thread_.join(); // a timed-out run's thread, returned by now
    try {
        thread_ = std::jthread([this] { main(); });
    } catch (...) {
        std::lock_guard lock(mutex_);
        alive_ = false;
        throw;
    }
    running_ = true;
}

void CleanWorker::Impl::stop(Duration timeout) {
    std::lock_guard life(lifecycle_);
    // Not running but the thread not joined: an earlier stop() timed out; wait again.
    if (!running_ && !thread_.joinable())
        throw DoubleStopped("gqs::CleanWorker::stop: not running");
    running_ = false;
    bool finished = false;
    {
        std::unique_lock lock(mutex_);
        stopping_ = true;
        cv_.notify_all();
        finished =
            cv_.wait_until(lock, detail::deadline_after(timeout), [this] { return !alive_; });
    }
    if (!finished) {
        throw StopTimeout("gqs::CleanWorker::stop: a clean still under way after " +
                          std::to_string(timeout.count()) + " ms; it finishes in the background");
    }
    thread_.join();
}

void CleanWorker::Impl::shutdown() noexcept {
    try {
        std::lock_guard life(lifecycle_);
        if (running_) {
            running_ = false;
            std::lock_guard lock(mutex_);
            stopping_ = true;
            cv_.notify_all();
        }
        if (thread_.joinable()) thread_.join();
    } catch (...) {
        // Only a failure to lock or join gets here; the jthread still joins when destroyed.
    }
}

void CleanWorker::Impl::main() noexcept {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        lock.unlock();
        clean_once();
        lock.lock();
        cv_.wait_until(lock, detail::deadline_after(config_.interval),
                       [this] { return stopping_; });
    }
    alive_ = false;
    cv_.notify_all();
}

void CleanWorker::Impl::clean_once() noexcept {
    const std::string_view what =
        config_.status == Status::Unknown ? "done and dead" : to_string(config_.status);
    try {
        std::optional<TimePoint> before;
        if (config_.before) before = cutoff(config_.delta);
        const std::int64_t deleted = cleaner_.clean(config_.status, before);
        detail::log(logger_, deleted > 0 ? LogLevel::Info : LogLevel::Debug, "clean: deleted ",
                    deleted, " ", what, " jobs");
    } catch (const std::exception& e) {
        detail::log(logger_, LogLevel::Error, "clean of ", what, " jobs failed: ", e.what(),
                    "; retrying in ", config_.interval);
    } catch (...) {
        detail::log(logger_, LogLevel::Error, "clean of ", what, " jobs failed; retrying in ",
                    config_.interval);
    }
}

CleanWorker::CleanWorker(Cleaner& cleaner, CleanConfig config, Logger logger)
    : impl_(std::make_unique<Impl>(cleaner, config, std::move(logger))) {}

CleanWorker::~CleanWorker() { impl_->shutdown(); }

void CleanWorker::start() { impl_->start(); }

void CleanWorker::stop(Duration timeout) { impl_->stop(timeout); }

} // namespace gqs
