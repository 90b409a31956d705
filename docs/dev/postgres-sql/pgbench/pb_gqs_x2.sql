INSERT INTO gqs_x2.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority, unique_key)
SELECT encode(overlay(uuid_send(gen_random_uuid()) placing substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16) from 1 for 6) from 1 for 6), 'hex')::uuid, statement_timestamp(), statement_timestamp(), 1, 0,
       statement_timestamp() + t.delay_us * interval '1 microsecond', t.metadata, t.payload, t.queue, t.priority, t.unique_key
FROM unnest(:delays::bigint[], :metas::jsonb[], (:p1::bytea[] || :p2::bytea[]), :queues::text[], :prios::smallint[], :keys::text[]) WITH ORDINALITY
     AS t(delay_us, metadata, payload, queue, priority, unique_key, ord)
ORDER BY t.ord
ON CONFLICT (queue, unique_key) WHERE unique_key IS NOT NULL AND status IN (1, 2) DO NOTHING;
