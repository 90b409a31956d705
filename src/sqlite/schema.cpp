// SPDX-License-Identifier: Apache-2.0
// init_db: the jobs table, its indexes, the migrations between versions, and the schema
// version gqs keeps in its own table.
#include "connection_impl.hpp"

#include <gqs/sqlite/schema.hpp>

#include <array>
#include <string>
#include <vector>

namespace gqs::sqlite {

namespace {

constexpr const char* doing = "initialising the database";

// Times are INTEGER microseconds since the Unix epoch (UTC), so every comparison the queue
// makes is an integer comparison. The id is a 16-byte blob with its own unique index; the
// implicit rowid stays the table's key (a WITHOUT ROWID table keyed by the blob measured
// several times slower here). The CHECKs keep rows written by hand within what gqs reads.
constexpr const char* create_table = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
    id           BLOB    NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    status       INTEGER NOT NULL CHECK (status BETWEEN 1 AND 4),
    attempts     INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    locked_until INTEGER,
    next_run_at  INTEGER NOT NULL,
    metadata     TEXT,
    payload      BLOB    NOT NULL
))sql";

// Version 2, in place: columns are added (SQLite stores nothing for a column added with a
// default, so no row is rewritten), and v1's three indexes are replaced by partial ones:
// each holds the jobs of the statuses its queries read, so a job's row enters and leaves
// each index at most once in its life (push: jobs_ready; pull: out of that, into
// jobs_leased; complete: out of that, into jobs_finished), and an index never carries rows
// its queries skip. One ready index serves pulls of every queue and of named ones: a second
// one ordered by priority first measured 20% more CPU per insert.
// - jobs_ready (status, queue, priority, next_run_at), Pending only, serves the Pending arm
//   of pull: per queue, one ordered range per priority, driven by gqs_priorities (and, for
//   a pull of every queue, by a skip through the index from queue to queue). status leads
//   although it is constant, so that SQLite reads it as a covering index.
// - jobs_leased (status, locked_until), Processing only: the expired-lease arm.
// - jobs_finished (status, updated_at, queue), Done and Dead only: clean, and the counts of
//   finished jobs per queue without reading the table.
// - jobs_unique_key holds the keys of live jobs only, so a Done or Dead job frees its key.
constexpr std::array migrate_to_2 = {
    "ALTER TABLE jobs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default' "
    "CHECK (typeof(queue) = 'text' AND length(queue) BETWEEN 1 AND 127)",
    "ALTER TABLE jobs ADD COLUMN priority INTEGER NOT NULL DEFAULT 0 "
    "CHECK (priority BETWEEN 0 AND 9)",
    "ALTER TABLE jobs ADD COLUMN unique_key TEXT "
    "CHECK (unique_key IS NULL OR typeof(unique_key) = 'text')",
    "ALTER TABLE jobs ADD COLUMN errors TEXT CHECK (errors IS NULL OR json_valid(errors))",
    "ALTER TABLE jobs ADD COLUMN cancelled INTEGER NOT NULL DEFAULT 0 "
    "CHECK (cancelled IN (0, 1))",
    "DROP INDEX IF EXISTS jobs_status_next_run_at",
    "DROP INDEX IF EXISTS jobs_status_locked_until",
    "DROP INDEX IF EXISTS jobs_status_updated_at",
};

// Version 3: the stored schedules (docs/schedules.md, "Stored schedules"), one row per name.
// Times are INTEGER microseconds like the jobs'; next_fire is NULL when the expression never
// fires again. Created without IF NOT EXISTS: a table of that name that is not gqs's fails
// the upgrade (which then changes nothing) instead of being taken for gqs's.
constexpr const char* create_schedules = R"sql(
CREATE TABLE gqs_schedules (
    name       TEXT    NOT NULL PRIMARY KEY
               CHECK (typeof(name) = 'text' AND length(CAST(name AS BLOB)) BETWEEN 1 AND 127),
    cron       TEXT    NOT NULL,
    zone       TEXT    NOT NULL,
    catch_up   INTEGER NOT NULL CHECK (catch_up BETWEEN 0 AND 2),
    paused     INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    metadata   TEXT,
    payload    BLOB    NOT NULL,
    queue      TEXT    NOT NULL,
    priority   INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 9),
    unique_key TEXT,
    next_fire  INTEGER,
    last_fire  INTEGER,
    last_job   BLOB,
    updated_at INTEGER NOT NULL
))sql";

