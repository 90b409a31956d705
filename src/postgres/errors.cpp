// SPDX-License-Identifier: Apache-2.0
// PostgreSQL's errors as gqs's: a SQLSTATE's kind, and the StorageError of a failed statement.
#include "errors.hpp"

#include <string>

namespace gqs::postgres::detail {

StorageErrorKind kind_of(std::string_view sqlstate) noexcept {
    if (sqlstate.size() != 5) return StorageErrorKind::Other;
    const std::string_view cls = sqlstate.substr(0, 2);
    if (sqlstate == "53100") return StorageErrorKind::Full;     // disk_full
    if (sqlstate == "25006") return StorageErrorKind::ReadOnly; // read_only_sql_transaction
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014")
        return StorageErrorKind::Busy; // serialization failure, deadlock, lock not available,
                                       // statement_timeout
    if (cls == "23") return StorageErrorKind::Constraint;
    if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
        return StorageErrorKind::ConnectionLost; // connection exception, admin shutdown
    if (sqlstate == "XX001" || sqlstate == "XX002") return StorageErrorKind::Corrupt;
    if (cls == "58") return StorageErrorKind::Io;
    if (cls == "42" && sqlstate == "42501") return StorageErrorKind::ReadOnly; // privilege
    return StorageErrorKind::Other;
}

void throw_error(PGconn* conn, const PGresult* result, std::string_view doing) {
    std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    const char* constraint =
        result != nullptr ? PQresultErrorField(result, PG_DIAG_CONSTRAINT_NAME) : nullptr;
    // No SQLSTATE: libpq itself failed, which means the connection (class 08).
    const std::string sqlstate = state != nullptr ? state : "08006";
    std::string what = "gqs: ";
    what += doing;
    what += ": ";
    what += message.empty() ? (conn == nullptr ? "no connection to the server" : "unknown error")
                            : message;
    what += " (SQLSTATE " + sqlstate + ")";
    throw SqlError(what, sqlstate, constraint != nullptr ? constraint : "");
}

void check(PGconn* conn, const Result& result, std::string_view doing) {
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw_error(conn, result.get(), doing);
}

} // namespace gqs::postgres::detail
