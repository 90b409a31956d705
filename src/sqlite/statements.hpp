// SPDX-License-Identifier: Apache-2.0
// The backend's SQL text, all of it but the schema (schema.cpp), in one place; its tests read
// it too (the query-plan test). Statements are cached by address: each is one inline variable.
#pragma once

#include "connection_impl.hpp"

namespace gqs::sqlite::detail {

// The error history is a JSON array on the row. A value another program wrote that is not a
// JSON array is read as [] here, so appending never fails on it. One entry is appended, and
// the oldest dropped once 20 (max_attempt_errors) are kept; the readers keep the last 20
// whatever the row holds.
// clang-format off
#define GQS_ERRORS_ARRAY                                                                           \
    "(CASE WHEN json_valid(errors) THEN CASE WHEN json_type(errors) = 'array' THEN errors"         \
    " ELSE '[]' END ELSE '[]' END)"
#define GQS_APPEND_ERROR(at, message)                                                              \
    "json_insert(CASE WHEN json_array_length(" GQS_ERRORS_ARRAY ") >= 20"                          \
    " THEN json_remove(" GQS_ERRORS_ARRAY ", '$[0]') ELSE " GQS_ERRORS_ARRAY " END, '$[#]',"       \
    " json_object('at', " at ", 'attempt', attempts, 'message', " message "))"
// The entry of a transition that takes a message (?5, NULL for none): "cancelled" instead for
// a cancelled job.
#define GQS_TRANSITION_ERRORS                                                                      \
    "errors = CASE WHEN cancelled = 0 AND ?5 IS NULL THEN errors ELSE "                            \
    GQS_APPEND_ERROR("?2", "CASE WHEN cancelled = 1 THEN 'cancelled' ELSE ?5 END") " END"
// clang-format on
static_assert(max_attempt_errors == 20, "GQS_APPEND_ERROR keeps the last 20 entries");

// One statement, so selection and lease are atomic. The eligible set is two arms instead of
// the seed's single OR: with the OR, SQLite reads two index ranges that do not come back in
// order and sorts every ready row before LIMIT applies, so a pull costs O(ready jobs).
// - Pending arm: for each queue served (?4, a JSON array; or, for every queue, the queues
//   that hold Pending jobs, found by skipping through the index one queue at a time),
//   gqs_priorities (0..9, scanned in order) drives one ordered range of jobs_ready
//   (status, queue, priority, next_run_at) per priority, and LIMIT stops it after ?3 rows (a
//   correlated subquery: SQLite has no LATERAL). So neither delayed jobs of a better priority
//   nor other queues' ready jobs are ever walked over, and the <= queues x ?3 rows are
//   sorted. One index serves both shapes: a push writes one ready entry, not two.
// - Expired-lease arm: jobs_leased (status, locked_until), oldest expiry first.
// The survivors (a few batches at most) are sorted. A Processing row's next_run_at is always
// in the past; the check only keeps the rule in one place.
// A cancelled job whose lease ran out goes Dead ("cancelled") instead of being leased again;
// the caller drops it from what it returns. Another expired lease is leased again with the
// entry "lease expired" for the attempt that ran out.
// max(attempts, 0): a row written by hand with CHECKs off must not make every pull fail.
// clang-format off
#define GQS_PULL_SETS                                                                              \
    "UPDATE jobs SET"                                                                              \
    " status = CASE WHEN cancelled = 1 THEN 4 ELSE 2 END,"                                         \
    " attempts = CASE WHEN cancelled = 1 THEN attempts ELSE max(attempts, 0) + 1 END,"             \
    " locked_until = CASE WHEN cancelled = 1 THEN NULL ELSE ?2 END,"                               \
    " updated_at = ?1,"                                                                            \
    " errors = CASE WHEN status = 2 THEN "                                                         \
    GQS_APPEND_ERROR("?1", "CASE WHEN cancelled = 1 THEN 'cancelled' ELSE 'lease expired' END")    \
    " ELSE errors END "
#define GQS_PULL_SQL(queues, expired_filter)                                                       \
    GQS_PULL_SETS                                                                                  \
    "WHERE rowid IN ("                                                                             \
    " SELECT rowid FROM ("                                                                         \
    "  SELECT j.rowid, j.priority, j.next_run_at FROM " queues " qs CROSS JOIN jobs j"             \
    "  WHERE j.rowid IN ("                                                                         \
    "   SELECT x.rowid FROM gqs_priorities p CROSS JOIN jobs x"                                    \
    "   WHERE x.status = 1 AND x.queue = qs.value AND x.priority = p.priority"                     \
    "    AND x.next_run_at <= ?1"                                                                  \
    "   ORDER BY p.priority, x.next_run_at LIMIT ?3)"                                              \
    "  UNION ALL"                                                                                  \
    "  SELECT rowid, priority, next_run_at FROM ("                                                 \
    "   SELECT rowid, priority, next_run_at FROM jobs"                                             \
    "   WHERE status = 2 AND locked_until < ?1 AND next_run_at <= ?1" expired_filter               \
    "   ORDER BY locked_until LIMIT ?3)"                                                           \
    "  ORDER BY priority, next_run_at LIMIT ?3)) "                                                 \
    "RETURNING " GQS_JOB_COLUMNS

// Every queue that holds a Pending job, one index seek each (a loose index scan).
#define GQS_PENDING_QUEUES                                                                         \
    "(WITH RECURSIVE q(value) AS ("                                                                \
    "  SELECT (SELECT min(queue) FROM jobs WHERE status = 1)"                                      \
    "  UNION ALL"                                                                                  \
    "  SELECT (SELECT min(queue) FROM jobs WHERE status = 1 AND queue > q.value)"                  \
    "  FROM q WHERE q.value IS NOT NULL)"                                                          \
    " SELECT value FROM q WHERE value IS NOT NULL)"
// clang-format on

// The queues named are bound as one JSON array (?4), so one statement serves any number.
#define GQS_NAMED_QUEUES "json_each(?4)"
#define GQS_IN_QUEUES " AND queue IN (SELECT value FROM json_each(?4))"

// Every queue that holds a Pending job but those named in ?4 (the gated queues).
#define GQS_PENDING_QUEUES_EXCEPT                                                                  \
    "(SELECT value FROM " GQS_PENDING_QUEUES                                                       \
    " WHERE value NOT IN (SELECT value FROM json_each(?4)))"
#define GQS_NOT_IN_QUEUES " AND queue NOT IN (SELECT value FROM json_each(?4))"

inline constexpr const char* pull_sql = GQS_PULL_SQL(GQS_PENDING_QUEUES, "");
inline constexpr const char* pull_queues_sql = GQS_PULL_SQL(GQS_NAMED_QUEUES, GQS_IN_QUEUES);
inline constexpr const char* pull_except_sql =
    GQS_PULL_SQL(GQS_PENDING_QUEUES_EXCEPT, GQS_NOT_IN_QUEUES);

// ---- the pull of a queue with max_running_per_key (backend/pull.hpp) ----------------------

// ?1 now, ?2 lease end, ?3 batch, ?4 the queue, ?5 max_running_per_key, ?6 the window.
// The keys at their cap (`busy`: live leases per key) are left out of both arms' index ranges,
// so a key's backlog never hides other keys' jobs behind it; of the first ?6 candidates (the
// pull's order), a key gets no more than its free slots. Jobs without a key are not capped.
// A statement may take fewer than ?3 while more could go (the window held one key's jobs):
// the caller pulls again until one takes nothing.
// clang-format off
#define GQS_BUSY_KEYS                                                                              \
    "WITH busy(k, n) AS ("                                                                         \
    " SELECT concurrency_key, count(*) FROM jobs"                                                  \
    " WHERE status = 2 AND locked_until >= ?1 AND queue = ?4 AND concurrency_key IS NOT NULL"      \
    " GROUP BY concurrency_key) "
#define GQS_FREE_KEY(col)                                                                          \
    " AND (" col " IS NULL OR " col " NOT IN (SELECT k FROM busy WHERE n >= ?5))"

inline constexpr const char* pull_keyed_sql =
    GQS_PULL_SETS
    "WHERE rowid IN (" GQS_BUSY_KEYS ", cand(r, priority, next_run_at, k) AS ("
    "  SELECT j.rowid, j.priority, j.next_run_at, j.concurrency_key FROM jobs j"
    "  WHERE j.rowid IN ("
    "   SELECT x.rowid FROM gqs_priorities p CROSS JOIN jobs x"
    "   WHERE x.status = 1 AND x.queue = ?4 AND x.priority = p.priority AND x.next_run_at <= ?1"
    GQS_FREE_KEY("x.concurrency_key")
    "   ORDER BY p.priority, x.next_run_at LIMIT ?6)"
    "  UNION ALL"
    "  SELECT rowid, priority, next_run_at, concurrency_key FROM ("
    "   SELECT rowid, priority, next_run_at, concurrency_key FROM jobs"
    "   WHERE status = 2 AND locked_until < ?1 AND next_run_at <= ?1 AND queue = ?4"
    GQS_FREE_KEY("concurrency_key")
    "   ORDER BY locked_until LIMIT ?6)),"
    " ranked AS (SELECT r, priority, next_run_at, k,"
    "  row_number() OVER (PARTITION BY k ORDER BY priority, next_run_at, r) AS rn FROM cand)"
    " SELECT ranked.r FROM ranked WHERE ranked.k IS NULL"
    "  OR ranked.rn <= ?5 - coalesce((SELECT n FROM busy WHERE busy.k = ranked.k), 0)"
    " ORDER BY ranked.priority, ranked.next_run_at LIMIT ?3) "
    "RETURNING " GQS_JOB_COLUMNS;

// ?1 now, ?4 the queue, ?5 max_running_per_key: a ready job whose key is not at its cap.
inline constexpr const char* has_ready_keyed_sql =
    GQS_BUSY_KEYS
    "SELECT EXISTS (SELECT 1 FROM gqs_priorities p CROSS JOIN jobs j"
    " WHERE j.status = 1 AND j.queue = ?4 AND j.priority = p.priority AND j.next_run_at <= ?1"
    GQS_FREE_KEY("j.concurrency_key") ")"
    " OR EXISTS (SELECT 1 FROM jobs WHERE status = 2 AND locked_until < ?1 AND queue = ?4"
    GQS_FREE_KEY("concurrency_key") ")";
// clang-format on

// ---- pusher --------------------------------------------------------------------------------

// ?1 id, ?2 now, ?3 next_run_at, ?4 metadata, ?5 payload, ?6 queue, ?7 priority, ?8 key,
// ?9 concurrency key, ?10 group.
#define GQS_INSERT_SQL                                                                             \
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "               \
    "next_run_at, metadata, payload, queue, priority, unique_key, concurrency_key, job_group) "    \
    "VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

