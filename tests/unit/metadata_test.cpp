// SPDX-License-Identifier: Apache-2.0
// Message::set and Message::get (scalars, no nlohmann in the user's file) and the opt-in
// <gqs/json.hpp>: what each writes, reads and refuses.
#include "support/catch.hpp"

#include <gqs/json.hpp>
#include <gqs/message.hpp>

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

gqs::Message with_metadata(std::string text) {
    gqs::Message m;
    m.metadata = std::move(text);
    return m;
}

// `levels` arrays nested around 1, built without recursion (copying it would recurse).
nlohmann::json nested_arrays(std::size_t levels) {
    nlohmann::json value = 1;
    for (std::size_t i = 0; i < levels; ++i) {
        nlohmann::json outer = nlohmann::json::array();
        outer.push_back(std::move(value));
        value = std::move(outer);
    }
    return value;
}

// The message of the std::invalid_argument fn throws, or "" when it throws none.
template <class Fn>
std::string refusal(Fn&& fn) {
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("metadata: set writes each scalar as its JSON type", "[message][metadata]") {
    gqs::Message m;
    const std::string text = "from a std::string";
    const unsigned char small = 200;
    m.set("literal", "ü")
        .set("string", text)
        .set("view", std::string_view("sv"))
        .set("int", -3)
        .set("small", small)
        .set("i64", std::numeric_limits<std::int64_t>::min())
        .set("u64", std::numeric_limits<std::uint64_t>::max())
        .set("float", 2.5f)
        .set("double", 1e300)
        .set("bool", false);
    const auto json = nlohmann::json::parse(m.metadata);
    CHECK(json == nlohmann::json{{"literal", "ü"},
                                 {"string", text},
                                 {"view", "sv"},
                                 {"int", -3},
                                 {"small", 200},
                                 {"i64", std::numeric_limits<std::int64_t>::min()},
                                 {"u64", std::numeric_limits<std::uint64_t>::max()},
                                 {"float", 2.5},
                                 {"double", 1e300},
                                 {"bool", false}});
    CHECK(json["bool"].is_boolean());
    CHECK(json["int"].is_number_integer());
    // A key set again is replaced; other keys stay.
    m.set("int", "now text");
    CHECK(m.get<std::string>("int") == "now text");
    CHECK(m.get<bool>("bool") == false);
}

TEST_CASE("metadata: get reads only a value of the type asked, within its range",
          "[message][metadata]") {
    const auto m = with_metadata(R"({"big": 1099511627776, "neg": -1, "u64": 18446744073709551615,
        "whole": 2.0, "half": 2.5, "huge": 1e300, "s": "x", "b": true, "n": null,
        "i64min": -9223372036854775808, "past": 9223372036854775808.0, "o": {"k": 1}})");
    CHECK(m.get<std::int64_t>("big") == 1099511627776);
    CHECK_FALSE(m.get<int>("big").has_value()); // out of int's range: nullopt, not truncated
    CHECK(m.get<int>("neg") == -1);
    CHECK_FALSE(m.get<unsigned>("neg").has_value());
    CHECK_FALSE(m.get<std::uint64_t>("neg").has_value());
    CHECK(m.get<std::uint64_t>("u64") == std::numeric_limits<std::uint64_t>::max());
    CHECK_FALSE(m.get<std::int64_t>("u64").has_value());
    CHECK(m.get<std::int64_t>("i64min") == std::numeric_limits<std::int64_t>::min());
    CHECK_FALSE(m.get<std::int64_t>("past").has_value());
    CHECK(m.get<std::uint64_t>("past") == 9223372036854775808u);
    CHECK(m.get<short>("whole") == 2);
    CHECK_FALSE(m.get<int>("half").has_value());
    CHECK(m.get<double>("half") == 2.5);
    CHECK(m.get<float>("half") == 2.5f);
    CHECK(m.get<double>("big") == 1099511627776.0);
    CHECK(m.get<double>("huge") == 1e300);
    CHECK_FALSE(m.get<float>("huge").has_value()); // past float's range
    CHECK(m.get<long double>("huge").has_value());
    CHECK_FALSE(m.get<std::int64_t>("huge").has_value());
    CHECK(m.get<std::string>("s") == "x");
    CHECK_FALSE(m.get<std::string>("b").has_value());
    CHECK(m.get<bool>("b") == true);
    CHECK_FALSE(m.get<bool>("neg").has_value());
    CHECK_FALSE(m.get<int>("n").has_value());
    CHECK_FALSE(m.get<std::string>("n").has_value());
    CHECK_FALSE(m.get<int>("o").has_value());
    CHECK_FALSE(m.get<int>("missing").has_value());
}

