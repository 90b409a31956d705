// SPDX-License-Identifier: Apache-2.0
// A schema of its own for each PostgreSQL test, in the server scripts/test.sh starts.
#pragma once

#include "catch.hpp"

#include <libpq-fe.h>

#include <cstdlib>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <unistd.h>

namespace gqs::test {

/// Thrown (after printing the skip marker ctest looks for) when no server is configured.
struct PostgresSkipped {};

/// The conninfo in the environment variable `variable` (a server for the tests; `what` names
/// it). Without one the test is skipped ("GQS_SKIP:" on stdout, which ctest reports as
/// skipped), unless GQS_REQUIRE_POSTGRES=1 (CI): then it fails.
inline std::string server_or_skip(const char* variable, const char* what) {
    if (const char* c = std::getenv(variable); c != nullptr && *c != '\0') return c;
    if (const char* r = std::getenv("GQS_REQUIRE_POSTGRES"); r != nullptr && std::string(r) == "1")
        FAIL("GQS_REQUIRE_POSTGRES=1 but " << variable << " is not set (run scripts/test.sh)");
    std::cout << "GQS_SKIP: " << variable << " is not set (no " << what
              << ": run scripts/test.sh)\n"
              << std::flush;
    throw PostgresSkipped{};
}

/// The conninfo of the test server (GQS_TEST_POSTGRES), or the test is skipped (see
/// server_or_skip).
inline std::string postgres_or_skip() { return server_or_skip("GQS_TEST_POSTGRES", "PostgreSQL"); }

/// True when the gqs tool prints `conninfo` as it is given (in single quotes where the shell
/// needs them): no password to leave out, one space apart, no quotes or escapes to rewrite.
inline bool conninfo_printed_as_given(const std::string& conninfo) {
    for (const char* part : {"password", "  ", "'", "\\"}) {
        if (conninfo.find(part) != std::string::npos) return false;
    }
    return true;
}

/// A fresh schema name for one test; the schema (if anything made it) is dropped at the end,
/// after ending any connection still using it.
class PgSchema {
public:
    PgSchema() : conninfo_(postgres_or_skip()) {
        std::random_device rd;
        name_ = "gqs_test_" + std::to_string(::getpid()) + "_" + std::to_string(rd() % 1000000000);
    }
    ~PgSchema() {
        PGconn* c = PQconnectdb(conninfo_.c_str());
        if (PQstatus(c) == CONNECTION_OK) {
            const std::string sql = "SET client_min_messages = warning; SET lock_timeout = '10s';"
                                    " DROP SCHEMA IF EXISTS \"" +
                                    name_ + "\" CASCADE";
            PQclear(PQexec(c, sql.c_str()));
        }
        PQfinish(c);
    }
    PgSchema(const PgSchema&) = delete;
    PgSchema& operator=(const PgSchema&) = delete;

    [[nodiscard]] const std::string& conninfo() const noexcept { return conninfo_; }
    [[nodiscard]] const std::string& name() const noexcept { return name_; }

    /// Runs SQL text on a connection of its own; throws std::runtime_error with the server's
    /// message if it fails. Returns the first column of the first row ("" if none).
    std::string exec(const std::string& sql) const {
        PGconn* c = PQconnectdb(conninfo_.c_str());
        std::string out;
        std::string error;
        if (PQstatus(c) != CONNECTION_OK) {
            error = PQerrorMessage(c);
        } else {
            PQclear(PQexec(c, "SET client_min_messages = warning"));
            PGresult* r = PQexec(c, sql.c_str());
            const auto status = PQresultStatus(r);
            if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
                error = PQresultErrorMessage(r);
            else if (PQntuples(r) > 0 && PQnfields(r) > 0)
                out = PQgetvalue(r, 0, 0);
            PQclear(r);
        }
        PQfinish(c);
        if (!error.empty()) throw std::runtime_error("PostgreSQL: " + error + " in: " + sql);
        return out;
    }

private:
    std::string conninfo_;
    std::string name_;
};

} // namespace gqs::test
