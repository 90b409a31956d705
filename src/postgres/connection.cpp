// SPDX-License-Identifier: Apache-2.0
// Connection: opening, running statements, the operation's lock and reconnecting.
#include "backend/rules.hpp"
#include "connection_impl.hpp"

#include <gqs/uuid.hpp>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <utility>

namespace gqs::postgres {

struct Connection::Impl {
    detail::State state;
};

namespace detail {

std::string in_schema(std::string_view schema_ident, std::string text) {
    for (auto at = text.find("{s}"); at != std::string::npos; at = text.find("{s}", at))
        text.replace(at, 3, schema_ident);
    return text;
}

State::State() = default;
State::~State() {
    // The trailing NOTIFY thread may be waiting for a server that stopped answering: stop it
    // and interrupt that wait, so the last Connection goes at once, not after a timeout.
    if (trailing.joinable()) {
        trailing.request_stop();
        interrupt();
    }
}

void State::reconnect_if_broken() {
    // The call that found the connection broken has thrown, with its transaction lost as a
    // whole: nothing is half-applied, and the next call starts on a new connection.
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        conn.reset();
        conn = connect(conninfo, defaults,
                       [this] { return interrupts.load(std::memory_order_relaxed) != entered_at; });
        backend_pid = PQbackendPID(conn.get());
        prepared.clear(); // a new session knows none of them
    }
}

Bound State::statement_bound() const {
    // The server ends a statement at statement_timeout; the grace lets its error arrive.
    // Without a server-side limit, the client's is the only one.
    constexpr auto grace = std::chrono::seconds(5);
    const auto limit = defaults.statement_timeout.count() > 0
                           ? defaults.statement_timeout + std::chrono::milliseconds(grace)
                           : std::chrono::milliseconds(0);
    return bound_after(limit, "Options::statement_timeout",
                       [this] { return interrupts.load(std::memory_order_relaxed) != entered_at; });
}

Result State::exec(const std::string& sql, const std::vector<const char*>& params,
                   std::string_view doing) {
    if (!conn || PQsendQueryParams(conn.get(), sql.c_str(), static_cast<int>(params.size()),
                                   nullptr, params.data(), nullptr, nullptr, 0) == 0)
        throw_error(conn.get(), nullptr, doing);
    Result result = finish(conn, statement_bound(), doing);
    check(conn.get(), result, doing);
    return result;
}

Result State::run(const char* sql, const Params& params, std::string_view doing) {
    if (unnamed_statements) {
        auto& text = prepared[sql];
        if (text.empty()) text = in_schema(schema_ident, sql);
        if (!conn || PQsendQueryParams(conn.get(), text.c_str(), params.size(), nullptr,
                                       params.values(), params.lengths(), params.formats(), 1) == 0)
            throw_error(conn.get(), nullptr, doing);
        Result result = finish(conn, statement_bound(), doing);
        check(conn.get(), result, doing);
        return result;
    }
    auto it = prepared.find(sql);
    if (it == prepared.end()) {
        std::string name = "gqs_" + std::to_string(prepared.size() + 1);
        if (!conn || PQsendPrepare(conn.get(), name.c_str(), in_schema(schema_ident, sql).c_str(),
                                   params.size(), nullptr) == 0)
            throw_error(conn.get(), nullptr, doing);
        Result made = finish(conn, statement_bound(), doing);
        check(conn.get(), made, doing);
        it = prepared.emplace(sql, std::move(name)).first;
    }
    if (!conn || PQsendQueryPrepared(conn.get(), it->second.c_str(), params.size(), params.values(),
                                     params.lengths(), params.formats(), 1) == 0)
        throw_error(conn.get(), nullptr, doing);
    Result result = finish(conn, statement_bound(), doing);
    check(conn.get(), result, doing);
    return result;
}

void State::begin(std::string_view doing) { detail::exec(conn, "BEGIN", statement_bound(), doing); }

void State::commit(std::string_view doing) {
    detail::exec(conn, "COMMIT", statement_bound(), doing);
}

void State::rollback_quietly() noexcept {
    if (PQstatus(conn.get()) != CONNECTION_OK || PQtransactionStatus(conn.get()) == PQTRANS_IDLE)
        return;
    try {
        detail::exec(conn, "ROLLBACK", statement_bound(), "rolling back");
    } catch (...) {
        // A session that cannot roll back is closed (or broken): the server rolls back.
    }
}

State& Access::state(Connection& connection) noexcept { return connection.impl_->state; }

std::int64_t micros_of(Duration d) noexcept {
    constexpr std::int64_t max_ms = 250'000LL * 31'557'600LL * 1000LL; // 250,000 years
    return std::min<std::int64_t>(d.count(), max_ms) * 1000;
}

std::unique_lock<gqs::detail::Gate> State::enter() {
    // Read before waiting for the lock: an interrupt while this operation waits for another
    // one (stuck on the server) ends this one too.
    const auto seen = interrupts.load(std::memory_order_relaxed);
    std::unique_lock lock(mutex);
    entered_at = seen;
    reconnect_if_broken();
    return lock;
}

void require(const std::shared_ptr<Connection>& connection, const char* who) {
    if (!connection) gqs::detail::throw_null_connection(who);
}

} // namespace detail

std::shared_ptr<Connection> Connection::open(const std::string& conninfo, const Options& options) {
    if (options.schema.empty()) throw std::invalid_argument("gqs: Options::schema is empty");
    // PostgreSQL would silently cut a longer name (NAMEDATALEN - 1): another schema's.
    if (options.schema.size() > 63)
        throw std::invalid_argument("gqs: Options::schema is longer than 63 bytes: " +
                                    options.schema);
    auto impl = std::make_unique<Impl>();
    auto& state = impl->state;
    state.conninfo = conninfo;
    state.options = options;
    state.schema = options.schema;
    state.channel = detail::channel_of(options.schema);
    state.defaults.connect_timeout = options.connect_timeout;
    state.defaults.statement_timeout = options.statement_timeout;
    const bool pooled = options.pooling == Pooling::Transaction;
    state.defaults.settings = !pooled;
    state.unnamed_statements = pooled;
    state.listen_conninfo =
        !options.listen_conninfo.empty() ? options.listen_conninfo : (pooled ? "" : conninfo);
    if (pooled) state.notify_token = Uuid::generate().to_string();
    state.conn = detail::connect(conninfo, state.defaults);
    state.backend_pid = PQbackendPID(state.conn.get());
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
