// SPDX-License-Identifier: Apache-2.0
// The one fresh SQLite queue of the tests: a file in its own temp directory, initialised,
// with one of each backend class (support/sqlite_backend.cpp builds the suites' on it).
#pragma once

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Statement.h>

#include "queue_ops.hpp"
#include "test_support.hpp"

#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>

namespace gqs::test {

/// The first column of `sql`'s first row, as text. Throws std::runtime_error when there is
/// no row.
inline std::string query_text(SQLite::Database& db, const std::string& sql) {
    SQLite::Statement st(db, sql);
    if (!st.executeStep()) throw std::runtime_error("no row from: " + sql);
    return st.getColumn(0).getString();
}

/// query_text under the connection's lock.
inline std::string query_text(gqs::sqlite::Connection& connection, const std::string& sql) {
    return connection.with_database([&](SQLite::Database& db) { return query_text(db, sql); });
}

/// Runs SQL text under the connection's lock; SQLite::Exception passes through.
inline void exec(gqs::sqlite::Connection& connection, const std::string& sql) {
    connection.with_database([&](SQLite::Database& db) { db.exec(sql); });
}

struct SqliteQueue {
    TempDb tmp;
    std::shared_ptr<sqlite::Connection> db = open_and_init(tmp.path());
    sqlite::Pusher pusher{db};
    sqlite::Puller puller{db};
    sqlite::Observer observer{db};
    sqlite::Cleaner cleaner{db};
    sqlite::Admin admin{db};
    sqlite::Schedules schedules{db};
    sqlite::Queues queues{db};

    /// Another connection to the same file, as another process would have.
    [[nodiscard]] std::shared_ptr<sqlite::Connection> second_connection() const {
        return sqlite::Connection::open(tmp.path());
    }

    static std::shared_ptr<sqlite::Connection> open_and_init(const std::filesystem::path& p) {
        auto c = sqlite::Connection::open(p);
        sqlite::init_db(*c);
        return c;
    }

    /// Pushes one message with the given payload; returns it.
    Message push(std::string payload = "p", Duration delay = {}) {
        return push_one(pusher, std::move(payload), delay);
    }

    /// The stored job; throws (failing the test) if it is missing.
    Job stored(const Uuid& id) { return stored_job(observer, id); }

    /// True when the job exists with this status.
    bool has_status(const Uuid& id, Status status) {
        auto found = observer.get(id);
        return found && found->status == status;
    }

    /// How many jobs have this status.
    std::size_t count(Status status) { return observer.list(status, 0).size(); }
};

} // namespace gqs::test
