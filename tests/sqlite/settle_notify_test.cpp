// SPDX-License-Identifier: Apache-2.0
// Not in tests/conformance/: has_ready under another connection's write lock (SQLite locking).
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

using gqs::test::SqliteQueue;

TEST_CASE("has_ready: works while another connection holds the write lock", "[puller][sqlite]") {
    SqliteQueue q;
    q.push();
    auto other = q.second_connection();
    auto tx = other->begin();    // BEGIN IMMEDIATE: the write lock
    CHECK(q.puller.has_ready()); // WAL readers do not wait for the writer
    tx.rollback();
}
