// SPDX-License-Identifier: Apache-2.0
// Connection: opening, running statements, and PostgreSQL error translation.
#include "connection_impl.hpp"

#include <stdexcept>

namespace gqs::postgres {

struct Connection::Impl {
    detail::State state;
};

namespace detail {

StorageErrorKind kind_of(std::string_view sqlstate) noexcept {
    if (sqlstate.size() != 5) return StorageErrorKind::Other;
    const std::string_view cls = sqlstate.substr(0, 2);
    if (sqlstate == "53100") return StorageErrorKind::Full;     // disk_full
    if (sqlstate == "25006") return StorageErrorKind::ReadOnly; // read_only_sql_transaction
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03")
        return StorageErrorKind::Busy; // serialization failure, deadlock, lock not available
    if (cls == "23") return StorageErrorKind::Constraint;
    if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
        return StorageErrorKind::ConnectionLost; // connection exception, admin shutdown
    if (sqlstate == "XX001" || sqlstate == "XX002") return StorageErrorKind::Corrupt;
    if (cls == "58") return StorageErrorKind::Io;
    if (cls == "42" && sqlstate == "42501") return StorageErrorKind::ReadOnly; // privilege
    return StorageErrorKind::Other;
}

namespace {

// The message of a failed statement (or of the connection, when there is no result).
[[noreturn]] void throw_error(PGconn* conn, const PGresult* result, std::string_view doing) {
    std::string message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message.empty() && conn != nullptr) message = PQerrorMessage(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' '))
        message.pop_back();
    const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    // No SQLSTATE: libpq itself failed, which means the connection (class 08).
    const std::string sqlstate = state != nullptr ? state : "08006";
    std::string what = "gqs: ";
    what += doing;
    what += ": ";
    what += message.empty() ? "unknown error" : message;
    what += " (SQLSTATE " + sqlstate + ")";
    throw StorageError(what, kind_of(sqlstate), 0, 0);
}

// Connects; throws StorageError (ConnectionLost) naming what failed.
Conn connect(const std::string& conninfo) {
    Conn conn(PQconnectdb(conninfo.c_str()));
    if (!conn) throw StorageError("gqs: connecting: out of memory", StorageErrorKind::Other, 0, 0);
    if (PQstatus(conn.get()) != CONNECTION_OK) throw_error(conn.get(), nullptr, "connecting");
    // Notices ("... already exists, skipping") are not errors; libpq would print them.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    // Times are compared in the database (timestamptz); the session's zone only formats.
    Result set(PQexec(conn.get(), "SET TimeZone = 'UTC'"));
    if (PQresultStatus(set.get()) != PGRES_COMMAND_OK)
        throw_error(conn.get(), set.get(), "setting the session's time zone");
    return conn;
}

} // namespace

void State::reconnect_if_broken() {
    // The call that found the connection broken has thrown, with its transaction lost as a
    // whole: nothing is half-applied, and the next call starts on a new connection.
    if (PQstatus(conn.get()) != CONNECTION_OK) conn = connect(conninfo);
}

Result State::exec(const std::string& sql, const std::vector<const char*>& params,
                   std::string_view doing) {
    Result result(PQexecParams(conn.get(), sql.c_str(), static_cast<int>(params.size()), nullptr,
                               params.data(), nullptr, nullptr, 0));
    const auto status = PQresultStatus(result.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
        throw_error(conn.get(), result.get(), doing);
    return result;
}

State& Access::state(Connection& connection) noexcept { return connection.impl_->state; }

} // namespace detail

std::shared_ptr<Connection> Connection::open(const std::string& conninfo, const Options& options) {
    if (options.schema.empty()) throw std::invalid_argument("gqs: Options::schema is empty");
    auto impl = std::make_unique<Impl>();
    auto& state = impl->state;
    state.conninfo = conninfo;
    state.schema = options.schema;
    state.conn = detail::connect(conninfo);
    char* quoted =
        PQescapeIdentifier(state.conn.get(), options.schema.c_str(), options.schema.size());
    if (quoted == nullptr)
        throw std::invalid_argument("gqs: Options::schema is not a valid name: " + options.schema);
    state.schema_ident = quoted;
    PQfreemem(quoted);
    return std::shared_ptr<Connection>(new Connection(std::move(impl)));
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() = default;

const std::string& Connection::schema() const noexcept { return impl_->state.schema; }

} // namespace gqs::postgres
