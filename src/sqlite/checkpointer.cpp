// SPDX-License-Identifier: Apache-2.0
// Checkpointer: the WAL is copied into the database off the committing callers' path.
#include "checkpointer.hpp"

#include "connection_impl.hpp"

#include <utility>

namespace gqs::sqlite::detail {

namespace {

// A commit checkpoints inline once the WAL is this many times the threshold: the thread is
// then far behind (starved of CPU, or failing), and the WAL must not grow without bound.
constexpr int inline_factor = 8;

// Checkpoints in a row, each copying what the previous one left, before the thread waits for
// the next call: a writer faster than the checkpoints must not keep it busy for ever.
constexpr int max_rounds = 8;

} // namespace

Checkpointer::Checkpointer(sqlite3* main, const std::filesystem::path& path, std::string vfs,
                           int busy_timeout_ms, int pages)
    : main_(main), path_(path), vfs_(std::move(vfs)), busy_timeout_ms_(busy_timeout_ms),
      pages_(pages), next_signal_at_(pages) {
    // A connection of its own: a checkpoint on `main` would have to take the Connection's
    // lock and wait behind (or hold up) every push and pull. Tried once here, so a file the
    // thread could never open leaves SQLite's own checkpoints in place.
    int rc = SQLITE_OK;
    sqlite3* own = open_own(rc);
    if (own == nullptr) throw_error(nullptr, rc, "opening " + path.string() + " for checkpoints");
    sqlite3_close(own);
    thread_ = std::thread([this] { run(); });
    // Replaces SQLite's automatic checkpoint, which is itself a WAL hook.
    sqlite3_wal_hook(main_, &Checkpointer::on_commit, this);
}

sqlite3* Checkpointer::open_own(int& rc) const noexcept {
    sqlite3* own = nullptr;
    rc = sqlite3_open_v2(path_.c_str(), &own, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                         vfs_.empty() ? nullptr : vfs_.c_str());
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(own, busy_timeout_ms_);
        // A handle finds out that the file is in WAL mode (and opens the WAL) on its first
        // read; until then a checkpoint through it does nothing.
        rc = sqlite3_exec(own, "SELECT count(*) FROM sqlite_schema", nullptr, nullptr, nullptr);
    }
    if (rc == SQLITE_OK) return own;
    sqlite3_close(own);
    return nullptr;
}

void Checkpointer::pause() {
    std::unique_lock lock(mutex_);
    paused_ = true;
    cv_.wait(lock, [this] { return !running_; });
}

void Checkpointer::resume() {
    {
        std::lock_guard lock(mutex_);
        paused_ = false;
    }
    cv_.notify_all();
}

Checkpointer::~Checkpointer() {
    sqlite3_wal_autocheckpoint(main_, pages_); // back to SQLite's own, for the final commits
    {
        std::lock_guard lock(mutex_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

int Checkpointer::on_commit(void* self, sqlite3* db, const char* name, int pages) noexcept {
    auto& c = *static_cast<Checkpointer*>(self);
    if (pages < c.last_pages_) c.next_signal_at_ = c.pages_; // the WAL started over
    c.last_pages_ = pages;
    if (pages >= c.pages_ * inline_factor) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        c.next_signal_at_ = pages + c.pages_;
        return SQLITE_OK;
    }
    // Once per `pages_` new frames at most: a WAL that cannot be copied completely (another
    // process reads an old snapshot) must not set off a checkpoint per commit.
    if (pages >= c.next_signal_at_ && !c.signalled_.exchange(true)) {
        c.next_signal_at_ = pages + c.pages_;
        {
            std::lock_guard lock(c.mutex_);
            c.due_ = true;
        }
        c.cv_.notify_one();
    }
    return SQLITE_OK; // the commit has happened whatever we do; never report an error
}

void Checkpointer::run() noexcept {
    std::unique_lock lock(mutex_);
    while (true) {
        cv_.wait(lock, [this] { return (due_ && !paused_) || stop_; });
        if (stop_) return;
        due_ = false;
        running_ = true;
        lock.unlock();
        checkpoint();
        signalled_.store(false);
        lock.lock();
        running_ = false;
        cv_.notify_all(); // pause() may be waiting
    }
}

void Checkpointer::checkpoint() noexcept {
    int rc = SQLITE_OK;
    sqlite3* own = open_own(rc);
    if (own == nullptr) return; // a later commit asks again
    // A writer starts the WAL over (instead of growing it) only if every frame is in the
    // database when it begins. Frames committed while a checkpoint runs are left for the
    // next one, so repeat until one finds nothing new: each round copies only what the
    // previous one left, and the last finds the WAL complete. Errors (SQLITE_BUSY while
    // another connection checkpoints, a full disk) leave the WAL as it is; a later commit
    // asks again.
    int previous = -1;
    for (int round = 0; round < max_rounds; ++round) {
        int log = 0;
        int copied = 0;
        rc = sqlite3_wal_checkpoint_v2(own, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
        if (rc != SQLITE_OK || log <= 0 || copied != log || log == previous) break;
        previous = log;
    }
    sqlite3_close(own);
}

} // namespace gqs::sqlite::detail
