// SPDX-License-Identifier: Apache-2.0
#include "support/catch.hpp"
#include "support/sqlite_queue.hpp"

#include <SQLiteCpp/Statement.h>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::SqliteQueue;

namespace {

// Leaves the queue with 2 Pending, 1 Processing, 2 Done and 1 Dead jobs; returns their ids
// in push order.
std::vector<gqs::Uuid> mixed(SqliteQueue& q) {
    std::vector<gqs::Uuid> ids;
    for (int i = 0; i < 6; ++i)
        ids.push_back(q.push(std::to_string(i)).id);
    auto jobs = q.puller.pull(4, 1h); // ids 0..3, oldest first
    REQUIRE(jobs.size() == 4);
    q.puller.complete(jobs[0]);
    q.puller.complete(jobs[1]);
    q.puller.kill(jobs[2]);
    return ids; // 3 stays Processing; 4 and 5 stay Pending
}

void set_updated_at(SqliteQueue& q, const gqs::Uuid& id, std::int64_t micros) {
    SQLite::Statement st(q.db->database(), "UPDATE jobs SET updated_at = ? WHERE id = ?");
    st.bind(1, static_cast<int64_t>(micros));
    st.bind(2, id.bytes().data(), 16);
    REQUIRE(st.exec() == 1);
}

} // namespace

TEST_CASE("observer: get returns the job or nullopt", "[observer][sqlite]") {
    SqliteQueue q;
    auto m = q.push("abc");
    auto job = q.observer.get(m.id);
    REQUIRE(job.has_value());
    CHECK(job->id == m.id);
    CHECK(job->payload == "abc");
    CHECK_FALSE(q.observer.get(gqs::Uuid::generate()).has_value());
    CHECK_FALSE(q.observer.get(gqs::Uuid{}).has_value());
}

TEST_CASE("observer: list filters by status, orders by creation, limits", "[observer][sqlite]") {
    SqliteQueue q;
    auto ids = mixed(q);
    CHECK(q.observer.list(Status::Pending, 0).size() == 2);
    CHECK(q.observer.list(Status::Processing, 0).size() == 1);
    CHECK(q.observer.list(Status::Done, 0).size() == 2);
    CHECK(q.observer.list(Status::Dead, 0).size() == 1);
    auto all = q.observer.list(Status::Unknown, 0);
    REQUIRE(all.size() == 6);
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(all[i].id == ids[i]);
    CHECK(q.observer.list(Status::Unknown, -1).size() == 6);
    auto two = q.observer.list(Status::Unknown, 2);
    REQUIRE(two.size() == 2);
    CHECK(two[0].id == ids[0]);
    CHECK(two[1].id == ids[1]);
}

TEST_CASE("observer: a job is a snapshot", "[observer][sqlite]") {
    SqliteQueue q;
    auto m = q.push("orig");
    auto job = q.stored(m.id);
    job.payload = "changed";
    job.status = Status::Dead;
    CHECK(q.stored(m.id).payload == "orig");
    CHECK(q.stored(m.id).status == Status::Pending);
}

TEST_CASE("cleaner: deletes only the finished statuses asked for", "[cleaner][sqlite]") {
    SqliteQueue q;
    auto ids = mixed(q);
    SECTION("done") {
        CHECK(q.cleaner.clean(Status::Done, std::nullopt) == 2);
        CHECK(q.observer.list(Status::Dead, 0).size() == 1);
    }
    SECTION("dead") {
        CHECK(q.cleaner.clean(Status::Dead, std::nullopt) == 1);
        CHECK(q.observer.list(Status::Done, 0).size() == 2);
    }
    SECTION("unknown means both") {
        CHECK(q.cleaner.clean(Status::Unknown, std::nullopt) == 3);
        CHECK(q.observer.list(Status::Done, 0).empty());
        CHECK(q.observer.list(Status::Dead, 0).empty());
    }
    CHECK(q.observer.list(Status::Pending, 0).size() == 2);
    CHECK(q.observer.list(Status::Processing, 0).size() == 1);
}

TEST_CASE("cleaner: Pending and Processing are refused with BadStatus", "[cleaner][sqlite]") {
    SqliteQueue q;
    mixed(q);
    auto s = GENERATE(Status::Pending, Status::Processing, static_cast<Status>(7));
    CHECK_THROWS_AS((void)q.cleaner.clean(s, std::nullopt), gqs::BadStatus);
    CHECK(q.observer.list(Status::Unknown, 0).size() == 6);
}

TEST_CASE("cleaner: before keeps rows updated after it", "[cleaner][sqlite]") {
    SqliteQueue q;
    auto ids = mixed(q);
    // Done: ids[0] at t=1000, ids[1] at t=3000; Dead: ids[2] at t=2000 (microseconds).
    set_updated_at(q, ids[0], 1000);
    set_updated_at(q, ids[1], 3000);
    set_updated_at(q, ids[2], 2000);
    auto at = [](std::int64_t us) {
        return gqs::TimePoint(
            std::chrono::duration_cast<gqs::TimePoint::duration>(std::chrono::microseconds(us)));
    };
    CHECK(q.cleaner.clean(Status::Unknown, at(999)) == 0);
    CHECK(q.cleaner.clean(Status::Unknown, at(2000)) == 2); // inclusive: <= before
    CHECK(q.observer.get(ids[1]).has_value());
    CHECK_FALSE(q.observer.get(ids[0]).has_value());
    CHECK_FALSE(q.observer.get(ids[2]).has_value());
    CHECK(q.cleaner.clean(Status::Done, at(3000)) == 1);
    CHECK(q.cleaner.clean(Status::Done, std::nullopt) == 0);
}