// A message without a key: an id that exists is a constraint error (DuplicateJob).
inline constexpr const char* insert_sql = GQS_INSERT_SQL;

// With a key: a key held by a live job (the partial index holds Pending and Processing rows
// only) makes the insert do nothing; the caller then reads the holder in the same
// transaction. An id that exists is still a constraint error (DuplicateJob).
inline constexpr const char* insert_keyed_sql =
    GQS_INSERT_SQL " ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND "
                   "status IN (1, 2) DO NOTHING";

inline constexpr const char* key_holder_sql =
    "SELECT id FROM jobs WHERE queue = ?1 AND unique_key = ?2 AND status IN (1, 2)";

// ---- puller --------------------------------------------------------------------------------

// Every transition names the lease it acts on: status Processing *and* the attempts the
// caller saw. The seed checks only the status, so a worker whose lease expired and was
// re-pulled by another could still finish or extend the other's lease. attempts grows on
// every pull, which makes it a fencing token for the lease.
// Transitions return the cancel flag: a cancelled job that would go back to Pending goes Dead
// with the entry "cancelled" instead (Admin::cancel's promise that it never runs again).
inline constexpr const char* extend_sql = "UPDATE jobs SET locked_until = ?3, updated_at = ?2 "
                                          "WHERE id = ?1 AND status = 2 AND attempts = ?4 "
                                          "RETURNING cancelled";

