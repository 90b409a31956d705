// SPDX-License-Identifier: Apache-2.0
// The exceptions gqs throws. Every failed operation leaves storage as it was.
#pragma once

#include <gqs/time.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace gqs {

/// Base of every gqs exception; catch this to catch them all (argument errors excepted,
/// which are std::invalid_argument).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A transition found that the caller no longer holds the job's lease (it ran out and another
/// worker took the job, or the job was finished, removed or never leased): nothing changed.
/// Catch this to handle LockLost, CompleteFailed and JobLost alike.
class LeaseLost : public Error {
public:
    using Error::Error;
};

/// requeue, kill or release found the job gone, finished, or leased by someone else; also
/// an Admin action on an id that does not exist.
class JobLost : public LeaseLost {
public:
    using LeaseLost::LeaseLost;
};

/// extend_lock found that the caller no longer holds the job's lease.
class LockLost : public LeaseLost {
public:
    using LeaseLost::LeaseLost;
};

/// complete found that the caller no longer holds the job's lease.
class CompleteFailed : public LeaseLost {
public:
    using LeaseLost::LeaseLost;
};

/// A Schedules operation named a schedule that is not stored (pause, resume, run_now).
/// The message is the same on every backend.
class ScheduleNotFound : public Error {
public:
    using Error::Error;
};

/// A status that the operation does not accept (e.g. clean of Pending jobs).
class BadStatus : public Error {
public:
    using Error::Error;
};

/// push or push_batch of an id that is already stored (or twice in one batch).
class DuplicateJob : public Error {
public:
    using Error::Error;
};

/// Admin::retry of a Dead job whose unique key is held by a live (Pending or Processing) job
/// of its queue: nothing changed.
class UniqueConflict : public Error {
public:
    using Error::Error;
};

/// The database holds a `jobs` table that is not gqs's, or a schema newer than this build.
class SchemaMismatch : public Error {
public:
    using Error::Error;
};

/// start() on a worker that is already running.
class DoubleStarted : public Error {
public:
    using Error::Error;
};

/// stop() on a worker that is not running.
class DoubleStopped : public Error {
public:
    using Error::Error;
};

/// stop(timeout) gave up waiting for running handlers; the worker still finishes stopping.
class StopTimeout : public Error {
public:
    using Error::Error;
};

/// What went wrong in storage, the same for every backend, so callers can react without
/// knowing the engine's codes.
enum class StorageErrorKind : std::uint8_t {
    Busy,           ///< another connection holds a lock (waited busy_timeout); try again later
    Full,           ///< the disk or the database is full
    ReadOnly,       ///< the database, its file or its directory cannot be written
    Corrupt,        ///< the file is damaged or not a database
    Constraint,     ///< a constraint refused the change
    Io,             ///< the operating system failed to read, write or open a file
    ConnectionLost, ///< the connection to a database server broke (server backends)
    Other,          ///< anything else; see what() and the native codes
};

/// The kind's name, e.g. "busy", "read-only", "connection lost". Thread-safety: pure.
[[nodiscard]] constexpr std::string_view to_string(StorageErrorKind kind) noexcept {
    switch (kind) {
    case StorageErrorKind::Busy: return "busy";
    case StorageErrorKind::Full: return "full";
    case StorageErrorKind::ReadOnly: return "read-only";
    case StorageErrorKind::Corrupt: return "corrupt";
    case StorageErrorKind::Constraint: return "constraint";
    case StorageErrorKind::Io: return "I/O";
    case StorageErrorKind::ConnectionLost: return "connection lost";
    case StorageErrorKind::Other: return "other";
    }
    return "other";
}

/// The storage engine failed (busy, I/O, full disk, corrupt or read-only file, lost
/// connection, ...); the operation changed nothing. what() carries the engine's own message;
/// kind() says what kind of failure it is on every backend; native_code() is the engine's own
/// name for it, to look up in its documentation.
class StorageError : public Error {
public:
    /// `native_code`: the engine's code for the failure (see native_code()); `code` and
    /// `extended_code`: numeric result codes, for engines that have them.
    StorageError(const std::string& what, StorageErrorKind kind, std::string native_code = {},
                 int code = 0, int extended_code = 0)
        : Error(what), kind_(kind), native_code_(std::move(native_code)), code_(code),
          extended_code_(extended_code) {}
    /// The backend-neutral kind of the failure.
    [[nodiscard]] StorageErrorKind kind() const noexcept { return kind_; }
    /// The engine's code: the SQLSTATE on PostgreSQL ("40001"), the result code's name on
    /// SQLite ("SQLITE_BUSY"); empty when gqs itself detected the failure (e.g. a server that
    /// stopped answering).
    [[nodiscard]] const std::string& native_code() const noexcept { return native_code_; }
    /// The engine's numeric primary result code where it has one (SQLite: SQLITE_BUSY = 5);
    /// 0 otherwise (PostgreSQL's code is the SQLSTATE in native_code()).
    [[nodiscard]] int code() const noexcept { return code_; }
    /// The engine's numeric extended result code where it has one (SQLite:
    /// SQLITE_BUSY_SNAPSHOT = 517); 0 otherwise.
    [[nodiscard]] int extended_code() const noexcept { return extended_code_; }

private:
    StorageErrorKind kind_;
    std::string native_code_;
    int code_;
    int extended_code_;
};

/// Thrown by a handler to send its job straight to Dead, without retries.
class Kill : public Error {
public:
    Kill() : Error("job killed by its handler") {}
    using Error::Error;
};

/// Thrown by a handler to put its job back, Pending after `delay`, without counting the
/// attempt or recording an error (e.g. a rate limit said "come back later").
class Snooze : public Error {
public:
    /// delay must not be negative (a negative one is treated as zero).
    explicit Snooze(Duration delay)
        : Error("job snoozed by its handler"), delay_(delay.count() < 0 ? Duration{} : delay) {}
    /// How long the job waits before it is runnable again.
    [[nodiscard]] Duration delay() const noexcept { return delay_; }

private:
    Duration delay_;
};

} // namespace gqs
