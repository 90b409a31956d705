// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: libpq sessions whose every wait has a bound.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

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

/// How long a wait for the server may last, and what else may end it.
struct Bound {
    /// time_point::max(): no limit.
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Polled while waiting (a few times a second): true ends the wait. May be empty.
    std::function<bool()> interrupted;
    /// What ran out, for the message ("Options::statement_timeout"), and its length.
    const char* limit = "the time limit";
    std::chrono::milliseconds length{0};
};

/// The bound `timeout` from now (zero or less: none).
[[nodiscard]] Bound bound_after(std::chrono::milliseconds timeout, const char* limit,
                                std::function<bool()> interrupted = {});

/// What a session is opened with, beside the conninfo (which wins over all of it).
struct SessionDefaults {
    /// application_name when neither the conninfo nor PGAPPNAME sets one.
    std::string application_name = "gqs";
    /// How long connecting may take when neither the conninfo nor PGCONNECT_TIMEOUT sets
    /// connect_timeout (zero or less: no limit).
    std::chrono::milliseconds connect_timeout{10000};
    /// The session's statement_timeout (zero or less: the server's setting).
    std::chrono::milliseconds statement_timeout{30000};
    /// Whether the new session gets gqs's settings (TimeZone, plan_cache_mode,
    /// statement_timeout); not through a transaction-mode pooler, where they would stay on a
    /// server session that other clients get next.
    bool settings = true;
};

/// Connects within the connect timeout (and `interrupted`), with TCP keepalives and
/// tcp_user_timeout unless the conninfo sets them, and prepares the session (UTC, generic
/// plans, the statement timeout). Throws StorageError (kind ConnectionLost) naming what failed.
[[nodiscard]] Conn connect(const std::string& conninfo, const SessionDefaults& defaults = {},
                           const std::function<bool()>& interrupted = {});

/// Waits for the result of what was sent with PQsend* (and for the end of its results)
/// within `bound`. When the bound runs out the session is closed (`conn` becomes null) and
/// StorageError (ConnectionLost) names `doing` and the limit. The last result, or the first
/// failed one; null only when nothing came back.
[[nodiscard]] Result finish(Conn& conn, const Bound& bound, std::string_view doing);

/// PQexec within `bound` (see finish); throws SqlError unless it succeeds.
Result exec(Conn& conn, const char* sql, const Bound& bound, std::string_view doing);

} // namespace gqs::postgres::detail
