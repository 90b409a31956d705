// SPDX-License-Identifier: Apache-2.0
// Not in tests/conformance/: what SQLite allocates for gqs's statements (issue 20, item 8).
//
// Each temporary b-tree SQLite opens for a statement (the pull has seven: RETURNING, IN
// lists, ORDER BY ... LIMIT, the recursive queue list) gets a page cache of its own, and with
// temporary storage in files that cache starts with a 20-page block (85 KiB); the statement
// journal of a pull inside a settle transaction starts with a 64 KiB chunk. Freed at the end
// of every statement, blocks that large sit at the top of the calling thread's malloc arena
// whenever nothing long-lived was allocated after them there, as on a Connection whose page
// cache another thread filled (the pushes): glibc then hands them back to the kernel
// (madvise) and the next pull faults them in again, 8x slower drains. The count of
// allocations that large, not time, is what this checks.
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <gqs/sqlite/pusher.hpp>

#include <sqlite3.h>

#include <vector>

namespace {

// The largest single allocation SQLite was asked for since the last call (its own
// accounting, every thread).
sqlite3_int64 largest_allocation_since_last() {
    sqlite3_int64 current = 0;
    sqlite3_int64 highwater = 0;
    REQUIRE(sqlite3_status64(SQLITE_STATUS_MALLOC_SIZE, &current, &highwater, 1) == SQLITE_OK);
    return highwater;
}

// glibc considers returning memory to the kernel when a free leaves a free block this large
// (FASTBIN_CONSOLIDATION_THRESHOLD); a pull should never make one.
constexpr sqlite3_int64 large_block = 64 * 1024;

} // namespace

TEST_CASE("pulling on the Connection that pushed allocates no large block per statement",
          "[puller][sqlite]") {
    gqs::test::TempDb tmp;
    gqs::sqlite::Options options;
    options.background_checkpoint = false; // no other thread allocates meanwhile
    auto db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::init_db(*db);
    // The README's pattern: the pushes and the worker share one Connection.
    gqs::sqlite::Pusher pusher(db);
    constexpr int jobs = 2000;
    for (int b = 0; b < jobs / 1000; ++b) {
        std::vector<gqs::Message> batch(1000);
        for (auto& m : batch) {
            m.payload = std::string(100, 'x');
            m.set("k", "v");
        }
        pusher.push_batch(batch);
    }
    gqs::sqlite::Puller puller(db);
    (void)largest_allocation_since_last();

    // What a Worker with four threads does: settle the last jobs and pull the next ones in
    // one transaction; a bare pull and a bare complete on the way.
    std::vector<gqs::Job> held = puller.pull(4, std::chrono::seconds(30));
    REQUIRE(held.size() == 4);
    puller.complete(held.back());
    held.pop_back();
    int done = 1;
    while (!held.empty()) {
        std::vector<gqs::Settlement> settlements;
        for (const auto& job : held)
            settlements.push_back({gqs::lease_of(job), gqs::Action::Complete});
        std::vector<gqs::SettleResult> results;
        held = puller.settle_and_pull(settlements, results, 4, std::chrono::seconds(30));
        for (const auto& r : results)
            REQUIRE(r.status == gqs::SettleStatus::Applied);
        done += static_cast<int>(results.size());
    }
    CHECK(done == jobs);
    const auto largest = largest_allocation_since_last();
    REQUIRE(largest > 0); // SQLite's memory statistics are on in this build
    CHECK(largest < large_block);
}
