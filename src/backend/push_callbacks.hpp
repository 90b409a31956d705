// SPDX-License-Identifier: Apache-2.0
// Private to the backends: the push callbacks of a Connection (Puller::on_push).
#pragma once

#include <cstdint>
#include <functional>
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

} // namespace gqs::detail
