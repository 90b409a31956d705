// SPDX-License-Identifier: Apache-2.0
// The claim's plan: every row a pull locks comes from an ordered index range (jobs_ready,
// jobs_ready_queue, jobs_leased), never from a scan or a sort of the table, in the generic
// plan gqs's sessions use, at the largest batch the README advises, on a table with history.
#include "support/catch.hpp"
#include "support/postgres_schema.hpp"

#include "postgres/connection_impl.hpp"
#include "postgres/statements.hpp"

#include <gqs/postgres.hpp>

#include <algorithm>
#include <string>
#include <vector>

namespace {

// A plain libpq session for the test's own statements.
class Psql {
public:
    explicit Psql(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
        REQUIRE(PQstatus(conn_.get()) == CONNECTION_OK);
    }
    // Every row's first column.
    std::vector<std::string> rows(const std::string& sql) {
        gqs::postgres::detail::Result r(PQexec(conn_.get(), sql.c_str()));
        const auto status = PQresultStatus(r.get());
        INFO(sql);
        INFO(PQresultErrorMessage(r.get()));
        REQUIRE((status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK));
        std::vector<std::string> out;
        for (int i = 0; i < PQntuples(r.get()); ++i)
            out.emplace_back(PQgetvalue(r.get(), i, 0));
        return out;
    }

private:
    gqs::postgres::detail::Conn conn_;
};

std::string joined(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& l : lines)
        out += l + "\n";
    return out;
}

std::size_t count_of(const std::vector<std::string>& lines, const std::string& what) {
    return static_cast<std::size_t>(std::count_if(lines.begin(), lines.end(), [&](const auto& l) {
        return l.find(what) != std::string::npos;
    }));
}

} // namespace

TEST_CASE("postgres: a pull locks rows through ordered index scans only", "[postgres][plan]") {
    gqs::test::PgSchema schema;
    auto c = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*c);
    const std::string s = "\"" + schema.name() + "\"";
    Psql psql(schema.conninfo());
    // 20,000 ready jobs in 10 queues at priorities 5..9, 20,000 delayed at priority 0,
    // 50,000 Done, 100 expired leases.
    psql.rows("INSERT INTO " + s +
              ".jobs (id, created_at, updated_at, status, attempts, locked_until, next_run_at,"
              " payload, queue, priority)"
              " SELECT gen_random_uuid(), now(), now(),"
              "  CASE WHEN i <= 40000 THEN 1 WHEN i <= 90000 THEN 3 ELSE 2 END,"
              "  CASE WHEN i > 90000 THEN 1 ELSE 0 END,"
              "  CASE WHEN i > 90000 THEN now() - interval '1 minute' END,"
              "  CASE WHEN i <= 20000 THEN now() - interval '1 second'"
              "   WHEN i <= 40000 THEN now() + interval '1 day' ELSE now() END,"
              "  '', 'q' || (i % 10), CASE WHEN i <= 20000 THEN 5 + i % 5 ELSE 0 END"
              " FROM generate_series(1, 90100) i");
    psql.rows("ANALYZE " + s + ".jobs");
    const auto in_schema = [&](const char* sql) {
        return gqs::postgres::detail::in_schema(s, sql);
    };
    struct Case {
        const char* name;
        const char* sql;
        std::string args;
        std::vector<std::string> indexes;
    };
    const std::vector<Case> cases{
        {"pull", gqs::postgres::detail::pull_sql, "1000, 30000000", {"jobs_ready ", "jobs_leased"}},
        {"pull of named queues",
         gqs::postgres::detail::pull_queues_sql,
         "1000, 30000000, '{q3,q7}'",
         {"jobs_ready_queue", "jobs_leased"}},
        // The first try of a pull, guarded by the gates: the same ranges.
        {"pull unless gated",
         gqs::postgres::detail::pull_unless_gated_sql,
         "1000, 30000000",
         {"jobs_ready ", "jobs_leased"}},
        {"pull of named queues unless gated",
         gqs::postgres::detail::pull_queues_unless_gated_sql,
         "1000, 30000000, '{q3,q7}'",
         {"jobs_ready_queue", "jobs_leased"}},
    };
    for (const auto& test : cases) {
        // gqs's sessions plan every statement once, generically (plan_cache_mode, set by
        // Connection): a custom plan for a batch larger than a (queue, priority) range's
        // estimate sorts a bitmap scan of the whole range, which stale statistics make
        // unbounded.
        psql.rows("DEALLOCATE ALL");
        psql.rows("SET plan_cache_mode = force_generic_plan");
        psql.rows("PREPARE p AS " + in_schema(test.sql));
        const auto plan = psql.rows("EXPLAIN (COSTS OFF) EXECUTE p(" + test.args + ")");
        INFO(test.name << ":\n" << joined(plan));
        // (gqs_queues, a row per configured queue, may be read whole by the guard.)
        CHECK(count_of(plan, "Seq Scan") == count_of(plan, "Seq Scan on gqs_queues"));
        // The rows locked come from ordered index ranges; only the final lookup of the picked
        // ids (at most a batch) may read jobs_pkey through a bitmap.
        CHECK(count_of(plan, "Bitmap Index Scan on jobs_ready") == 0);
        CHECK(count_of(plan, "Bitmap Index Scan on jobs_leased") == 0);
        // The one sort is of the few candidates the arms locked (the `picked` CTE).
        CHECK(count_of(plan, "Sort Key") == 1);
        CHECK(count_of(plan, "Sort Key: expired.priority, expired.next_run_at") == 1);
        CHECK(count_of(plan, "LockRows") == 2);
        for (const auto& index : test.indexes)
            CHECK(count_of(plan, "Index Scan using " + index) == 1);
    }

    // The pull of a queue with max_running_per_key, and its look: the same ordered ranges of
    // one queue (the keys at their cap a filter on them), and the live leases per key from a
    // range of jobs_leased. Its sorts are of the candidates and of the live leases.
    struct Keyed {
        const char* name;
        const char* sql;
        std::string args;
        std::size_t locks;
        std::size_t leased_ranges; // the live leases per key, and the expired-lease arm
    };
    for (const auto& test :
         {Keyed{"keyed pull", gqs::postgres::detail::pull_keyed_sql, "100, 30000000, 'q3', 1, 400",
                2, 2},
          Keyed{"keyed has_ready", gqs::postgres::detail::has_ready_keyed_sql, "'q3', 1", 0, 2}}) {
        psql.rows("DEALLOCATE ALL");
        psql.rows("SET plan_cache_mode = force_generic_plan");
        psql.rows("PREPARE p AS " + in_schema(test.sql));
        const auto plan = psql.rows("EXPLAIN (COSTS OFF) EXECUTE p(" + test.args + ")");
        INFO(test.name << ":\n" << joined(plan));
        CHECK(count_of(plan, "Seq Scan") == 0);
        CHECK(count_of(plan, "Bitmap Index Scan on jobs_ready") == 0);
        CHECK(count_of(plan, "Bitmap Index Scan on jobs_leased") == 0);
        CHECK(count_of(plan, "Index Scan using jobs_ready_queue") == 1);
        CHECK(count_of(plan, "Index Scan using jobs_leased") == test.leased_ranges);
        CHECK(count_of(plan, "LockRows") == test.locks);
    }
}

