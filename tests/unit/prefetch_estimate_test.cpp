// SPDX-License-Identifier: Apache-2.0
// The adaptive local queue's length (WorkerConfig::adaptive) from handler times and round trips.
#include "support/catch.hpp"

#include "worker/pull_policy.hpp"

#include <chrono>

using gqs::Duration;
using gqs::detail::PrefetchEstimate;
using namespace std::chrono_literals;

TEST_CASE("prefetch estimate: nothing ahead before both a handler and a round trip are measured",
          "[unit][worker]") {
    PrefetchEstimate estimate(4, 256, Duration(30000));
    CHECK(estimate.places() == 0);
    estimate.round_trip(200us);
    CHECK(estimate.places() == 0);
    estimate.handler_ran(1us);
    CHECK(estimate.places() > 0);
    estimate.reset();
    CHECK(estimate.places() == 0);
}

TEST_CASE("prefetch estimate: short handlers fill the queue up to its limit", "[unit][worker]") {
    PrefetchEstimate estimate(4, 256, Duration(30000));
    estimate.round_trip(200us);
    estimate.handler_ran(0ns); // counted as 100 ns
    CHECK(estimate.places() == 256);
}

TEST_CASE("prefetch estimate: four round trips of work", "[unit][worker]") {
    PrefetchEstimate estimate(4, 256, Duration(30000));
    // 4 threads, 1 ms handlers: 4 jobs per ms; round trips of 2 ms: 4 x 2 x 4 = 32.
    estimate.round_trip(2ms);
    estimate.handler_ran(1ms);
    CHECK(estimate.places() == 32);
}

TEST_CASE("prefetch estimate: handlers much slower than a round trip lease nothing ahead",
          "[unit][worker]") {
    PrefetchEstimate estimate(4, 256, Duration(30000));
    estimate.round_trip(1ms);
    estimate.handler_ran(100ms); // 4 round trips start 0.16 jobs
    CHECK(estimate.places() == 0);
}

TEST_CASE("prefetch estimate: never more than the threads start within a quarter lease",
          "[unit][worker]") {
    // A slow network (1 s round trips), 10 ms handlers, a 400 ms lease: 4 threads start 40
    // jobs in 100 ms, though four round trips would call for 1,600.
    PrefetchEstimate estimate(4, 10000, Duration(400));
    estimate.round_trip(1s);
    estimate.handler_ran(10ms);
    CHECK(estimate.places() == 40);
}

TEST_CASE("prefetch estimate: a moving average follows handlers that slow down", "[unit][worker]") {
    PrefetchEstimate estimate(4, 256, Duration(30000));
    estimate.round_trip(1ms);
    for (int i = 0; i < 8; ++i)
        estimate.handler_ran(10us);
    CHECK(estimate.places() == 256);
    // One slow run weighs 1/8: the queue shrinks at once, and empties as the slow runs go on.
    estimate.handler_ran(200ms);
    CHECK(estimate.places() < 16);
    for (int i = 0; i < 30; ++i)
        estimate.handler_ran(200ms);
    CHECK(estimate.places() == 0);
}
