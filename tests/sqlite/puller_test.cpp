// SPDX-License-Identifier: Apache-2.0
// Not in tests/conformance/: the pull query's plan, and pulling from several processes.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include "sqlite/sql.hpp"

#include <SQLiteCpp/Statement.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::SqliteQueue;

TEST_CASE("puller: the pull query reads indexes in order, never sorting the table",
          "[puller][sqlite][plan]") {
    SqliteQueue q;
    std::vector<gqs::Message> msgs(200);
    q.pusher.push_batch(msgs);
    q.db->database().exec("ANALYZE");
    // The very statement the Puller runs, as EXPLAIN QUERY PLAN sees it.
    SQLite::Statement plan(q.db->database(),
                           std::string("EXPLAIN QUERY PLAN ") + gqs::sqlite::detail::pull_sql);
    std::vector<std::pair<int, std::string>> rows; // (parent, detail)
    std::string text;
    while (plan.executeStep()) {
        rows.emplace_back(plan.getColumn(1).getInt(), plan.getColumn(3).getString());
        text += plan.getColumn(3).getString() + "\n";
    }
    INFO(text);
    CHECK(text.find("USING COVERING INDEX jobs_status_next_run_at (status=? AND next_run_at<?)") !=
          std::string::npos);
    CHECK(text.find("USING INDEX jobs_status_locked_until (status=? AND locked_until<?)") !=
          std::string::npos);
    CHECK(text.find("MULTI-INDEX OR") == std::string::npos);
    CHECK(text.find("SCAN jobs") == std::string::npos);
    // A temp B-tree may sort the <= batch rows an arm returned ("SCAN (subquery-N)"), but
    // never rows read straight from the table.
    for (std::size_t i = 0; i < rows.size(); ++i) {
        if (rows[i].second.find("USE TEMP B-TREE") == std::string::npos) continue;
        bool sibling_reads_jobs = false;
        for (auto& r : rows)
            if (r.first == rows[i].first && r.second.find(" jobs ") != std::string::npos)
                sibling_reads_jobs = true;
        CHECK_FALSE(sibling_reads_jobs);
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
    // The parent pulls too, through its own connection.
    std::vector<gqs::Uuid> mine;
    while (true) {
        auto batch = q.puller.pull(1, 1h);
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