// Complete needs no cancel flag (a cancelled job that finishes is Done), and RETURNING costs
// an ephemeral table (a zeroed page) per run: on the hottest transition it is left out.
inline constexpr const char* complete_sql =
    "UPDATE jobs SET status = 3, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3";

inline constexpr const char* requeue_sql =
    "UPDATE jobs SET status = CASE WHEN cancelled = 1 THEN 4 ELSE 1 END, locked_until = NULL, "
    "next_run_at = ?3, updated_at = ?2, " GQS_TRANSITION_ERRORS
    " WHERE id = ?1 AND status = 2 AND attempts = ?4 RETURNING cancelled";

// A release hands back a lease whose handler never ran (a worker stopping with jobs in its
// local queue): the attempt the pull counted is taken back, and next_run_at is kept so the
// job keeps its place in line. A snooze is a release with a new next_run_at (?4). Fenced
// like the others: a stale holder cannot uncount someone else's attempt.
// clang-format off
#define GQS_RELEASE_SQL(next_run_at)                                                               \
    "UPDATE jobs SET status = CASE WHEN cancelled = 1 THEN 4 ELSE 1 END, "                         \
    "attempts = CASE WHEN cancelled = 1 THEN attempts ELSE attempts - 1 END, "                     \
    "locked_until = NULL, updated_at = ?2, next_run_at = " next_run_at ", "                        \
    "errors = CASE WHEN cancelled = 1 THEN " GQS_APPEND_ERROR("?2", "'cancelled'")                 \
    " ELSE errors END "                                                                            \
    "WHERE id = ?1 AND status = 2 AND attempts = ?3 AND attempts > 0 RETURNING cancelled"
