BEGIN;
WITH expired AS MATERIALIZED (
    SELECT id, priority, next_run_at
    FROM gqs_x2.jobs
    WHERE status = 2 AND locked_until < statement_timestamp()
    ORDER BY locked_until
    LIMIT :n
    FOR UPDATE SKIP LOCKED
), pending AS MATERIALIZED (
    SELECT j.id, j.priority, j.next_run_at
    FROM generate_series(0, 9) AS p(priority)
    CROSS JOIN LATERAL (
        SELECT id, priority, next_run_at
        FROM gqs_x2.jobs
        WHERE status = 1 AND priority = p.priority AND next_run_at <= statement_timestamp()
        ORDER BY next_run_at
        LIMIT :n
        FOR UPDATE SKIP LOCKED
    ) j
    LIMIT :n
), picked AS MATERIALIZED (
    SELECT id FROM (TABLE expired UNION ALL TABLE pending) c
    ORDER BY priority, next_run_at, id
    LIMIT :n
)
, u AS (UPDATE gqs_x2.jobs j SET
    status       = CASE WHEN j.cancelled THEN 4 ELSE 2 END,
    attempts     = CASE WHEN j.cancelled THEN j.attempts ELSE j.attempts + 1 END,
    locked_until = CASE WHEN j.cancelled THEN NULL
                        ELSE statement_timestamp() + 30000000 * interval '1 microsecond' END,
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
          j.metadata, j.payload, j.queue, j.priority, j.unique_key, j.errors, j.cancelled)
SELECT array_agg(id) AS ids, array_agg(attempts) AS att, count(*) AS got, max(length(payload)) AS pl FROM u \gset
WITH s AS (
    SELECT * FROM unnest(:ids::uuid[], :att::int[], array_fill(2::smallint, ARRAY[:got::int]), array_fill(0::smallint, ARRAY[:got::int]), array_fill(0::bigint, ARRAY[:got::int]), array_fill(NULL::text, ARRAY[:got::int]))
        WITH ORDINALITY AS s(id, attempts, seen, action, backoff_us, error, ord)
)
UPDATE gqs_x2.jobs j SET
    status = CASE WHEN s.action = 0 THEN 3
                  WHEN s.action = 2 OR j.cancelled THEN 4
                  ELSE 1 END,
    attempts = CASE WHEN s.action IN (3, 4) AND NOT j.cancelled THEN j.attempts - 1
                    ELSE j.attempts END,
    locked_until = NULL,
    next_run_at = CASE WHEN s.action IN (1, 4)
                       THEN statement_timestamp() + s.backoff_us * interval '1 microsecond'
                       ELSE j.next_run_at END,
    updated_at = statement_timestamp(),
    errors = CASE WHEN s.action = 0 OR (NOT j.cancelled AND (s.action IN (3, 4) OR s.error IS NULL))
                  THEN j.errors ELSE
        jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
        || jsonb_build_array(jsonb_build_object(
               'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
               'attempt', j.attempts,
               'message', CASE WHEN j.cancelled THEN 'cancelled' ELSE s.error END)) END
FROM s
WHERE j.id = s.id AND j.attempts = s.attempts AND j.status = s.seen
  AND (j.status = 2 OR (j.status = 1 AND s.action = 2))
  AND (s.action NOT IN (3, 4) OR j.attempts > 0)
RETURNING s.ord, j.status, j.attempts, j.cancelled, j.updated_at, j.next_run_at;
COMMIT;
