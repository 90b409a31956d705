// SPDX-License-Identifier: Apache-2.0
// The backend's SQL text, all of it but the schema (schema.cpp), in one place; its tests read
// it too (the query-plan test). Statements are cached by address: each is one inline variable.
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

// ---- pusher --------------------------------------------------------------------------------

inline constexpr const char* insert_sql =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload) VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5)";

// ---- puller --------------------------------------------------------------------------------

// Every transition names the lease it acts on: status Processing *and* the attempts the
// caller saw. The seed checks only the status, so a worker whose lease expired and was
// re-pulled by another could still finish or extend the other's lease. attempts grows on
// every pull, which makes it a fencing token for the lease.
inline constexpr const char* extend_sql = "UPDATE jobs SET locked_until = ?3, updated_at = ?2 "
                                          "WHERE id = ?1 AND status = 2 AND attempts = ?4";

inline constexpr const char* complete_sql =
    "UPDATE jobs SET status = 3, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3";

inline constexpr const char* requeue_sql =
    "UPDATE jobs SET status = 1, locked_until = NULL, next_run_at = ?3, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?4";

// A release hands back a lease whose handler never ran (a worker stopping with jobs in its
// local queue): the attempt the pull counted is taken back, and next_run_at is kept so the
// job keeps its place in line. Fenced like the others: a stale holder cannot uncount
// someone else's attempt.
inline constexpr const char* release_sql =
    "UPDATE jobs SET status = 1, attempts = attempts - 1, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3 AND attempts > 0";

// Kill takes the caller's own lease, or a Pending job the caller saw Pending (same attempts:
// a Pending row's attempts only change when it is pulled again).
inline constexpr const char* kill_sql =
    "UPDATE jobs SET status = 4, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status IN (1, 2) AND status = ?4 AND attempts = ?3";

inline constexpr const char* has_ready_sql =
    "SELECT EXISTS (SELECT 1 FROM jobs WHERE status = 1 AND next_run_at <= ?1)"
    " OR EXISTS (SELECT 1 FROM jobs WHERE status = 2 AND locked_until < ?1)";

// ---- observer ------------------------------------------------------------------------------

inline constexpr const char* get_sql = "SELECT " GQS_JOB_COLUMNS " FROM jobs WHERE id = ?1";

// LIMIT -1 is SQLite's "no limit".
inline constexpr const char* list_sql =
    "SELECT " GQS_JOB_COLUMNS " FROM jobs WHERE ?1 = 0 OR status = ?1"
    " ORDER BY created_at, id LIMIT ?2";

inline constexpr const char* page_sql =
    "SELECT " GQS_JOB_COLUMNS " FROM jobs WHERE (?1 = 0 OR status = ?1)"
    " AND (created_at > ?3 OR (created_at = ?3 AND id > ?4))"
    " ORDER BY created_at, id LIMIT ?2";

// Every part reads an index, never the table: counts are covering-index range counts over
// one of the status indexes; the times are the ends of (status, next_run_at) ranges.
inline constexpr const char* stats_sql =
    "SELECT"
    " (SELECT count(*) FROM jobs WHERE status = 1),"
    " (SELECT count(*) FROM jobs WHERE status = 2),"
    " (SELECT count(*) FROM jobs WHERE status = 3),"
    " (SELECT count(*) FROM jobs WHERE status = 4),"
    " (SELECT count(*) FROM jobs WHERE status = 2 AND locked_until < ?1),"
    " (SELECT min(next_run_at) FROM jobs WHERE status = 1 AND next_run_at <= ?1),"
    " (SELECT min(next_run_at) FROM jobs WHERE status = 1 AND next_run_at > ?1)";

// ---- admin ---------------------------------------------------------------------------------

inline constexpr const char* retry_sql =
    "UPDATE jobs SET status = 1, attempts = 0, locked_until = NULL, next_run_at = ?3, "
    "updated_at = ?2 WHERE id = ?1 AND status = 4";

inline constexpr const char* retry_all_sql =
    "UPDATE jobs SET status = 1, attempts = 0, locked_until = NULL, next_run_at = ?2, "
    "updated_at = ?1 WHERE status = 4";

inline constexpr const char* cancel_sql =
    "UPDATE jobs SET status = 4, locked_until = NULL, updated_at = ?2 WHERE id = ?1 AND status = 1";

inline constexpr const char* remove_sql = "DELETE FROM jobs WHERE id = ?1 AND status <> 2";

inline constexpr const char* status_sql = "SELECT status FROM jobs WHERE id = ?1";

// ---- cleaner -------------------------------------------------------------------------------

// Both statuses are bound so one statement serves Done, Dead and both; (status, updated_at)
// turns it into index range scans.
inline constexpr const char* clean_sql =
    "DELETE FROM jobs WHERE status IN (?1, ?2) AND updated_at <= ?3";

} // namespace gqs::sqlite::detail
