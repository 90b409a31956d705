// SPDX-License-Identifier: Apache-2.0
// Creating (and later migrating) the backend's schema.
#pragma once

#include <gqs/sqlite/connection.hpp>

namespace gqs::sqlite {

/// The schema version this build writes and reads. It is kept in gqs's own one-row table
/// `gqs_schema`; gqs never reads or writes `PRAGMA user_version`, which is the application's.
/// Version 2 added named queues, priorities, unique keys, the error history and cancel flags;
/// version 3 the stored schedules (`gqs_schedules`); version 4 the stored queue limits
/// (`gqs_queues`); version 5 the jobs' `concurrency_key` and `job_group` columns
/// (Message::concurrency_key and Message::group); version 6 fair share (the queues' switch and
/// round-robin cursor, an index of ready jobs by group).
inline constexpr int schema_version = 6;

/// Creates the `jobs` table, its indexes and `gqs_schema` if missing, or upgrades an older
/// gqs schema in place, in one transaction (a crash leaves the old version, which the next
/// init_db upgrades); idempotent; never drops a job (an upgrade keeps every job, in queue
/// "default" at priority 0). A file made by gqs 0.1.0 (which kept the version in
/// `user_version`) is recognised by its `jobs` table; its `user_version` is left as it is. Throws
/// SchemaMismatch (file untouched) when a `jobs` or `gqs_schema` table that is not gqs's exists or
/// the file has a newer schema version; StorageError on storage failure. Thread-safety: as any
/// Connection operation.
void init_db(Connection& connection);

/// The gqs schema version the file holds: 0 when it holds no gqs queue yet, 1 for a file
/// made by gqs 0.1.0, more than schema_version for a file of a newer gqs. Reads only. Throws
/// SchemaMismatch for a `jobs` or `gqs_schema` table that is not gqs's; StorageError on
/// storage failure. Thread-safety: as any Connection operation.
[[nodiscard]] int stored_schema_version(Connection& connection);

} // namespace gqs::sqlite