// clang-format on

inline constexpr const char* release_sql = GQS_RELEASE_SQL("next_run_at");
inline constexpr const char* snooze_sql = GQS_RELEASE_SQL("?4");

// Kill takes the caller's own lease, or a Pending job the caller saw Pending (same attempts:
// a Pending row's attempts only change when it is pulled again).
inline constexpr const char* kill_sql =
    "UPDATE jobs SET status = 4, locked_until = NULL, updated_at = ?2, " GQS_TRANSITION_ERRORS
    " WHERE id = ?1 AND status IN (1, 2) AND status = ?4 AND attempts = ?3 RETURNING cancelled";

// The same arms as pull, as a read: at most one seek per queue and priority. The per-queue
// part is a correlated subquery, as in pull: written as a join, SQLite may build a Bloom
// filter over the whole index first, which reads every Pending job.
#define GQS_HAS_READY_SQL(queues, expired_filter)                                                  \
    "SELECT EXISTS (SELECT 1 FROM " queues " qs WHERE EXISTS ("                                    \
    " SELECT 1 FROM gqs_priorities p CROSS JOIN jobs j"                                            \
    " WHERE j.status = 1 AND j.queue = qs.value AND j.priority = p.priority"                       \
    " AND j.next_run_at <= ?1))"                                                                   \
    " OR EXISTS (SELECT 1 FROM jobs WHERE status = 2 AND locked_until < ?1" expired_filter ")"

inline constexpr const char* has_ready_sql = GQS_HAS_READY_SQL(GQS_PENDING_QUEUES, "");
inline constexpr const char* has_ready_queues_sql =
    GQS_HAS_READY_SQL(GQS_NAMED_QUEUES, GQS_IN_QUEUES);
inline constexpr const char* has_ready_except_sql =
    GQS_HAS_READY_SQL(GQS_PENDING_QUEUES_EXCEPT, GQS_NOT_IN_QUEUES);

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

// Per queue and status, one row each; the totals are their sums. Every part but the
// Processing one (a few rows, one per running job) reads an index, never the table: Pending
// from jobs_ready, Done and Dead from jobs_finished (status, updated_at, queue).
inline constexpr const char* stats_sql =
    "SELECT queue, 1, count(*), 0, min(CASE WHEN next_run_at <= ?1 THEN next_run_at END),"
    " min(CASE WHEN next_run_at > ?1 THEN next_run_at END)"
    " FROM jobs WHERE status = 1 GROUP BY queue"
    " UNION ALL "
    "SELECT queue, 2, count(*), sum(locked_until < ?1), NULL, NULL"
    " FROM jobs WHERE status = 2 GROUP BY queue"
    " UNION ALL "
    "SELECT queue, status, count(*), 0, NULL, NULL"
    " FROM jobs INDEXED BY jobs_finished WHERE status IN (3, 4)"
    " GROUP BY queue, status";

// ---- admin ---------------------------------------------------------------------------------

