// SPDX-License-Identifier: Apache-2.0
// The metadata and error-history codec on text other programs stored: never deeper than a
// push accepts, never a crash.
#include "backend/codec.hpp"

#include "support/catch.hpp"

#include <gqs/message.hpp>

#include <cstddef>
#include <string>

namespace {

std::string arrays(std::size_t levels, const std::string& inside = "1") {
    return std::string(levels, '[') + inside + std::string(levels, ']');
}

} // namespace

TEST_CASE("codec: metadata stored deeper than max_metadata_depth reads as its raw text",
          "[codec][metadata]") {
    for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{100000}}) {
        INFO(levels << " levels");
        const std::string text = arrays(levels);
        const auto json = gqs::detail::decode_metadata(text);
        REQUIRE(json.is_string());
        CHECK(json.get_ref<const std::string&>() == text);
    }
    const std::string objects = [] {
        std::string text;
        for (int i = 0; i < 100000; ++i)
            text += R"({"k":)";
        text += "1";
        return text + std::string(100000, '}');
    }();
    CHECK((gqs::detail::decode_metadata(objects) == nlohmann::json(objects)));
}

TEST_CASE("codec: metadata max_metadata_depth deep is parsed", "[codec][metadata]") {
    auto json = gqs::detail::decode_metadata(arrays(gqs::max_metadata_depth));
    for (std::size_t i = 0; i < gqs::max_metadata_depth; ++i) {
        REQUIRE(json.is_array());
        REQUIRE(json.size() == 1);
        json = nlohmann::json(json[0]);
    }
    CHECK(json == 1);
    // Brackets inside strings (escaped quotes too) do not count.
    const std::string quoted = R"(["\"[[[[", ")" + std::string(500, '{') + R"("])";
    CHECK(gqs::detail::decode_metadata(quoted) == nlohmann::json::parse(quoted));
    CHECK(gqs::detail::json_depth(quoted) == 1);
    CHECK(gqs::detail::json_depth("1") == 0);
    CHECK(gqs::detail::json_depth("[]") == 1);
    CHECK(gqs::detail::json_depth(R"([{"a":[]},[]])") == 3);
}

TEST_CASE("codec: metadata with a NUL escape another program stored still reads back",
          "[codec][metadata]") {
    const auto json = gqs::detail::decode_metadata(R"({"a\u0000":"x\u0000y"})");
    REQUIRE(json.is_object());
    CHECK(json.at(std::string("a\0", 2)) == std::string("x\0y", 3));
}

TEST_CASE("codec: an error history nested 100,000 deep gives no entries", "[codec][errors]") {
    CHECK(gqs::detail::decode_errors(arrays(100000)).empty());
    const std::string deep_entry =
        R"([{"at":1,"attempt":1,"message":"m","extra":)" + arrays(100000) + "}]";
    CHECK(gqs::detail::decode_errors(deep_entry).empty());
    const auto fine = gqs::detail::decode_errors(R"([{"at":1,"attempt":2,"message":"m"}])");
    REQUIRE(fine.size() == 1);
    CHECK(fine[0].message == "m");
}
