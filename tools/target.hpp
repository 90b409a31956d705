// SPDX-License-Identifier: Apache-2.0
// Where the CLI's queue lives (--db, --schema): a SQLite file or a PostgreSQL schema.
#pragma once

#include <gqs/backend_of.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::cli {

/// The queue a command works on, from --db and --schema. Value type.
struct Target {
    /// What --db names, by gqs::backend_of.
    BackendKind backend = BackendKind::Sqlite;
    /// The SQLite file's path, or PostgreSQL's URI or conninfo string, as given (it may hold a
    /// password: print display() instead).
    std::string db;
    /// The PostgreSQL schema that holds the queue; empty for SQLite.
    std::string schema;
    /// PostgreSQL: `db` is a pooler in transaction mode (--pooler, Pooling::Transaction).
    bool pooler = false;

    /// `db` safe to print: the file path, or the conninfo without its password.
    [[nodiscard]] std::string display() const;
    /// What messages call the queue: the file path, or `schema NAME at CONNINFO` (no password).
    [[nodiscard]] std::string where() const;
    /// `--db ... [--schema ...] [--pooler]` as shell words, for a command a message suggests
    /// (no password; --schema only when it is not "public").
    [[nodiscard]] std::string db_arguments() const;
};

/// The schema a PostgreSQL queue lives in unless --schema (or GQS_SCHEMA) names another.
inline constexpr std::string_view default_schema = "public";

/// The Target that --db `db` and --schema `schema` name; `env_schema` (GQS_SCHEMA) stands in
/// for a missing --schema of a PostgreSQL queue and is ignored for SQLite. Throws UsageError
/// for --schema with a SQLite file, a bad schema name or a conninfo string libpq cannot parse;
/// gqs::Error for a PostgreSQL queue when this gqs was built without PostgreSQL support.
[[nodiscard]] Target target_of(std::string db, const std::optional<std::string>& schema,
                               const std::optional<std::string>& env_schema);

/// The URI or conninfo string with its password removed (the `:password` of a URI's user
/// part, a `password` parameter); other text is left as given. A conninfo string that cannot
/// be parsed gives "(a PostgreSQL conninfo string)" rather than risk showing a password.
[[nodiscard]] std::string without_password(std::string_view conninfo);

/// The passwords a URI or conninfo string holds, as written and decoded, so error texts
/// (libpq's among them) can be scrubbed of them. Empty for a SQLite path.
[[nodiscard]] std::vector<std::string> passwords_in(std::string_view db);

} // namespace gqs::cli