TEST_CASE("postgres: the fair pull seeks the groups through ordered index ranges only",
          "[postgres][plan][fair]") {
    gqs::test::PgSchema schema;
    auto c = gqs::postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    gqs::postgres::init_db(*c);
    const std::string s = "\"" + schema.name() + "\"";
    Psql psql(schema.conninfo());
    // 40,000 ready jobs in 4 queues at priorities 0..4, in 1,000 groups (a tenth without one),
    // 20,000 Done, 100 expired leases.
    psql.rows("INSERT INTO " + s +
              ".jobs (id, created_at, updated_at, status, attempts, locked_until, next_run_at,"
              " payload, queue, priority, job_group)"
              " SELECT gen_random_uuid(), now(), now(),"
              "  CASE WHEN i <= 40000 THEN 1 WHEN i <= 60000 THEN 3 ELSE 2 END,"
              "  CASE WHEN i > 60000 THEN 1 ELSE 0 END,"
              "  CASE WHEN i > 60000 THEN now() - interval '1 minute' END,"
              "  now() - interval '1 second', '', 'q' || (i % 4), i % 5,"
              "  CASE WHEN i % 10 <> 0 THEN 'g' || (i % 1000) END"
              " FROM generate_series(1, 60100) i");
    psql.rows("ANALYZE " + s + ".jobs");
    // Each statement, what it reads, and its sorts (fair groups: the few rows it returns).
    struct Case {
        const char* name;
        const char* sql;
        std::string args;
        std::vector<std::string> ranges;
        std::size_t sorts;
        std::size_t locks;
    };
    const std::vector<Case> cases{
        // The seeks of the recursive steps are not shown by EXPLAIN (PostgreSQL 15 prints no
        // SubPlan of a WorkTable Scan's output); the first seek of each scan is, and the
        // bench's 10 against 10,000 groups line measures the rest.
        {"fair groups",
         gqs::postgres::detail::fair_groups_sql,
         "'q1', 'g500', 101, 100",
         {"Index Only Scan using jobs_ready_group", "Index Only Scan using jobs_ready_group",
          "Index Scan using jobs_leased", "Index Scan using jobs_ready_queue"},
         1,
         0},
        {"fair pull",
         gqs::postgres::detail::pull_fair_sql,
         "'q1', 30000000, 2, '{g1,g5,g9}', '{3,1,2}', 5, 2, 'g9', 1",
         {"Index Scan using jobs_ready_group", "Index Scan using jobs_leased",
          "Index Scan using jobs_ready_queue"},
         0,
         3},
    };
    for (const auto& test : cases) {
        psql.rows("DEALLOCATE ALL");
        psql.rows("SET plan_cache_mode = force_generic_plan");
        psql.rows("PREPARE p AS " + gqs::postgres::detail::in_schema(s, test.sql));
        const auto plan = psql.rows("EXPLAIN (COSTS OFF) EXECUTE p(" + test.args + ")");
        INFO(test.name << ":\n" << joined(plan));
        // (gqs_queues, a row per configured queue, may be read whole for the turn.)
        CHECK(count_of(plan, "Seq Scan") == count_of(plan, "Seq Scan on gqs_queues"));
        CHECK(count_of(plan, "Bitmap Index Scan on jobs_ready") == 0);
        CHECK(count_of(plan, "Sort Key") == test.sorts);
        CHECK(count_of(plan, "LockRows") == test.locks);
        for (const auto& range : test.ranges)
            CHECK(count_of(plan, range) == static_cast<std::size_t>(std::count(
                                               test.ranges.begin(), test.ranges.end(), range)));
    }
}
