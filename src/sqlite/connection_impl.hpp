// SPDX-License-Identifier: Apache-2.0
// Private to the SQLite backend: the Connection's state, statements and error translation.
#pragma once

#include "backend/gate.hpp"
#include "backend/push_callbacks.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/sqlite/connection.hpp>

#include "backend/codec.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <utility>

namespace gqs::sqlite::detail {

/// The name of a SQLite primary result code ("SQLITE_BUSY"), as users search for it.
[[nodiscard]] const char* code_name(int primary) noexcept;

/// The backend-neutral kind of a SQLite primary result code.
StorageErrorKind kind_of(int primary) noexcept;

/// Throws the StorageError for `rc`, with SQLite's message for `db` and what we were doing.
[[noreturn]] void throw_error(sqlite3* db, int rc, std::string_view doing);

/// A cached prepared statement in use: reset and unbound when the guard goes away, so the
/// statement never holds a read snapshot or a reference to the caller's buffers.
class Stmt {
public:
    Stmt(sqlite3* db, sqlite3_stmt* stmt, std::string_view doing) noexcept
        : db_(db), stmt_(stmt), doing_(doing) {}
    ~Stmt() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;

    void bind(int index, std::int64_t value) { check(sqlite3_bind_int64(stmt_, index, value)); }
    void bind_null(int index) { check(sqlite3_bind_null(stmt_, index)); }
    void bind_double(int index, double value) { check(sqlite3_bind_double(stmt_, index, value)); }
    /// Binds without copying: the bytes must outlive the statement's next reset.
    void bind_blob(int index, const void* data, std::size_t size);
    void bind_text(int index, std::string_view text);

    /// Steps once: true when a row is ready, false when done; throws on error.
    bool step();
    /// Steps a statement whose rows were read to its end; throws on error. A write with
    /// RETURNING commits there in autocommit mode, after its row was read: left to the reset,
    /// a commit that fails (SQLITE_FULL, SQLITE_IOERR) would roll the write back unreported.
    void finish() {
        while (step()) {
        }
    }
    /// Steps to the end of a statement that returns no rows; returns the rows changed.
    int run();

