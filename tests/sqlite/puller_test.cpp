// SPDX-License-Identifier: Apache-2.0
// Not in tests/conformance/: the pull query's plan, and pulling from several processes.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"
#include "support/test_support.hpp"

#include "sqlite/statements.hpp"

#include <SQLiteCpp/Statement.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::SqliteQueue;

namespace {

// EXPLAIN QUERY PLAN of `sql`: (parent, detail) rows, and all details as text.
std::pair<std::vector<std::pair<int, std::string>>, std::string> plan_of(SQLite::Database& db,
                                                                         const char* sql) {
    SQLite::Statement plan(db, std::string("EXPLAIN QUERY PLAN ") + sql);
    std::vector<std::pair<int, std::string>> rows;
    std::string text;
    while (plan.executeStep()) {
        rows.emplace_back(plan.getColumn(1).getInt(), plan.getColumn(3).getString());
        text += plan.getColumn(3).getString() + "\n";
    }
    return {rows, text};
}

auto plan_of(gqs::sqlite::Connection& c, const char* sql) {
    return c.with_database([&](SQLite::Database& db) { return plan_of(db, sql); });
}

} // namespace

TEST_CASE("puller: every pull shape reads indexes in order, never sorting the table",
          "[puller][sqlite][plan]") {
    SqliteQueue q;
    // Jobs over several queues and priorities, some delayed, so ANALYZE has a spread to see.
    std::vector<gqs::Message> msgs(400);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        msgs[i].queue = std::string(1, 'q').append(1, static_cast<char>('0' + i % 10));
        msgs[i].priority = static_cast<int>(i % 3) * 4;
    }
    q.pusher.push_batch(msgs);
    q.pusher.push_batch(std::vector<gqs::Message>(100), 1h);
    gqs::test::exec(*q.db, "ANALYZE");
    struct Shape {
        const char* name;
        const char* sql;
    };
    // The very statements the Puller runs, as EXPLAIN QUERY PLAN sees them.
    const Shape shape =
        GENERATE(Shape{"pull, every queue", gqs::sqlite::detail::pull_sql},
                 Shape{"pull, named queues", gqs::sqlite::detail::pull_queues_sql},
                 Shape{"has_ready, every queue", gqs::sqlite::detail::has_ready_sql},
                 Shape{"has_ready, named queues", gqs::sqlite::detail::has_ready_queues_sql});
    INFO(shape.name);
    const auto [rows, text] = plan_of(*q.db, shape.sql);
    INFO(text);
    // Pending arm: per queue (named, or found by skipping through the index from queue to
    // queue), gqs_priorities drives one ordered range per priority, so neither delayed jobs of a
    // better priority nor other queues' ready jobs are ever walked over.
    const bool named = std::string(shape.name).find("named") != std::string::npos;
    CHECK(text.find("SCAN p") != std::string::npos);
    CHECK(text.find("COVERING INDEX jobs_ready (status=? AND queue=? AND priority=? AND "
                    "next_run_at<?)") != std::string::npos);
    // A Bloom filter is built by reading the whole index: never per pull.
    CHECK(text.find("BLOOM FILTER") == std::string::npos);
    if (named) {
        CHECK(text.find("json_each VIRTUAL TABLE") != std::string::npos);
    } else {
        // The skip from queue to queue: one seek each.
        CHECK(text.find("COVERING INDEX jobs_ready (status=? AND queue>?)") != std::string::npos);
    }
    // Expired-lease arm.
    CHECK(text.find("INDEX jobs_leased (status=? AND locked_until<?)") != std::string::npos);
    CHECK(text.find("MULTI-INDEX OR") == std::string::npos);
    CHECK(text.find("SCAN jobs") == std::string::npos);
    CHECK(text.find("SCAN j\n") == std::string::npos);
    CHECK(text.find("SCAN x\n") == std::string::npos);
    // A temp B-tree may sort the rows the arms returned (at most a batch per arm and queue:
    // "SCAN (subquery-N)", or rows fetched by rowid from such a list), but never rows an index
    // range or a scan of the table produced.
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].second.find("USE TEMP B-TREE") == std::string::npos) continue;
        for (auto& r : rows) {
            if (r.first != rows[i].first) continue;
            const bool reads_jobs = r.second.find(" jobs ") != std::string::npos ||
                                    r.second.find(" j ") != std::string::npos ||
                                    r.second.find(" x ") != std::string::npos;
            // (the skip's min(queue) seeks read one entry each: "jobs USING COVERING INDEX
            // jobs_ready (status=? AND queue>?)" sits in the recursive CTE, not beside a sort)
            const bool by_rowid =
                r.second.find("INTEGER PRIMARY KEY (rowid=?)") != std::string::npos;
            INFO(r.second);
            CHECK_FALSE((reads_jobs && !by_rowid));
        }
    }
}