// A retried job joins the unique index again: a key held by a live job makes the UPDATE fail
// with a constraint error (UniqueConflict); retry_all skips such jobs (OR IGNORE).
inline constexpr const char* retry_sql =
    "UPDATE jobs SET status = 1, attempts = 0, locked_until = NULL, next_run_at = ?3, "
    "updated_at = ?2, cancelled = 0 WHERE id = ?1 AND status = 4";

inline constexpr const char* retry_all_sql =
    "UPDATE OR IGNORE jobs SET status = 1, attempts = 0, locked_until = NULL, next_run_at = ?2, "
    "updated_at = ?1, cancelled = 0 WHERE status = 4";

// Pending, or Processing with its lease already run out: Dead now. Processing with a live
// lease: flagged; its worker sees the flag when it next extends the lease.
// clang-format off
inline constexpr const char* cancel_sql =
    "UPDATE jobs SET "
    "status = CASE WHEN status = 1 OR locked_until < ?2 THEN 4 ELSE status END, "
    "errors = CASE WHEN status = 1 OR locked_until < ?2 THEN "
    GQS_APPEND_ERROR("?2", "'cancelled'") " ELSE errors END, "
    "locked_until = CASE WHEN status = 1 OR locked_until < ?2 THEN NULL ELSE locked_until END, "
    "cancelled = CASE WHEN status = 2 THEN 1 ELSE cancelled END, updated_at = ?2 "
    "WHERE id = ?1 AND status IN (1, 2)";
// clang-format on

inline constexpr const char* remove_sql = "DELETE FROM jobs WHERE id = ?1 AND status <> 2";

inline constexpr const char* status_sql = "SELECT status FROM jobs WHERE id = ?1";

// ---- cleaner -------------------------------------------------------------------------------

// Both statuses are bound so one statement serves Done, Dead and both; the literal
// `status IN (3, 4)` lets SQLite use the partial index jobs_finished (status, updated_at,
// queue), which turns it into index range scans.
inline constexpr const char* clean_sql =
    "DELETE FROM jobs WHERE status IN (3, 4) AND status IN (?1, ?2) AND updated_at <= ?3";

// ---- schedules -----------------------------------------------------------------------------

/// The columns every schedule-reading statement returns, in this order (read_schedule).
#define GQS_SCHEDULE_COLUMNS                                                                       \
    "name, cron, zone, catch_up, paused, metadata, payload, queue, priority, unique_key, "         \
    "next_fire, last_fire, last_job"

// A replaced schedule keeps where it stands (last_fire, last_job).
inline constexpr const char* schedule_write_sql =
    "INSERT INTO gqs_schedules (name, cron, zone, catch_up, paused, metadata, payload, queue, "
    "priority, unique_key, next_fire, updated_at) "
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
    "ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, zone = excluded.zone, "
    "catch_up = excluded.catch_up, paused = excluded.paused, metadata = excluded.metadata, "
    "payload = excluded.payload, queue = excluded.queue, priority = excluded.priority, "
    "unique_key = excluded.unique_key, next_fire = excluded.next_fire, "
    "updated_at = excluded.updated_at";

inline constexpr const char* schedule_erase_sql = "DELETE FROM gqs_schedules WHERE name = ?1";

inline constexpr const char* schedule_pause_sql =
    "UPDATE gqs_schedules SET paused = 1, updated_at = ?2 WHERE name = ?1";

inline constexpr const char* schedule_resume_sql =
    "UPDATE gqs_schedules SET paused = 0, next_fire = ?2, updated_at = ?3 "
    "WHERE name = ?1 AND paused = 1";

inline constexpr const char* schedule_read_sql =
    "SELECT " GQS_SCHEDULE_COLUMNS " FROM gqs_schedules WHERE name = ?1";

inline constexpr const char* schedule_read_all_sql =
    "SELECT " GQS_SCHEDULE_COLUMNS " FROM gqs_schedules ORDER BY name";

// Inside the tick's write transaction (BEGIN IMMEDIATE): no other connection can claim the
// same schedule until it commits. gqs_schedules_due holds the unpaused ones by next_fire.
inline constexpr const char* schedule_claim_sql =
    "SELECT " GQS_SCHEDULE_COLUMNS " FROM gqs_schedules "
    "WHERE paused = 0 AND next_fire IS NOT NULL AND next_fire <= ?1 ORDER BY next_fire LIMIT 1";

