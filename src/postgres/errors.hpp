// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: PostgreSQL's errors as gqs's StorageError.
#pragma once

#include "session.hpp"

#include <gqs/errors.hpp>

#include <libpq-fe.h>

#include <string>
#include <string_view>

namespace gqs::postgres::detail {

/// The backend-neutral kind of a SQLSTATE ("53100" disk full: Full, class 08: ConnectionLost).
StorageErrorKind kind_of(std::string_view sqlstate) noexcept;

/// A statement PostgreSQL refused: a StorageError that also names the SQLSTATE and the
/// constraint (if any), so a caller can tell a duplicate id from a held unique key.
class SqlError : public StorageError {
public:
    SqlError(const std::string& what, std::string sqlstate, std::string constraint)
        : StorageError(what, kind_of(sqlstate), sqlstate), sqlstate_(std::move(sqlstate)),
          constraint_(std::move(constraint)) {}
    [[nodiscard]] const std::string& sqlstate() const noexcept { return sqlstate_; }
    [[nodiscard]] const std::string& constraint() const noexcept { return constraint_; }

private:
    std::string sqlstate_;
    std::string constraint_;
};

/// Throws SqlError for a failed statement (or, with no result, for the connection), with
/// `doing`, the server's message and the SQLSTATE (08006 when libpq itself failed).
[[noreturn]] void throw_error(PGconn* conn, const PGresult* result, std::string_view doing);

/// Throws SqlError unless `result` is a success.
void check(PGconn* conn, const Result& result, std::string_view doing);

} // namespace gqs::postgres::detail
