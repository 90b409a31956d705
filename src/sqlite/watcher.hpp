// SPDX-License-Identifier: Apache-2.0
// Private to the SQLite backend: noticing jobs that other connections commit.
#pragma once

#include <atomic>
#include <filesystem>
#include <thread>

namespace gqs::sqlite::detail {

struct State;

/// Wakes a Connection's push subscribers (idle workers) when another connection, in this
/// process or another, commits a job that is ready to run. On Linux it waits for inotify to
/// report a write to the database or its `-wal` file, then reads `PRAGMA data_version` on
/// the Connection's handle (without waiting for its lock: a busy handle is tried again
/// shortly) and, when it changed, asks has_ready for every queue: a commit that added no
/// ready job costs a read, never a write. The WAL frames are written before the commit is
/// published in the `-shm` index, so after an event it checks again on a short backoff
/// (10 us doubling to 1 ms, for 10 ms after the last event). Without inotify it checks
/// every 25 ms; with it, once a second as a safety net. It acts only while some Puller of
/// the Connection is hungry (its last pull was not a full batch): busy workers come back by
/// themselves, and their own commits then cost it nothing. If the file is deleted or
/// replaced it stops listening and checks once a second. Construct and destroy without
/// holding the Connection's lock or its subscribers' lock.
class Watcher {
public:
    /// Starts the thread. Throws std::system_error if it cannot.
    Watcher(State& state, std::filesystem::path file);
    ~Watcher();
    Watcher(const Watcher&) = delete;
    Watcher& operator=(const Watcher&) = delete;

    /// A Puller became hungry: act on events again (and check at once).
    void arm() noexcept;

private:
    void run() noexcept;
    void poke() noexcept;
    void close_all() noexcept;

    State& state_;
    std::filesystem::path file_;
    int pipe_[2] = {-1, -1}; // a byte written wakes the thread
    int events_ = -1;        // the inotify descriptor, or -1 without inotify
    int watch_ = -1;         // the watch on the file's directory, or -1 without one
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

} // namespace gqs::sqlite::detail
