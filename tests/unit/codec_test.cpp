// SPDX-License-Identifier: Apache-2.0
// The metadata and error-history codec: what a push stores or refuses, and text other programs
// stored, read back never deeper than a push accepts, never a crash.
#include "backend/codec.hpp"

#include "support/catch.hpp"

#include <gqs/json.hpp>
#include <gqs/message.hpp>

#include <cstddef>
#include <stdexcept>
#include <string>
#include <utility>

namespace {

std::string arrays(std::size_t levels, const std::string& inside = "1") {
    return std::string(levels, '[') + inside + std::string(levels, ']');
}

gqs::Message with_metadata(std::string text) {
    gqs::Message m;
    m.metadata = std::move(text);
    return m;
}

// The message of the std::invalid_argument encode_metadata throws, or "" when it throws none.
std::string refusal(const gqs::Message& m) {
    try {
        (void)gqs::detail::encode_metadata(m);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("codec: metadata stored deeper than max_metadata_depth reads as its raw text",
          "[codec][metadata]") {
    for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{100000}}) {
        INFO(levels << " levels");
        const auto m = with_metadata(arrays(levels));
        const auto json = gqs::metadata_json(m);
        REQUIRE(json.is_string());
        CHECK(json.get_ref<const std::string&>() == m.metadata);
        CHECK_FALSE(m.get<int>("k").has_value());
        CHECK_FALSE(gqs::get_json<nlohmann::json>(m, "k").has_value());
    }
    const std::string objects = [] {
        std::string text;
        for (int i = 0; i < 100000; ++i)
            text += R"({"k":)";
        text += "1";
        return text + std::string(100000, '}');
    }();
    const auto m = with_metadata(objects);
    CHECK((gqs::metadata_json(m) == nlohmann::json(objects)));
    CHECK_FALSE(m.get<std::string>("k").has_value());
    CHECK_THROWS_AS(gqs::Message(m).set("k", 1), std::invalid_argument);
}

TEST_CASE("codec: metadata max_metadata_depth deep is parsed", "[codec][metadata]") {
    auto json = gqs::metadata_json(with_metadata(arrays(gqs::max_metadata_depth)));
    for (std::size_t i = 0; i < gqs::max_metadata_depth; ++i) {
        REQUIRE(json.is_array());
        REQUIRE(json.size() == 1);
        json = nlohmann::json(json[0]);
    }
    CHECK(json == 1);
    // Brackets inside strings (escaped quotes too) do not count.
    const std::string quoted = R"(["\"[[[[", ")" + std::string(500, '{') + R"("])";
    CHECK(gqs::metadata_json(with_metadata(quoted)) == nlohmann::json::parse(quoted));
    CHECK(gqs::metadata_depth(quoted) == 1);
    CHECK(gqs::metadata_depth("1") == 0);
    CHECK(gqs::metadata_depth("[]") == 1);
    CHECK(gqs::metadata_depth(R"([{"a":[]},[]])") == 3);
}

TEST_CASE("codec: metadata with a NUL escape another program stored still reads back",
          "[codec][metadata]") {
    const auto m = with_metadata(R"({"a\u0000":"x\u0000y"})");
    const auto json = gqs::metadata_json(m);
    REQUIRE(json.is_object());
    CHECK(json.at(std::string("a\0", 2)) == std::string("x\0y", 3));
    CHECK(m.get<std::string>(std::string("a\0", 2)) == std::string("x\0y", 3));
}

TEST_CASE("codec: metadata text is stored as it is, empty and null as NULL", "[codec][metadata]") {
    CHECK(gqs::detail::encode_metadata(with_metadata("")).empty());
    CHECK(gqs::detail::encode_metadata(with_metadata("null")).empty());
    CHECK(gqs::detail::encode_metadata(with_metadata(" \n null\t")).empty());
    for (const std::string& text :
         {std::string("{}"), std::string(R"( { "b" : [1, 2.5, null, true], "a" : "ü" } )"),
          std::string("[null]"), std::string("1"), std::string(R"("text")"),
          std::string(R"({"k":"a\\u0000b"})"), arrays(gqs::max_metadata_depth)})
        CHECK(gqs::detail::encode_metadata(with_metadata(text)) == text);
}

