// SPDX-License-Identifier: Apache-2.0
// An existing queue, opened for the CLI's commands through the backend-neutral interfaces.
#include "opened_queue.hpp"

#include <gqs/errors.hpp>
#include <gqs/sqlite.hpp>
#ifdef GQS_CLI_HAS_POSTGRES
#include <gqs/postgres.hpp>
#endif

#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

namespace gqs::cli {

namespace {

namespace fs = std::filesystem;

// SQLite's primary result code for "file is not a database".
constexpr int sqlite_notadb = 26;
// The first schema version (of either backend) that stores schedules.
constexpr int schedules_version = 3;
// The first schema version (of either backend) that stores queue limits.
constexpr int queues_version = 4;
// The first version whose queue limits this build reads (fair share's columns).
constexpr int current_queues_version = 6;

std::string init_hint(const Target& target) {
    return "(run `gqs " + target.db_arguments() + " init`)";
}

// The library's SchemaMismatch, naming the file (or the database) instead of "gqs: ".
SchemaMismatch at(const Target& target, const SchemaMismatch& e) {
    std::string what = e.what();
    if (what.rfind("gqs: ", 0) == 0) what.erase(0, 5);
    if (target.backend == BackendKind::Sqlite) return SchemaMismatch(target.db + ": " + what);
    // PostgreSQL's messages name the schema already.
    what += " (at " + target.display() + ")";
    if (what.find("that is not gqs's") != std::string::npos)
        what += "; `gqs init` refuses it too: keep gqs's tables in a schema of their own with "
                "--schema NAME";
    return SchemaMismatch(what);
}

SchemaMismatch newer(const Target& target, int version, int supported) {
    return SchemaMismatch(target.where() + " has gqs schema version " + std::to_string(version) +
                          ", newer than this gqs (" + std::to_string(supported) +
                          "); use a newer gqs");
}

std::shared_ptr<sqlite::Connection> open_file(const Target& target,
                                              const sqlite::Options& options) {
    try {
        return sqlite::Connection::open(target.db, options);
    } catch (const StorageError& e) {
        if (e.code() == sqlite_notadb)
            throw Error(target.db + " is not a gqs database (not even a SQLite file)");
        throw;
    }
}

// The names of the file's own tables (not SQLite's internal ones), in name order.
std::vector<std::string> table_names(SQLite::Database& database) {
    SQLite::Statement st(database, "SELECT name FROM sqlite_schema WHERE type = 'table' AND "
                                   "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name");
    std::vector<std::string> names;
    while (st.executeStep())
        names.push_back(st.getColumn(0).getString());
    return names;
}

// "a, b, c" with at most `most` names, then how many more.
std::string name_list(const std::vector<std::string>& names, std::size_t most) {
    std::string out;
    for (std::size_t i = 0; i < names.size() && i < most; ++i)
        out += (i == 0 ? "" : ", ") + names[i];
    if (names.size() > most) out += " and " + std::to_string(names.size() - most) + " more";
    return out;
}

// Opens an existing gqs database; never creates a file or changes its journal mode. `version`
// gets its schema version.
std::shared_ptr<sqlite::Connection> open_sqlite(const Target& target, int& version) {
    const fs::path db = target.db;
    std::error_code ec;
    if (!fs::exists(db, ec)) throw Error(target.db + " does not exist " + init_hint(target));
    if (fs::is_directory(db, ec)) throw Error(target.db + " is a directory, not a database");
    sqlite::Options options;
    options.create = false;
    options.wal = false; // a gqs database is in WAL mode already; a foreign file stays as is
    auto connection = open_file(target, options);
    try {
        version = sqlite::stored_schema_version(*connection);
    } catch (const SchemaMismatch& e) {
        throw at(target, e);
    }
    if (version > sqlite::schema_version) throw newer(target, version, sqlite::schema_version);
    if (version == 0) {
        // Another application's database is not a damaged queue: say what it is.
        const auto tables = connection->with_database(
            [](SQLite::Database& database) { return table_names(database); });
        if (!tables.empty())
            throw Error(target.db +
                        " holds no gqs queue; it is another application's SQLite database "
                        "(tables: " +
                        name_list(tables, 5) + ")");
        throw Error(target.db + " holds no gqs queue yet: it is an empty SQLite database " +
                    init_hint(target));
    }
    if (!connection->with_database(
            [](SQLite::Database& database) { return database.tableExists("jobs"); }))
        throw Error(target.db + " has gqs's version table but no `jobs` table " +
                    init_hint(target));
    return connection;
}

#ifdef GQS_CLI_HAS_POSTGRES
std::shared_ptr<postgres::Connection> connect(const Target& target) {
    postgres::Options options;
    options.schema = target.schema;
    if (target.pooler) options.pooling = postgres::Pooling::Transaction;
    return postgres::Connection::open(target.db, options);
}

// Connects to a schema that holds a gqs queue; creates nothing. `version` gets its schema
// version.
std::shared_ptr<postgres::Connection> open_postgres(const Target& target, int& version) {
    auto connection = connect(target);
    try {
        version = postgres::stored_schema_version(*connection);
    } catch (const SchemaMismatch& e) {
        throw at(target, e);
    }
    if (version > postgres::schema_version) throw newer(target, version, postgres::schema_version);
    if (version == 0) throw Error(target.where() + " holds no gqs queue yet " + init_hint(target));
    return connection;
}
#endif

} // namespace

OpenedQueue::OpenedQueue(const Target& target) {
    int version = 0;
    if (target.backend == BackendKind::Sqlite) {
        auto connection = open_sqlite(target, version);
        pusher_ = std::make_unique<sqlite::Pusher>(connection);
        observer_ = std::make_unique<sqlite::Observer>(connection);
        admin_ = std::make_unique<sqlite::Admin>(connection);
        cleaner_ = std::make_unique<sqlite::Cleaner>(connection);
        if (version >= schedules_version)
            schedules_ = std::make_unique<sqlite::Schedules>(connection);
        if (version >= current_queues_version)
            queues_ = std::make_unique<sqlite::Queues>(connection);
    } else {
#ifdef GQS_CLI_HAS_POSTGRES
        auto connection = open_postgres(target, version);
        pusher_ = std::make_unique<postgres::Pusher>(connection);
        observer_ = std::make_unique<postgres::Observer>(connection);
        admin_ = std::make_unique<postgres::Admin>(connection);
        cleaner_ = std::make_unique<postgres::Cleaner>(connection);
        if (version >= schedules_version)
            schedules_ = std::make_unique<postgres::Schedules>(connection);
        if (version >= current_queues_version)
            queues_ = std::make_unique<postgres::Queues>(connection);
#else
        // target_of never makes a PostgreSQL Target in a build without the backend.
        throw Error("this gqs was built without PostgreSQL support");
#endif
    }
    if (!schedules_)
        no_schedules_ = target.where() + " has gqs schema version " + std::to_string(version) +
                        ", which has no schedules: `gqs " + target.db_arguments() +
                        " init` upgrades it to version " + std::to_string(sqlite::schema_version) +
                        " in place, keeping every job";
    if (!queues_)
        no_queues_ = target.where() + " has gqs schema version " + std::to_string(version) +
                     (version < queues_version ? ", which has no queue limits"
                                               : ", whose queue limits have no fair share") +
                     ": `gqs " + target.db_arguments() + " init` upgrades it to version " +
                     std::to_string(sqlite::schema_version) + " in place, keeping every job";
}

OpenedQueue::~OpenedQueue() = default;

Schedules& OpenedQueue::schedules() {
    if (!schedules_) throw Error(no_schedules_);
    return *schedules_;
}

Queues& OpenedQueue::queues() {
    if (!queues_) throw Error(no_queues_);
    return *queues_;
}

int init_queue(const Target& target) {
    if (target.backend == BackendKind::Sqlite) {
        std::error_code ec;
        if (fs::is_directory(fs::path(target.db), ec))
            throw Error(target.db + " is a directory, not a database");
        auto connection = open_file(target, sqlite::Options{});
        try {
            sqlite::init_db(*connection);
        } catch (const SchemaMismatch& e) {
            throw at(target, e);
        }
        return sqlite::schema_version;
    }
#ifdef GQS_CLI_HAS_POSTGRES
    auto connection = connect(target);
    try {
        postgres::init_db(*connection);
    } catch (const SchemaMismatch& e) {
        throw at(target, e);
    }
    return postgres::schema_version;
#else
    throw Error("this gqs was built without PostgreSQL support");
#endif
}

} // namespace gqs::cli