TEST_CASE("cleaner and stats read the partial indexes, never the whole table",
          "[cleaner][stats][sqlite][plan]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(300);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(200, 1h);
    for (std::size_t i = 0; i < 150; ++i)
        q.puller.complete(jobs[i]);
    gqs::test::exec(*q.db, "ANALYZE");
    {
        const auto [rows, text] = plan_of(*q.db, gqs::sqlite::detail::clean_sql);
        INFO(text);
        CHECK(text.find("INDEX jobs_finished (status=? AND updated_at<?)") != std::string::npos);
        CHECK(text.find("SCAN jobs") == std::string::npos);
    }
    {
        const auto [rows, text] = plan_of(*q.db, gqs::sqlite::detail::stats_sql);
        INFO(text);
        CHECK(text.find("COVERING INDEX jobs_ready (status=?)") != std::string::npos);
        CHECK(text.find("INDEX jobs_leased (status=?)") != std::string::npos);
        CHECK(text.find("COVERING INDEX jobs_finished (status=?)") != std::string::npos);
        CHECK(text.find("SCAN jobs") == std::string::npos);
    }
}

TEST_CASE("puller: processes pulling from one file never share a lease",
          "[puller][sqlite][concurrency][process]") {
    SqliteQueue q;
    constexpr int jobs = 1500, processes = 3;
    std::vector<gqs::Message> msgs(jobs);
    q.pusher.push_batch(msgs);
    std::vector<gqs::test::Child> children;
    for (int i = 0; i < processes; ++i)
        children.push_back(gqs::test::spawn(gqs::test::child_program(),
                                            {"pull", q.tmp.path().string(), "3600000"},
                                            q.tmp.dir() / ("child" + std::to_string(i) + ".out")));
    // The parent pulls too, through its own connection (waiting for the write lock as long
    // as the children do).
    gqs::sqlite::Options patient;
    patient.busy_timeout = std::chrono::minutes(1);
    gqs::sqlite::Puller puller(gqs::sqlite::Connection::open(q.tmp.path(), patient));
    std::vector<gqs::Uuid> mine;
    while (true) {
        auto batch = puller.pull(1, 1h);
        if (batch.empty()) break;
        mine.push_back(batch[0].id);
    }
    std::set<gqs::Uuid> seen(mine.begin(), mine.end());
    std::size_t total = mine.size();
    for (auto& c : children) {
        INFO(gqs::test::read_file(c.output));
        REQUIRE(gqs::test::wait_child(c) == 0);
        for (auto& line : gqs::test::lines(gqs::test::read_file(c.output))) {
            auto id = gqs::Uuid::parse(line);
            REQUIRE(id.has_value());
            seen.insert(*id);
            ++total;
        }
    }
    CHECK(total == jobs);
    CHECK(seen.size() == jobs);
    CHECK(q.observer.list(Status::Processing, 0).size() == jobs);
}