// Version 4: the stored queue limits (docs/limits.md), one row per configured queue. A
// WITHOUT ROWID table, so that a pull reads and updates a queue's row by its key in one
// b-tree (a rowid table would go through the key's index, then the table). The limits'
// CHECKs are validate(QueueLimits)'s; NULL is "no limit". tokens and refilled_at are the
// token bucket's state (REAL tokens, INTEGER microseconds), NULL until a pull first uses
// them and whenever set_limits changes rate or burst (the bucket starts full again).
constexpr const char* create_queues = R"sql(
CREATE TABLE gqs_queues (
    queue               TEXT    NOT NULL PRIMARY KEY
                        CHECK (typeof(queue) = 'text' AND length(CAST(queue AS BLOB)) BETWEEN 1 AND 127),
    paused              INTEGER NOT NULL DEFAULT 0 CHECK (paused IN (0, 1)),
    max_running         INTEGER CHECK (max_running IS NULL OR
                                       (typeof(max_running) = 'integer' AND max_running >= 1)),
    rate                REAL    CHECK (rate IS NULL OR
                                       (rate > 0 AND rate <= 1.7976931348623157e308)),
    burst               INTEGER NOT NULL DEFAULT 1 CHECK (typeof(burst) = 'integer' AND burst >= 1),
    max_running_per_key INTEGER CHECK (max_running_per_key IS NULL OR
                                       (typeof(max_running_per_key) = 'integer' AND
                                        max_running_per_key >= 1)),
    group_weights       TEXT    CHECK (group_weights IS NULL OR json_type(group_weights) = 'object'),
    tokens              REAL,
    refilled_at         INTEGER,
    updated_at          INTEGER NOT NULL
) WITHOUT ROWID)sql";

// Version 5: the two keys of docs/limits.md a job carries, Message::concurrency_key and
// Message::group (`group` is an SQL keyword, hence job_group). Added in place: SQLite stores
// nothing for a column added without a default, so no row is rewritten; it reads every row
// once to test the new CHECKs (each NULL on the rows there are). The CHECKs are
// check_message's length rule (1..127 bytes of text); push also refuses bad UTF-8 and NUL.
constexpr std::array migrate_to_5 = {
    "ALTER TABLE jobs ADD COLUMN concurrency_key TEXT CHECK (concurrency_key IS NULL OR "
    "(typeof(concurrency_key) = 'text' AND "
    "length(CAST(concurrency_key AS BLOB)) BETWEEN 1 AND 127))",
    "ALTER TABLE jobs ADD COLUMN job_group TEXT CHECK (job_group IS NULL OR "
    "(typeof(job_group) = 'text' AND length(CAST(job_group AS BLOB)) BETWEEN 1 AND 127))",
};

// Version 6: fair share by Message::group (docs/limits.md, "Fair share"). gqs_queues gains the
// switch and the round-robin cursor: the group served last (NULL: none yet; "" the jobs
// without a group) and how much of its turn it used. Added in place, as for version 5; the
// ready jobs' group index is in ensure_current.
constexpr std::array migrate_to_6 = {
    "ALTER TABLE gqs_queues ADD COLUMN fair_share INTEGER NOT NULL DEFAULT 0 "
    "CHECK (fair_share IN (0, 1))",
    "ALTER TABLE gqs_queues ADD COLUMN rr_group TEXT",
    "ALTER TABLE gqs_queues ADD COLUMN rr_used INTEGER NOT NULL DEFAULT 0",
};

