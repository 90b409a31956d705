// SPDX-License-Identifier: Apache-2.0
// The one fresh PostgreSQL queue of the tests: a schema of its own, initialised, a
// Connection and the backend's objects on it (support/postgres_backend.cpp builds the
// suites' on it).
#pragma once

#include "postgres_schema.hpp"

#include <gqs/postgres.hpp>

#include <memory>
#include <string>

namespace gqs::test {

/// A queue in a schema of its own (dropped at the end), initialised.
struct PgQueue {
    PgSchema schema; // declared first: dropped after the connection closed
    std::shared_ptr<postgres::Connection> db = open();
    postgres::Pusher pusher{db};
    postgres::Puller puller{db};
    postgres::Observer observer{db};
    postgres::Cleaner cleaner{db};
    postgres::Admin admin{db};

    /// Another connection to the same schema (initialised already).
    [[nodiscard]] std::shared_ptr<postgres::Connection> connect() const {
        return postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
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