TEST_CASE("codec: metadata text that is not JSON is refused, naming the job", "[codec][metadata]") {
    for (const std::string& text :
         {std::string("{"), std::string("nul"), std::string("NaN"), std::string("1e400"),
          std::string("[1] x"), std::string("{'a':1}"), std::string(" "), std::string("[\"\xff\"]"),
          std::string("[\"\xed\xa0\x80\"]"), std::string(R"(["\ud800"])"), std::string("{}\0", 3),
          std::string("[\"a\0\"]", 6), std::string("\0", 1)}) {
        INFO(text);
        const auto m = with_metadata(text);
        CHECK(refusal(m).starts_with("gqs: metadata of job " + m.id.to_string() +
                                     " is not JSON text (UTF-8): "));
    }
}

TEST_CASE("codec: metadata text PostgreSQL would refuse is refused on every backend",
          "[codec][metadata]") {
    const auto bom = with_metadata("\xEF\xBB\xBF{}");
    CHECK(refusal(bom) == "gqs: metadata of job " + bom.id.to_string() +
                              " is not JSON text (UTF-8): it starts with a byte order mark");
    // Numbers past numeric's 16383 digits after the decimal point (a double holds them as 0).
    const std::string zeros(16383, '0');
    for (const std::string& number :
         {std::string("1e-16384"), std::string("0e-20000"), std::string("0.5e-16383"),
          std::string("0E1073741823"), std::string("-0e-1073741823"), "0." + zeros + "0",
          "0." + zeros + "1", std::string("1.5e-99999999999999999999")}) {
        INFO(number);
        const auto m = with_metadata("[" + number + "]");
        CHECK(refusal(m).starts_with("gqs: metadata of job " + m.id.to_string() +
                                     " holds the number "));
        CHECK(refusal(m).ends_with(", which PostgreSQL's numeric cannot hold"));
    }
    for (const std::string& number :
         {std::string("1e-16383"), std::string("0.5e-16382"), std::string("0e200000"),
          std::string("0e1073741822"), std::string("1.5E+300"), std::string("-0.0"), "0." + zeros,
          "0." + zeros.substr(1) + "1", std::string("123456789012345678901234")}) {
        INFO(number);
        CHECK(refusal(with_metadata("{\"n\":" + number + "}")).empty());
    }
}

TEST_CASE("codec: metadata text deeper than max_metadata_depth is refused", "[codec][metadata]") {
    for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{100000}}) {
        INFO(levels << " levels");
        const auto m = with_metadata(arrays(levels));
        CHECK(refusal(m) == "gqs: metadata of job " + m.id.to_string() +
                                " nests arrays and objects deeper than 128 levels "
                                "(gqs::max_metadata_depth)");
    }
}

TEST_CASE("codec: a NUL escape in metadata text is refused, saying where", "[codec][metadata]") {
    const auto where = [](const std::string& text) {
        const auto m = with_metadata(text);
        const std::string why = refusal(m);
        const std::string head =
            "gqs: metadata of job " + m.id.to_string() + " holds a NUL character (\\u0000) in ";
        const std::string tail = ", which gqs does not store (PostgreSQL's jsonb cannot)";
        if (!why.starts_with(head) || !why.ends_with(tail)) return "unexpected: " + why;
        return why.substr(head.size(), why.size() - head.size() - tail.size());
    };
    CHECK(where(R"("\u0000")") == "the string at /");
    CHECK(where(R"({"a":[1,"x\u0000y"]})") == "the string at /a/1");
    CHECK(where(R"({"a/b":{"k\u0000":1}})") == "a key of the object at /a~1b");
    CHECK(where(R"({"\u0000":1})") == "a key of the object at /");
    CHECK(where(R"([[1,[2]],{"x~":[]},"\u0000"])") == "the string at /2");
    CHECK(where(R"([0,{"k":[{"m":"\u0000"}]}])") == "the string at /1/k/0/m");
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
