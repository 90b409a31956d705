// SPDX-License-Identifier: Apache-2.0
// SQLite's result codes as gqs's StorageError.
#include "connection_impl.hpp"

#include <iterator>
#include <string>

namespace gqs::sqlite::detail {

const char* code_name(int primary) noexcept {
    static constexpr const char* names[] = {
        "SQLITE_OK",       "SQLITE_ERROR",     "SQLITE_INTERNAL", "SQLITE_PERM",
        "SQLITE_ABORT",    "SQLITE_BUSY",      "SQLITE_LOCKED",   "SQLITE_NOMEM",
        "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR",    "SQLITE_CORRUPT",
        "SQLITE_NOTFOUND", "SQLITE_FULL",      "SQLITE_CANTOPEN", "SQLITE_PROTOCOL",
        "SQLITE_EMPTY",    "SQLITE_SCHEMA",    "SQLITE_TOOBIG",   "SQLITE_CONSTRAINT",
        "SQLITE_MISMATCH", "SQLITE_MISUSE",    "SQLITE_NOLFS",    "SQLITE_AUTH",
        "SQLITE_FORMAT",   "SQLITE_RANGE",     "SQLITE_NOTADB",   "SQLITE_NOTICE",
        "SQLITE_WARNING"};
    if (primary >= 0 && primary < static_cast<int>(std::size(names))) return names[primary];
    return "SQLITE_UNKNOWN";
}

StorageErrorKind kind_of(int primary) noexcept {
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StorageErrorKind::Busy;
    case SQLITE_FULL: return StorageErrorKind::Full;
    case SQLITE_READONLY:
    case SQLITE_PERM: return StorageErrorKind::ReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StorageErrorKind::Corrupt;
    case SQLITE_CONSTRAINT: return StorageErrorKind::Constraint;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL: return StorageErrorKind::Io;
    default: return StorageErrorKind::Other;
    }
}

void throw_error(sqlite3* db, int rc, std::string_view doing) {
    const int primary = rc & 0xFF;
    int extended = rc;
    const char* message = sqlite3_errstr(rc);
    // The handle's message is more precise ("UNIQUE constraint failed: jobs.id"), but only
    // when the handle's last error is the one we are reporting.
    if (db != nullptr && (sqlite3_extended_errcode(db) & 0xFF) == primary) {
        extended = sqlite3_extended_errcode(db);
        message = sqlite3_errmsg(db);
    }
    std::string what = "gqs: ";
    what += doing;
    what += ": ";
    what += message;
    what += " (";
    what += code_name(primary);
    what += ", code ";
    what += std::to_string(primary);
    if (extended != primary) {
        what += '/';
        what += std::to_string(extended);
    }
    what += ")";
    throw StorageError(what, kind_of(primary), code_name(primary), primary, extended);
}

} // namespace gqs::sqlite::detail
