// SPDX-License-Identifier: Apache-2.0
// One SQLite database handle, shared by the backend's Pusher, Puller, Observer and Cleaner.
#pragma once

#include <gqs/time.hpp>

#include <SQLiteCpp/Database.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

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
    /// The name of a registered SQLite VFS (sqlite3_vfs_register) every handle gqs opens on
    /// the file goes through (an encrypting or test VFS); empty: SQLite's default VFS.
    std::string vfs;
};

namespace detail {
struct Access;
} // namespace detail

class Connection;

/// A write transaction (BEGIN IMMEDIATE) on a Connection, holding the Connection's lock: the
/// app's own statements (database()) and gqs pushes (Pusher::push(tx, ...)) commit or roll
/// back together. Workers and every other gqs operation on the same Connection wait until it
/// ends, so keep it short or give it a Connection of its own. Jobs pushed in it wake this
/// process's workers only after commit(). Destroying it uncommitted rolls back. Move-only;
/// it may end on another thread than the one that began it. The Connection must outlive it.
/// Not thread-safe: one thread at a time.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    /// Rolls back this transaction (if still open) and takes over `other`.
    Transaction& operator=(Transaction&& other) noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    /// Rolls back unless committed or rolled back already.
    ~Transaction();

    /// The handle for the app's statements inside the transaction. They must not end it
    /// (COMMIT/ROLLBACK through it make commit() throw std::logic_error); use savepoints.
    /// Throws std::logic_error once the transaction has ended.
    [[nodiscard]] SQLite::Database& database();
    /// Commits, releases the Connection, then wakes the workers if jobs were pushed. Throws
    /// StorageError if the commit fails or SQLite had already rolled the transaction back
    /// (a push that failed with a full disk or an I/O error): then nothing was committed.
    /// Either way the transaction has ended. std::logic_error if it had ended already.
    void commit();
    /// Rolls back and releases the Connection. std::logic_error if it had ended already.
    void rollback();
    /// Whether it is still open (neither committed nor rolled back).
    [[nodiscard]] bool active() const noexcept { return connection_ != nullptr; }

private:
    friend class Connection;
    friend struct detail::Access;
    explicit Transaction(Connection& connection) noexcept : connection_(&connection) {}
    void end(bool commit);

    Connection* connection_ = nullptr; // null once ended
    bool pushed_ = false;              // a job was stored in it: wake workers on commit
    std::string failed_;               // why SQLite rolled it back, if it did
    int failed_code_ = 0;              // and SQLite's extended result code
};

/// Owns a SQLite::Database, the statements prepared on it, and the lock that serialises
/// their use. Thread-safety: every gqs operation on a Connection is safe from any thread.
/// Several Connections, in one process or several, may share one file.
/// Neither copyable nor movable; share it through std::shared_ptr.
class Connection {
public:
    /// Opens (or creates) the database at `path` and applies `options`, and keeps SQLite's
    /// temporary tables and indices in memory (`PRAGMA temp_store=MEMORY`: gqs's hold a batch
    /// of rows; set it back through with_database for big sorts of your own).
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

    /// Begins a write transaction (BEGIN IMMEDIATE), waiting for the Connection's lock and
    /// then for SQLite's write lock (busy_timeout). Throws StorageError if SQLite cannot
    /// begin it, std::logic_error if this thread already has a Transaction open on it.
    [[nodiscard]] Transaction begin();

    /// Runs `fn(SQLite::Database&)` with the Connection's lock held and background
    /// checkpoints paused, and returns what it returns: the app's statements never
    /// interleave with gqs's, and exclusive operations (VACUUM, `PRAGMA journal_mode`,
    /// `wal_checkpoint(TRUNCATE)`, an online backup) work. Waits like every gqs operation;
    /// std::logic_error if this thread has a Transaction open. `fn` must end any transaction
    /// it begins: one left open is rolled back and std::logic_error thrown. Exceptions from
    /// `fn` pass through.
    template <class Fn>
    decltype(auto) with_database(Fn&& fn) {
        Exclusive exclusive(*this);
        if constexpr (std::is_void_v<std::invoke_result_t<Fn&&, SQLite::Database&>>) {
            std::invoke(std::forward<Fn>(fn), exclusive.database());
            exclusive.finish();
        } else {
            decltype(auto) result = std::invoke(std::forward<Fn>(fn), exclusive.database());
            exclusive.finish();
            return result;
        }
    }

private:
    friend struct detail::Access;
    friend class Transaction;
    // with_database's lock: the Connection's lock, checkpoints paused.
    class Exclusive {
    public:
        explicit Exclusive(Connection& connection);
        ~Exclusive();
        Exclusive(const Exclusive&) = delete;
        Exclusive& operator=(const Exclusive&) = delete;
        SQLite::Database& database() noexcept;
        // Checks that `fn` left no transaction open (rolls it back and throws if it did).
        void finish();

    private:
        Connection& connection_;
    };
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::sqlite