TEST_CASE("puller: the keyed pull reads the same index ranges and never the whole table",
          "[puller][sqlite][plan][keys]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(400);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        msgs[i].queue = std::string(1, 'q').append(1, static_cast<char>('0' + i % 10));
        msgs[i].priority = static_cast<int>(i % 3) * 4;
        msgs[i].concurrency_key = gqs::test::numbered("k", static_cast<long>(i % 7));
    }
    q.pusher.push_batch(msgs);
    gqs::test::exec(*q.db, "ANALYZE");
    for (const char* sql :
         {gqs::sqlite::detail::pull_keyed_sql, gqs::sqlite::detail::has_ready_keyed_sql}) {
        const auto [rows, text] = plan_of(*q.db, sql);
        INFO(text);
        // Pending arm: one ordered range of jobs_ready per priority of the one queue; the
        // capped keys are a filter on that range.
        CHECK(text.find("SCAN p") != std::string::npos);
        CHECK(text.find("INDEX jobs_ready (status=? AND queue=? AND priority=? AND "
                        "next_run_at<?)") != std::string::npos);
        // Expired-lease arm and the live leases per key: jobs_leased ranges.
        CHECK(text.find("INDEX jobs_leased (status=? AND locked_until<?)") != std::string::npos);
        CHECK(text.find("INDEX jobs_leased (status=? AND locked_until>?)") != std::string::npos);
        CHECK(text.find("BLOOM FILTER") == std::string::npos);
        CHECK(text.find("SCAN jobs") == std::string::npos);
        CHECK(text.find("SCAN x\n") == std::string::npos);
        CHECK(text.find("SCAN j\n") == std::string::npos);
    }
    // Each candidate looks up its key's live leases by key: with a join, every candidate
    // scanned all of `busy` (3,000 live leases made a pull of 200 candidates take 58 ms).
    const auto [rows, text] = plan_of(*q.db, gqs::sqlite::detail::pull_keyed_sql);
    INFO(text);
    CHECK(text.find("SEARCH busy USING AUTOMATIC COVERING INDEX (k=?)") != std::string::npos);
    CHECK(text.find("SCAN busy LEFT-JOIN") == std::string::npos);
}

TEST_CASE("puller: the fair pull seeks the groups and never reads the whole table",
          "[puller][sqlite][plan][fair]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(400);
    for (std::size_t i = 0; i < msgs.size(); ++i) {
        msgs[i].queue = std::string(1, 'q').append(1, static_cast<char>('0' + i % 10));
        msgs[i].priority = static_cast<int>(i % 3) * 4;
        if (i % 5 != 0) msgs[i].group = gqs::test::numbered("g", static_cast<long>(i % 7));
    }
    q.pusher.push_batch(msgs);
    gqs::test::exec(*q.db, "ANALYZE");
    namespace d = gqs::sqlite::detail;
    const char* ready = "INDEX jobs_ready (status=? AND queue=? AND priority=? AND next_run_at<?)";
    const char* groups = "INDEX jobs_ready_group (status=? AND queue=? AND priority=? AND "
                         "job_group>?)";
    const char* group = "INDEX jobs_ready_group (status=? AND queue=? AND priority=? AND "
                        "job_group=? AND next_run_at<?)";
    const char* expired = "INDEX jobs_leased (status=? AND locked_until<?)";
    // Each statement and the index range it must read.
    const std::vector<std::pair<const char*, const char*>> shapes = {
        {d::fair_priority_sql, ready},       {d::fair_groups_sql, groups},
        {d::fair_ungrouped_sql, ready},      {d::fair_expired_sql, expired},
        {d::pull_fair_expired_sql, expired}, {d::pull_fair_groups_sql, group},
        {d::pull_fair_ungrouped_sql, ready}};
    for (const auto& [sql, range] : shapes) {
        const auto [rows, text] = plan_of(*q.db, sql);
        INFO(sql);
        INFO(text);
        CHECK(text.find(range) != std::string::npos);
        CHECK(text.find("BLOOM FILTER") == std::string::npos);
        CHECK(text.find("SCAN jobs") == std::string::npos);
        CHECK(text.find("USE TEMP B-TREE") == std::string::npos);
    }
}
