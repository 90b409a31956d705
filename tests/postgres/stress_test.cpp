// SPDX-License-Identifier: Apache-2.0
// The multi-process stress run (support/stress_run.hpp) on one PostgreSQL schema: every
// worker process has its own connections.
#include "support/catch.hpp"
#include "support/churn_run.hpp"
#include "support/kill_point_run.hpp"
#include "support/limits_run.hpp"
#include "support/postgres_schema.hpp"
#include "support/schedule_run.hpp"
#include "support/share_run.hpp"
#include "support/stress_run.hpp"

#include <gqs/postgres.hpp>

TEST_CASE("postgres stress: 4 worker processes and a producer - one killed and restarted",
          "[stress][process]") {
    gqs::test::PgSchema schema;
    auto connection = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*connection);
    gqs::postgres::Observer observer(connection);
    gqs::test::TempDb tmp; // for the processes' logs
    gqs::test::stress_run("pg:" + schema.name() + ":" + schema.conninfo(), observer, tmp.dir());
}

TEST_CASE("postgres crash matrix: 200 pushes/s while 3 worker processes are killed and restarted "
          "every second",
          "[stress][process][churn]") {
    gqs::test::PgSchema schema;
    auto connection = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*connection);
    gqs::postgres::Observer observer(connection);
    gqs::test::TempDb tmp; // for the processes' logs
    gqs::test::churn_run("pg:" + schema.name() + ":" + schema.conninfo(), observer, tmp.dir());
}

TEST_CASE("postgres crash matrix: a worker process killed before and after a pull and a settle "
          "and in a handler",
          "[stress][process][kill-point]") {
    for (const auto& point : gqs::test::kill_points()) {
        gqs::test::PgSchema schema;
        auto connection =
            gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
        gqs::postgres::init_db(*connection);
        gqs::postgres::Observer observer(connection);
        gqs::test::TempDb tmp; // for the processes' logs
        gqs::test::kill_point_run("pg:" + schema.name() + ":" + schema.conninfo(), observer,
                                  tmp.dir(), point);
    }
}

TEST_CASE("postgres adaptive prefetch: two busy worker processes with the default config share "
          "the work",
          "[process][prefetch]") {
    gqs::test::PgSchema schema;
    auto connection = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*connection);
    gqs::test::TempDb tmp; // for the processes' logs
    gqs::test::share_run("pg:" + schema.name() + ":" + schema.conninfo(), tmp.dir());
}

TEST_CASE("postgres schedules: 3 scheduler processes - one killed and restarted - push each slot "
          "once",
          "[process][schedules]") {
    gqs::test::PgSchema schema;
    auto connection = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*connection);
    gqs::postgres::Observer observer(connection);
    gqs::postgres::Schedules schedules(connection);
    gqs::test::TempDb tmp; // for the processes' output
    gqs::test::schedule_run("pg:" + schema.name() + ":" + schema.conninfo(), observer, schedules,
                            tmp.dir());
}

namespace {

// limits_run on a fresh schema (keys: see limits_run).
void pg_limits_run(int keys) {
    gqs::test::PgSchema schema;
    auto connection = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*connection);
    gqs::postgres::Pusher pusher(connection);
    gqs::postgres::Observer observer(connection);
    gqs::postgres::Queues queues(connection);
    gqs::test::TempDb tmp; // for the processes' logs
    gqs::test::limits_run("pg:" + schema.name() + ":" + schema.conninfo(), pusher, observer, queues,
                          tmp.dir(), keys);
}

} // namespace

TEST_CASE("postgres limits: max_running 2 across 3 worker processes - one killed in a handler - "
          "holds and frees the slot after its lease",
          "[process][limits]") {
    pg_limits_run(0);
}

TEST_CASE("postgres limits: max_running_per_key 1 across 3 worker processes - one killed in a "
          "handler - holds per key and frees the key after its lease",
          "[process][limits][keys]") {
    pg_limits_run(2);
}
