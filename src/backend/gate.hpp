// SPDX-License-Identifier: Apache-2.0
// Private to the backends: the lock that serialises a Connection's use.
#pragma once

#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace gqs::detail {

/// The Connection's lock. Unlike std::mutex, any thread may release it (a Transaction may end
/// on another thread than the one that began it), and a thread that asks for it while it
/// holds it for an open Transaction gets std::logic_error instead of a deadlock.
class Gate {
public:
    /// Waits until the gate is free, then holds it. Throws std::logic_error if this thread
    /// holds it for a Transaction.
    void lock();
    /// Holds the gate if it is free, without waiting.
    bool try_lock() noexcept;
    /// Frees the gate; any thread may call it.
    void unlock() noexcept;
    /// The holder is a Transaction begun on this thread (`open`), or no longer one.
    void mark_transaction(bool open) noexcept;

private:
    std::mutex mutex_;
    std::condition_variable free_;
    bool held_ = false;
    bool transaction_ = false;
    std::thread::id owner_; // the thread that began the open Transaction
};

inline void Gate::lock() {
    std::unique_lock lock(mutex_);
    if (held_ && transaction_ && owner_ == std::this_thread::get_id())
        throw std::logic_error(
            "gqs: this thread holds this Connection (an open Transaction, or inside "
            "with_database), and the operation would wait for itself for ever; push through the "
            "Transaction (Pusher::push(tx, ...)) or end it first");
    free_.wait(lock, [this] { return !held_; });
    held_ = true;
}

inline bool Gate::try_lock() noexcept {
    std::lock_guard lock(mutex_);
    if (held_) return false;
    held_ = true;
    return true;
}

inline void Gate::unlock() noexcept {
    {
        std::lock_guard lock(mutex_);
        held_ = false;
        transaction_ = false;
    }
    free_.notify_one();
}

inline void Gate::mark_transaction(bool open) noexcept {
    std::lock_guard lock(mutex_);
    transaction_ = open;
    owner_ = open ? std::this_thread::get_id() : std::thread::id();
}

} // namespace gqs::detail
