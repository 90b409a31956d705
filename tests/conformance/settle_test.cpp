// SPDX-License-Identifier: Apache-2.0
// Conformance: Puller::settle, complete_batch and settle_and_pull, with per-entry results.
#include "backend/settle.hpp"
#include "support/catch.hpp"
#include "support/queue.hpp"

using namespace std::chrono_literals;
using gqs::Action;
using gqs::Status;
using gqs::test::Queue;

TEST_CASE("settle: applies mixed transitions and reports each one's stored state",
          "[settle][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(3);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(3, 1h);
    REQUIRE(jobs.size() == 3);
    std::vector<gqs::Settlement> s{{gqs::lease_of(jobs[0]), Action::Complete, {}},
                                   {gqs::lease_of(jobs[1]), Action::Requeue, 1h},
                                   {gqs::lease_of(jobs[2]), Action::Kill, {}}};
    auto results = q.puller.settle(s);
    REQUIRE(results.size() == 3);
    for (std::size_t i = 0; i < results.size(); ++i) {
        CHECK(results[i].applied());
        CHECK(results[i].error.empty());
        CHECK(results[i].next_run_at.has_value() == (s[i].action == Action::Requeue));
        gqs::detail::apply_settlement(jobs[i], s[i].action, results[i]);
    }
    CHECK(jobs[0].status == Status::Done);
    CHECK(jobs[1].status == Status::Pending);
    CHECK(jobs[1].next_run_at - jobs[1].updated_at == 1h);
    CHECK(jobs[2].status == Status::Dead);
    for (auto& j : jobs) {
        auto stored = q.stored(j.id);
        CHECK(stored.status == j.status);
        CHECK(stored.updated_at == j.updated_at);
        CHECK(stored.next_run_at == j.next_run_at);
        CHECK_FALSE(stored.locked_until.has_value());
    }
}

TEST_CASE("settle: a lost lease fails only its own entry", "[settle][conformance][fencing]") {
    Queue q;
    std::vector<gqs::Message> msgs(3);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(3, 1h);
    REQUIRE(jobs.size() == 3);
    auto stale = jobs[1];
    q.puller.complete(jobs[1]); // now the copy in `stale` no longer holds a lease
    std::vector<gqs::Settlement> s{{gqs::lease_of(jobs[0]), Action::Complete, {}},
                                   {gqs::lease_of(stale), Action::Complete, {}},
                                   {gqs::lease_of(jobs[2]), Action::Requeue, 0ms}};
    auto results = q.puller.settle(s);
    REQUIRE(results.size() == 3);
    CHECK(results[0].applied());
    CHECK(results[1].status == gqs::SettleStatus::LeaseLost);
    CHECK(results[1].error.find(stale.id.to_string()) != std::string::npos);
    CHECK(results[2].applied());
    gqs::detail::apply_settlement(stale, Action::Complete, results[1]);
    CHECK(stale.status == Status::Processing); // a failed entry leaves a snapshot alone
    CHECK(q.stored(jobs[0].id).status == Status::Done);
    CHECK(q.stored(jobs[2].id).status == Status::Pending);
}

TEST_CASE("settle: bad entries throw before anything is applied", "[settle][conformance]") {
    Queue q;
    auto m = q.push();
    auto jobs = q.puller.pull(1, 1h);
    REQUIRE(jobs.size() == 1);
    std::vector<gqs::Settlement> neg{{gqs::lease_of(jobs[0]), Action::Complete, {}},
                                     {gqs::lease_of(jobs[0]), Action::Requeue, -1ms}};
    CHECK_THROWS_AS((void)q.puller.settle(neg), std::invalid_argument);
    CHECK(q.stored(m.id).status == Status::Processing);
    CHECK(q.puller.settle({}).empty());
}

TEST_CASE("settle: complete_batch completes a whole pull", "[settle][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(100);
    q.pusher.push_batch(msgs);
    auto jobs = q.puller.pull(100, 1h);
    REQUIRE(jobs.size() == 100);
    auto results = q.puller.complete_batch(jobs);
    REQUIRE(results.size() == 100);
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        CHECK(results[i].applied());
        CHECK(jobs[i].status == Status::Done); // complete_batch updates the callers' jobs
        CHECK(jobs[i].updated_at == results[i].updated_at);
    }
    CHECK(q.observer.list(Status::Done, 0).size() == 100);
}

TEST_CASE("settle: settle_and_pull stores results and leases the next jobs at once",
          "[settle][conformance]") {
    Queue q;
    std::vector<gqs::Message> msgs(6);
    q.pusher.push_batch(msgs);
    auto held = q.puller.pull(3, 1h);
    REQUIRE(held.size() == 3);
    auto stale = held[2];
    q.puller.complete(held[2]); // `stale` lost its lease
    std::vector<gqs::Settlement> s{{gqs::lease_of(held[0]), Action::Complete, {}},
                                   {gqs::lease_of(held[1]), Action::Requeue, 1h},
                                   {gqs::lease_of(stale), Action::Kill, {}}};
    std::vector<gqs::SettleResult> results;
    auto next = q.puller.settle_and_pull(s, results, 10, 1h);
    REQUIRE(results.size() == 3);
    CHECK(results[0].applied());
    CHECK(results[1].applied());
    REQUIRE(results[1].next_run_at.has_value());
    CHECK(*results[1].next_run_at - results[1].updated_at == 1h);
    CHECK(results[2].status == gqs::SettleStatus::LeaseLost);
    REQUIRE(next.size() == 3); // the three never pulled; the requeued one waits an hour
    for (auto& j : next)
        CHECK(j.status == Status::Processing);
    CHECK(q.stored(held[0].id).status == Status::Done);
    CHECK(q.stored(held[1].id).status == Status::Pending);

    SECTION("batch 0 only settles") {
        std::vector<gqs::Settlement> one{{gqs::lease_of(next[0]), Action::Complete, {}}};
        CHECK(q.puller.settle_and_pull(one, results, 0, 1h).empty());
        CHECK(results.size() == 1);
        CHECK(results[0].applied());
        CHECK(q.stored(next[0].id).status == Status::Done);
    }
    SECTION("bad arguments change nothing") {
        std::vector<gqs::Settlement> one{{gqs::lease_of(next[0]), Action::Complete, {}}};
        CHECK_THROWS_AS((void)q.puller.settle_and_pull(one, results, 1, 0ms),
                        std::invalid_argument);
        CHECK(q.stored(next[0].id).status == Status::Processing);
    }
}
