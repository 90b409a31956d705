// SPDX-License-Identifier: Apache-2.0
// CleanWorker's background thread: one clean at start, then one per interval.
#include <gqs/clean_worker.hpp>

#include <gqs/errors.hpp>

#include "worker/background.hpp"
#include "worker/lifecycle.hpp"

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
    if (config.status && *config.status != Status::Done && *config.status != Status::Dead) {
        throw std::invalid_argument(
            "gqs::CleanConfig: status must be Done, Dead or std::nullopt (both)");
    }
    if (config.interval <= Duration::zero())
        throw std::invalid_argument("gqs::CleanConfig: interval must be > 0");
    if (config.older_than && *config.older_than < Duration::zero())
        throw std::invalid_argument("gqs::CleanConfig: older_than must be >= 0");
}

namespace {

// now - age, or the epoch when age reaches back past it (nothing is that old).
TimePoint cutoff(Duration age) {
    const auto now = std::chrono::system_clock::now();
    if (age >= std::chrono::duration_cast<Duration>(now.time_since_epoch())) return {};
    return now - age;
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

    void request_stop();

    std::mutex mutex_; // guards stopping_
    std::condition_variable cv_;
    bool stopping_ = false;
    // Last: its shutdown joins the thread before anything above goes.
    detail::Lifecycle lifecycle_{"gqs::CleanWorker", "a clean"};
};

void CleanWorker::Impl::start() {
    lifecycle_.start(
        [this] {
            {
                std::lock_guard lock(mutex_);
                stopping_ = false;
            }
            lifecycle_.spawn([this] { main(); });
        },
        [this] { request_stop(); });
}

void CleanWorker::Impl::request_stop() {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    cv_.notify_all();
}

void CleanWorker::Impl::stop(Duration timeout) {
    lifecycle_.stop(timeout, [this] { request_stop(); });
}

void CleanWorker::Impl::shutdown() noexcept {
    lifecycle_.shutdown([this] { request_stop(); });
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
}

void CleanWorker::Impl::clean_once() noexcept {
    const std::string_view what = config_.status ? to_string(*config_.status) : "done and dead";
    try {
        std::optional<TimePoint> before;
        if (config_.older_than) before = cutoff(*config_.older_than);
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
