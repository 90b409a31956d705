// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: the connection's state and libpq in RAII.
#pragma once

#include <gqs/errors.hpp>
#include <gqs/postgres/connection.hpp>

#include <libpq-fe.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::postgres::detail {

/// A query result; cleared when it goes away.
struct ResultDeleter {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// A libpq connection; closed when it goes away.
struct ConnDeleter {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnDeleter>;

/// The backend-neutral kind of a SQLSTATE ("53100" disk full: Full, class 08: ConnectionLost).
StorageErrorKind kind_of(std::string_view sqlstate) noexcept;

/// A Connection's insides. The mutex guards conn.
struct State {
    std::mutex mutex;
    Conn conn;
    std::string conninfo;
    std::string schema;       // as given
    std::string schema_ident; // quoted for SQL text

    /// Connects again if the connection broke. Call at the start of each gqs operation, never
    /// inside one: a statement that runs on a new connection would run outside the
    /// operation's transaction. Caller holds `mutex`.
    void reconnect_if_broken();
    /// Runs `sql` with text parameters (nullptr: NULL); throws StorageError (naming `doing`
    /// and the SQLSTATE) unless it succeeds. Caller holds `mutex`.
    Result exec(const std::string& sql, const std::vector<const char*>& params,
                std::string_view doing);
};

/// Access to a Connection's state for the backend's classes.
struct Access {
    static State& state(Connection& connection) noexcept;
};

} // namespace gqs::postgres::detail
