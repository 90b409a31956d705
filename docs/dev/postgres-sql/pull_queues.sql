-- $1 = batch (int), $2 = lease (bigint microseconds), $3 = queue names (text[], distinct)
PREPARE pull_queues(int, bigint, text[]) AS
WITH expired AS MATERIALIZED (
    SELECT id, priority, next_run_at
    FROM :"s".jobs
    WHERE status = 2 AND locked_until < statement_timestamp() AND queue = ANY ($3)
    ORDER BY locked_until
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), pending AS MATERIALIZED (
    SELECT c.id, c.priority, c.next_run_at
    FROM unnest($3) AS q(name)
    CROSS JOIN LATERAL (
        SELECT j.id, j.priority, j.next_run_at
        FROM generate_series(0, 9) AS p(priority)
        CROSS JOIN LATERAL (
            SELECT id, priority, next_run_at
            FROM :"s".jobs
            WHERE status = 1 AND queue = q.name AND priority = p.priority
              AND next_run_at <= statement_timestamp()
            ORDER BY next_run_at
            LIMIT $1
            FOR UPDATE SKIP LOCKED
        ) j
        LIMIT $1
    ) c
), picked AS MATERIALIZED (
    SELECT id FROM (TABLE expired UNION ALL TABLE pending) c
    ORDER BY priority, next_run_at, id
    LIMIT $1
)
UPDATE :"s".jobs j SET
    status       = CASE WHEN j.cancelled THEN 4 ELSE 2 END,
    attempts     = CASE WHEN j.cancelled THEN j.attempts ELSE j.attempts + 1 END,
    locked_until = CASE WHEN j.cancelled THEN NULL
                        ELSE statement_timestamp() + $2 * interval '1 microsecond' END,
    updated_at   = statement_timestamp(),
    errors       = CASE WHEN j.status = 2 THEN
                       jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
                       || jsonb_build_array(jsonb_build_object(
                              'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
                              'attempt', j.attempts,
                              'message', CASE WHEN j.cancelled THEN 'cancelled' ELSE 'lease expired' END))
                   ELSE j.errors END
FROM picked
WHERE j.id = picked.id
RETURNING j.id, j.created_at, j.updated_at, j.status, j.attempts, j.locked_until, j.next_run_at,
          j.metadata, j.payload, j.queue, j.priority, j.unique_key, j.errors, j.cancelled;