// What the current version has, created when missing on every init_db (repairs a dropped
// index; no-ops that write nothing otherwise, so init_db works on a read-only current file).
// gqs_priorities lists the priorities 0..9: pull walks it to visit each priority's range.
constexpr std::array ensure_current = {
    "CREATE TABLE IF NOT EXISTS gqs_priorities ("
    " priority INTEGER PRIMARY KEY CHECK (priority BETWEEN 0 AND 9))",
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs (status, queue, priority, next_run_at) "
    "WHERE status = 1",
    "CREATE INDEX IF NOT EXISTS jobs_leased ON jobs (status, locked_until) WHERE status = 2",
    // The fair pull's loose scan of a queue's groups (version 6). Only jobs with a group have
    // an entry, so a push without one pays nothing for it.
    "CREATE INDEX IF NOT EXISTS jobs_ready_group ON jobs "
    "(status, queue, priority, job_group, next_run_at) WHERE status = 1 AND job_group IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_finished ON jobs (status, updated_at, queue) "
    "WHERE status IN (3, 4)",
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique_key ON jobs (queue, unique_key) "
    "WHERE unique_key IS NOT NULL AND status IN (1, 2)",
    // The tick's claim: the unpaused schedules by their next slot.
    "CREATE INDEX IF NOT EXISTS gqs_schedules_due ON gqs_schedules (next_fire) "
    "WHERE paused = 0 AND next_fire IS NOT NULL",
};

// The schema version lives in a table of gqs's own, never in PRAGMA user_version: that
// belongs to the application whose database gqs may share. One row, id 1.
constexpr const char* create_version_table = R"sql(
CREATE TABLE IF NOT EXISTS gqs_schema (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL CHECK (version >= 1)
))sql";

constexpr const char* write_version = "INSERT INTO gqs_schema (id, version) VALUES (1, ?1) "
                                      "ON CONFLICT (id) DO UPDATE SET version = excluded.version";

constexpr std::array<const char*, 9> jobs_columns_v1 = {"id",          "created_at", "updated_at",
                                                        "status",      "attempts",   "locked_until",
                                                        "next_run_at", "metadata",   "payload"};

constexpr std::array<const char*, 14> jobs_columns_v2 = {
    "id",       "created_at", "updated_at", "status",   "attempts",   "locked_until", "next_run_at",
    "metadata", "payload",    "queue",      "priority", "unique_key", "errors",       "cancelled"};

// Versions 2 to 4 share the jobs table of version 2; version 5 adds two columns, which
// version 6 keeps.
constexpr std::array<const char*, 16> jobs_columns_v5 = {
    "id",          "created_at", "updated_at",      "status",   "attempts", "locked_until",
    "next_run_at", "metadata",   "payload",         "queue",    "priority", "unique_key",
    "errors",      "cancelled",  "concurrency_key", "job_group"};

constexpr std::array<const char*, 2> version_columns = {"id", "version"};

// The table's column names in order; empty when there is no such table.
std::vector<std::string> columns_of(detail::State& state, const char* table,
                                    std::string_view context) {
    auto stmt = state.statement("SELECT name FROM pragma_table_info(?1) ORDER BY cid", context);
    stmt.bind_text(1, table);
    std::vector<std::string> names;
    while (stmt.step())
        names.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0)));
    return names;
}

template <std::size_t N>
bool same_columns(const std::vector<std::string>& found, const std::array<const char*, N>& ours) {
    return std::equal(found.begin(), found.end(), ours.begin(), ours.end());
}

std::string joined(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& name : names)
        out += (out.empty() ? "" : ", ") + name;
    return out;
}

[[noreturn]] void foreign_table(const char* table, const std::vector<std::string>& found) {
    throw SchemaMismatch(std::string("gqs: the database has a `") + table +
                         "` table that is not gqs's (columns: " + joined(found) +
                         "); gqs will not touch it");
}

} // namespace

