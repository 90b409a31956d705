// SPDX-License-Identifier: Apache-2.0
// gqs::backend_of: which database strings name PostgreSQL, and which a SQLite file.
#include "support/catch.hpp"

#include <gqs/backend_of.hpp>

#include <string>
#include <string_view>

using gqs::backend_of;
using gqs::BackendKind;

TEST_CASE("backend_of: libpq URIs and conninfo strings are PostgreSQL", "[unit]") {
    auto db = GENERATE(as<std::string>{}, "postgresql://app@db.example/jobs",
                       "postgres://db.example/jobs", "postgresql://u@h/db", "postgresql://",
                       "host=/run/postgresql dbname=jobs", "host=x", " dbname = q", "\tdbname\t=q",
                       "application_name=gqs", "dbname='a b'",
                       "a=b.db"); // a keyword and '=': write ./a=b.db for such a file
    INFO(db);
    CHECK(backend_of(db) == BackendKind::Postgres);
}

TEST_CASE("backend_of: anything else is a SQLite file name", "[unit]") {
    auto db = GENERATE(as<std::string>{}, "file.db", "", "=x", " ", "./a=b.db", "/tmp/gqs/a=b.db",
                       "/tmp/gqs/x y=1.db", "x y=1.db", "Host=x", "host", "dbname", "9host=x",
                       ":memory:", "file:jobs.db?mode=memory", "POSTGRESQL://u@h/db",
                       "postgresql:/u@h/db", "queue.db host=x");
    INFO(db);
    CHECK(backend_of(db) == BackendKind::Sqlite);
}

TEST_CASE("backend_of: reads a string_view without a terminating NUL", "[unit]") {
    const std::string text = "host=xfile.db";
    CHECK(backend_of(std::string_view(text).substr(0, 4)) == BackendKind::Sqlite); // "host"
    CHECK(backend_of(std::string_view(text).substr(0, 5)) == BackendKind::Postgres);
}
