// SPDX-License-Identifier: Apache-2.0
// Unique keys across processes: several processes, each with its own Connection to one file,
// push the same keys at the same moment; exactly one job per key is stored.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using gqs::test::SqliteQueue;

TEST_CASE("unique keys: processes pushing the same keys at once store one job per key",
          "[unique][sqlite][concurrency][process]") {
    SqliteQueue q;
    constexpr int processes = 4, keys = 200;
    const auto go = q.tmp.dir() / "go";
    std::vector<gqs::test::Child> children;
    for (int i = 0; i < processes; ++i)
        children.push_back(gqs::test::spawn(
            gqs::test::child_program(),
            {"push-keys", q.tmp.path().string(), go.string(), std::to_string(keys)},
            q.tmp.dir() / ("child" + std::to_string(i) + ".out")));
    std::ofstream(go).put('\n'); // every child starts pushing now
    std::map<std::string, std::set<std::string>> ids_per_key;
    int stored = 0;
    for (auto& c : children) {
        const auto output = gqs::test::read_file(c.output);
        INFO(output);
        REQUIRE(gqs::test::wait_child(c) == 0);
        const auto rows = gqs::test::lines(gqs::test::read_file(c.output));
        REQUIRE(rows.size() == static_cast<std::size_t>(keys));
        for (const auto& row : rows) {
            std::istringstream in(row);
            std::string key, id, what;
            in >> key >> id >> what;
            ids_per_key[key].insert(id);
            if (what == "new") ++stored;
        }
    }
    CHECK(stored == keys);
    CHECK(ids_per_key.size() == static_cast<std::size_t>(keys));
    for (const auto& [key, ids] : ids_per_key) {
        INFO(key);
        CHECK(ids.size() == 1); // every process was told the same, existing holder
    }
    const auto jobs = q.observer.list(std::nullopt, 0);
    CHECK(jobs.size() == static_cast<std::size_t>(keys));
    for (const auto& job : jobs) {
        REQUIRE(job.unique_key.has_value());
        CHECK(ids_per_key.at(*job.unique_key) == std::set<std::string>{job.id.to_string()});
    }
}
