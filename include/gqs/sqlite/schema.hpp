// SPDX-License-Identifier: Apache-2.0
// Creating (and later migrating) the backend's schema.
#pragma once

#include <gqs/sqlite/connection.hpp>

namespace gqs::sqlite {

/// The schema version this build writes and reads (kept in `PRAGMA user_version`).
inline constexpr int schema_version = 1;

/// Creates the `jobs` table and its indexes if missing, in one transaction; idempotent;
/// never drops or rewrites data. Throws SchemaMismatch (file untouched) when a `jobs` table
/// that is not gqs's exists or the file has a newer schema version; StorageError on
/// storage failure. Thread-safety: as any Connection operation.
void init_db(Connection& connection);

} // namespace gqs::sqlite
