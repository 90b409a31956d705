-- test data only: a UUIDv7-shaped id from a given time (ms) + randomness
CREATE OR REPLACE FUNCTION public.uuid7(ts timestamptz) RETURNS uuid LANGUAGE sql VOLATILE AS $$
  SELECT (lpad(to_hex((extract(epoch FROM ts) * 1000)::bigint), 12, '0')
          || '7' || substr(md5(random()::text), 1, 3)
          || to_hex(8 + floor(random() * 4)::int) || substr(md5(random()::text), 1, 15))::uuid
$$;
\timing on
-- 1M Done rows (history), 10 queues
INSERT INTO gqs_t.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
SELECT uuid7(t), t, t + interval '1 s', 3, 1, t, '{"k":"v"}', convert_to(repeat('x', 100), 'UTF8'), 'q' || (g % 10), g % 10
FROM generate_series(1, :done) g, LATERAL (SELECT now() - interval '2 days' + g * interval '10 ms' AS t) x;
-- 100k delayed Pending at priority 0 (in front of everything in index order)
INSERT INTO gqs_t.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
SELECT uuid7(now()), now(), now(), 1, 0, now() + interval '1 day' + g * interval '1 ms', '{"k":"v"}', convert_to(repeat('x', 100), 'UTF8'), 'q' || (g % 10), 0
FROM generate_series(1, 100000) g;
-- 100k ready Pending, 10 queues, priority 5..9
INSERT INTO gqs_t.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
SELECT uuid7(now()), now(), now(), 1, 0, now() - interval '1 hour' + g * interval '1 ms', '{"k":"v"}', convert_to(repeat('x', 100), 'UTF8'), 'q' || (g % 10), 5 + (g % 7) % 5
FROM generate_series(1, 100000) g;
-- 1000 Processing with live leases, 100 expired (10 of them cancelled)
INSERT INTO gqs_t.jobs (id, created_at, updated_at, status, attempts, locked_until, next_run_at, metadata, payload, queue, priority, cancelled)
SELECT uuid7(now()), now(), now(), 2, 1, CASE WHEN g <= 100 THEN now() - interval '1 min' + g * interval '1 ms' ELSE now() + interval '1 hour' END,
       now() - interval '2 hour', '{"k":"v"}', convert_to(repeat('x', 100), 'UTF8'), 'q' || (g % 10), 7, g <= 10
FROM generate_series(1, 1100) g;
VACUUM (ANALYZE) gqs_t.jobs;
SELECT status, count(*) FROM gqs_t.jobs GROUP BY 1 ORDER BY 1;
SELECT pg_size_pretty(pg_table_size('gqs_t.jobs')) heap, pg_size_pretty(pg_indexes_size('gqs_t.jobs')) idx;
