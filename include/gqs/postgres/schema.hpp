// SPDX-License-Identifier: Apache-2.0
// Creating and checking gqs's tables in PostgreSQL.
#pragma once

#include <gqs/postgres/connection.hpp>

namespace gqs::postgres {

/// The schema version this build creates and reads (the same numbering as SQLite's: the
/// PostgreSQL tables start at version 2, with queues, priorities, unique keys and errors;
/// version 3 adds the stored schedules, `gqs_schedules`; version 4 the stored queue limits,
/// `gqs_queues`; version 5 the jobs' `concurrency_key` and `job_group` columns,
/// Message::concurrency_key and Message::group); version 6 fair share (the queues' switch and
/// round-robin cursor, an index of ready jobs by group).
inline constexpr int schema_version = 6;

/// Creates the schema (if missing), the `jobs` table, its indexes and the version table, in
/// one transaction under an advisory lock (several processes may call it at once). Creates
/// only what is missing, so on a current database it writes nothing and takes no lock on
/// `jobs`. Throws SchemaMismatch for a `jobs` or `gqs_schema` table that is not gqs's, or a
/// newer version; StorageError if PostgreSQL fails (nothing is changed then).
void init_db(Connection& connection);

/// The version recorded in the schema's `gqs_schema` table; 0 if there is none. Throws
/// SchemaMismatch, as init_db would, for a `jobs` or `gqs_schema` table that is not gqs's;
/// StorageError if PostgreSQL fails.
[[nodiscard]] int stored_schema_version(Connection& connection);

} // namespace gqs::postgres