    [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

private:
    void check(int rc) const {
        if (rc != SQLITE_OK) throw_error(db_, rc, doing_);
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    std::string_view doing_;
};

using gqs::detail::Gate;

class Watcher;

/// A Connection's insides. The gate guards db and the statements.
struct State {
    explicit State(SQLite::Database&& database);
    ~State();
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    /// The cached statement for `sql` (a string literal: cached by address), prepared on
    /// first use. Caller holds `mutex`.
    Stmt statement(const char* sql, std::string_view doing);
    /// Runs SQL text without results (transaction control, DDL). Caller holds `mutex`.
    void exec(const char* sql, std::string_view doing);

    /// Registers a push callback; the Subscription keeps `owner` alive until it is reset.
    Subscription subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify);
    /// Calls every push callback. Call after the push committed, without holding `mutex`.
    void notify_push();

    /// A Puller's last pull came back with fewer jobs than it asked for (`hungry`), or a full
    /// batch: the watcher acts only while some Puller is hungry. `puller_flag` is the
    /// Puller's own record of what it last reported.
    void set_hungry(std::atomic<bool>& puller_flag, bool hungry) noexcept;

    /// The time gqs stamps and compares jobs with, in storage's microseconds (Options::clock).
    /// Caller holds `mutex`.
    [[nodiscard]] std::int64_t now() const {
        return clock ? gqs::detail::to_micros(clock()) : gqs::detail::now_micros();
    }

    Gate mutex;
    SQLite::Database db;
    sqlite3* handle;
    std::function<TimePoint()> clock; // empty: the system clock
    std::unordered_map<const char*, sqlite3_stmt*> statements;

    // The push callbacks (they run after the database lock is released, and cancelling one
    // waits for it if it is running: the Subscription promise), and the watcher while there
    // are any: it wakes them when another connection commits jobs.
    gqs::detail::PushSubscribers<Watcher> subscribers;
    std::atomic<int> hungry{0}; // Pullers whose last pull was not a full batch
};

/// Runs `fn` inside BEGIN IMMEDIATE ... COMMIT, rolling back if anything throws.
/// Caller holds the state's mutex.
template <class Fn>
decltype(auto) in_write_transaction(State& state, std::string_view doing, Fn&& fn) {
    // IMMEDIATE takes the write lock up front. A deferred transaction in WAL mode that reads
    // first and upgrades later fails with SQLITE_BUSY without waiting if another connection
    // wrote in between; taking the lock first lets busy_timeout do its job.
    // Cached like every other statement: sqlite3_exec would parse them on every call.
    state.statement("BEGIN IMMEDIATE", doing).run();
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            state.statement("COMMIT", doing).run();
        } else {
            auto result = fn();
            state.statement("COMMIT", doing).run();
            return result;
        }
    } catch (...) {
        // If COMMIT itself failed the transaction may still be open; ROLLBACK is harmless
        // when SQLite already rolled back.
        if (!sqlite3_get_autocommit(state.handle))
            sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

/// What a file holds of gqs's schema, read without changing anything.
struct SchemaFound {
    int version = 0;       ///< 0: no gqs table; 1 also for a file made by gqs 0.1.0
    bool recorded = false; ///< the version is in gqs_schema (0.1.0 files have no such table)
};

/// Reads the file's gqs schema version (in one read snapshot when called outside a
/// transaction). Throws SchemaMismatch for a `jobs` or `gqs_schema` table that is not gqs's.
/// Caller holds the state's mutex.
SchemaFound find_schema(State& state, std::string_view doing);

/// Access to a Connection's state (and a Transaction's) for the backend's classes.
struct Access {
    static State& state(Connection& connection) noexcept;
    /// The state of the Connection `tx` is open on. Throws std::logic_error if it has ended,
    /// std::invalid_argument if it is not open on `expected`.
    static State& state(Transaction& tx, const Connection& expected, const char* who);
    /// Runs `fn` inside `tx` under a savepoint: if it throws, its changes are undone and the
    /// rest of the transaction stays (unless SQLite rolled the whole of it back: then commit()
    /// will throw). Records a stored job (`stored`) for the wake-up after commit.
    template <class Fn>
    static auto in_savepoint(Transaction& tx, State& state, Fn&& fn) {
        state.statement("SAVEPOINT gqs_push", "pushing in a transaction").run();
        try {
            auto result = fn();
            state.statement("RELEASE gqs_push", "pushing in a transaction").run();
            return result;
        } catch (...) {
            undo(tx, state);
            throw;
        }
    }
    /// A push in `tx` stored a job: workers are woken after the commit.
    static void stored(Transaction& tx) noexcept { tx.pushed_ = true; }

private:
    // Called from a catch block: rolls back to the savepoint, or records that SQLite
    // rolled back the whole transaction.
    static void undo(Transaction& tx, State& state) noexcept;
};

/// The shared_ptr must not be null (std::invalid_argument otherwise).
Connection& require(const std::shared_ptr<Connection>& connection, const char* who);

// What every backend shares (time and error-history codecs, argument checks), under the names
// this backend's code has always used.
using gqs::detail::add_micros;
using gqs::detail::decode_errors;
using gqs::detail::from_micros;
using gqs::detail::Micros;
using gqs::detail::now_micros;
using gqs::detail::to_micros;

/// The columns every job-reading statement returns, in this order.
#define GQS_JOB_COLUMNS                                                                            \
    "id, created_at, updated_at, status, attempts, locked_until, next_run_at, metadata, payload, " \
    "queue, priority, unique_key, errors, cancelled, concurrency_key, job_group"

/// Reads a row of GQS_JOB_COLUMNS starting at column 0.
Job read_job(sqlite3_stmt* stmt);

/// Reads a job id (a 16-byte blob) from column `col`, tolerant as read_job is.
Uuid read_id(sqlite3_stmt* stmt, int col);

/// Stores one checked message (`metadata`: its encode_metadata text), runnable now, or returns
/// the live job that holds its unique key (pusher.cpp). Caller holds the mutex, inside a write
/// transaction when the message has a key.
PushResult insert_job(State& state, const Message& message, const std::string& metadata);

/// Binds a Uuid as a 16-byte blob, without copying: the Uuid must outlive the step.
inline void bind_id(Stmt& stmt, int index, const Uuid& id) {
    stmt.bind_blob(index, id.bytes().data(), id.bytes().size());
}

} // namespace gqs::sqlite::detail
