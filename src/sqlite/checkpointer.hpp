// SPDX-License-Identifier: Apache-2.0
// Private to the SQLite backend: WAL checkpoints on a thread of their own.
#pragma once

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

namespace gqs::sqlite::detail {

/// Takes over the WAL checkpoints of one connection (`main`): SQLite's automatic checkpoint
/// runs inside the commit that crosses its threshold, so one caller in ~1,000 pages of WAL
/// pays for copying the WAL into the database and syncing it (milliseconds). Here a commit
/// that leaves `pages` or more in the WAL only wakes a thread, which checkpoints (PASSIVE,
/// so it never blocks readers or the writer) through a connection of its own, until the WAL
/// is complete in the database and the next write can start it over. Should the thread
/// fall far behind, a commit checkpoints inline as SQLite would, so the
/// WAL stays bounded. The thread's connection is open only while it checkpoints: an idle
/// handle would make exclusive operations on the file (`PRAGMA journal_mode=DELETE`) fail.
/// Construct and destroy while no other thread uses `main`.
class Checkpointer {
public:
    /// Throws StorageError if the checkpoint connection cannot be opened; `main` is then
    /// left with SQLite's own automatic checkpoints.
    /// `vfs`: the VFS its own handle opens the file through (empty: SQLite's default), the
    /// one `main` uses.
    Checkpointer(sqlite3* main, const std::filesystem::path& path, std::string vfs,
                 int busy_timeout_ms, int pages);
    ~Checkpointer();
    Checkpointer(const Checkpointer&) = delete;
    Checkpointer& operator=(const Checkpointer&) = delete;

    /// Waits for a checkpoint under way to finish; none starts until resume(). Caller holds
    /// `main`'s lock, so no commit asks for one meanwhile.
    void pause();
    /// Checkpoints may run again (one asked for while paused runs now).
    void resume();

private:
    static int on_commit(void* self, sqlite3* db, const char* name, int pages) noexcept;
    void run() noexcept;
    // Opens a connection of its own; nullptr (and the error in `rc`) if that fails.
    sqlite3* open_own(int& rc) const noexcept;
    void checkpoint() noexcept;

    sqlite3* main_;
    const std::filesystem::path path_;
    const std::string vfs_;
    const int busy_timeout_ms_;
    const int pages_;
    std::atomic<bool> signalled_{false}; // a wake-up is pending or a checkpoint is under way
    // Used by the commit hook alone, which SQLite runs under the handle's own mutex.
    int last_pages_ = 0;     // the WAL's size at the previous commit
    int next_signal_at_ = 0; // WAL size at which to wake the thread again
    std::mutex mutex_;       // guards the two below
    std::condition_variable cv_;
    bool due_ = false;
    bool stop_ = false;
    bool paused_ = false;
    bool running_ = false; // a checkpoint is under way
    std::thread thread_;
};

} // namespace gqs::sqlite::detail
