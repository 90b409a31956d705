// SPDX-License-Identifier: Apache-2.0
// Many processes opening a database file that does not exist yet, all at the same moment.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <fstream>

using gqs::test::TempDb;

TEST_CASE("first open: processes that open a new file together all wait, none fails",
          "[reliability][process][open]") {
    // Each round: a fresh file, `children` processes released together by one file, each
    // doing open + init_db + list + push + pull (what a producer and a worker do first).
    // Before switching to WAL waited for the lock, about 5% of such processes failed with
    // SQLITE_BUSY at once.
    constexpr int rounds = 40;
    constexpr int children = 8;
    int failures = 0;
    std::string first_failure;
    for (int round = 0; round < rounds; ++round) {
        TempDb tmp;
        const auto go = tmp.dir() / "go";
        std::vector<gqs::test::Child> started;
        for (int i = 0; i < children; ++i) {
            started.push_back(gqs::test::spawn(gqs::test::child_program(),
                                               {"use-at", tmp.path().string(), go.string()},
                                               tmp.dir() / ("out" + std::to_string(i))));
        }
        std::ofstream(go).put('\n');
        for (const auto& child : started) {
            const int rc = gqs::test::wait_child(child);
            const auto text = gqs::test::read_file(child.output);
            if (rc != 0 || text != "ok\n") {
                ++failures;
                if (first_failure.empty()) first_failure = text;
            }
        }
        // Every child that succeeded pushed one job, on one file.
        auto stats = gqs::sqlite::Observer(gqs::sqlite::Connection::open(tmp.path())).stats();
        CHECK(stats.pending + stats.processing == children);
    }
    INFO(first_failure);
    CHECK(failures == 0);
}
