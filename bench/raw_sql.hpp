// SPDX-License-Identifier: Apache-2.0
// The SQL the raw-SQLite baselines run: gqs's own statements, copied (no gqs headers needed).
#pragma once

namespace gqs_bench {

/// The SQL text gqs runs, copied from src/sqlite/ (pusher.cpp, sql.hpp, puller.cpp).
/// check_sql() verifies at start-up that gqs still runs exactly these statements.
namespace raw_sql {
inline constexpr const char* insert =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload) VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5)";
inline constexpr const char* pull =
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
    "RETURNING id, created_at, updated_at, status, attempts, locked_until, next_run_at, "
    "metadata, payload";
inline constexpr const char* complete =
    "UPDATE jobs SET status = 3, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3";
} // namespace raw_sql

} // namespace gqs_bench
