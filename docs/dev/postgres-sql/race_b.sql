\set s gqs_c
\pset format unaligned
\o /dev/null
\i /tmp/pg-research/sql/push.sql
\o
\echo 'B: first try, while A holds the key uncommitted (waits, then A commits):'
EXECUTE push_keyed('00000000-0000-7000-8000-000000000602', 0, NULL, '\x00', 'race', 0, 'rk');
\echo 'B: second try (new snapshot):'
EXECUTE push_keyed('00000000-0000-7000-8000-000000000602', 0, NULL, '\x00', 'race', 0, 'rk');
\echo 'B in REPEATABLE READ, snapshot taken before a new holder commits:'
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT 1 AS snapshot_taken;
\! psql -X -q -c "UPDATE gqs_c.jobs SET status = 3, locked_until = NULL WHERE id = '00000000-0000-7000-8000-000000000601'" -c "INSERT INTO gqs_c.jobs (id, created_at, updated_at, status, next_run_at, payload, queue, unique_key) VALUES ('00000000-0000-7000-8000-000000000603', now(), now(), 1, now(), '\x00', 'race', 'rk')"
EXECUTE push_keyed('00000000-0000-7000-8000-000000000604', 0, NULL, '\x00', 'race', 0, 'rk');
ROLLBACK;
