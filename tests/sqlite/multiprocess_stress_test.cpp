// SPDX-License-Identifier: Apache-2.0
// The multi-process stress run (support/stress_run.hpp) on one SQLite file.
#include "support/catch.hpp"
#include "support/churn_run.hpp"
#include "support/kill_point_run.hpp"
#include "support/limits_run.hpp"
#include "support/schedule_run.hpp"
#include "support/share_run.hpp"
#include "support/sqlite_queue.hpp"
#include "support/stress_run.hpp"

TEST_CASE("stress: 4 worker processes and a producer, one worker killed and restarted",
          "[stress][process]") {
    gqs::test::SqliteQueue q;
    gqs::test::stress_run(q.tmp.path().string(), q.observer, q.tmp.dir());
    CHECK(gqs::test::query_text(*q.db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("crash matrix: 200 pushes/s while 3 worker processes are killed and restarted every "
          "second",
          "[stress][process][churn]") {
    gqs::test::SqliteQueue q;
    gqs::test::churn_run(q.tmp.path().string(), q.observer, q.tmp.dir());
    CHECK(gqs::test::query_text(*q.db, "PRAGMA integrity_check") == "ok");
}

TEST_CASE("crash matrix: a worker process killed before and after a pull and a settle and in a "
          "handler",
          "[stress][process][kill-point]") {
    for (const auto& point : gqs::test::kill_points()) {
        gqs::test::SqliteQueue q;
        gqs::test::kill_point_run(q.tmp.path().string(), q.observer, q.tmp.dir(), point);
        CHECK(gqs::test::query_text(*q.db, "PRAGMA integrity_check") == "ok");
    }
}

TEST_CASE("adaptive prefetch: two busy worker processes with the default config share the work",
          "[process][prefetch]") {
    gqs::test::SqliteQueue q;
    gqs::test::share_run(q.tmp.path().string(), q.tmp.dir());
}

TEST_CASE("schedules: 3 scheduler processes - one killed and restarted - push each slot once",
          "[process][schedules]") {
    gqs::test::SqliteQueue q;
    gqs::test::schedule_run(q.tmp.path().string(), q.observer, q.schedules, q.tmp.dir());
}

TEST_CASE("limits: max_running 2 across 3 worker processes - one killed in a handler - holds and "
          "frees the slot after its lease",
          "[process][limits]") {
    gqs::test::SqliteQueue q;
    gqs::test::limits_run(q.tmp.path().string(), q.pusher, q.observer, q.queues, q.tmp.dir());
}

TEST_CASE("limits: max_running_per_key 1 across 3 worker processes - one killed in a handler - "
          "holds per key and frees the key after its lease",
          "[process][limits][keys]") {
    gqs::test::SqliteQueue q;
    gqs::test::limits_run(q.tmp.path().string(), q.pusher, q.observer, q.queues, q.tmp.dir(), 2);
}
