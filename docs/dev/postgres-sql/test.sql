\set ON_ERROR_STOP 1
\set s gqs_c
\pset format unaligned
\pset footer off
\i /tmp/pg-research/sql/pull.sql
\i /tmp/pg-research/sql/pull_queues.sql
\i /tmp/pg-research/sql/transitions.sql
\i /tmp/pg-research/sql/push.sql
TRUNCATE gqs_c.jobs;
\echo '--- 1. order: priority, then next_run_at, across queues; delayed not pulled'
EXECUTE push('00000000-0000-7000-8000-00000000000a', 0, '{"k":"v"}', '\x01', 'a', 5);
SELECT pg_sleep(0.002);
EXECUTE push('00000000-0000-7000-8000-00000000000b', 0, NULL, '\x02', 'b', 1);
EXECUTE push('00000000-0000-7000-8000-00000000000c', 3600000000, NULL, '\x03', 'a', 0);
SELECT pg_sleep(0.002);
EXECUTE push('00000000-0000-7000-8000-00000000000d', 0, NULL, '\x04', 'b', 1);
EXECUTE pull_all(10, 30000000);
\echo '--- 2. fenced complete: wrong attempts -> no row, right -> row'
EXECUTE complete('00000000-0000-7000-8000-00000000000b', 2);
EXECUTE complete('00000000-0000-7000-8000-00000000000b', 1);
EXECUTE complete('00000000-0000-7000-8000-00000000000b', 1);
\echo '--- 3. requeue with an error 25 times (pull, requeue): last 20 kept, attempt numbers'
EXECUTE push('00000000-0000-7000-8000-0000000000e1', 0, NULL, '\x05', 'r', 0);
SELECT format('EXECUTE pull_queues(1, 30000000, ''{r}'')'), format('EXECUTE requeue(''00000000-0000-7000-8000-0000000000e1'', %s, 0, ''boom %s'')', i, i) FROM generate_series(1, 25) i \gexec
SELECT status, attempts, jsonb_array_length(errors) n, errors->0->>'message' first, errors->0->>'attempt' first_attempt, errors->-1->>'message' last, (errors->-1->>'at')::bigint = (extract(epoch FROM updated_at)*1000000)::bigint AS at_is_updated_at FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000e1';
\echo '--- 4. expired lease: re-pull counts the attempt, entry "lease expired"; the stale holder is fenced out'
EXECUTE pull_queues(1, 1000, '{r}');
SELECT pg_sleep(0.01);
EXECUTE pull_queues(1, 30000000, '{r}');
SELECT status, attempts, errors->-1 AS last_entry FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000e1';
\echo 'stale holder (attempts 26) complete / extend / requeue -> no rows; holder (27) extend -> row'
EXECUTE complete('00000000-0000-7000-8000-0000000000e1', 26);
EXECUTE extend('00000000-0000-7000-8000-0000000000e1', 26, 1000000);
EXECUTE requeue('00000000-0000-7000-8000-0000000000e1', 26, 0, 'x');
EXECUTE extend('00000000-0000-7000-8000-0000000000e1', 27, 1000000);
\echo '--- 5. cancelled job whose lease ran out: pull makes it Dead ("cancelled"), RETURNING shows status 4 (caller drops it)'
UPDATE gqs_c.jobs SET cancelled = true, locked_until = now() - interval '1 s' WHERE id = '00000000-0000-7000-8000-0000000000e1';
EXECUTE pull_queues(5, 30000000, '{r}');
SELECT status, attempts, locked_until, errors->-1->>'message' AS last FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000e1';
\echo '--- 6. release: attempt uncounted, next_run_at kept; snooze: new next_run_at'
EXECUTE push('00000000-0000-7000-8000-0000000000f1', 0, NULL, '\x06', 's', 0);
SELECT next_run_at AS nra0 FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000f1' \gset
EXECUTE pull_queues(1, 30000000, '{s}');
EXECUTE release('00000000-0000-7000-8000-0000000000f1', 1);
SELECT status, attempts, next_run_at = :'nra0' AS kept_place, locked_until FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000f1';
EXECUTE pull_queues(1, 30000000, '{s}');
EXECUTE snooze('00000000-0000-7000-8000-0000000000f1', 1, 60000000);
SELECT status, attempts, round(extract(epoch FROM next_run_at - updated_at)) AS snoozed_s, errors FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000f1';
\echo 'release of a job never pulled (attempts 0) -> no row'
EXECUTE release('00000000-0000-7000-8000-0000000000f1', 0);
\echo '--- 7. kill a Pending job the caller saw Pending (status 1, attempts 0); wrong seen status -> no row'
EXECUTE kill('00000000-0000-7000-8000-0000000000f1', 0, 2::smallint, 'nope');
EXECUTE kill('00000000-0000-7000-8000-0000000000f1', 0, 1::smallint, 'killed: by test');
SELECT status, errors->-1->>'message' AS last FROM gqs_c.jobs WHERE id = '00000000-0000-7000-8000-0000000000f1';
