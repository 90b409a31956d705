// SPDX-License-Identifier: Apache-2.0
// Private to the backends: the push callbacks of a Connection (Puller::on_push), and the
// wake-up thread that runs while it has any.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <utility>

namespace gqs::detail {

/// The callbacks registered through Puller::on_push. Thread-safety: every member from any
/// thread; notify_all holds the lock while callbacks run, so remove() returns only once a
/// running callback has returned (the Subscription's promise).
class PushCallbacks {
public:
    /// Registers `notify`; returns its id for remove(). Throws std::invalid_argument if empty.
    std::uint64_t add(std::function<void()> notify) {
        if (!notify) throw std::invalid_argument("gqs: on_push: empty callback");
        std::lock_guard guard(mutex_);
        const auto id = next_++;
        callbacks_.emplace(id, std::move(notify));
        return id;
    }
    /// Unregisters; after it returns the callback is not running and never runs again.
    void remove(std::uint64_t id) {
        std::lock_guard guard(mutex_);
        callbacks_.erase(id);
    }
    /// Calls every callback. A callback that throws is ignored: the push has succeeded.
    void notify_all() {
        std::lock_guard guard(mutex_);
        for (auto& [id, notify] : callbacks_) {
            try {
                notify();
            } catch (...) {
                // A callback must not throw; if one does, the push has still succeeded.
            }
        }
    }

private:
    std::mutex mutex_;
    std::uint64_t next_ = 0;
    std::unordered_map<std::uint64_t, std::function<void()>> callbacks_;
};

/// A Connection's push callbacks and its wake-up thread (a listener, a watcher), which runs
/// while there is a callback. Thread-safety: every member from any thread; call none of them
/// holding the Connection's lock (the thread takes it, and is joined here).
template <class Thread>
class PushSubscribers {
public:
    /// Registers `notify` (std::invalid_argument if empty) and returns its id. The first
    /// subscriber starts the thread with make() (a unique_ptr<Thread>, null for none); if
    /// make() throws, no thread runs and the workers' polls find other connections' jobs.
    template <class Make>
    std::uint64_t subscribe(std::function<void()> notify, Make&& make) {
        const auto id = callbacks_.add(std::move(notify));
        std::lock_guard guard(mutex_);
        if (wanted_++ == 0) {
            try {
                thread_ = make();
            } catch (const std::exception&) {
                // No thread: polls only.
            }
        }
        return id;
    }
    /// Unregisters `id` (see PushCallbacks::remove); the last one stops and joins the thread.
    void unsubscribe(std::uint64_t id) {
        callbacks_.remove(id);
        std::lock_guard guard(mutex_);
        if (--wanted_ == 0) thread_.reset();
    }
    /// Calls every callback (see PushCallbacks::notify_all).
    void notify_all() { callbacks_.notify_all(); }
    /// Calls fn(thread) if the thread runs.
    template <class Fn>
    void with_thread(Fn&& fn) {
        std::lock_guard guard(mutex_);
        if (thread_) fn(*thread_);
    }

private:
    PushCallbacks callbacks_;
    // Its own lock: the thread takes the callbacks' lock, and is joined under this one.
    std::mutex mutex_;
    std::unique_ptr<Thread> thread_; // guarded by mutex_
    int wanted_ = 0;                 // subscribers, guarded by mutex_
};

} // namespace gqs::detail
