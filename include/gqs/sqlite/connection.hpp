// SPDX-License-Identifier: Apache-2.0
// One SQLite database handle, shared by the backend's Pusher, Puller, Observer and Cleaner.
#pragma once

#include <gqs/time.hpp>

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>

namespace gqs::sqlite {

/// SQLite's `PRAGMA synchronous` levels: what a commit waits for. See README "Guarantees".
enum class Synchronous : std::uint8_t { Off = 0, Normal = 1, Full = 2, Extra = 3 };

/// How Connection::open sets up the database. The defaults are the recommended settings.
struct Options {
    /// How long an operation waits for another connection's lock before failing with
    /// StorageError (SQLITE_BUSY).
    Duration busy_timeout{5000};
    /// Write-ahead logging: readers never block the writer. Off keeps the file's mode.
    bool wal = true;
    /// NORMAL in WAL mode: a commit survives a process crash; a power loss may lose the last
    /// commits but never corrupts. FULL: every commit survives power loss too, slower.
    Synchronous synchronous = Synchronous::Normal;
    /// Open without write access: every write fails with StorageError (SQLITE_READONLY).
    bool read_only = false;
    /// Create the file if it does not exist (ignored when read_only).
    bool create = true;
    /// In WAL mode, copy the WAL into the database (a checkpoint) on a background thread of
    /// this Connection, with a handle of its own, instead of inside whichever commit crosses
    /// SQLite's 1,000-page threshold: no push or pull then waits milliseconds for it. Off:
    /// SQLite's automatic checkpoints, on the committing thread.
    bool background_checkpoint = true;
    /// The clock gqs stamps job times with and compares them against (leases, delays,
    /// backoffs); empty: std::chrono::system_clock. Meant for tests: a clock the test moves
    /// makes leases run out and backoffs pass without waiting. Called with the Connection's
    /// lock held, so it must be quick and must not use the Connection; every Connection to
    /// one file should tell the same time.
    std::function<TimePoint()> clock;
};

namespace detail {
struct Access;
} // namespace detail

/// Owns a SQLite::Database, the statements prepared on it, and the mutex that serialises
/// their use. Thread-safety: every gqs operation on a Connection is safe from any thread.
/// Several Connections, in one process or several, may share one file.
/// Neither copyable nor movable; share it through std::shared_ptr.
class Connection {
public:
    /// Opens (or creates) the database at `path` and applies `options`.
    /// Throws StorageError when the file cannot be opened or is not a SQLite database.
    [[nodiscard]] static std::shared_ptr<Connection> open(const std::filesystem::path& path,
                                                          const Options& options = {});

    /// Adopts a database the caller opened and configured (pragmas are left as they are).
    explicit Connection(SQLite::Database&& database);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) = delete;
    Connection& operator=(Connection&&) = delete;

    /// The underlying database, for the caller's own queries. Thread-safety: the caller's
    /// care; gqs's own operations do not lock around what the caller does with it.
    [[nodiscard]] SQLite::Database& database() noexcept;

private:
    friend struct detail::Access;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::sqlite