// Fenced on the slot the tick read, so a schedule is never advanced twice from one slot.
inline constexpr const char* schedule_advance_sql =
    "UPDATE gqs_schedules SET next_fire = ?3, last_fire = coalesce(?4, last_fire), "
    "last_job = coalesce(?5, last_job), updated_at = ?6 "
    "WHERE name = ?1 AND next_fire = ?2 AND paused = 0";

inline constexpr const char* schedule_earliest_sql =
    "SELECT min(next_fire) FROM gqs_schedules WHERE paused = 0 AND next_fire IS NOT NULL";

// ---- queue limits --------------------------------------------------------------------------

/// The columns every queue-limits-reading statement returns, in this order (read_limits).
#define GQS_QUEUE_COLUMNS                                                                          \
    "queue, paused, max_running, rate, burst, max_running_per_key, group_weights, fair_share"

// Replaces every limit; the token bucket's state survives only when its shape is unchanged
// (every process declaring its limits at start must not refill it).
inline constexpr const char* queue_write_sql =
    "INSERT INTO gqs_queues (queue, paused, max_running, rate, burst, max_running_per_key, "
    "group_weights, updated_at, fair_share) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
    "ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused, "
    "fair_share = excluded.fair_share, "
    "max_running = excluded.max_running, rate = excluded.rate, burst = excluded.burst, "
    "max_running_per_key = excluded.max_running_per_key, "
    "group_weights = excluded.group_weights, "
    "tokens = CASE WHEN rate IS excluded.rate AND burst = excluded.burst THEN tokens END, "
    "refilled_at = CASE WHEN rate IS excluded.rate AND burst = excluded.burst "
    "THEN refilled_at END, updated_at = excluded.updated_at";

// A queue paused before it had limits gets a row of its own, with no other limits.
inline constexpr const char* queue_pause_sql =
    "INSERT INTO gqs_queues (queue, paused, updated_at) VALUES (?1, 1, ?2) "
    "ON CONFLICT (queue) DO UPDATE SET paused = 1, updated_at = excluded.updated_at "
    "WHERE paused = 0";

inline constexpr const char* queue_resume_sql =
    "UPDATE gqs_queues SET paused = 0, updated_at = ?2 WHERE queue = ?1 AND paused = 1";

inline constexpr const char* queue_erase_sql = "DELETE FROM gqs_queues WHERE queue = ?1";

inline constexpr const char* queue_read_sql =
    "SELECT " GQS_QUEUE_COLUMNS " FROM gqs_queues WHERE queue = ?1";

inline constexpr const char* queue_read_all_sql =
    "SELECT " GQS_QUEUE_COLUMNS " FROM gqs_queues ORDER BY queue";

// ---- queue limits in the pulls (backend/pull.hpp) -------------------------------------------

// The queues whose limits restrict a pull, with the token bucket's state (read_gate).
#define GQS_GATE_SQL(filter)                                                                       \
    "SELECT queue, paused, max_running, rate, burst, tokens, refilled_at, max_running_per_key,"    \
    " fair_share, group_weights, rr_group, rr_used"                                                \
    " FROM gqs_queues WHERE (paused = 1 OR max_running IS NOT NULL OR rate IS NOT NULL"            \
    " OR max_running_per_key IS NOT NULL OR fair_share = 1 OR group_weights IS NOT NULL)" filter   \
    " ORDER BY queue"

inline constexpr const char* gates_sql = GQS_GATE_SQL("");
// ?1 the queues named, as one JSON array.
inline constexpr const char* gates_of_sql =
    GQS_GATE_SQL(" AND queue IN (SELECT value FROM json_each(?1))");
inline constexpr const char* gate_sql = GQS_GATE_SQL(" AND queue = ?1");

// A queue's jobs Processing with a live lease (?2 now), and the earliest end of their leases.
inline constexpr const char* running_sql =
    "SELECT count(*), min(locked_until) FROM jobs"
    " WHERE status = 2 AND locked_until >= ?2 AND queue = ?1";

inline constexpr const char* save_bucket_sql =
    "UPDATE gqs_queues SET tokens = ?2, refilled_at = ?3 WHERE queue = ?1";

