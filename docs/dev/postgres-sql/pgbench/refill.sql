-- top the ready backlog up to :target jobs in 10 queues (priorities 5..9)
INSERT INTO gqs_t.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
SELECT uuid7(now()), now(), now(), 1, 0, now() - interval '1 hour' + g * interval '1 ms', '{"k":"v"}', convert_to(repeat('x', 100), 'UTF8'), 'q' || (g % 10), 5 + (g % 7) % 5
FROM generate_series(1, greatest(0, :target - (SELECT count(*) FROM gqs_t.jobs WHERE status = 1 AND next_run_at <= now()))) g;
VACUUM ANALYZE gqs_t.jobs;
