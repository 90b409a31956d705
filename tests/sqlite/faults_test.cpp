// SPDX-License-Identifier: Apache-2.0
// The crash matrix (issue 22) on SQLite: a disk that fills up during pushes and settles (a
// test VFS with a quota, support/full_vfs.hpp), and a clock that jumps by a minute.
#include "support/catch.hpp"
#include "support/full_vfs.hpp"
#include "support/sqlite_queue.hpp"
#include "support/sync.hpp"
#include "support/worker_support.hpp"

#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::Uuid;
using gqs::test::TempDb;
using SteadyClock = std::chrono::steady_clock;

namespace {

gqs::test::FullVfs& full_vfs() {
    static gqs::test::FullVfs instance;
    return instance;
}

} // namespace

// A write with RETURNING (requeue, release, snooze, kill, a lease extension) commits, in
// autocommit mode, when the statement runs to its end, after its row was read: a commit that
// fails there (a full disk) must throw, not pass for a stored transition.
TEST_CASE("faults: a single transition or extension whose commit fails on a full disk throws "
          "and stores nothing",
          "[faults][sqlite][full]") {
    auto& vfs = full_vfs();
    vfs.set_quota(gqs::test::FullVfs::unlimited);
    TempDb tmp;
    gqs::sqlite::Options options;
    options.vfs = vfs.name();
    options.background_checkpoint = false; // the WAL only grows: every commit needs space
    auto db = gqs::sqlite::Connection::open(tmp.path(), options);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);
    for (int i = 0; i < 5; ++i) {
        gqs::Message m;
        (void)pusher.push(m);
    }
    auto jobs = puller.pull(5, 1h);
    REQUIRE(jobs.size() == 5);
    vfs.set_quota(vfs.used()); // not one byte more
    const std::vector<std::string> names{"extend", "requeue", "release", "snooze", "kill"};
    std::vector<std::function<void(gqs::Job&)>> calls{
        [&](gqs::Job& job) { puller.extend_lock(job, 2h); },
        [&](gqs::Job& job) { puller.requeue(job, 0ms); },
        [&](gqs::Job& job) { puller.release(job); },
        [&](gqs::Job& job) { puller.snooze(job, 0ms); }, [&](gqs::Job& job) { puller.kill(job); }};
    for (std::size_t i = 0; i < calls.size(); ++i) {
        INFO(names[i]);
        const auto before = jobs[i];
        bool full = false;
        try {
            calls[i](jobs[i]);
        } catch (const gqs::StorageError& e) {
            full = e.kind() == gqs::StorageErrorKind::Full;
        }
        CHECK(full);
        const auto stored = observer.get(before.id);
        REQUIRE(stored.has_value());
        CHECK(stored->status == Status::Processing);
        CHECK(stored->locked_until == before.locked_until);
    }
    // Space again: the same calls are stored.
    vfs.set_quota(gqs::test::FullVfs::unlimited);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        INFO(names[i]);
        jobs[i] = observer.get(jobs[i].id).value();
        calls[i](jobs[i]);
        CHECK(observer.get(jobs[i].id)->status == (i == 0   ? Status::Processing
                                                   : i == 4 ? Status::Dead
                                                            : Status::Pending));
    }
    CHECK(gqs::test::query_text(*db, "PRAGMA integrity_check") == "ok");
}

