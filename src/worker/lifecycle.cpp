// SPDX-License-Identifier: Apache-2.0
// Lifecycle: the start/stop rules Worker and CleanWorker share.
#include "lifecycle.hpp"

#include "worker/background.hpp"

#include <gqs/errors.hpp>

#include <stdexcept>
#include <utility>

namespace gqs::detail {

namespace {

// The lifecycle whose thread this is (nullptr on other threads).
thread_local const Lifecycle* own_thread_of = nullptr;

} // namespace

Lifecycle::Lifecycle(std::string who, std::string threads)
    : who_(std::move(who)), threads_what_(std::move(threads)) {}

void Lifecycle::start(const std::function<void()>& launch, const std::function<void()>& abort) {
    std::lock_guard life(lifecycle_);
    if (running_) throw DoubleStarted(who_ + "::start: already running");
    {
        std::lock_guard lock(mutex_);
        if (alive_ > 0) {
            throw DoubleStarted(who_ + "::start: " + threads_what_ +
                                " of the previous run still busy (its stop() timed out); try "
                                "again later");
        }
    }
    threads_.clear(); // a timed-out run's threads, all returned by now
    try {
        launch();
    } catch (...) {
        abort();
        threads_.clear();
        throw;
    }
    running_ = true;
}

void Lifecycle::spawn(std::function<void()> body) {
    {
        std::lock_guard lock(mutex_);
        ++alive_;
    }
    try {
        threads_.emplace_back([this, body = std::move(body)] {
            own_thread_of = this;
            body();
            {
                std::lock_guard lock(mutex_);
                --alive_;
            }
            // stop() joins this thread only after seeing alive_ reach 0, so the lifecycle
            // outlives this call.
            exited_.notify_all();
        });
    } catch (...) {
        std::lock_guard lock(mutex_);
        --alive_;
        throw;
    }
}

void Lifecycle::stop(Duration timeout, const std::function<void()>& request_stop) {
    // Waiting for the run's threads from one of them would wait for itself until the
    // timeout (and hold lifecycle_ meanwhile): refuse before taking any lock.
    if (own_thread_of == this) {
        throw std::logic_error(who_ + "::stop: called from one of its own threads (a " +
                               "handler?), which would wait for itself; stop it from another "
                               "thread");
    }
    std::lock_guard life(lifecycle_);
    if (running_) {
        running_ = false;
        request_stop();
    } else if (threads_.empty()) {
        throw DoubleStopped(who_ + "::stop: not running");
    }
    // Otherwise an earlier stop() timed out and the run is still ending: wait again.
    bool finished = false;
    {
        std::unique_lock lock(mutex_);
        finished =
            exited_.wait_until(lock, deadline_after(timeout), [this] { return alive_ == 0; });
    }
    if (!finished) {
        // The threads keep running; the next start(), stop() or shutdown() joins them.
        throw StopTimeout(who_ + "::stop: " + threads_what_ + " still running after " +
                          std::to_string(timeout.count()) +
                          " ms; it finishes stopping in the background");
    }
    threads_.clear();
}

void Lifecycle::shutdown(const std::function<void()>& request_stop) noexcept {
    try {
        std::lock_guard life(lifecycle_);
        if (running_) {
            running_ = false;
            request_stop();
        }
        threads_.clear();
    } catch (...) {
        // Only a failure to lock or join gets here; the jthreads still join when destroyed.
    }
}

} // namespace gqs::detail
