// SPDX-License-Identifier: Apache-2.0
// One PostgreSQL connection (libpq), shared by the backend's classes.
#pragma once

#include <memory>
#include <string>

namespace gqs::postgres {

/// How Connection::open sets up the connection.
struct Options {
    /// The schema that holds gqs's tables (created by init_db if missing). Several queues (or
    /// tests) can live in one database, each in its own schema. Any name PostgreSQL accepts;
    /// gqs quotes it.
    std::string schema = "public";
};

namespace detail {
struct Access;
} // namespace detail

/// Owns one libpq connection and the lock that serialises its use. Thread-safety: every gqs
/// operation on a Connection is safe from any thread. Neither copyable nor movable; share it
/// through std::shared_ptr.
class Connection {
public:
    /// Connects with a libpq conninfo string or URI ("host=/run/postgresql dbname=app",
    /// "postgresql://user@host/app"). Throws StorageError (kind ConnectionLost) when the
    /// server cannot be reached or refuses the connection, std::invalid_argument for an empty
    /// schema name.
    [[nodiscard]] static std::shared_ptr<Connection> open(const std::string& conninfo,
                                                          const Options& options = {});
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;
    Connection(Connection&&) = delete;
    Connection& operator=(Connection&&) = delete;

    /// The schema gqs's tables live in (Options::schema).
    [[nodiscard]] const std::string& schema() const noexcept;

private:
    friend struct detail::Access;
    struct Impl;
    explicit Connection(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::postgres
