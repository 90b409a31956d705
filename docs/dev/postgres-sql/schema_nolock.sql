-- gqs PostgreSQL schema v2, inside schema :"s" (psql variable; C++ substitutes PQescapeIdentifier(schema))
BEGIN;
-- one init at a time per schema name, across processes and machines; released at COMMIT/ROLLBACK
CREATE SCHEMA IF NOT EXISTS :"s";
CREATE TABLE IF NOT EXISTS :"s".jobs (
    id           uuid        NOT NULL,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    status       smallint    NOT NULL,
    attempts     integer     NOT NULL DEFAULT 0,
    locked_until timestamptz,
    next_run_at  timestamptz NOT NULL,
    metadata     jsonb,
    payload      bytea       NOT NULL,
    queue        text        NOT NULL DEFAULT 'default',
    priority     smallint    NOT NULL DEFAULT 0,
    unique_key   text,
    errors       jsonb,
    cancelled    boolean     NOT NULL DEFAULT false,
    CONSTRAINT jobs_pkey PRIMARY KEY (id),
    CONSTRAINT jobs_status_check     CHECK (status BETWEEN 1 AND 4),
    CONSTRAINT jobs_attempts_check   CHECK (attempts >= 0),
    CONSTRAINT jobs_queue_check      CHECK (octet_length(queue) BETWEEN 1 AND 127),
    CONSTRAINT jobs_priority_check   CHECK (priority BETWEEN 0 AND 9),
    CONSTRAINT jobs_unique_key_check CHECK (unique_key IS NULL OR octet_length(unique_key) BETWEEN 1 AND 1024),
    CONSTRAINT jobs_errors_check     CHECK (errors IS NULL OR jsonb_typeof(errors) = 'array'),
    CONSTRAINT jobs_lease_check      CHECK ((status = 2) = (locked_until IS NOT NULL))
) WITH (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 5000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 20000,
    autovacuum_analyze_scale_factor = 0.0,
    autovacuum_analyze_threshold = 20000,
    autovacuum_vacuum_cost_delay = 0,
    fillfactor = 100
);
-- Pending arm, pull of every queue: one ordered range per priority, bounded by next_run_at <= now.
CREATE INDEX IF NOT EXISTS jobs_ready ON :"s".jobs (priority, next_run_at) WHERE status = 1;
-- Pending arm, pull of named queues: one ordered range per (queue, priority).
CREATE INDEX IF NOT EXISTS jobs_ready_queue ON :"s".jobs (queue, priority, next_run_at) WHERE status = 1;
-- Expired-lease arm.
CREATE INDEX IF NOT EXISTS jobs_leased ON :"s".jobs (locked_until) WHERE status = 2;
-- clean (status, updated_at range) and per-queue counts of finished jobs (index-only).
CREATE INDEX IF NOT EXISTS jobs_finished ON :"s".jobs (status, updated_at, queue) WHERE status IN (3, 4);
-- live unique keys only: Done/Dead free the key.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique_key ON :"s".jobs (queue, unique_key)
    WHERE unique_key IS NOT NULL AND status IN (1, 2);
CREATE TABLE IF NOT EXISTS :"s".gqs_schema (
    id      smallint NOT NULL PRIMARY KEY CHECK (id = 1),
    version integer  NOT NULL CHECK (version >= 1)
);
INSERT INTO :"s".gqs_schema (id, version) VALUES (1, 2)
    ON CONFLICT (id) DO UPDATE SET version = excluded.version WHERE gqs_schema.version < excluded.version;
COMMIT;