TEST_CASE("metadata: get on metadata that is no JSON object gives nullopt", "[message][metadata]") {
    for (const std::string& text :
         {std::string(), std::string("null"), std::string("[1]"), std::string(R"("k")"),
          std::string("{"), std::string("1"), std::string(200, '[') + std::string(200, ']')}) {
        INFO(text);
        CHECK_FALSE(with_metadata(text).get<int>("k").has_value());
        CHECK_FALSE(gqs::get_json<int>(with_metadata(text), "k").has_value());
    }
}

TEST_CASE("metadata: set refuses what it cannot write and leaves metadata as it was",
          "[message][metadata]") {
    const std::string deep =
        "{\"k\":" + std::string(gqs::max_metadata_depth, '[') + std::string(128, ']') + "}";
    for (const std::string& text : {std::string("[1]"), std::string("1"), std::string(R"("text")"),
                                    std::string("{"), std::string("{} x"), deep}) {
        INFO(text);
        auto m = with_metadata(text);
        CHECK(refusal([&] {
                  m.set("k", 1);
              }).starts_with("gqs: Message::set: the metadata is not a JSON object"));
        CHECK(m.metadata == text);
    }
    auto m = with_metadata(R"({"a":1})");
    CHECK(refusal([&] { m.set("x", std::numeric_limits<double>::quiet_NaN()); }) ==
          "gqs: Message::set: the value for key \"x\" is NaN, which JSON cannot hold");
    CHECK(refusal([&] {
              m.set("x", -std::numeric_limits<double>::infinity());
          }).ends_with("is infinity, which JSON cannot hold"));
    CHECK_THROWS_AS(m.set("x", std::string("\xff")), std::invalid_argument);
    CHECK_THROWS_AS(m.set(std::string("\xc3"), "v"), std::invalid_argument);
    CHECK_THROWS_AS(m.set("x", static_cast<const char*>(nullptr)), std::invalid_argument);
    CHECK(m.metadata == R"({"a":1})");
    // null metadata becomes an object, like empty metadata.
    auto null = with_metadata("null");
    null.set("k", true);
    CHECK(null.metadata == R"({"k":true})");
    // max_metadata_depth levels are fine: the object and 127 arrays inside it.
    auto deepest = with_metadata("{\"k\":" + std::string(gqs::max_metadata_depth - 1, '[') +
                                 std::string(gqs::max_metadata_depth - 1, ']') + "}");
    deepest.set("other", 1);
    CHECK(deepest.get<int>("other") == 1);
}

TEST_CASE("metadata: metadata_json parses, or gives the raw text for text it must not parse",
          "[message][metadata][json]") {
    CHECK(gqs::metadata_json(with_metadata("")).is_null());
    CHECK(gqs::metadata_json(with_metadata("null")).is_null());
    CHECK(gqs::metadata_json(with_metadata(R"( {"a": [1, {"b": null}]} )")) ==
          nlohmann::json{{"a", {1, {{"b", nullptr}}}}});
    CHECK(gqs::metadata_json(with_metadata("{")) == nlohmann::json("{"));
    const std::string deep = std::string(1000, '[') + std::string(1000, ']');
    CHECK(gqs::metadata_json(with_metadata(deep)) == nlohmann::json(deep));
}

