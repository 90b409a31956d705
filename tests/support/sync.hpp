// SPDX-License-Identifier: Apache-2.0
// Synchronisation for tests with threads: signals, counters and stop tokens waited on with a
// deadline (a guard against hangs, never a speed expectation).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace gqs::test {

/// Deadline of every wait in these tests: a guard against hangs, never a speed expectation.
inline constexpr std::chrono::milliseconds patience = std::chrono::seconds(30);

/// A one-shot signal that threads wait for with a deadline.
class Signal {
public:
    void set() {
        {
            std::lock_guard lock(mutex_);
            set_ = true;
        }
        cv_.notify_all();
    }
    [[nodiscard]] bool is_set() const {
        std::lock_guard lock(mutex_);
        return set_;
    }
    /// Waits until set or `timeout`; returns whether it was set.
    bool wait(std::chrono::milliseconds timeout = patience) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [this] { return set_; });
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    bool set_ = false;
};

/// Waits until `stop` is requested or `timeout` passes; returns whether it was requested.
inline bool wait_for_stop(std::stop_token stop, std::chrono::milliseconds timeout = patience) {
    std::mutex mutex;
    std::condition_variable_any cv;
    std::unique_lock lock(mutex);
    cv.wait_for(lock, stop, timeout, [] { return false; });
    return stop.stop_requested();
}

/// A counter that threads bump and the test waits on.
class Counter {
public:
    int bump() {
        int now = 0;
        {
            std::lock_guard lock(mutex_);
            now = ++value_;
        }
        cv_.notify_all();
        return now;
    }
    [[nodiscard]] int value() const {
        std::lock_guard lock(mutex_);
        return value_;
    }
    /// Waits until the value is at least `target`; returns whether it got there in time.
    bool wait_for(int target, std::chrono::milliseconds timeout = patience) {
        std::unique_lock lock(mutex_);
        return cv_.wait_for(lock, timeout, [&] { return value_ >= target; });
    }

private:
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    int value_ = 0;
};

/// Takes one from `budget` if it is positive; returns whether it did. Thread-safe.
inline bool take_one(std::atomic<int>& budget) {
    int left = budget.load();
    while (left > 0 && !budget.compare_exchange_weak(left, left - 1)) {
    }
    return left > 0;
}

} // namespace gqs::test
