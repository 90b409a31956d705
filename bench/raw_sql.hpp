// SPDX-License-Identifier: Apache-2.0
// The SQL the raw-SQLite baselines run: gqs's own statements, copied (no gqs headers needed).
#pragma once

namespace gqs_bench {

/// The SQL text gqs runs (schema version 5), copied from src/sqlite/statements.hpp, where
/// pusher.cpp and puller.cpp take it. check_sql() verifies at start-up that gqs still runs exactly
/// these statements. The table and indexes they run on are gqs's own: create_schema calls init_db.
namespace raw_sql {

/// Push without a key. ?1 id, ?2 now, ?3 next_run_at, ?4 metadata, ?5 payload, ?6 queue,
/// ?7 priority, ?8 unique_key, ?9 concurrency_key, ?10 job_group (NULL: left unbound).
inline constexpr const char* insert =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload, queue, priority, unique_key, concurrency_key, job_group) "
    "VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
/// Push with a key (inside BEGIN IMMEDIATE ... COMMIT): the same, doing nothing when the key
/// is held.
inline constexpr const char* insert_keyed =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload, queue, priority, unique_key, concurrency_key, job_group) "
    "VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
    "ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN (1, 2) "
    "DO NOTHING";

// gqs's GQS_ERRORS_ARRAY, GQS_APPEND_ERROR, GQS_PULL_SQL, its arms and GQS_IN_QUEUES, expanded the
// same way (undefined again below).
// clang-format off
#define GQS_BENCH_ERRORS_ARRAY                                                                     \
    "(CASE WHEN json_valid(errors) THEN CASE WHEN json_type(errors) = 'array' THEN errors"         \
    " ELSE '[]' END ELSE '[]' END)"
#define GQS_BENCH_APPEND_ERROR(at, message)                                                        \
    "json_insert(CASE WHEN json_array_length(" GQS_BENCH_ERRORS_ARRAY ") >= 20"                    \
    " THEN json_remove(" GQS_BENCH_ERRORS_ARRAY ", '$[0]') ELSE " GQS_BENCH_ERRORS_ARRAY " END,"   \
    " '$[#]', json_object('at', " at ", 'attempt', attempts, 'message', " message "))"
#define GQS_BENCH_PULL_SQL(queues, expired_filter)                                                 \
    "UPDATE jobs SET"                                                                              \
    " status = CASE WHEN cancelled = 1 THEN 4 ELSE 2 END,"                                         \
    " attempts = CASE WHEN cancelled = 1 THEN attempts ELSE max(attempts, 0) + 1 END,"             \
    " locked_until = CASE WHEN cancelled = 1 THEN NULL ELSE ?2 END,"                               \
    " updated_at = ?1,"                                                                            \
    " errors = CASE WHEN status = 2 THEN "                                                         \
    GQS_BENCH_APPEND_ERROR("?1",                                                                   \
                           "CASE WHEN cancelled = 1 THEN 'cancelled' ELSE 'lease expired' END")    \
    " ELSE errors END "                                                                            \
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
    "RETURNING id, created_at, updated_at, status, attempts, locked_until, next_run_at, "          \
    "metadata, payload, queue, priority, unique_key, errors, cancelled, concurrency_key, "      \
    "job_group"
#define GQS_BENCH_PENDING_QUEUES                                                                   \
    "(WITH RECURSIVE q(value) AS ("                                                                \
    "  SELECT (SELECT min(queue) FROM jobs WHERE status = 1)"                                      \
    "  UNION ALL"                                                                                  \
    "  SELECT (SELECT min(queue) FROM jobs WHERE status = 1 AND queue > q.value)"                  \
    "  FROM q WHERE q.value IS NOT NULL)"                                                          \
    " SELECT value FROM q WHERE value IS NOT NULL)"
#define GQS_BENCH_IN_QUEUES " AND queue IN (SELECT value FROM json_each(?4))"
// clang-format on

/// Pull from every queue: ?1 now, ?2 locked_until, ?3 batch. Per queue holding Pending jobs,
/// one index range per priority (gqs_priorities drives the loop).
inline constexpr const char* pull = GQS_BENCH_PULL_SQL(GQS_BENCH_PENDING_QUEUES, "");
/// Pull from the queues named in ?4, a JSON array of strings: the same per queue.
inline constexpr const char* pull_queues = GQS_BENCH_PULL_SQL("json_each(?4)", GQS_BENCH_IN_QUEUES);

#undef GQS_BENCH_IN_QUEUES
#undef GQS_BENCH_PENDING_QUEUES
#undef GQS_BENCH_PULL_SQL
#undef GQS_BENCH_APPEND_ERROR
#undef GQS_BENCH_ERRORS_ARRAY

/// The fenced complete: ?1 id, ?2 now, ?3 the attempts the puller saw. A row comes back
/// (its cancel flag) when the lease matched.
inline constexpr const char* complete =
    "UPDATE jobs SET status = 3, locked_until = NULL, updated_at = ?2 "
    "WHERE id = ?1 AND status = 2 AND attempts = ?3";

} // namespace raw_sql

} // namespace gqs_bench
