\set q random(0, 9)
INSERT INTO gqs_x1.jobs (id, created_at, updated_at, status, attempts, next_run_at, metadata, payload, queue, priority)
VALUES (encode(overlay(uuid_send(gen_random_uuid()) placing substring(int8send((extract(epoch FROM clock_timestamp()) * 1000)::bigint << 16) from 1 for 6) from 1 for 6), 'hex')::uuid, statement_timestamp(), statement_timestamp(), 1, 0,
        statement_timestamp() + 0 * interval '1 microsecond', '{"k":"v"}', '\x78787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878787878', 'q' || :q, 5);
