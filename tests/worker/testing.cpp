// SPDX-License-Identifier: Apache-2.0
// gqs::testing::work_one: a handler's unit test, on the calling thread.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/worker_support.hpp"

#include <gqs/testing.hpp>

using namespace std::chrono_literals;
using namespace gqs;
using namespace gqs::test;

TEST_CASE("work_one: nothing runnable gives an empty result", "[testing][worker]") {
    Queue queue;
    (void)queue.push("later", std::chrono::hours(1));
    bool ran = false;
    const auto result =
        testing::work_one(queue.puller, [&](const Job&, std::stop_token) { ran = true; });
    CHECK_FALSE(result);
    CHECK_FALSE(result.job.has_value());
    CHECK_FALSE(ran);
}

TEST_CASE("work_one: settles each outcome as the Worker does", "[testing][worker]") {
    Queue queue;
    const Uuid id = queue.push("payload").id;
    WorkerConfig config;
    config.backoff.max_retries = 1;
    config.backoff.initial_interval = 10s;
    config.backoff.randomization_factor = 0.5;

    SECTION("returning completes") {
        std::string seen;
        bool stop_requested = true;
        auto result = testing::work_one(
            queue.puller,
            [&](const Job& job, std::stop_token stop) {
                seen = job.payload;
                stop_requested = stop.stop_requested();
            },
            config);
        REQUIRE(result);
        CHECK(result.job->id == id);
        CHECK(result.job->attempts == 1);
        CHECK(result.action == Action::Complete);
        CHECK(result.error.empty());
        CHECK(seen == "payload");
        CHECK_FALSE(stop_requested);
        CHECK(queue.stored(id).status == Status::Done);
    }
    SECTION("throwing retries with the backoff of the attempt, then kills") {
        const Handler failing = [](const Job&, std::stop_token) {
            throw std::runtime_error("smtp down");
        };
        auto first = testing::work_one(queue.puller, failing, config);
        REQUIRE(first);
        CHECK(first.action == Action::Requeue);
        CHECK(first.error == "smtp down");
        CHECK(first.backoff >= 5s); // 10 s ± 50%
        CHECK(first.backoff <= 15s);
        auto stored = queue.stored(id);
        CHECK(stored.status == Status::Pending);
        CHECK(stored.next_run_at >= first.job->updated_at + first.backoff);
        // Not runnable before its backoff: work_one finds nothing.
        CHECK_FALSE(testing::work_one(queue.puller, failing, config));
        // Make it due now (by hand), then the second failure spends the last retry.
        queue.backend->exec_sql("UPDATE jobs SET next_run_at = updated_at");
        auto second = testing::work_one(queue.puller, failing, config);
        REQUIRE(second);
        CHECK(second.job->attempts == 2);
        CHECK(second.action == Action::Kill);
        CHECK(queue.stored(id).status == Status::Dead);
    }
    SECTION("gqs::Kill kills at once") {
        auto result = testing::work_one(
            queue.puller, [](const Job&, std::stop_token) { throw Kill("malformed"); }, config);
        REQUIRE(result);
        CHECK(result.action == Action::Kill);
        CHECK(result.error == "malformed");
        CHECK(queue.stored(id).status == Status::Dead);
    }
}

TEST_CASE("work_one: bad arguments throw and pull nothing", "[testing][worker]") {
    Queue queue;
    const Uuid id = queue.push().id;
    CHECK_THROWS_AS(testing::work_one(queue.puller, Handler{}), std::invalid_argument);
    WorkerConfig bad;
    bad.lock_timeout = Duration::zero();
    CHECK_THROWS_AS(testing::work_one(
                        queue.puller, [](const Job&, std::stop_token) {}, bad),
                    std::invalid_argument);
    CHECK(queue.stored(id).status == Status::Pending);
}
