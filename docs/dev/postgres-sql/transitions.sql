-- Fenced transitions. :"s" = schema. Times: statement_timestamp() (see memo). Durations: bigint microseconds.
-- Action codes (gqs::Action order): 0 Complete, 1 Requeue, 2 Kill, 3 Release, 4 Snooze.
-- complete: $1 id, $2 attempts
PREPARE complete(uuid, int) AS
UPDATE :"s".jobs SET status = 3, locked_until = NULL, updated_at = statement_timestamp()
WHERE id = $1 AND status = 2 AND attempts = $2
RETURNING updated_at;

-- requeue: $1 id, $2 attempts, $3 backoff us, $4 error entry (NULL = none)
PREPARE requeue(uuid, int, bigint, text) AS
UPDATE :"s".jobs j SET
    status = CASE WHEN j.cancelled THEN 4 ELSE 1 END,
    locked_until = NULL,
    next_run_at = statement_timestamp() + $3 * interval '1 microsecond',
    updated_at = statement_timestamp(),
    errors = CASE WHEN NOT j.cancelled AND $4 IS NULL THEN j.errors ELSE
        jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
        || jsonb_build_array(jsonb_build_object(
               'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
               'attempt', j.attempts,
               'message', CASE WHEN j.cancelled THEN 'cancelled' ELSE $4 END)) END
WHERE j.id = $1 AND j.status = 2 AND j.attempts = $2
RETURNING j.cancelled, j.updated_at, j.next_run_at;

-- kill: $1 id, $2 attempts, $3 status the caller saw (1 or 2), $4 error entry (NULL = none)
PREPARE kill(uuid, int, smallint, text) AS
UPDATE :"s".jobs j SET
    status = 4, locked_until = NULL, updated_at = statement_timestamp(),
    errors = CASE WHEN NOT j.cancelled AND $4 IS NULL THEN j.errors ELSE
        jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
        || jsonb_build_array(jsonb_build_object(
               'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
               'attempt', j.attempts,
               'message', CASE WHEN j.cancelled THEN 'cancelled' ELSE $4 END)) END
WHERE j.id = $1 AND j.status IN (1, 2) AND j.status = $3 AND j.attempts = $2
RETURNING j.cancelled, j.updated_at;

-- release: $1 id, $2 attempts (attempt uncounted, next_run_at kept)
PREPARE release(uuid, int) AS
UPDATE :"s".jobs j SET
    status = CASE WHEN j.cancelled THEN 4 ELSE 1 END,
    attempts = CASE WHEN j.cancelled THEN j.attempts ELSE j.attempts - 1 END,
    locked_until = NULL, updated_at = statement_timestamp(),
    errors = CASE WHEN NOT j.cancelled THEN j.errors ELSE
        jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
        || jsonb_build_array(jsonb_build_object(
               'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
               'attempt', j.attempts, 'message', 'cancelled')) END
WHERE j.id = $1 AND j.status = 2 AND j.attempts = $2 AND j.attempts > 0
RETURNING j.cancelled, j.updated_at, j.next_run_at;

-- snooze: $1 id, $2 attempts, $3 delay us (a release with a new next_run_at)
PREPARE snooze(uuid, int, bigint) AS
UPDATE :"s".jobs j SET
    status = CASE WHEN j.cancelled THEN 4 ELSE 1 END,
    attempts = CASE WHEN j.cancelled THEN j.attempts ELSE j.attempts - 1 END,
    locked_until = NULL, updated_at = statement_timestamp(),
    next_run_at = statement_timestamp() + $3 * interval '1 microsecond',
    errors = CASE WHEN NOT j.cancelled THEN j.errors ELSE
        jsonb_path_query_array(coalesce(j.errors, '[]'), '$[last - 18 to last]')
        || jsonb_build_array(jsonb_build_object(
               'at', (extract(epoch FROM statement_timestamp()) * 1000000)::bigint,
               'attempt', j.attempts, 'message', 'cancelled')) END
WHERE j.id = $1 AND j.status = 2 AND j.attempts = $2 AND j.attempts > 0
RETURNING j.cancelled, j.updated_at, j.next_run_at;

-- extend_lock: $1 id, $2 attempts, $3 lock us
PREPARE extend(uuid, int, bigint) AS
UPDATE :"s".jobs SET locked_until = statement_timestamp() + $3 * interval '1 microsecond',
                     updated_at = statement_timestamp()
WHERE id = $1 AND status = 2 AND attempts = $2
RETURNING cancelled, locked_until, updated_at;

-- settle many, one statement: parallel arrays, one element per settlement (leases distinct).
-- $1 ids, $2 attempts, $3 status seen, $4 action, $5 backoff us (0 if none), $6 error (NULL = none)
-- Returns one row per applied settlement (ord = 1-based position); a missing ord = lease lost.
PREPARE settle(uuid[], int[], smallint[], smallint[], bigint[], text[]) AS
WITH s AS (
    SELECT * FROM unnest($1, $2, $3, $4, $5, $6)
        WITH ORDINALITY AS s(id, attempts, seen, action, backoff_us, error, ord)
)
UPDATE :"s".jobs j SET
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
