// SPDX-License-Identifier: Apache-2.0
// SQL text shared between the backend and its tests (the query-plan test reads it).
#pragma once

#include "connection_impl.hpp"

namespace gqs::sqlite::detail {

// One statement, so selection and lease are atomic. The eligible set is written as two
// arms instead of the seed's single OR: with the OR, SQLite reads two index ranges that do
// not come back in next_run_at order and sorts every ready row before LIMIT applies, so a
// pull costs O(ready jobs). Here each arm is an ordered index range scan that stops after
// ?3 rows, and only the <= 2 x ?3 survivors are sorted.
// Expired leases are taken oldest-expiry first through (status, locked_until); a Processing
// row's next_run_at is always in the past, the check only keeps the rule in one place.
// max(attempts, 0): a row written by hand with CHECKs off must not make every pull fail.
inline constexpr const char* pull_sql =
    "UPDATE jobs SET status = 2, attempts = max(attempts, 0) + 1, locked_until = ?2, "
    "updated_at = ?1 "
    "WHERE rowid IN ("
    " SELECT rowid FROM ("
    "  SELECT rowid, next_run_at FROM ("
    "   SELECT rowid, next_run_at FROM jobs"
    "   WHERE status = 1 AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?3)"
    "  UNION ALL"
    "  SELECT rowid, next_run_at FROM ("
    "   SELECT rowid, next_run_at FROM jobs"
    "   WHERE status = 2 AND locked_until < ?1 AND next_run_at <= ?1"
    "   ORDER BY locked_until LIMIT ?3)"
    "  ORDER BY next_run_at LIMIT ?3)) "
    "RETURNING " GQS_JOB_COLUMNS;

} // namespace gqs::sqlite::detail
