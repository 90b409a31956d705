-- alternative: only jobs_ready_queue; every queue found by a loose index scan; each queue's
-- pending arm locks up to $1 rows, so up to (queues x $1) rows get locked for $1 used.
PREPARE pull_all_1idx(int, bigint) AS
WITH RECURSIVE qs(name) AS (
    SELECT (SELECT min(queue) FROM :"s".jobs WHERE status = 1)
    UNION ALL
    SELECT (SELECT min(queue) FROM :"s".jobs WHERE status = 1 AND queue > qs.name)
    FROM qs WHERE qs.name IS NOT NULL
), expired AS MATERIALIZED (
    SELECT id, priority, next_run_at
    FROM :"s".jobs
    WHERE status = 2 AND locked_until < statement_timestamp()
    ORDER BY locked_until
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), pending AS MATERIALIZED (
    SELECT c.id, c.priority, c.next_run_at
    FROM qs
    CROSS JOIN LATERAL (
        SELECT j.id, j.priority, j.next_run_at
        FROM generate_series(0, 9) AS p(priority)
        CROSS JOIN LATERAL (
            SELECT id, priority, next_run_at
            FROM :"s".jobs
            WHERE status = 1 AND queue = qs.name AND priority = p.priority
              AND next_run_at <= statement_timestamp()
            ORDER BY next_run_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ) j
        LIMIT $1
    ) c
    WHERE qs.name IS NOT NULL
), picked AS MATERIALIZED (
    SELECT id FROM (TABLE expired UNION ALL TABLE pending) c
    ORDER BY priority, next_run_at, id
    LIMIT $1
)
UPDATE :"s".jobs j SET
    status = 2, attempts = j.attempts + 1,
    locked_until = statement_timestamp() + $2 * interval '1 microsecond',
    updated_at = statement_timestamp()
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.attempts;
