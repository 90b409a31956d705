// SPDX-License-Identifier: Apache-2.0
// One PostgreSQL connection (libpq), shared by the backend's classes.
#pragma once

#include <gqs/time.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

struct pg_conn; // libpq's PGconn

namespace gqs::postgres {

/// Where a Connection's conninfo leads.
enum class Pooling : std::uint8_t {
    /// A PostgreSQL server, or a pooler in session mode: one server session per Connection.
    Direct,
    /// A pooler in transaction mode (PgBouncer's pool_mode = transaction), which may run each
    /// transaction on another server session. gqs then prepares no statements (each one is
    /// parsed and planned as it is sent) and changes no session setting: give the role
    /// `statement_timeout` and `plan_cache_mode = force_generic_plan` instead.
    Transaction,
};

/// How Connection::open sets up the connection.
struct Options {
    /// The schema that holds gqs's tables (created by init_db if missing). Several queues (or
    /// tests) can live in one database, each in its own schema. Any name PostgreSQL accepts;
    /// gqs quotes it.
    std::string schema = "public";
    /// How long connecting may take when the conninfo (or PGCONNECT_TIMEOUT) sets no
    /// connect_timeout; zero: no limit. Reconnects use it too.
    Duration connect_timeout{10000};
    /// The most one gqs statement may take: the session's statement_timeout (so it applies to
    /// the app's statements inside a Transaction too), and, when the server does not answer
    /// within it and 5 s more, gqs closes the session and throws StorageError
    /// (ConnectionLost). Zero: no limit on either side. Raise it for init_db on a huge table.
    /// With Pooling::Transaction only gqs's own limit applies (the role's setting is the
    /// server's).
    Duration statement_timeout{30000};
    /// What the conninfo leads to (see Pooling): Direct unless a transaction-mode pooler.
    Pooling pooling = Pooling::Direct;
    /// The conninfo of the session that LISTENs for other processes' pushes, which needs a
    /// server session of its own (a direct one, not through a transaction-mode pooler).
    /// Empty: the conninfo itself when Direct; with Pooling::Transaction, no LISTEN (workers
    /// find other processes' jobs by polling; this Connection's own pushes still wake them).
    std::string listen_conninfo{};
};

namespace detail {
struct Access;
} // namespace detail

class Connection;

/// A transaction the app runs on a Connection (Connection::begin()), so that its own rows
/// and the jobs it pushes (Pusher::push(tx, ...)) commit or roll back together. Every other
/// gqs operation on the same Connection waits until it ends (a call from the thread that
/// began it throws std::logic_error instead), so keep it short or give it a Connection of its
/// own. Jobs pushed in it are announced only after commit(). Destroying it uncommitted rolls
/// back. Move-only; it may end on another thread than the one that began it. The Connection
/// must outlive it. Not thread-safe: one thread at a time.
class Transaction {
public:
    Transaction(Transaction&& other) noexcept;
    /// Rolls back this transaction (if still open) and takes over `other`.
    Transaction& operator=(Transaction&& other) noexcept;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    /// Rolls back unless committed or rolled back already.
    ~Transaction();

    /// The libpq connection (a PGconn*) for the app's statements inside the transaction. They
    /// must not end it (use savepoints). Throws std::logic_error once the transaction ended.
    [[nodiscard]] pg_conn* native();
    /// Commits, releases the Connection, then tells workers if jobs were pushed. Throws
    /// StorageError if the commit fails, or if a statement of the app failed earlier (then
    /// PostgreSQL had aborted the transaction and nothing is committed); std::logic_error if
    /// it had ended, or was ended by the app's own COMMIT/ROLLBACK. It has ended either way.
    void commit();
    /// Rolls back and releases the Connection. std::logic_error if it had ended already.
    void rollback();
    /// Whether it is still open (neither committed nor rolled back).
    [[nodiscard]] bool active() const noexcept { return connection_ != nullptr; }

private:
    friend class Connection;
    friend struct detail::Access;
    explicit Transaction(Connection& connection) noexcept : connection_(&connection) {}
    void end(bool commit);

    Connection* connection_ = nullptr;  // null once ended
    std::optional<std::string> pushed_; // the queue of the jobs stored in it ("" for several)
};

/// Owns one libpq connection and the lock that serialises its use. Thread-safety: every gqs
/// operation on a Connection is safe from any thread. Neither copyable nor movable; share it
/// through std::shared_ptr.
class Connection {
public:
    /// Connects with a libpq conninfo string or URI ("host=/run/postgresql dbname=app",
    /// "postgresql://user@host/app"). Throws StorageError (kind ConnectionLost) when the
    /// server cannot be reached or refuses the connection, std::invalid_argument for an empty
    /// schema name or one longer than 63 bytes (PostgreSQL would cut it).
    [[nodiscard]] static std::shared_ptr<Connection> open(const std::string& conninfo,
                                                          const Options& options = {});
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) = delete;
    Connection& operator=(Connection&&) = delete;

    /// Begins a transaction (BEGIN, READ COMMITTED unless the server says otherwise), waiting
    /// for the Connection's lock. Throws StorageError if it cannot begin, std::logic_error if
    /// this thread already has a Transaction open on it.
    [[nodiscard]] Transaction begin();

    /// The schema gqs's tables live in (Options::schema).
    [[nodiscard]] const std::string& schema() const noexcept;

private:
    friend struct detail::Access;
    friend class Transaction;
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::postgres