// ---- the pull of a fair-share queue (backend/pull.hpp, pull_fair) ---------------------------

// Every statement here numbers its parameters alike: ?1 now, ?2 lease end, ?3 how many,
// ?4 the queue, ?5 the priority, ?6 the window (fair_window), ?7 a group, ?8 groups (a JSON
// array).

// The best priority with a ready job (one probe of jobs_ready per priority, bounded by now).
inline constexpr const char* fair_priority_sql =
    "SELECT min(p.priority) FROM gqs_priorities p WHERE EXISTS (SELECT 1 FROM jobs"
    " WHERE status = 1 AND queue = ?4 AND priority = p.priority AND next_run_at <= ?1)";

// Up to ?3 groups with a ready job, from ?7 (included) up, one seek of jobs_ready_group each
// (a loose index scan).
inline constexpr const char* fair_groups_sql =
    "WITH RECURSIVE g(v, n) AS ("
    " SELECT (SELECT job_group FROM jobs WHERE status = 1 AND job_group IS NOT NULL"
    "  AND queue = ?4 AND priority = ?5 AND job_group >= ?7 AND next_run_at <= ?1"
    "  ORDER BY job_group LIMIT 1), 1"
    " UNION ALL"
    " SELECT (SELECT job_group FROM jobs WHERE status = 1 AND job_group IS NOT NULL"
    "  AND queue = ?4 AND priority = ?5 AND job_group > g.v AND next_run_at <= ?1"
    "  ORDER BY job_group LIMIT 1), g.n + 1 FROM g WHERE g.v IS NOT NULL AND g.n < ?3)"
    " SELECT v FROM g WHERE v IS NOT NULL";

// The ?6 oldest ready jobs of the priority, where the jobs without a group are looked for.
#define GQS_FAIR_WINDOW                                                                            \
    "(SELECT rowid AS r, job_group AS grp FROM jobs WHERE status = 1 AND queue = ?4"               \
    " AND priority = ?5 AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?6)"

inline constexpr const char* fair_ungrouped_sql =
    "SELECT EXISTS (SELECT 1 FROM " GQS_FAIR_WINDOW " WHERE grp IS NULL)";

// The queue's expired leases, at most ?3.
inline constexpr const char* fair_expired_sql =
    "SELECT count(*) FROM (SELECT 1 FROM jobs WHERE status = 2 AND locked_until < ?1"
    " AND queue = ?4 LIMIT ?3)";

// The leases of a fair pull. Expired leases, oldest expiry first:
inline constexpr const char* pull_fair_expired_sql =
    GQS_PULL_SETS "WHERE rowid IN (SELECT rowid FROM jobs WHERE status = 2 AND locked_until < ?1"
                  " AND next_run_at <= ?1 AND queue = ?4 ORDER BY locked_until LIMIT ?3) "
                  "RETURNING " GQS_JOB_COLUMNS;
// up to ?3 of the oldest ready jobs of each group named in ?8 (a JSON array): one range of
// jobs_ready_group per group (a correlated subquery: SQLite has no LATERAL, and its LIMIT
// cannot vary by row, so the caller runs one statement per distinct quota):
inline constexpr const char* pull_fair_groups_sql =
    GQS_PULL_SETS "WHERE rowid IN (SELECT x.rowid FROM json_each(?8) w CROSS JOIN jobs x"
                  " WHERE x.rowid IN (SELECT rowid FROM jobs WHERE status = 1"
                  " AND job_group IS NOT NULL AND queue = ?4 AND priority = ?5"
                  " AND job_group = w.value AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?3)) "
                  "RETURNING " GQS_JOB_COLUMNS;
// the jobs without a group among the window's:
inline constexpr const char* pull_fair_ungrouped_sql =
    GQS_PULL_SETS "WHERE rowid IN (SELECT r FROM " GQS_FAIR_WINDOW " WHERE grp IS NULL LIMIT ?3) "
                  "RETURNING " GQS_JOB_COLUMNS;

// ?1 the queue, ?2 the group served last, ?3 how much of its turn it used.
inline constexpr const char* save_turn_sql =
    "UPDATE gqs_queues SET rr_group = ?2, rr_used = ?3 WHERE queue = ?1";

} // namespace gqs::sqlite::detail
