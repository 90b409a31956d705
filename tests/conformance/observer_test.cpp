// SPDX-License-Identifier: Apache-2.0
// Conformance: Observer (get, list, snapshots, paging with list_after).
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

TEST_CASE("observer: get returns the job or nullopt", "[observer][conformance]") {
    Queue q;
    auto m = q.push("abc");
    auto job = q.observer.get(m.id);
    REQUIRE(job.has_value());
    CHECK(job->id == m.id);
    CHECK(job->payload == "abc");
    CHECK_FALSE(q.observer.get(gqs::Uuid::generate()).has_value());
    CHECK_FALSE(q.observer.get(gqs::Uuid{}).has_value());
}

TEST_CASE("observer: list filters by status, orders by creation, limits",
          "[observer][conformance]") {
    Queue q;
    auto ids = q.mixed();
    CHECK(q.observer.list(Status::Pending, 0).size() == 2);
    CHECK(q.observer.list(Status::Processing, 0).size() == 1);
    CHECK(q.observer.list(Status::Done, 0).size() == 2);
    CHECK(q.observer.list(Status::Dead, 0).size() == 1);
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 6);
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(all[i].id == ids[i]);
    CHECK(q.observer.list(std::nullopt, -1).size() == 6);
    auto two = q.observer.list(std::nullopt, 2);
    REQUIRE(two.size() == 2);
    CHECK(two[0].id == ids[0]);
    CHECK(two[1].id == ids[1]);
}

TEST_CASE("observer: a job is a snapshot", "[observer][conformance]") {
    Queue q;
    auto m = q.push("orig");
    auto job = q.stored(m.id);
    job.payload = "changed";
    job.status = Status::Dead;
    CHECK(q.stored(m.id).payload == "orig");
    CHECK(q.stored(m.id).status == Status::Pending);
}

TEST_CASE("observer: paging walks every job once, in list order", "[observer][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(95);
    q.pusher.push_batch(msgs); // one created_at for all: ties broken by id
    for (int i = 0; i < 10; ++i)
        q.push();
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 105);
    auto page_size = GENERATE(1, 7, 50, 200);
    std::vector<gqs::Job> walked = q.observer.list(std::nullopt, page_size);
    auto page = walked;
    while (!page.empty()) {
        page = q.observer.list_after(std::nullopt, page_size, gqs::cursor_of(page.back()));
        walked.insert(walked.end(), page.begin(), page.end());
    }
    REQUIRE(walked.size() == all.size());
    for (std::size_t i = 0; i < all.size(); ++i)
        CHECK(walked[i].id == all[i].id);
    // With a status filter.
    auto first = q.puller.pull(3, 1h);
    REQUIRE(first.size() == 3);
    auto pending = q.observer.list_after(Status::Pending, 0, gqs::Cursor{});
    CHECK(pending.size() == 102);
}

TEST_CASE("observer and cleaner: Status::Unknown is refused, std::nullopt means any",
          "[observer][cleaner][conformance]") {
    Queue q;
    q.mixed();
    const std::string list_message =
        "gqs: list: Status::Unknown is not a status to filter by; pass std::nullopt for any";
    CHECK_THROWS_AS((void)q.observer.list(Status::Unknown, 0), std::invalid_argument);
    CHECK_THROWS_WITH((void)q.observer.list(Status::Unknown, 0), list_message);
    CHECK_THROWS_WITH((void)q.observer.list_after(Status::Unknown, 0, gqs::Cursor{}), list_message);
    CHECK_THROWS_AS((void)q.cleaner.clean(Status::Unknown, std::nullopt), std::invalid_argument);
    CHECK_THROWS_WITH((void)q.cleaner.clean(Status::Unknown, std::nullopt),
                      "gqs: clean: Status::Unknown is not a status to clean; pass std::nullopt "
                      "for both Done and Dead");
    // Nothing was deleted, and nullopt lists every status.
    CHECK(q.observer.list(std::nullopt, 0).size() == 6);
    CHECK(q.observer.list_after(std::nullopt, 0, gqs::Cursor{}).size() == 6);
}
