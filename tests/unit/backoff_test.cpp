// SPDX-License-Identifier: Apache-2.0
// Tests of the backoff arithmetic and the retry limit (gqs/backoff.hpp).
#include "catch.hpp"

#include <gqs/backoff.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <stdexcept>

using gqs::BackoffConfig;
using gqs::Duration;

TEST_CASE("backoff: without jitter the waits grow geometrically up to the cap",
          "[backoff][worker]") {
    BackoffConfig config{.max_retries = 0,
                         .initial_interval = Duration(100),
                         .max_interval = Duration(1000),
                         .multiplier = 2.0,
                         .randomization_factor = 0.0};
    CHECK(gqs::backoff_interval(config, 1) == Duration(100));
    CHECK(gqs::backoff_interval(config, 2) == Duration(200));
    CHECK(gqs::backoff_interval(config, 3) == Duration(400));
    CHECK(gqs::backoff_interval(config, 4) == Duration(800));
    CHECK(gqs::backoff_interval(config, 5) == Duration(1000));
    CHECK(gqs::backoff_interval(config, 6) == Duration(1000));
    SECTION("attempt 0 counts as the first") {
        CHECK(gqs::backoff_interval(config, 0) == Duration(100));
    }
    SECTION("the unit draw does not matter with factor 0") {
        CHECK(gqs::backoff_interval(config, 3, 0.0) == Duration(400));
        CHECK(gqs::backoff_interval(config, 3, 1.0) == Duration(400));
    }
    SECTION("multiplier 1 keeps the wait constant") {
        config.multiplier = 1.0;
        CHECK(gqs::backoff_interval(config, 1) == Duration(100));
        CHECK(gqs::backoff_interval(config, 50) == Duration(100));
    }
    SECTION("fractional multipliers round to whole milliseconds") {
        config.multiplier = 1.5;
        CHECK(gqs::backoff_interval(config, 2) == Duration(150));
        CHECK(gqs::backoff_interval(config, 3) == Duration(225));
    }
    SECTION("a zero initial interval means immediate retries") {
        config.initial_interval = Duration::zero();
        CHECK(gqs::backoff_interval(config, 1) == Duration::zero());
        CHECK(gqs::backoff_interval(config, 4000) == Duration::zero());
    }
    SECTION("a cap below the initial interval wins") {
        config.max_interval = Duration(30);
        CHECK(gqs::backoff_interval(config, 1) == Duration(30));
    }
}

TEST_CASE("backoff: huge attempts and intervals saturate instead of overflowing",
          "[backoff][worker]") {
    const auto top = std::numeric_limits<std::uint32_t>::max();
    BackoffConfig config{.max_retries = 0,
                         .initial_interval = Duration(1000),
                         .max_interval = Duration(60000),
                         .multiplier = 10.0,
                         .randomization_factor = 0.0};
    CHECK(gqs::backoff_interval(config, top) == Duration(60000));
    CHECK(gqs::backoff_interval(config, 400) == Duration(60000));

    config.max_interval = Duration::max();
    CHECK(gqs::backoff_interval(config, top) == Duration::max());
    config.randomization_factor = 1.0;
    CHECK(gqs::backoff_interval(config, top, 1.0) == Duration::max());
    CHECK(gqs::backoff_interval(config, top, 0.0) == Duration::zero());
    const auto drawn = gqs::backoff_interval(config, top);
    CHECK(drawn >= Duration::zero());

    config.initial_interval = Duration::max();
    config.randomization_factor = 0.0;
    CHECK(gqs::backoff_interval(config, 1) == Duration::max());
}

TEST_CASE("backoff: jitter stays within randomization_factor of the wait", "[backoff][worker]") {
    const BackoffConfig config{.max_retries = 0,
                               .initial_interval = Duration(1000),
                               .max_interval = Duration(8000),
                               .multiplier = 2.0,
                               .randomization_factor = 0.5};
    SECTION("the unit draw picks the point in the range") {
        CHECK(gqs::backoff_interval(config, 1, 0.0) == Duration(500));
        CHECK(gqs::backoff_interval(config, 1, 0.5) == Duration(1000));
        CHECK(gqs::backoff_interval(config, 1, 1.0) == Duration(1500));
        CHECK(gqs::backoff_interval(config, 3, 0.25) == Duration(3000));
        // Jitter applies after the cap: min(16000, 8000) = 8000, then ±50%.
        CHECK(gqs::backoff_interval(config, 5, 1.0) == Duration(12000));
        // Draws outside [0, 1] are clamped.
        CHECK(gqs::backoff_interval(config, 1, -3.0) == Duration(500));
        CHECK(gqs::backoff_interval(config, 1, 7.0) == Duration(1500));
        CHECK(gqs::backoff_interval(config, 1, std::nan("")) == Duration(500));
    }
    SECTION("random draws land in the range and vary") {
        std::set<Duration::rep> seen;
        for (int i = 0; i < 500; ++i) {
            const auto wait = gqs::backoff_interval(config, 2);
            CHECK(wait >= Duration(1000));
            CHECK(wait <= Duration(3000));
            seen.insert(wait.count());
        }
        CHECK(seen.size() > 1);
    }
}

TEST_CASE("backoff: retries are spent after max_retries failed retries", "[backoff][worker]") {
    BackoffConfig config;
    config.max_retries = 2;
    CHECK_FALSE(gqs::retries_spent(config, 1));
    CHECK_FALSE(gqs::retries_spent(config, 2));
    CHECK(gqs::retries_spent(config, 3));
    CHECK(gqs::retries_spent(config, 100));
    SECTION("0 means no limit") {
        config.max_retries = 0;
        CHECK_FALSE(gqs::retries_spent(config, std::numeric_limits<std::uint32_t>::max()));
    }
    SECTION("1 allows exactly one retry") {
        config.max_retries = 1;
        CHECK_FALSE(gqs::retries_spent(config, 1));
        CHECK(gqs::retries_spent(config, 2));
    }
}

TEST_CASE("backoff: the defaults are valid and non-zero", "[backoff][worker]") {
    const BackoffConfig config;
    CHECK_NOTHROW(gqs::validate(config));
    CHECK(config.max_retries > 0);
    CHECK(config.initial_interval > Duration::zero());
    CHECK(config.max_interval >= config.initial_interval);
    CHECK(config.multiplier > 1.0);
    CHECK(config.randomization_factor > 0.0);
    CHECK(config.randomization_factor <= 1.0);
}

TEST_CASE("backoff: validate rejects configs outside their ranges", "[backoff][worker]") {
    BackoffConfig config;
    SECTION("negative initial interval") { config.initial_interval = Duration(-1); }
    SECTION("negative max interval") { config.max_interval = Duration(-1); }
    SECTION("multiplier below 1") { config.multiplier = 0.5; }
    SECTION("multiplier not a number") { config.multiplier = std::nan(""); }
    SECTION("infinite multiplier") { config.multiplier = std::numeric_limits<double>::infinity(); }
    SECTION("negative randomization") { config.randomization_factor = -0.1; }
    SECTION("randomization above 1") { config.randomization_factor = 1.5; }
    SECTION("randomization not a number") { config.randomization_factor = std::nan(""); }
    CHECK_THROWS_AS(gqs::validate(config), std::invalid_argument);
}
