// SPDX-License-Identifier: Apache-2.0
// The stored group weights of queue limits: what set_limits writes, and text other programs
// stored, read back without a crash.
#include "backend/queue_rules.hpp"

#include "support/catch.hpp"

#include <map>
#include <string>

using Weights = std::map<std::string, int>;

TEST_CASE("queue rules: group weights round-trip through their stored text", "[unit][queues]") {
    CHECK(gqs::detail::encode_group_weights({}).empty());
    const Weights weights{{"a", 1}, {"tenant \"b\"", 1000}, {"é", 7}};
    const auto text = gqs::detail::encode_group_weights(weights);
    CHECK(text.front() == '{');
    CHECK(gqs::detail::decode_group_weights(text) == weights);
}

TEST_CASE("queue rules: stored weights another program wrote are read tolerantly",
          "[unit][queues]") {
    CHECK(gqs::detail::decode_group_weights("").empty());
    CHECK(gqs::detail::decode_group_weights("not json").empty());
    CHECK(gqs::detail::decode_group_weights("[1, 2]").empty());
    CHECK(gqs::detail::decode_group_weights("42").empty());
    // Members that are not integers in int's range are skipped; the others are kept.
    CHECK(gqs::detail::decode_group_weights(
              R"({"a": 2, "b": "3", "c": 1.5, "d": null, "e": {"x": 1}, "f": 99999999999})") ==
          Weights{{"a", 2}});
    // Nested deeper than metadata may be: not parsed at all.
    const std::string deep =
        R"({"a": )" + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(gqs::detail::decode_group_weights(deep).empty());
}

TEST_CASE("queue rules: the queue-name check names the rule and the size", "[unit][queues]") {
    CHECK_NOTHROW(gqs::detail::check_queue_name("emails"));
    CHECK_NOTHROW(gqs::detail::check_queue_name(std::string(127, 'q')));
    try {
        gqs::detail::check_queue_name(std::string(128, 'q'));
        FAIL("a 128-byte name was accepted");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()) ==
              "gqs: a queue name must be 1 to 127 bytes of UTF-8 without NUL (got 128 bytes)");
    }
}
