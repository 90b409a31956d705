-- push, one message without a unique key: $1 id, $2 delay us, $3 metadata, $4 payload, $5 queue, $6 priority
PREPARE push(uuid, bigint, jsonb, bytea, text, smallint) AS
INSERT INTO :"s".jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
VALUES ($1, statement_timestamp(), statement_timestamp(), 1, 0,
        statement_timestamp() + $2 * interval '1 microsecond', $3, $4, $5, $6);

-- push, one message with a unique key ($7): returns (id, duplicate) in one round trip, or no
-- row when the holder committed after this statement's snapshot or finished meanwhile: run it again.
PREPARE push_keyed(uuid, bigint, jsonb, bytea, text, smallint, text) AS
WITH ins AS (
    INSERT INTO :"s".jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload,
                          queue, priority, unique_key)
    VALUES ($1, statement_timestamp(), statement_timestamp(), 1, 0,
            statement_timestamp() + $2 * interval '1 microsecond', $3, $4, $5, $6, $7)
    ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN (1, 2) DO NOTHING
    RETURNING id
)
SELECT id, false AS duplicate FROM ins
UNION ALL
SELECT id, true FROM :"s".jobs
WHERE queue = $5 AND unique_key = $7 AND status IN (1, 2) AND NOT EXISTS (SELECT FROM ins);

-- push_batch: parallel arrays; all or nothing. Keys may be NULL per element.
-- Returns the ids inserted; the messages missing from the result lost to a live key holder.
PREPARE push_batch(uuid[], bigint[], jsonb[], bytea[], text[], smallint[], text[]) AS
INSERT INTO :"s".jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload,
                      queue, priority, unique_key)
SELECT t.id, statement_timestamp(), statement_timestamp(), 1, 0,
       statement_timestamp() + t.delay_us * interval '1 microsecond',
       t.metadata, t.payload, t.queue, t.priority, t.unique_key
FROM unnest($1, $2, $3, $4, $5, $6, $7) WITH ORDINALITY
     AS t(id, delay_us, metadata, payload, queue, priority, unique_key, ord)
ORDER BY t.ord
ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN (1, 2) DO NOTHING
RETURNING id;

-- holders of keys, in the same transaction, for the messages the batch did not insert
PREPARE key_holders(text[], text[]) AS
SELECT j.queue, j.unique_key, j.id
FROM unnest($1, $2) AS k(queue, unique_key)
JOIN :"s".jobs j ON j.queue = k.queue AND j.unique_key = k.unique_key AND j.status IN (1, 2);