TEST_CASE("metadata: set_metadata_json writes JSON text, null as empty",
          "[message][metadata][json]") {
    gqs::Message m;
    gqs::set_metadata_json(m, {{"to", nlohmann::json::array({"a@example.org", "b@example.org"})},
                               {"retry", {{"max", 3}}}});
    CHECK(m.metadata == R"({"retry":{"max":3},"to":["a@example.org","b@example.org"]})");
    CHECK(gqs::get_json<std::vector<std::string>>(m, "to") ==
          std::vector<std::string>{"a@example.org", "b@example.org"});
    CHECK(m.get<std::string>("to") == std::nullopt);
    gqs::set_metadata_json(m, nullptr);
    CHECK(m.metadata.empty());
    gqs::set_metadata_json(m, nested_arrays(gqs::max_metadata_depth));
    CHECK(m.metadata == std::string(gqs::max_metadata_depth, '[') + "1" +
                            std::string(gqs::max_metadata_depth, ']'));
}

TEST_CASE("metadata: set_metadata_json refuses what a push refuses, saying where",
          "[message][metadata][json]") {
    gqs::Message m;
    m.set("kept", 1);
    const std::string kept = m.metadata;
    const std::string job = "gqs: metadata of job " + m.id.to_string() + " ";
    using nlohmann::json;
    CHECK(refusal([&] {
              gqs::set_metadata_json(
                  m, {{"a", {{"b/c", {1, 2, -std::numeric_limits<double>::infinity()}}}}});
          }) == job + "cannot be stored as JSON: the value at /a/b~1c/2 (infinity) has no JSON "
                      "form");
    CHECK(refusal([&] { gqs::set_metadata_json(m, std::numeric_limits<double>::quiet_NaN()); }) ==
          job + "cannot be stored as JSON: the value at / (NaN) has no JSON form");
    CHECK(refusal([&] {
              gqs::set_metadata_json(m, {{"blob", json::binary({1, 2, 3})}});
          }) == job + "cannot be stored as JSON: the value at /blob (binary) has no JSON form");
    CHECK(refusal([&] {
              gqs::set_metadata_json(m, {{"a", {1, std::string("x\0y", 3)}}});
          }) == job + "holds a NUL character (\\u0000) in the string at /a/1, which gqs does not "
                      "store (PostgreSQL's jsonb cannot)");
    CHECK(refusal([&] {
              gqs::set_metadata_json(m, {{"s", "\xff"}});
          }).starts_with(job + "cannot be stored as JSON: "));
    for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{20000}}) {
        INFO(levels << " levels");
        const json deep = nested_arrays(levels);
        CHECK(refusal([&] { gqs::set_metadata_json(m, deep); }) ==
              job + "nests arrays and objects deeper than 128 levels (gqs::max_metadata_depth)");
        CHECK(refusal([&] { gqs::set_json(m, "k", deep); }) ==
              job + "nests arrays and objects deeper than 128 levels (gqs::max_metadata_depth)");
    }
    // As a member, a value has one level less to spare.
    CHECK_THROWS_AS(gqs::set_json(m, "k", nested_arrays(gqs::max_metadata_depth)),
                    std::invalid_argument);
    CHECK(m.metadata == kept);
    gqs::set_json(m, "k", nested_arrays(gqs::max_metadata_depth - 1));
    CHECK(gqs::get_json<json>(m, "k") == nested_arrays(gqs::max_metadata_depth - 1));
}

TEST_CASE("metadata: set_json adds any JSON to an object, and only to an object",
          "[message][metadata][json]") {
    gqs::Message m;
    gqs::set_json(m, "list", std::vector<int>{1, 2, 3});
    m.set("n", 7);
    gqs::set_json(m, "map", nlohmann::json{{"x", 1}});
    CHECK(gqs::get_json<std::vector<int>>(m, "list") == std::vector<int>{1, 2, 3});
    CHECK(gqs::get_json<int>(m, "n") == 7);
    CHECK(gqs::get_json<nlohmann::json>(m, "map") == nlohmann::json{{"x", 1}});
    CHECK_FALSE(gqs::get_json<std::vector<int>>(m, "map").has_value());
    auto array = with_metadata("[1]");
    CHECK_THROWS_AS(gqs::set_json(array, "k", 1), std::invalid_argument);
    CHECK(array.metadata == "[1]");
}
