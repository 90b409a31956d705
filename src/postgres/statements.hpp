// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL backend's SQL text, all of it but the schema (schema.cpp), in one place.
// Designed and measured in docs/dev/postgres-sql-research.md. `{s}` is the quoted schema.
// Every parameter carries a cast: they are sent in binary, so their types must be named.
// Status values stay literals (a generic plan cannot prove a partial index's predicate from
// a parameter). The clock is statement_timestamp(): STABLE, so it bounds index ranges.
#pragma once

namespace gqs::postgres::detail {

// The job columns in Job order (read_job).
#define GQS_PG_JOB_COLUMNS(p)                                                                      \
    p "id, " p "created_at, " p "updated_at, " p "status, " p "attempts, " p "locked_until, " p    \
      "next_run_at, " p "metadata, " p "payload, " p "queue, " p "priority, " p "unique_key, " p   \
      "errors, " p "cancelled, " p "concurrency_key, " p "job_group"

// clang-format off
#define GQS_PG_NOW_US "(extract(epoch FROM statement_timestamp()) * 1000000)::bigint"
// The error history with one entry appended, keeping the last 20 (max_attempt_errors).
#define GQS_PG_APPEND_ERROR(message)                                                               \
    "jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')"                     \
    " || jsonb_build_array(jsonb_build_object('at', " GQS_PG_NOW_US ", 'attempt', j.attempts,"     \
    " 'message', " message "))"
#define GQS_PG_AFTER(us) "statement_timestamp() + " us " * interval '1 microsecond'"

// The lease of the picked rows (looked up through jobs_pkey: as a join with `picked`, a custom
// plan for a large batch hashed the whole table). A cancelled job whose lease ran out goes Dead ("cancelled")
// instead, and the caller drops it; another expired lease gets the entry "lease expired".
#define GQS_PG_LEASE_PICKED                                                                        \
    "UPDATE {s}.jobs j SET"                                                                        \
    " status = CASE WHEN j.cancelled THEN 4 ELSE 2 END,"                                           \
    " attempts = CASE WHEN j.cancelled THEN j.attempts ELSE j.attempts + 1 END,"                   \
    " locked_until = CASE WHEN j.cancelled THEN NULL ELSE " GQS_PG_AFTER("$2::bigint") " END,"     \
    " updated_at = statement_timestamp(),"                                                         \
    " errors = CASE WHEN j.status = 2 THEN " GQS_PG_APPEND_ERROR(                                  \
        "CASE WHEN j.cancelled THEN 'cancelled' ELSE 'lease expired' END") " ELSE j.errors END"    \
    " WHERE j.id = ANY (ARRAY(SELECT id FROM picked)) RETURNING " GQS_PG_JOB_COLUMNS("j.")

// Each arm is one ordered index range under FOR UPDATE SKIP LOCKED, materialized so that a
// row set involving SKIP LOCKED is computed exactly once; `picked` sorts the few candidates.
#define GQS_PG_PICKED                                                                              \
    "), picked AS MATERIALIZED ("                                                                  \
    " SELECT id FROM (TABLE expired UNION ALL TABLE pending) c"                                    \
    " ORDER BY priority, next_run_at, id LIMIT $1::int) "
// clang-format on

// $1 batch, $2 lease (µs). Pending: one range of jobs_ready per priority, bounded by now;
// `filter` narrows both arms.
#define GQS_PG_PULL_ALL_SQL(filter)                                                                \
    "WITH expired AS MATERIALIZED ("                                                               \
    " SELECT id, priority, next_run_at FROM {s}.jobs"                                              \
    " WHERE status = 2 AND locked_until < statement_timestamp()" filter                            \
    " ORDER BY locked_until LIMIT $1::int FOR UPDATE SKIP LOCKED"                                  \
    "), pending AS MATERIALIZED ("                                                                 \
    " SELECT j.id, j.priority, j.next_run_at FROM generate_series(0, 9) AS p(priority)"            \
    " CROSS JOIN LATERAL ("                                                                        \
    "  SELECT id, priority, next_run_at FROM {s}.jobs"                                             \
    "  WHERE status = 1 AND priority = p.priority AND next_run_at <= statement_timestamp()" filter \
    "  ORDER BY next_run_at LIMIT $1::int FOR UPDATE SKIP LOCKED) j"                               \
    " LIMIT $1::int" GQS_PG_PICKED GQS_PG_LEASE_PICKED

inline constexpr const char* pull_sql = GQS_PG_PULL_ALL_SQL("");

// $3 the gated queues (text[]): every queue but those, as pull_sql.
inline constexpr const char* pull_except_sql =
    GQS_PG_PULL_ALL_SQL(" AND queue <> ALL ($3::text[])");

// $3 the queue names (text[], distinct): one range of jobs_ready_queue per queue and priority.
// `filter` narrows both arms.
#define GQS_PG_PULL_QUEUES_SQL(filter)                                                             \
    "WITH expired AS MATERIALIZED ("                                                               \
    " SELECT id, priority, next_run_at FROM {s}.jobs"                                              \
    " WHERE status = 2 AND locked_until < statement_timestamp() AND queue = ANY "                  \
    "($3::text[])" filter " ORDER BY locked_until LIMIT $1::int FOR UPDATE SKIP LOCKED"            \
    "), pending AS MATERIALIZED ("                                                                 \
    " SELECT c.id, c.priority, c.next_run_at FROM unnest($3::text[]) AS q(name)"                   \
    " CROSS JOIN LATERAL ("                                                                        \
    "  SELECT j.id, j.priority, j.next_run_at FROM generate_series(0, 9) AS p(priority)"           \
    "  CROSS JOIN LATERAL ("                                                                       \
    "   SELECT id, priority, next_run_at FROM {s}.jobs"                                            \
    "   WHERE status = 1 AND queue = q.name AND priority = p.priority"                             \
    "   AND next_run_at <= statement_timestamp()" filter                                           \
    "   ORDER BY next_run_at LIMIT $1::int FOR UPDATE SKIP LOCKED) j"                              \
    "  LIMIT $1::int) c" GQS_PG_PICKED GQS_PG_LEASE_PICKED

inline constexpr const char* pull_queues_sql = GQS_PG_PULL_QUEUES_SQL("");

// A gqs_queues row whose limits restrict a pull (the gates of backend/pull.hpp).
#define GQS_PG_GATED                                                                               \
    "(paused OR max_running IS NOT NULL OR rate IS NOT NULL OR max_running_per_key IS NOT NULL"    \
    " OR fair_share OR group_weights IS NOT NULL)"

// The first try of every pull: pull_sql or pull_queues_sql guarded so that they take nothing
// when a queue they would serve has a gate. The guard is an uncorrelated NOT EXISTS over the
// few rows of gqs_queues, which PostgreSQL evaluates once per statement (an InitPlan) and
// which leaves the arms' index ranges as they are. A pull that takes jobs this way made one
// round trip; one that takes none goes the whole way (backend/pull.hpp).
inline constexpr const char* pull_unless_gated_sql =
    GQS_PG_PULL_ALL_SQL(" AND NOT EXISTS (SELECT FROM {s}.gqs_queues WHERE " GQS_PG_GATED ")");
inline constexpr const char* pull_queues_unless_gated_sql =
    GQS_PG_PULL_QUEUES_SQL(" AND NOT EXISTS (SELECT FROM {s}.gqs_queues"
                           " WHERE queue = ANY ($3::text[]) AND " GQS_PG_GATED ")");

// The pull of a queue with max_running_per_key (backend/pull.hpp): $1 batch, $2 lease (µs),
// $3 the queue, $4 max_running_per_key, $5 the window. The keys at their cap (`busy`: live
// leases per key) are left out of both arms' index ranges, so a key's backlog never hides
// other keys' jobs behind it; of the first $5 candidates (the pull's order), a key gets no more
// than its free slots. Jobs without a key are not capped. The caller pulls again until a
// statement takes nothing (the window may have held one key's jobs).
// clang-format off
#define GQS_PG_BUSY_KEYS(queue)                                                                    \
    "busy AS MATERIALIZED ("                                                                       \
    " SELECT concurrency_key AS k, count(*)::int AS n FROM {s}.jobs"                               \
    " WHERE status = 2 AND locked_until >= statement_timestamp() AND queue = " queue                \
    " AND concurrency_key IS NOT NULL GROUP BY concurrency_key)"
#define GQS_PG_FREE_KEY(col, cap)                                                                  \
    " AND (" col " IS NULL OR " col " NOT IN (SELECT k FROM busy WHERE n >= " cap "))"
// clang-format on

inline constexpr const char* pull_keyed_sql = "WITH " GQS_PG_BUSY_KEYS(
    "$3::text") ", expired AS MATERIALIZED ("
                " SELECT id, priority, next_run_at, concurrency_key FROM {s}.jobs"
                " WHERE status = 2 AND locked_until < statement_timestamp() AND queue = "
                "$3::text" GQS_PG_FREE_KEY(
                    "concurrency_key",
                    "$4::int") " ORDER BY locked_until LIMIT $5::int FOR UPDATE SKIP LOCKED"
                               "), pending AS MATERIALIZED ("
                               " SELECT j.id, j.priority, j.next_run_at, j.concurrency_key"
                               " FROM generate_series(0, 9) AS p(priority) CROSS JOIN LATERAL ("
                               "  SELECT id, priority, next_run_at, concurrency_key FROM {s}.jobs"
                               "  WHERE status = 1 AND queue = $3::text AND priority = p.priority"
                               "  AND next_run_at <= statement_timestamp()" GQS_PG_FREE_KEY(
                                   "concurrency_key",
                                   "$4::int") "  ORDER BY next_run_at LIMIT $5::int FOR UPDATE "
                                              "SKIP LOCKED) j"
                                              " LIMIT $5::int"
                                              "), picked AS MATERIALIZED ("
                                              " SELECT r.id FROM (SELECT c.id, c.priority, "
                                              "c.next_run_at, c.concurrency_key AS k,"
                                              "  row_number() OVER (PARTITION BY c.concurrency_key"
                                              "   ORDER BY c.priority, c.next_run_at, c.id) AS rn"
                                              "  FROM (TABLE expired UNION ALL TABLE pending) c) r"
                                              " LEFT JOIN busy b ON b.k = r.k WHERE r.k IS NULL OR "
                                              "r.rn <= $4::int - coalesce(b.n, 0)"
                                              " ORDER BY r.priority, r.next_run_at, r.id LIMIT "
                                              "$1::int) " GQS_PG_LEASE_PICKED;

// $1 the queue, $2 max_running_per_key: a ready job whose key is not at its cap.
inline constexpr const char* has_ready_keyed_sql = "WITH " GQS_PG_BUSY_KEYS(
    "$1::text") " SELECT EXISTS (SELECT FROM generate_series(0, 9) AS p(priority) WHERE EXISTS ("
                " SELECT FROM {s}.jobs WHERE status = 1 AND queue = $1::text AND priority = "
                "p.priority"
                " AND next_run_at <= statement_timestamp()" GQS_PG_FREE_KEY(
                    "concurrency_key", "$2::int") "))"
                                                  " OR EXISTS (SELECT FROM {s}.jobs WHERE status = "
                                                  "2 AND locked_until < statement_timestamp()"
                                                  " AND queue = $1::text" GQS_PG_FREE_KEY(
                                                      "concurrency_key", "$2::int") ")";

// The same arms as a read.
inline constexpr const char* has_ready_sql =
    "SELECT EXISTS (SELECT FROM generate_series(0, 9) AS p(priority) WHERE EXISTS ("
    " SELECT FROM {s}.jobs WHERE status = 1 AND priority = p.priority"
    " AND next_run_at <= statement_timestamp()))"
    " OR EXISTS (SELECT FROM {s}.jobs WHERE status = 2 AND locked_until < statement_timestamp())";

inline constexpr const char* has_ready_queues_sql =
    "SELECT EXISTS (SELECT FROM unnest($1::text[]) AS q(name)"
    " CROSS JOIN generate_series(0, 9) AS p(priority) WHERE EXISTS ("
    " SELECT FROM {s}.jobs WHERE status = 1 AND queue = q.name AND priority = p.priority"
    " AND next_run_at <= statement_timestamp()))"
    " OR EXISTS (SELECT FROM {s}.jobs WHERE status = 2 AND locked_until < statement_timestamp()"
    " AND queue = ANY ($1::text[]))";

inline constexpr const char* has_ready_except_sql =
    "SELECT EXISTS (SELECT FROM generate_series(0, 9) AS p(priority) WHERE EXISTS ("
    " SELECT FROM {s}.jobs WHERE status = 1 AND priority = p.priority"
    " AND next_run_at <= statement_timestamp() AND queue <> ALL ($1::text[])))"
    " OR EXISTS (SELECT FROM {s}.jobs WHERE status = 2 AND locked_until < statement_timestamp()"
    " AND queue <> ALL ($1::text[]))";

// ---- transitions -----------------------------------------------------------------------------

// Every settlement in one statement, over parallel arrays (one element each; the leases are
// distinct and sorted by id, so two settles lock rows in the same order). Action codes are
// gqs::Action's: 0 Complete, 1 Requeue, 2 Kill, 3 Release, 4 Snooze. Fenced by the attempts
// and the status the caller saw. A cancelled job that would go back to Pending goes Dead
// with the entry "cancelled". Returns one row per applied settlement (ord: 1-based).
// $1 ids, $2 attempts, $3 status seen, $4 action, $5 backoff µs, $6 error (NULL: none).
// clang-format off
inline constexpr const char* settle_sql =
    "UPDATE {s}.jobs j SET"
    " status = CASE WHEN s.action = 0 THEN 3 WHEN s.action = 2 OR j.cancelled THEN 4 ELSE 1 END,"
    " attempts = CASE WHEN s.action IN (3, 4) AND NOT j.cancelled THEN j.attempts - 1"
    "  ELSE j.attempts END,"
    " locked_until = NULL,"
    " next_run_at = CASE WHEN s.action IN (1, 4) THEN " GQS_PG_AFTER("s.backoff_us")
    "  ELSE j.next_run_at END,"
    " updated_at = statement_timestamp(),"
    " errors = CASE WHEN s.action = 0 OR (NOT j.cancelled AND (s.action IN (3, 4)"
    "  OR s.error IS NULL)) THEN j.errors ELSE "
    GQS_PG_APPEND_ERROR("CASE WHEN j.cancelled THEN 'cancelled' ELSE s.error END") " END"
    " FROM unnest($1::uuid[], $2::int[], $3::smallint[], $4::smallint[], $5::bigint[], "
    " $6::text[]) WITH ORDINALITY AS s(id, attempts, seen, action, backoff_us, error, ord)"
    " WHERE j.id = s.id AND j.attempts = s.attempts AND j.status = s.seen"
    " AND (j.status = 2 OR (j.status = 1 AND s.action = 2))"
    " AND (s.action NOT IN (3, 4) OR j.attempts > 0)"
    " RETURNING s.ord, j.cancelled, j.updated_at, j.next_run_at";
// clang-format on

// $1 id, $2 attempts, $3 lease µs.
inline constexpr const char* extend_sql = "UPDATE {s}.jobs SET locked_until = " GQS_PG_AFTER(
    "$3::bigint") ","
                  " updated_at = statement_timestamp()"
                  " WHERE id = $1::uuid AND status = 2 AND attempts = $2::int"
                  " RETURNING cancelled, locked_until, updated_at";

// ---- pusher ----------------------------------------------------------------------------------

#define GQS_PG_INSERT_INTO                                                                         \
    "INSERT INTO {s}.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata,"   \
    " payload, queue, priority, unique_key, concurrency_key, job_group) "
#define GQS_PG_ON_KEY                                                                              \
    " ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN (1, 2)"           \
    " DO NOTHING"

// $1 id, $2 delay µs, $3 metadata, $4 payload, $5 queue, $6 priority, $7 concurrency key,
// $8 group. An id that exists is 23505 on jobs_pkey (DuplicateJob).
inline constexpr const char* insert_sql = GQS_PG_INSERT_INTO
    "VALUES ($1::uuid, statement_timestamp(), statement_timestamp(), 1, 0, " GQS_PG_AFTER(
        "$2::bigint") ", $3::jsonb, $4::bytea, $5::text, $6::smallint, NULL, $7::text, $8::text)";

// With a key ($9): (id, false) when stored, (holder, true) when a live job holds the key, or
// no row when the holder committed after this statement's snapshot (run it again).
inline constexpr const char* insert_keyed_sql =
    "WITH ins AS (" GQS_PG_INSERT_INTO
    "VALUES ($1::uuid, statement_timestamp(), statement_timestamp(), 1, 0, " GQS_PG_AFTER(
        "$2::bigint") ", $3::jsonb, $4::bytea, $5::text, $6::smallint, $9::text, $7::text,"
                      " $8::text)" GQS_PG_ON_KEY " RETURNING id)"
                      " SELECT id, false FROM ins UNION ALL"
                      " SELECT id, true FROM {s}.jobs WHERE queue = $5::text AND unique_key = "
                      "$9::text"
                      " AND status IN (1, 2) AND NOT EXISTS (SELECT FROM ins)";

// A batch over parallel arrays, in order (the first of two messages with one key is stored);
// returns the ids stored. $2 is the delay µs of all of them; $8 the concurrency keys, $9 the
// groups.
inline constexpr const char* insert_batch_sql = GQS_PG_INSERT_INTO
    "SELECT t.id, statement_timestamp(), statement_timestamp(), 1, 0, " GQS_PG_AFTER(
        "$2::bigint") ", t.metadata, t.payload, t.queue, t.priority, t.unique_key,"
                      " t.concurrency_key, t.job_group"
                      " FROM unnest($1::uuid[], $3::jsonb[], $4::bytea[], $5::text[], "
                      "$6::smallint[], $7::text[], $8::text[], $9::text[])"
                      " WITH ORDINALITY AS t(id, metadata, payload, queue, priority, unique_key, "
                      "concurrency_key, job_group, ord)"
                      " ORDER BY t.ord" GQS_PG_ON_KEY " RETURNING id";

// The live holders of (queue, key) pairs: $1 queues, $2 keys.
inline constexpr const char* key_holders_sql =
    "SELECT k.queue, k.unique_key, j.id FROM unnest($1::text[], $2::text[]) AS k(queue, unique_key)"
    " JOIN {s}.jobs j ON j.queue = k.queue AND j.unique_key = k.unique_key AND j.status IN (1, 2)";

// ---- observer --------------------------------------------------------------------------------

inline constexpr const char* get_sql =
    "SELECT " GQS_PG_JOB_COLUMNS("") " FROM {s}.jobs WHERE id = $1::uuid";

// $1 status (0: any), $2 limit (NULL: all).
inline constexpr const char* list_sql = "SELECT " GQS_PG_JOB_COLUMNS(
    "") " FROM {s}.jobs"
        " WHERE $1::smallint = 0 OR status = $1::smallint ORDER BY created_at, id LIMIT $2::bigint";

// $3, $4: the cursor (created_at, id).
inline constexpr const char* page_sql =
    "SELECT " GQS_PG_JOB_COLUMNS("") " FROM {s}.jobs"
                                     " WHERE ($1::smallint = 0 OR status = $1::smallint)"
                                     " AND (created_at, id) > ($3::timestamptz, $4::uuid) ORDER BY "
                                     "created_at, id LIMIT $2::bigint";

// Per queue and status, one row each (the totals are their sums); a first row (kind 0)
// carries the time of the read.
inline constexpr const char* stats_sql =
    "SELECT NULL::text, 0, 0::bigint, 0::bigint, statement_timestamp(), NULL::timestamptz"
    " UNION ALL "
    "SELECT queue, 1, count(*), 0,"
    " min(next_run_at) FILTER (WHERE next_run_at <= statement_timestamp()),"
    " min(next_run_at) FILTER (WHERE next_run_at > statement_timestamp())"
    " FROM {s}.jobs WHERE status = 1 GROUP BY queue"
    " UNION ALL "
    "SELECT queue, 2, count(*), count(*) FILTER (WHERE locked_until < statement_timestamp()),"
    " NULL, NULL FROM {s}.jobs WHERE status = 2 GROUP BY queue"
    " UNION ALL "
    "SELECT queue, status, count(*), 0, NULL, NULL"
    " FROM {s}.jobs WHERE status IN (3, 4) GROUP BY queue, status";

// ---- admin -----------------------------------------------------------------------------------

// $1 id, $2 delay µs. A live holder of the job's key makes it fail with 23505 on
// jobs_unique_key (UniqueConflict).
inline constexpr const char* retry_sql =
    "UPDATE {s}.jobs SET status = 1, attempts = 0, locked_until = NULL,"
    " next_run_at = " GQS_PG_AFTER(
        "$2::bigint") ", updated_at = statement_timestamp(),"
                      " cancelled = false WHERE id = $1::uuid AND status = 4";

// Every Dead job whose key is free (of two Dead jobs with one key, the one finished first).
inline constexpr const char* retry_all_sql =
    "WITH c AS (SELECT id FROM ("
    "  SELECT d.id, d.unique_key, row_number() OVER ("
    "   PARTITION BY d.queue, d.unique_key ORDER BY d.updated_at, d.id) AS n"
    "  FROM {s}.jobs d WHERE d.status = 4 AND (d.unique_key IS NULL OR NOT EXISTS ("
    "   SELECT FROM {s}.jobs l WHERE l.queue = d.queue AND l.unique_key = d.unique_key"
    "   AND l.status IN (1, 2)))) x"
    " WHERE x.unique_key IS NULL OR x.n = 1)"
    " UPDATE {s}.jobs j SET status = 1, attempts = 0, locked_until = NULL,"
    " next_run_at = " GQS_PG_AFTER(
        "$1::bigint") ", updated_at = statement_timestamp(),"
                      " cancelled = false FROM c WHERE j.id = c.id AND j.status = 4";

// Pending, or Processing with its lease run out: Dead now. Processing with a live lease:
// flagged; its worker sees the flag when it next extends the lease.
// clang-format off
#define GQS_PG_CANCEL_NOW "(j.status = 1 OR j.locked_until < statement_timestamp())"
inline constexpr const char* cancel_sql =
    "UPDATE {s}.jobs j SET"
    " status = CASE WHEN " GQS_PG_CANCEL_NOW " THEN 4 ELSE j.status END,"
    " errors = CASE WHEN " GQS_PG_CANCEL_NOW " THEN " GQS_PG_APPEND_ERROR("'cancelled'")
    "  ELSE j.errors END,"
    " locked_until = CASE WHEN " GQS_PG_CANCEL_NOW " THEN NULL ELSE j.locked_until END,"
    " cancelled = j.cancelled OR j.status = 2, updated_at = statement_timestamp()"
    " WHERE j.id = $1::uuid AND j.status IN (1, 2)";
// clang-format on

inline constexpr const char* remove_sql =
    "DELETE FROM {s}.jobs WHERE id = $1::uuid AND status <> 2";

inline constexpr const char* status_sql = "SELECT status FROM {s}.jobs WHERE id = $1::uuid";

// ---- cleaner ---------------------------------------------------------------------------------

// At most $4 rows per statement (the caller loops): bounded locks, WAL bursts and dead rows.
// Written with an array of ids, so the delete reads jobs_pkey (an IN subquery was planned as
// a hash join over the whole table); the statuses are checked again on the rows deleted, in
// case one was retried meanwhile. $1, $2 statuses, $3 updated_at bound, $4 batch.
inline constexpr const char* clean_sql =
    "DELETE FROM {s}.jobs WHERE id = ANY (ARRAY("
    " SELECT id FROM {s}.jobs WHERE status IN (3, 4) AND status IN ($1::smallint, $2::smallint)"
    " AND updated_at <= $3::timestamptz LIMIT $4::int))"
    " AND status IN (3, 4) AND status IN ($1::smallint, $2::smallint)";

// ---- schedules -----------------------------------------------------------------------------

// The schedule columns in read_schedule's order.
#define GQS_PG_SCHEDULE_COLUMNS                                                                    \
    "name, cron, zone, catch_up, paused, metadata, payload, queue, priority, unique_key, "         \
    "next_fire, last_fire, last_job"

inline constexpr const char* schedule_now_sql = "SELECT statement_timestamp()";

// A replaced schedule keeps where it stands (last_fire, last_job). $11 NULL: never fires.
inline constexpr const char* schedule_write_sql =
    "INSERT INTO {s}.gqs_schedules (name, cron, zone, catch_up, paused, metadata, payload, queue,"
    " priority, unique_key, next_fire, updated_at)"
    " VALUES ($1::text, $2::text, $3::text, $4::smallint, $5::smallint <> 0, $6::jsonb, $7::bytea,"
    " $8::text, $9::smallint, $10::text, $11::timestamptz, statement_timestamp())"
    " ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, zone = excluded.zone,"
    " catch_up = excluded.catch_up, paused = excluded.paused, metadata = excluded.metadata,"
    " payload = excluded.payload, queue = excluded.queue, priority = excluded.priority,"
    " unique_key = excluded.unique_key, next_fire = excluded.next_fire,"
    " updated_at = excluded.updated_at";

inline constexpr const char* schedule_erase_sql =
    "DELETE FROM {s}.gqs_schedules WHERE name = $1::text";

inline constexpr const char* schedule_pause_sql =
    "UPDATE {s}.gqs_schedules SET paused = true, updated_at = statement_timestamp()"
    " WHERE name = $1::text";

inline constexpr const char* schedule_resume_sql =
    "UPDATE {s}.gqs_schedules SET paused = false, next_fire = $2::timestamptz,"
    " updated_at = statement_timestamp() WHERE name = $1::text AND paused";

inline constexpr const char* schedule_read_sql =
    "SELECT " GQS_PG_SCHEDULE_COLUMNS " FROM {s}.gqs_schedules WHERE name = $1::text";

// Waits for a tick that holds the row (schedule_claim_sql), so put sees it advanced.
inline constexpr const char* schedule_read_locked_sql =
    "SELECT " GQS_PG_SCHEDULE_COLUMNS " FROM {s}.gqs_schedules WHERE name = $1::text FOR UPDATE";

inline constexpr const char* schedule_read_all_sql =
    "SELECT " GQS_PG_SCHEDULE_COLUMNS " FROM {s}.gqs_schedules ORDER BY name COLLATE \"C\"";

// The row stays locked until the tick's transaction ends: a concurrent tick skips it (and a
// row whose lock it waited for would be read again, already advanced). gqs_schedules_due
// holds the unpaused schedules by next_fire.
inline constexpr const char* schedule_claim_sql =
    "SELECT " GQS_PG_SCHEDULE_COLUMNS " FROM {s}.gqs_schedules"
    " WHERE NOT paused AND next_fire <= $1::timestamptz ORDER BY next_fire LIMIT 1"
    " FOR UPDATE SKIP LOCKED";

// Fenced on the slot the tick read, as a second guard behind the row lock.
inline constexpr const char* schedule_advance_sql =
    "UPDATE {s}.gqs_schedules SET next_fire = $3::timestamptz,"
    " last_fire = coalesce($4::timestamptz, last_fire), last_job = coalesce($5::uuid, last_job),"
    " updated_at = statement_timestamp()"
    " WHERE name = $1::text AND next_fire = $2::timestamptz AND NOT paused";

inline constexpr const char* schedule_earliest_sql =
    "SELECT min(next_fire) FROM {s}.gqs_schedules WHERE NOT paused";

// ---- queue limits in the pulls (backend/pull.hpp) -------------------------------------------

// The queues whose limits restrict a pull, with the token bucket's state and the clock, in µs
// since the epoch (read_gate).
#define GQS_PG_GATE_SQL(filter)                                                                    \
    "SELECT queue, paused, max_running, rate, burst, tokens,"                                      \
    " (extract(epoch FROM refilled_at) * 1000000)::bigint, " GQS_PG_NOW_US                         \
    ", max_running_per_key,"                                                                       \
    " fair_share, group_weights, rr_group, rr_used"                                                \
    " FROM {s}.gqs_queues WHERE " GQS_PG_GATED filter

inline constexpr const char* gates_sql = GQS_PG_GATE_SQL(" ORDER BY queue COLLATE \"C\"");
inline constexpr const char* gates_of_sql =
    GQS_PG_GATE_SQL(" AND queue = ANY ($1::text[]) ORDER BY queue COLLATE \"C\"");
// Locked until the transaction ends: concurrent pulls of the queue take turns.
inline constexpr const char* gate_lock_sql = GQS_PG_GATE_SQL(" AND queue = $1::text FOR UPDATE");

inline constexpr const char* running_sql =
    "SELECT count(*)::int, (extract(epoch FROM min(locked_until)) * 1000000)::bigint"
    " FROM {s}.jobs WHERE status = 2 AND locked_until >= statement_timestamp()"
    " AND queue = $1::text";

inline constexpr const char* save_bucket_sql =
    "UPDATE {s}.gqs_queues SET tokens = $2::float8,"
    " refilled_at = 'epoch'::timestamptz + $3::bigint * interval '1 microsecond'"
    " WHERE queue = $1::text";

// ---- the pull of a fair-share queue (backend/pull.hpp, pull_fair) ---------------------------

// clang-format off
// A ready job of queue $1 in the fair pull's priority (the best one with a ready job).
#define GQS_PG_FAIR_READY                                                                          \
    " FROM {s}.jobs WHERE status = 1 AND queue = $1::text AND priority = (SELECT p FROM pr)"        \
    " AND next_run_at <= statement_timestamp()"
#define GQS_PG_FAIR_GROUP GQS_PG_FAIR_READY " AND job_group IS NOT NULL"
// The fair_window (64) oldest ready jobs of the priority, where jobs without a group are
// looked for.
#define GQS_PG_FAIR_WINDOW                                                                         \
    "(SELECT id, job_group" GQS_PG_FAIR_READY " ORDER BY next_run_at LIMIT 64)"

// $1 the queue, $2 the group to start from (NULL or '': the lowest), $3 how many groups,
// $4 how many expired leases at most. Row 0: the best priority with a ready job and the
// expired leases; then the groups with a ready job of that priority in round order, each one
// seek of jobs_ready_group (a loose index scan): from $2 up, then from the lowest up to $2.
// '' stands for the jobs without a group, listed when the window holds one.
inline constexpr const char* fair_groups_sql =
    "WITH RECURSIVE pr AS (SELECT (SELECT min(g.p) FROM generate_series(0, 9) AS g(p)"
    "  WHERE EXISTS (SELECT FROM {s}.jobs WHERE status = 1 AND queue = $1::text AND priority = g.p"
    "  AND next_run_at <= statement_timestamp()))::int AS p),"
    " ex AS (SELECT count(*)::int AS n FROM (SELECT FROM {s}.jobs WHERE status = 2"
    "  AND locked_until < statement_timestamp() AND queue = $1::text LIMIT $4::int) e),"
    " ug AS (SELECT EXISTS (SELECT FROM " GQS_PG_FAIR_WINDOW " w WHERE w.job_group IS NULL) AS b),"
    " up(v, n) AS ("
    "  SELECT (SELECT job_group" GQS_PG_FAIR_GROUP " AND job_group >= coalesce($2::text, '')"
    "   ORDER BY job_group LIMIT 1), 1"
    "  UNION ALL"
    "  SELECT (SELECT job_group" GQS_PG_FAIR_GROUP " AND job_group > up.v"
    "   ORDER BY job_group LIMIT 1), up.n + 1 FROM up WHERE up.v IS NOT NULL AND up.n < $3::int),"
    " wrap(v, n) AS ("
    "  SELECT (SELECT job_group" GQS_PG_FAIR_GROUP " AND job_group < $2::text"
    "   ORDER BY job_group LIMIT 1), 1 WHERE coalesce($2::text, '') <> ''"
    "  UNION ALL"
    "  SELECT (SELECT job_group" GQS_PG_FAIR_GROUP " AND job_group > wrap.v AND job_group < $2::text"
    "   ORDER BY job_group LIMIT 1), wrap.n + 1 FROM wrap"
    "   WHERE wrap.v IS NOT NULL AND wrap.n < $3::int)"
    " SELECT pos, p, n, v FROM ("
    "  SELECT 0 AS pos, pr.p, ex.n, NULL::text AS v FROM pr, ex"
    "  UNION ALL SELECT 1, NULL, NULL, '' FROM ug WHERE ug.b AND coalesce($2::text, '') = ''"
    "  UNION ALL SELECT 1 + n, NULL, NULL, v FROM up WHERE v IS NOT NULL"
    "  UNION ALL SELECT 2 + $3::int, NULL, NULL, '' FROM ug WHERE ug.b AND coalesce($2::text, '') <> ''"
    "  UNION ALL SELECT 2 + $3::int + n, NULL, NULL, v FROM wrap WHERE v IS NOT NULL) r"
    " ORDER BY pos";

// $1 the queue, $2 lease (µs), $3 the priority, $4 the groups (text[]) and $5 their quotas
// (int[]), $6 how many expired leases, $7 how many jobs without a group, $8 and $9 the turn to
// store (NULL $8: none): the expired leases, oldest expiry first; each group's oldest ready jobs
// (one range of jobs_ready_group); the window's jobs without a group; and the turn, in the
// same round trip.
inline constexpr const char* pull_fair_sql =
    "WITH pr AS (SELECT $3::int AS p), turn AS ("
    " UPDATE {s}.gqs_queues SET rr_group = $8::text, rr_used = $9::int"
    " WHERE queue = $1::text AND $8::text IS NOT NULL"
    "), expired AS MATERIALIZED ("
    " SELECT id FROM {s}.jobs WHERE status = 2 AND locked_until < statement_timestamp()"
    " AND queue = $1::text ORDER BY locked_until LIMIT $6::int FOR UPDATE SKIP LOCKED"
    "), grouped AS MATERIALIZED ("
    " SELECT c.id FROM unnest($4::text[], $5::int[]) AS q(g, n) CROSS JOIN LATERAL ("
    "  SELECT id" GQS_PG_FAIR_GROUP " AND job_group = q.g"
    "  ORDER BY next_run_at LIMIT q.n FOR UPDATE SKIP LOCKED) c"
    "), ungrouped AS MATERIALIZED ("
    " SELECT id FROM {s}.jobs WHERE status = 1 AND id = ANY (ARRAY("
    "  SELECT w.id FROM " GQS_PG_FAIR_WINDOW " w WHERE w.job_group IS NULL LIMIT $7::int))"
    " FOR UPDATE SKIP LOCKED"
    "), picked AS MATERIALIZED ("
    " TABLE expired UNION ALL TABLE grouped UNION ALL TABLE ungrouped) " GQS_PG_LEASE_PICKED;
// clang-format on

// ---- queue limits --------------------------------------------------------------------------

// The queue-limits columns in read_limits' order.
#define GQS_PG_QUEUE_COLUMNS                                                                       \
    "queue, paused, max_running, rate, burst, max_running_per_key, group_weights, fair_share"

// Replaces every limit; the token bucket's state survives only when its shape is unchanged
// (every process declaring its limits at start must not refill it).
inline constexpr const char* queue_write_sql =
    "INSERT INTO {s}.gqs_queues AS q (queue, paused, max_running, rate, burst,"
    " max_running_per_key, group_weights, updated_at, fair_share)"
    " VALUES ($1::text, $2::smallint <> 0, $3::int, $4::float8, $5::int, $6::int, $7::jsonb,"
    " statement_timestamp(), $8::smallint <> 0)"
    " ON CONFLICT (queue) DO UPDATE SET paused = excluded.paused,"
    " fair_share = excluded.fair_share,"
    " max_running = excluded.max_running, rate = excluded.rate, burst = excluded.burst,"
    " max_running_per_key = excluded.max_running_per_key,"
    " group_weights = excluded.group_weights,"
    " tokens = CASE WHEN q.rate IS NOT DISTINCT FROM excluded.rate AND q.burst = excluded.burst"
    " THEN q.tokens END,"
    " refilled_at = CASE WHEN q.rate IS NOT DISTINCT FROM excluded.rate"
    " AND q.burst = excluded.burst THEN q.refilled_at END,"
    " updated_at = excluded.updated_at";

// A queue paused before it had limits gets a row of its own, with no other limits.
inline constexpr const char* queue_pause_sql =
    "INSERT INTO {s}.gqs_queues AS q (queue, paused, updated_at)"
    " VALUES ($1::text, true, statement_timestamp())"
    " ON CONFLICT (queue) DO UPDATE SET paused = true, updated_at = excluded.updated_at"
    " WHERE NOT q.paused";

inline constexpr const char* queue_resume_sql =
    "UPDATE {s}.gqs_queues SET paused = false, updated_at = statement_timestamp()"
    " WHERE queue = $1::text AND paused";

inline constexpr const char* queue_erase_sql = "DELETE FROM {s}.gqs_queues WHERE queue = $1::text";

inline constexpr const char* queue_read_sql =
    "SELECT " GQS_PG_QUEUE_COLUMNS " FROM {s}.gqs_queues WHERE queue = $1::text";

inline constexpr const char* queue_read_all_sql =
    "SELECT " GQS_PG_QUEUE_COLUMNS " FROM {s}.gqs_queues ORDER BY queue COLLATE \"C\"";

} // namespace gqs::postgres::detail
