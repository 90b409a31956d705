// SPDX-License-Identifier: Apache-2.0
// init_db: the jobs table, its indexes, and the schema version.
#include "connection_impl.hpp"

#include <gqs/sqlite/schema.hpp>

#include <array>
#include <string>

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

// (status, next_run_at) serves the Pending arm of pull, (status, locked_until) the expired
// lease arm, (status, updated_at) clean. Leading with status keeps finished history out of
// the way of pulls.
constexpr std::array create_indexes = {
    "CREATE INDEX IF NOT EXISTS jobs_status_next_run_at ON jobs (status, next_run_at)",
    "CREATE INDEX IF NOT EXISTS jobs_status_locked_until ON jobs (status, locked_until)",
    "CREATE INDEX IF NOT EXISTS jobs_status_updated_at ON jobs (status, updated_at)",
};

constexpr std::array<const char*, 9> expected_columns = {
    "id",           "created_at",  "updated_at", "status", "attempts",
    "locked_until", "next_run_at", "metadata",   "payload"};

std::int64_t single_int(detail::State& state, const char* sql) {
    auto stmt = state.statement(sql, doing);
    return stmt.step() ? sqlite3_column_int64(stmt.get(), 0) : 0;
}

// Throws SchemaMismatch unless an existing jobs table has exactly gqs's columns.
void check_existing_table(detail::State& state) {
    auto stmt = state.statement("SELECT name FROM pragma_table_info('jobs') ORDER BY cid", doing);
    std::size_t i = 0;
    std::string found;
    bool matches = true;
    while (stmt.step()) {
        std::string name = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
        if (!found.empty()) found += ", ";
        found += name;
        if (i >= expected_columns.size() || name != expected_columns[i]) matches = false;
        ++i;
    }
    if (i == 0) return; // no such table
    if (!matches || i != expected_columns.size())
        throw SchemaMismatch("gqs: the database has a `jobs` table that is not gqs's (columns: " +
                             found + "); gqs will not touch it");
}

} // namespace

void init_db(Connection& connection) {
    auto& state = detail::Access::state(connection);
    std::lock_guard lock(state.mutex);
    detail::in_write_transaction(state, doing, [&] {
        auto version = single_int(state, "PRAGMA user_version");
        if (version > schema_version)
            throw SchemaMismatch("gqs: the database has schema version " + std::to_string(version) +
                                 ", newer than this build's " + std::to_string(schema_version) +
                                 "; upgrade gqs");
        check_existing_table(state);
        state.exec(create_table, doing);
        for (const char* sql : create_indexes)
            state.exec(sql, doing);
        if (version != schema_version)
            state.exec(("PRAGMA user_version = " + std::to_string(schema_version)).c_str(), doing);
    });
}

} // namespace gqs::sqlite
