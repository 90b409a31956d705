\set s gqs_c
\o /dev/null
\i /tmp/pg-research/sql/push.sql
BEGIN;
EXECUTE push_keyed('00000000-0000-7000-8000-000000000601', 0, NULL, '\x00', 'race', 0, 'rk');
SELECT pg_sleep(1.5);
COMMIT;
