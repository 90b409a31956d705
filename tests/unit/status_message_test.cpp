// SPDX-License-Identifier: Apache-2.0
#include <gqs/gqs.hpp>
#include <gqs/json.hpp>

#include "support/catch.hpp"

TEST_CASE("status: names round-trip through parse_status", "[status]") {
    auto s = GENERATE(gqs::Status::Unknown, gqs::Status::Pending, gqs::Status::Processing,
                      gqs::Status::Done, gqs::Status::Dead);
    auto parsed = gqs::parse_status(gqs::to_string(s));
    REQUIRE(parsed.has_value());
    CHECK(*parsed == s);
}

TEST_CASE("status: parse_status is case-insensitive and rejects other text", "[status]") {
    CHECK(gqs::parse_status("PENDING") == gqs::Status::Pending);
    CHECK(gqs::parse_status("Dead") == gqs::Status::Dead);
    CHECK_FALSE(gqs::parse_status("").has_value());
    CHECK_FALSE(gqs::parse_status("pend").has_value());
    CHECK_FALSE(gqs::parse_status("pending ").has_value());
    CHECK_FALSE(gqs::parse_status("2").has_value());
    CHECK(gqs::to_string(static_cast<gqs::Status>(9)) == "unknown");
    STATIC_REQUIRE(gqs::to_string(gqs::Status::Done) == "done");
    STATIC_REQUIRE(static_cast<int>(gqs::Status::Dead) == 4);
}

TEST_CASE("message: set and get metadata by key", "[message]") {
    gqs::Message m;
    CHECK_FALSE(m.id.is_nil());
    CHECK(m.metadata.empty());
    m.set("n", 42).set("name", "ünïcødé");
    gqs::set_json(m, "nested", nlohmann::json{{"a", {1, 2}}});
    CHECK(m.get<int>("n") == 42);
    CHECK(m.get<std::string>("name") == "ünïcødé");
    CHECK(gqs::get_json<std::vector<int>>(m, "nested").has_value() == false);
    CHECK(gqs::get_json<nlohmann::json>(m, "nested")->at("a").size() == 2);
    CHECK(gqs::get_json<std::vector<int>>(m, "n").has_value() == false);
    CHECK_FALSE(m.get<int>("missing").has_value());
    CHECK_FALSE(m.get<int>("name").has_value()); // wrong type: nullopt, no throw
    CHECK(nlohmann::json::parse(m.metadata) ==
          nlohmann::json{{"n", 42}, {"name", "ünïcødé"}, {"nested", {{"a", {1, 2}}}}});
    gqs::Message other;
    CHECK(other.id != m.id);
    CHECK_FALSE(other.get<int>("n").has_value()); // no metadata
}
