\set s gqs_t
\o /dev/null
\i /tmp/pg-research/sql/pull.sql
\i /tmp/pg-research/sql/transitions.sql
\o
BEGIN;
\o /dev/null
EXECUTE pull_all(:n, 30000000);
\o
SELECT array_agg(id) ids, array_agg(attempts) att, array_agg(2::smallint) seen,
       array_agg(act) act, array_agg(1000000::bigint) bo,
       array_agg(CASE WHEN random() < 0.5 THEN 'boom' END) err
FROM (SELECT id, attempts, ((row_number() OVER ()) % 5)::smallint act FROM gqs_t.jobs WHERE status = 2 AND locked_until > now() + interval '10 s' AND updated_at >= now()) x \gset
SELECT cardinality(:'ids'::uuid[]) AS settling;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF) EXECUTE settle(:'ids', :'att', :'seen', :'act', :'bo', :'err');
ROLLBACK;