namespace detail {

SchemaFound find_schema(State& state, std::string_view doing) {
    // Outside a transaction, both tables are read in one (deferred, read-only) transaction,
    // from one snapshot: init_db in another process creates them together.
    // NOLINTNEXTLINE(cppcoreguidelines-special-member-functions): a local, never copied.
    struct Snapshot {
        State& state;
        bool open = false;
        ~Snapshot() {
            if (open && !sqlite3_get_autocommit(state.handle))
                sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
        }
    } snapshot{state};
    if (sqlite3_get_autocommit(state.handle)) {
        state.statement("BEGIN", doing).run();
        snapshot.open = true;
    }
    SchemaFound found;
    const auto version_table = columns_of(state, "gqs_schema", doing);
    if (!version_table.empty()) {
        if (!same_columns(version_table, version_columns))
            foreign_table("gqs_schema", version_table);
        auto stmt = state.statement("SELECT version FROM gqs_schema WHERE id = 1", doing);
        if (stmt.step()) {
            found.version = static_cast<int>(sqlite3_column_int64(stmt.get(), 0));
            found.recorded = true;
        }
    }
    // A newer gqs may have changed the jobs table: its version speaks for it.
    if (found.version > schema_version) return found;
    const auto jobs = columns_of(state, "jobs", doing);
    if (jobs.empty()) return found;
    // gqs's jobs table without a recorded version: a file made by gqs 0.1.0, which kept the
    // version in PRAGMA user_version (1). The table's shape identifies it, whatever the
    // application has set user_version to since.
    if (found.version <= 1) {
        if (!same_columns(jobs, jobs_columns_v1)) foreign_table("jobs", jobs);
        found.version = 1;
    } else if (found.version < 5 ? !same_columns(jobs, jobs_columns_v2)
                                 : !same_columns(jobs, jobs_columns_v5)) {
        foreign_table("jobs", jobs);
    }
    return found;
}

} // namespace detail

int stored_schema_version(Connection& connection) {
    auto& state = detail::Access::state(connection);
    std::lock_guard lock(state.mutex);
    return detail::find_schema(state, "reading the schema version").version;
}

void init_db(Connection& connection) {
    auto& state = detail::Access::state(connection);
    std::lock_guard lock(state.mutex);
    detail::in_write_transaction(state, doing, [&] {
        const auto found = detail::find_schema(state, doing);
        if (found.version > schema_version)
            throw SchemaMismatch("gqs: the database has gqs schema version " +
                                 std::to_string(found.version) + ", newer than this build's " +
                                 std::to_string(schema_version) + "; upgrade gqs");
        // Each step moves the file one version up; all of them commit together or not at all.
        if (found.version < 1) state.exec(create_table, doing);
        if (found.version < 2) {
            for (const char* sql : migrate_to_2)
                state.exec(sql, doing);
        }
        if (found.version < 3) state.exec(create_schedules, doing);
        if (found.version < 4) state.exec(create_queues, doing);
        if (found.version < 5) {
            for (const char* sql : migrate_to_5)
                state.exec(sql, doing);
        }
        if (found.version < 6) {
            for (const char* sql : migrate_to_6)
                state.exec(sql, doing);
        }
        for (const char* sql : ensure_current)
            state.exec(sql, doing);
        bool priorities_listed = false;
        {
            auto stmt = state.statement("SELECT count(*) = 10 FROM gqs_priorities", doing);
            priorities_listed = stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
        }
        if (!priorities_listed)
            state.exec("INSERT OR IGNORE INTO gqs_priorities (priority) "
                       "VALUES (0), (1), (2), (3), (4), (5), (6), (7), (8), (9)",
                       doing);
        state.exec(create_version_table, doing);
        if (!found.recorded || found.version != schema_version) {
            auto stmt = state.statement(write_version, doing);
            stmt.bind(1, schema_version);
            stmt.run();
        }
    });
}

} // namespace gqs::sqlite
