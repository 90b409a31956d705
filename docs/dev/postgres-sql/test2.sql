\set ON_ERROR_STOP 1
\set s gqs_c
\pset format unaligned
\pset footer off
\i /tmp/pg-research/sql/pull.sql
\i /tmp/pg-research/sql/pull_queues.sql
\i /tmp/pg-research/sql/transitions.sql
\i /tmp/pg-research/sql/push.sql
TRUNCATE gqs_c.jobs;
\echo '--- 8. settle many in one statement'
SELECT array_agg(('00000000-0000-7000-8000-0000000001' || lpad(g::text, 2, '0'))::uuid) AS ids FROM generate_series(1, 6) g \gset
EXECUTE push_batch(:'ids', array_fill(0::bigint, ARRAY[6]), array_fill(NULL::jsonb, ARRAY[6]), array_fill('\x00'::bytea, ARRAY[6]),
                   array_fill('t'::text, ARRAY[6]), array_fill(0::smallint, ARRAY[6]), array_fill(NULL::text, ARRAY[6]));
EXECUTE push('00000000-0000-7000-8000-000000000107', 0, NULL, '\x00', 'u', 0);
\o /dev/null
EXECUTE pull_queues(6, 30000000, '{t}');
\o
UPDATE gqs_c.jobs SET cancelled = true WHERE id = '00000000-0000-7000-8000-000000000105';
-- 1 complete, 2 requeue+error, 3 kill+error, 4 release, 5 snooze (cancelled -> Dead), 6 stale attempts (lost),
-- 7 kill of a Pending job (seen 1), 8 complete of an unknown id (lost)
EXECUTE settle(
  '{00000000-0000-7000-8000-000000000101,00000000-0000-7000-8000-000000000102,00000000-0000-7000-8000-000000000103,00000000-0000-7000-8000-000000000104,00000000-0000-7000-8000-000000000105,00000000-0000-7000-8000-000000000106,00000000-0000-7000-8000-000000000107,00000000-0000-7000-8000-0000000001ff}',
  '{1,1,1,1,1,7,0,1}', '{2,2,2,2,2,2,1,2}', '{0,1,2,3,4,0,2,0}', '{0,5000000,0,0,60000000,0,0,0}',
  '{NULL,"boom",killed: x,NULL,NULL,NULL,NULL,NULL}');
SELECT right(id::text, 3) id, status, attempts, cancelled, locked_until IS NULL AS unlocked,
       round(extract(epoch FROM next_run_at - updated_at)) AS delay_s, errors->-1->>'message' AS last_error
FROM gqs_c.jobs ORDER BY id;
\echo '--- 9. unique keys'
EXECUTE push_keyed('00000000-0000-7000-8000-000000000201', 0, NULL, '\x00', 'k', 0, 'key-1');
EXECUTE push_keyed('00000000-0000-7000-8000-000000000202', 0, NULL, '\x00', 'k', 0, 'key-1');
EXECUTE push_keyed('00000000-0000-7000-8000-000000000203', 0, NULL, '\x00', 'other', 0, 'key-1');
\echo 'the holder finishes: the key is free again'
\o /dev/null
EXECUTE pull_queues(1, 30000000, '{k}');
\o
EXECUTE complete('00000000-0000-7000-8000-000000000201', 1);
EXECUTE push_keyed('00000000-0000-7000-8000-000000000204', 0, NULL, '\x00', 'k', 0, 'key-1');
\echo 'batch: m1 new key-2, m2 same key-2 (intra-batch duplicate), m3 key-1 (held by ...204), m4 no key'
BEGIN;
EXECUTE push_batch('{00000000-0000-7000-8000-000000000301,00000000-0000-7000-8000-000000000302,00000000-0000-7000-8000-000000000303,00000000-0000-7000-8000-000000000304}',
                   '{0,0,0,0}', '{NULL,NULL,NULL,NULL}', '{"\\x00","\\x00","\\x00","\\x00"}', '{k,k,k,k}', '{0,0,0,0}', '{key-2,key-2,key-1,NULL}');
EXECUTE key_holders('{k,k}', '{key-2,key-1}');
COMMIT;
\echo '--- 10. duplicate id: SQLSTATE 23505 on jobs_pkey (single, batch, keyed with a free key)'
\set ON_ERROR_STOP 0
\set VERBOSITY verbose
EXECUTE push('00000000-0000-7000-8000-000000000101', 0, NULL, '\x00', 't', 0);
EXECUTE push_batch('{00000000-0000-7000-8000-000000000401,00000000-0000-7000-8000-000000000401}', '{0,0}', '{NULL,NULL}', '{"\\x00","\\x00"}', '{t,t}', '{0,0}', '{NULL,NULL}');
EXECUTE push_keyed('00000000-0000-7000-8000-000000000101', 0, NULL, '\x00', 'k', 0, 'key-free');
\echo 'a re-push of the holder itself (same id, key still held): duplicate = true, no error'
EXECUTE push_keyed('00000000-0000-7000-8000-000000000204', 0, NULL, '\x00', 'k', 0, 'key-1');
\echo 'metadata with \\u0000'
EXECUTE push('00000000-0000-7000-8000-000000000501', 0, '{"a":"x\u0000y"}', '\x00', 't', 0);
\echo 'error entry with a NUL byte cannot even be sent as text (client must map it)'
SELECT count(*) FROM gqs_c.jobs WHERE id::text LIKE '%0401' OR id::text LIKE '%0501';
