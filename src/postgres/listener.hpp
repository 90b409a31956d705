// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: hearing jobs that other connections announce.
#pragma once

#include "session.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace gqs::postgres::detail {

struct State;

/// Listens on the schema's channel on a connection of its own, and calls the Connection's
/// push callbacks when a notification from another session arrives; after a reconnect it
/// calls them once, for what it may have missed (the workers' polls cover the gap). Runs
/// while the Connection has push subscribers. Construct and destroy without holding the
/// Connection's lock or its subscribers' lock.
class Listener {
public:
    /// Starts the thread and waits (up to 10 s) for its first LISTEN to succeed or fail, so
    /// that pushes committed once it returns are heard. Throws std::system_error or
    /// std::runtime_error if it cannot start.
    explicit Listener(State& state);
    /// Stops and joins the thread.
    ~Listener();
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

private:
    bool wait(int socket, int timeout_ms);
    Conn listen();
    void first_attempt_done();
    void run();

    State& state_;
    std::string conninfo_;
    std::mutex first_mutex_;
    std::condition_variable first_cv_;
    bool first_done_ = false; // the first LISTEN succeeded or failed
    int wake_[2] = {-1, -1};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace gqs::postgres::detail
