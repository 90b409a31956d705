// SPDX-License-Identifier: Apache-2.0
// The exceptions gqs throws. Every failed operation leaves storage as it was.
#pragma once

#include <stdexcept>
#include <string>

namespace gqs {

/// Base of every gqs exception; catch this to catch them all (argument errors excepted,
/// which are std::invalid_argument).
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// requeue or kill found the job gone, finished, or leased by someone else.
class JobLost : public Error {
public:
    using Error::Error;
};

/// extend_lock found that the caller no longer holds the job's lease.
class LockLost : public Error {
public:
    using Error::Error;
};

/// complete found that the caller no longer holds the job's lease.
class CompleteFailed : public Error {
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

/// The storage engine failed (busy, I/O, full disk, corrupt or read-only file, ...).
/// what() carries the engine's own message; code() and extended_code() its numeric codes.
class StorageError : public Error {
public:
    StorageError(const std::string& what, int code, int extended_code)
        : Error(what), code_(code), extended_code_(extended_code) {}
    /// The primary result code (e.g. SQLITE_BUSY = 5).
    [[nodiscard]] int code() const noexcept { return code_; }
    /// The extended result code (e.g. SQLITE_BUSY_SNAPSHOT = 517).
    [[nodiscard]] int extended_code() const noexcept { return extended_code_; }

private:
    int code_;
    int extended_code_;
};

/// Thrown by a handler to send its job straight to Dead, without retries.
class Kill : public Error {
public:
    Kill() : Error("job killed by its handler") {}
    using Error::Error;
};

} // namespace gqs
