// SPDX-License-Identifier: Apache-2.0
// init_db for PostgreSQL: one transaction under an advisory lock, creating only what is
// missing (docs/dev/postgres-sql-research.md, section 1).
#include "connection_impl.hpp"

#include <gqs/postgres/schema.hpp>

#include <array>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>

namespace gqs::postgres {

namespace {

// Every `{s}` in `text` replaced by the quoted schema name.
std::string in_schema(const detail::State& state, std::string text) {
    return detail::in_schema(state.schema_ident, std::move(text));
}

// The columns of gqs's tables as the catalog shows them ("name type", in order): `jobs` of
// versions 2 to 4, and of version 5, which appends two (ALTER TABLE ADD COLUMN appends).
#define GQS_PG_JOBS_COLUMNS_V4                                                                     \
    "id uuid,created_at timestamp with time zone,updated_at timestamp with time zone,"             \
    "status smallint,attempts integer,locked_until timestamp with time zone,"                      \
    "next_run_at timestamp with time zone,metadata jsonb,payload bytea,queue text,"                \
    "priority smallint,unique_key text,errors jsonb,cancelled boolean"
constexpr const char* jobs_columns_v4 = GQS_PG_JOBS_COLUMNS_V4;
constexpr const char* jobs_columns = GQS_PG_JOBS_COLUMNS_V4 ",concurrency_key text,job_group text";
#undef GQS_PG_JOBS_COLUMNS_V4
constexpr const char* version_columns = "id smallint,version integer";

// What the schema holds, read after the advisory lock. $1: the schema name as text.
constexpr const char* inspect_sql =
    "SELECT to_regnamespace(quote_ident($1)) IS NOT NULL,"
    " coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ','"
    "   ORDER BY a.attnum) FROM pg_attribute a"
    "   WHERE a.attrelid = to_regclass(quote_ident($1) || '.jobs') AND a.attnum > 0"
    "   AND NOT a.attisdropped), ''),"
    " coalesce((SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ','"
    "   ORDER BY a.attnum) FROM pg_attribute a"
    "   WHERE a.attrelid = to_regclass(quote_ident($1) || '.gqs_schema') AND a.attnum > 0"
    "   AND NOT a.attisdropped), ''),"
    " coalesce((SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_index i"
    "   JOIN pg_class c ON c.oid = i.indexrelid"
    "   WHERE i.indrelid = to_regclass(quote_ident($1) || '.jobs')), ''),"
    " to_regclass(quote_ident($1) || '.gqs_schedules') IS NOT NULL,"
    " to_regclass(quote_ident($1) || '.gqs_schedules_due') IS NOT NULL,"
    " coalesce((SELECT c.relkind = 'r' FROM pg_class c"
    "   WHERE c.oid = to_regclass(quote_ident($1) || '.gqs_queues')), false),"
    " EXISTS (SELECT FROM pg_attribute a"
    "   WHERE a.attrelid = to_regclass(quote_ident($1) || '.gqs_queues')"
    "   AND a.attname = 'fair_share' AND NOT a.attisdropped)";

// Version 3: the stored schedules (docs/schedules.md, "Stored schedules"), one row per name;
// next_fire is NULL when the expression never fires again.
constexpr const char* create_schedules =
    "CREATE TABLE {s}.gqs_schedules ("
    " name text NOT NULL,"
    " cron text NOT NULL,"
    " zone text NOT NULL,"
    " catch_up smallint NOT NULL,"
    " paused boolean NOT NULL DEFAULT false,"
    " metadata jsonb,"
    " payload bytea NOT NULL,"
    " queue text NOT NULL,"
    " priority smallint NOT NULL,"
    " unique_key text,"
    " next_fire timestamptz,"
    " last_fire timestamptz,"
    " last_job uuid,"
    " updated_at timestamptz NOT NULL,"
    " CONSTRAINT gqs_schedules_pkey PRIMARY KEY (name),"
    " CONSTRAINT gqs_schedules_name_check CHECK (octet_length(name) BETWEEN 1 AND 127),"
    " CONSTRAINT gqs_schedules_catch_up_check CHECK (catch_up BETWEEN 0 AND 2),"
    " CONSTRAINT gqs_schedules_priority_check CHECK (priority BETWEEN 0 AND 9))";

// The tick's claim: the unpaused schedules by their next slot.
constexpr const char* create_schedules_due =
    "CREATE INDEX gqs_schedules_due ON {s}.gqs_schedules (next_fire) WHERE NOT paused";

// Version 4: the stored queue limits (docs/limits.md), one row per configured queue, which a
// pull will read and update by its key. The CHECKs are validate(QueueLimits)'s (NaN is above
// every float8, so `rate < 'Infinity'` refuses it too); NULL is "no limit". tokens and
// refilled_at are the token bucket's state, NULL until a pull first uses them and whenever
// set_limits changes rate or burst. fillfactor leaves room on each page, so that the bucket's
// frequent updates (no indexed column changes) stay HOT updates.
constexpr const char* create_queues =
    "CREATE TABLE {s}.gqs_queues ("
    " queue text NOT NULL,"
    " paused boolean NOT NULL DEFAULT false,"
    " max_running integer,"
    " rate double precision,"
    " burst integer NOT NULL DEFAULT 1,"
    " max_running_per_key integer,"
    " group_weights jsonb,"
    " tokens double precision,"
    " refilled_at timestamptz,"
    " updated_at timestamptz NOT NULL,"
    " CONSTRAINT gqs_queues_pkey PRIMARY KEY (queue),"
    " CONSTRAINT gqs_queues_queue_check CHECK (octet_length(queue) BETWEEN 1 AND 127),"
    " CONSTRAINT gqs_queues_max_running_check CHECK (max_running >= 1),"
    " CONSTRAINT gqs_queues_rate_check CHECK (rate > 0 AND rate < 'Infinity'::float8),"
    " CONSTRAINT gqs_queues_burst_check CHECK (burst >= 1),"
    " CONSTRAINT gqs_queues_max_running_per_key_check CHECK (max_running_per_key >= 1),"
    " CONSTRAINT gqs_queues_group_weights_check CHECK (jsonb_typeof(group_weights) = 'object')"
    ") WITH (fillfactor = 50)";

constexpr const char* create_jobs =
    "CREATE TABLE {s}.jobs ("
    " id uuid NOT NULL,"
    " created_at timestamptz NOT NULL,"
    " updated_at timestamptz NOT NULL,"
    " status smallint NOT NULL,"
    " attempts integer NOT NULL DEFAULT 0,"
    " locked_until timestamptz,"
    " next_run_at timestamptz NOT NULL,"
    " metadata jsonb,"
    " payload bytea NOT NULL,"
    " queue text NOT NULL DEFAULT 'default',"
    " priority smallint NOT NULL DEFAULT 0,"
    " unique_key text,"
    " errors jsonb,"
    " cancelled boolean NOT NULL DEFAULT false,"
    " concurrency_key text,"
    " job_group text,"
    " CONSTRAINT jobs_pkey PRIMARY KEY (id),"
    " CONSTRAINT jobs_status_check CHECK (status BETWEEN 1 AND 4),"
    " CONSTRAINT jobs_attempts_check CHECK (attempts >= 0),"
    " CONSTRAINT jobs_queue_check CHECK (octet_length(queue) BETWEEN 1 AND 127),"
    " CONSTRAINT jobs_priority_check CHECK (priority BETWEEN 0 AND 9),"
    " CONSTRAINT jobs_unique_key_check CHECK (unique_key IS NULL OR"
    "   octet_length(unique_key) BETWEEN 1 AND 1024),"
    " CONSTRAINT jobs_errors_check CHECK (errors IS NULL OR jsonb_typeof(errors) = 'array'),"
    " CONSTRAINT jobs_concurrency_key_check CHECK (concurrency_key IS NULL OR"
    "   octet_length(concurrency_key) BETWEEN 1 AND 127),"
    " CONSTRAINT jobs_job_group_check CHECK (job_group IS NULL OR"
    "   octet_length(job_group) BETWEEN 1 AND 127)"
    ") WITH (autovacuum_vacuum_scale_factor = 0.0, autovacuum_vacuum_threshold = 5000,"
    " autovacuum_vacuum_insert_scale_factor = 0.0, autovacuum_vacuum_insert_threshold = 20000,"
    " autovacuum_analyze_scale_factor = 0.0, autovacuum_analyze_threshold = 20000,"
    " autovacuum_vacuum_cost_delay = 0)";

// Version 5, on a version 2 to 4 table: Message::concurrency_key and Message::group
// (docs/limits.md; `group` is an SQL keyword, hence job_group), with create_jobs's CHECKs.
// One statement: a column added without a default rewrites no row (PostgreSQL 11 and later
// store nothing for it), and the CHECKs are added NOT VALID, so the table is not read under
// the ALTER's exclusive lock either: every existing row holds NULL there, which passes them,
// and every row written later is checked.
constexpr const char* migrate_to_5 =
    "ALTER TABLE {s}.jobs"
    " ADD COLUMN concurrency_key text,"
    " ADD COLUMN job_group text,"
    " ADD CONSTRAINT jobs_concurrency_key_check"
    "  CHECK (concurrency_key IS NULL OR octet_length(concurrency_key) BETWEEN 1 AND 127)"
    "  NOT VALID,"
    " ADD CONSTRAINT jobs_job_group_check"
    "  CHECK (job_group IS NULL OR octet_length(job_group) BETWEEN 1 AND 127) NOT VALID";

// Version 6 (on a version 4 or 5 gqs_queues, or a new one): fair share by Message::group
// (docs/limits.md, "Fair share"): the switch and the round-robin cursor, the group served last
// (NULL: none yet; '' the jobs without a group) and how much of its turn it used. Columns with
// a constant default rewrite no row.
constexpr const char* migrate_to_6 = "ALTER TABLE {s}.gqs_queues"
                                     " ADD COLUMN fair_share boolean NOT NULL DEFAULT false,"
                                     " ADD COLUMN rr_group text,"
                                     " ADD COLUMN rr_used integer NOT NULL DEFAULT 0";

// The partial indexes, each holding only the statuses its queries read; status values stay
// literals so that a generic plan can use them.
constexpr std::array<std::pair<const char*, const char*>, 7> indexes{{
    {"jobs_pkey", nullptr}, // made with the table
    {"jobs_ready", "CREATE INDEX jobs_ready ON {s}.jobs (priority, next_run_at) WHERE status = 1"},
    {"jobs_ready_queue",
     "CREATE INDEX jobs_ready_queue ON {s}.jobs (queue, priority, next_run_at) WHERE status = 1"},
    // The fair pull's loose scan of a queue's groups (version 6); only jobs with a group
    // have an entry, so a push without one pays nothing for it.
    {"jobs_ready_group", "CREATE INDEX jobs_ready_group ON {s}.jobs"
                         " (queue, priority, job_group, next_run_at)"
                         " WHERE status = 1 AND job_group IS NOT NULL"},
    {"jobs_leased", "CREATE INDEX jobs_leased ON {s}.jobs (locked_until) WHERE status = 2"},
    {"jobs_finished", "CREATE INDEX jobs_finished ON {s}.jobs (status, updated_at, queue)"
                      " WHERE status IN (3, 4)"},
    {"jobs_unique_key", "CREATE UNIQUE INDEX jobs_unique_key ON {s}.jobs (queue, unique_key)"
                        " WHERE unique_key IS NOT NULL AND status IN (1, 2)"},
}};

bool listed(const std::string& list, const char* name) {
    const std::string wanted = std::string(",") + name + ",";
    return ("," + list + ",").find(wanted) != std::string::npos;
}

// Refuses a schema whose gqs_schema or `jobs` table another program made: init_db would not
// touch it, and reading it as a queue would be wrong. `jobs` and `version_table` are the
// columns inspect_sql found ("" for no table).
void check_ours(const detail::State& state, const std::string& jobs,
                const std::string& version_table) {
    const std::string where = "schema " + state.schema;
    if (!version_table.empty() && version_table != version_columns)
        throw SchemaMismatch("gqs: " + where + " has a gqs_schema table that is not gqs's");
    if (!jobs.empty() && jobs != jobs_columns && jobs != jobs_columns_v4)
        throw SchemaMismatch("gqs: " + where + " has a `jobs` table that is not gqs's");
}

int read_version(detail::State& state) {
    auto r = state.exec(in_schema(state, "SELECT version FROM {s}.gqs_schema WHERE id = 1"), {},
                        "reading the gqs schema version");
    // NOLINTNEXTLINE(cert-err34-c): an integer column's text, never anything else.
    return PQntuples(r.get()) == 0 ? 0 : std::atoi(PQgetvalue(r.get(), 0, 0));
}

} // namespace

void init_db(Connection& connection) {
    auto& state = detail::Access::state(connection);
    auto guard = state.enter();
    const char* doing = "initialising the gqs schema";
    state.exec("BEGIN", {}, doing);
    try {
        // One init at a time per schema name, across processes and machines ("gqs\0").
        state.exec("SELECT pg_advisory_xact_lock(1735488256, hashtext($1))", {state.schema.c_str()},
                   doing);
        auto found = state.exec(inspect_sql, {state.schema.c_str()}, doing);
        const bool has_schema = std::string_view(PQgetvalue(found.get(), 0, 0)) == "t";
        const std::string jobs = PQgetvalue(found.get(), 0, 1);
        const std::string version_table = PQgetvalue(found.get(), 0, 2);
        const std::string index_names = PQgetvalue(found.get(), 0, 3);
        const bool has_schedules = std::string_view(PQgetvalue(found.get(), 0, 4)) == "t";
        const bool has_schedules_due = std::string_view(PQgetvalue(found.get(), 0, 5)) == "t";
        // Only a table counts: another relation of that name (a view, a type) fails the
        // CREATE below, and so the upgrade, instead of being taken for gqs's table.
        const bool has_queues = std::string_view(PQgetvalue(found.get(), 0, 6)) == "t";
        const bool has_fair_share = std::string_view(PQgetvalue(found.get(), 0, 7)) == "t";
        const std::string where = "schema " + state.schema;
        check_ours(state, jobs, version_table);
        if (!version_table.empty()) {
            const int version = read_version(state);
            if (version > schema_version)
                throw SchemaMismatch("gqs: " + where + " has gqs schema version " +
                                     std::to_string(version) + ", newer than this build's " +
                                     std::to_string(schema_version) + "; upgrade gqs");
        }
        // Only what is missing: CREATE INDEX IF NOT EXISTS on an existing index would still
        // lock `jobs` against every writer, and CREATE SCHEMA IF NOT EXISTS needs the CREATE
        // privilege even when the schema exists.
        if (!has_schema) state.exec(in_schema(state, "CREATE SCHEMA {s}"), {}, doing);
        if (jobs.empty()) {
            std::string sql = in_schema(state, create_jobs);
            // The insert thresholds are PostgreSQL 13's; 12 would refuse the table.
            if (PQserverVersion(state.conn.get()) < 130000) {
                for (const char* option : {" autovacuum_vacuum_insert_scale_factor = 0.0,",
                                           " autovacuum_vacuum_insert_threshold = 20000,"}) {
                    const auto at = sql.find(option);
                    if (at != std::string::npos) sql.erase(at, std::strlen(option));
                }
            }
            state.exec(sql, {}, doing);
        }
        // Version 5 (from 2 to 4): the jobs' two new columns.
        if (jobs == jobs_columns_v4) state.exec(in_schema(state, migrate_to_5), {}, doing);
        for (const auto& [name, sql] : indexes)
            if (sql != nullptr && !listed(index_names, name))
                state.exec(in_schema(state, sql), {}, doing);
        // Version 3 (from 2 as from nothing): the schedules' table, which no job row needs.
        if (!has_schedules) state.exec(in_schema(state, create_schedules), {}, doing);
        if (!has_schedules_due) state.exec(in_schema(state, create_schedules_due), {}, doing);
        // Version 4 (from 3 as from nothing): the queue limits' table, which no job row needs.
        if (!has_queues) state.exec(in_schema(state, create_queues), {}, doing);
        // Version 6 (from 4 or 5, as from nothing): the queues' fair-share columns.
        if (!has_fair_share) state.exec(in_schema(state, migrate_to_6), {}, doing);
        if (version_table.empty())
            state.exec(in_schema(state, "CREATE TABLE {s}.gqs_schema ("
                                        " id smallint NOT NULL PRIMARY KEY CHECK (id = 1),"
                                        " version integer NOT NULL CHECK (version >= 1))"),
                       {}, doing);
        const std::string version = std::to_string(schema_version);
        state.exec(in_schema(state, "INSERT INTO {s}.gqs_schema (id, version) VALUES (1, $1)"
                                    " ON CONFLICT (id) DO UPDATE SET version = excluded.version"
                                    " WHERE gqs_schema.version < excluded.version"),
                   {version.c_str()}, doing);
        state.exec("COMMIT", {}, doing);
    } catch (...) {
        state.rollback_quietly();
        throw;
    }
}

int stored_schema_version(Connection& connection) {
    auto& state = detail::Access::state(connection);
    auto guard = state.enter();
    auto found = state.exec(inspect_sql, {state.schema.c_str()}, "reading the gqs schema version");
    const std::string version_table = PQgetvalue(found.get(), 0, 2);
    // What init_db would refuse is refused here too, so no one is told to run it in vain.
    check_ours(state, PQgetvalue(found.get(), 0, 1), version_table);
    if (version_table.empty()) return 0;
    return read_version(state);
}

} // namespace gqs::postgres
