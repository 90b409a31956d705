// SPDX-License-Identifier: Apache-2.0
// The one fresh PostgreSQL queue of the tests: a schema of its own, initialised, a
// Connection and the backend's objects on it (support/postgres_backend.cpp builds the
// suites' on it).
#pragma once

#include "postgres_schema.hpp"

#include <gqs/postgres.hpp>

#include <cstdint>
#include <memory>
#include <string>

namespace gqs::test {

/// The conninfo of a PgBouncer in transaction mode in front of the test server
/// (GQS_TEST_PGBOUNCER; scripts/test.sh starts one), or the test is skipped (see
/// server_or_skip).
inline std::string pooler_or_skip() { return server_or_skip("GQS_TEST_PGBOUNCER", "PgBouncer"); }

/// How a PgQueue's Connections reach the server.
enum class PgVia : std::uint8_t {
    Direct,
    /// Through PgBouncer in transaction mode (Pooling::Transaction), listening directly.
    Pooler,
};

/// A queue in a schema of its own (dropped at the end), initialised.
struct PgQueue {
    explicit PgQueue(PgVia how = PgVia::Direct) : via(how) {}

    PgSchema schema; // declared first: dropped after the connection closed
    PgVia via;
    std::shared_ptr<postgres::Connection> db = open();
    postgres::Pusher pusher{db};
    postgres::Puller puller{db};
    postgres::Observer observer{db};
    postgres::Cleaner cleaner{db};
    postgres::Admin admin{db};
    postgres::Schedules schedules{db};
    postgres::Queues queues{db};

    /// Another connection to the same schema (initialised already).
    [[nodiscard]] std::shared_ptr<postgres::Connection> connect() const {
        if (via == PgVia::Direct)
            return postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
        postgres::Options options;
        options.schema = schema.name();
        options.pooling = postgres::Pooling::Transaction;
        options.listen_conninfo = schema.conninfo();
        return postgres::Connection::open(pooler_or_skip(), options);
    }
    /// The DB argument of gqs_stress_child for this queue.
    [[nodiscard]] std::string child_db() const {
        return "pg:" + schema.name() + ":" + schema.conninfo();
    }

private:
    std::shared_ptr<postgres::Connection> open() {
        auto c = connect();
        postgres::init_db(*c);
        return c;
    }
};

} // namespace gqs::test
