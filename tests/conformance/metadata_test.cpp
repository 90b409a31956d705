// SPDX-License-Identifier: Apache-2.0
// Conformance: the metadata every backend refuses (too deep, NUL) and the depth it keeps.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/json.hpp>
#include <gqs/message.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

using gqs::test::Queue;

namespace {

// The JSON text of `levels` arrays or objects nested around 1 (alternating, arrays outermost).
std::string nested(std::size_t levels) {
    std::string open, close;
    for (std::size_t i = 1; i <= levels; ++i) {
        open += i % 2 == 1 ? "[" : "{\"k\":";
        close += i % 2 == 1 ? "]" : "}";
    }
    std::reverse(close.begin(), close.end());
    return open + "1" + close;
}

gqs::Message message_with(std::string metadata) {
    gqs::Message m;
    m.metadata = std::move(metadata);
    return m;
}

// The message of the std::invalid_argument `push` throws, or "" when it throws none.
template <class Push>
std::string refusal(Push&& push) {
    try {
        push();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "";
}

} // namespace

TEST_CASE("metadata: nested deeper than max_metadata_depth is refused, nothing stored",
          "[pusher][metadata][conformance]") {
    Queue q;
    const std::size_t levels = GENERATE(gqs::max_metadata_depth + 1, std::size_t{20000});
    INFO(levels << " levels");
    auto deep = message_with(nested(levels));
    const std::string expected =
        "gqs: metadata of job " + deep.id.to_string() + " nests arrays and objects deeper than " +
        std::to_string(gqs::max_metadata_depth) + " levels (gqs::max_metadata_depth)";
    CHECK(refusal([&] { q.pusher.push(deep); }) == expected);
    std::vector<gqs::Message> batch(3);
    batch[2] = deep;
    CHECK(refusal([&] { q.pusher.push_batch(batch); }) == expected);
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("metadata: max_metadata_depth levels are stored and read back equal",
          "[pusher][metadata][conformance]") {
    Queue q;
    auto m = message_with(nested(gqs::max_metadata_depth));
    q.pusher.push(m);
    // Compared parsed: PostgreSQL's jsonb reformats the text.
    const auto deepest = gqs::metadata_json(m);
    REQUIRE(deepest.is_array());
    CHECK(gqs::metadata_json(q.stored(m.id)) == deepest);
    std::vector<gqs::Message> batch{message_with(nested(gqs::max_metadata_depth - 1)), m};
    batch[1].id = gqs::Uuid::generate();
    q.pusher.push_batch(batch);
    const auto shallower = gqs::metadata_json(batch[0]);
    CHECK(gqs::metadata_json(q.stored(batch[0].id)) == shallower);
    auto pulled = q.puller.pull(3, std::chrono::hours(1));
    REQUIRE(pulled.size() == 3);
    for (const auto& job : pulled) {
        const auto json = gqs::metadata_json(job);
        CHECK((json == deepest || json == shallower));
    }
}

TEST_CASE("metadata: a NUL character is refused with the same message on every backend",
          "[pusher][metadata][conformance]") {
    Queue q;
    gqs::Message bad;
    std::string where;
    SECTION("in a string value") {
        bad.metadata = R"({"a":[1,"x\u0000y"]})";
        where = "the string at /a/1";
    }
    SECTION("in a key") {
        bad.metadata = R"({"a/b":{"k\u0000":1}})";
        where = "a key of the object at /a~1b";
    }
    SECTION("the whole metadata") {
        bad.metadata = R"("\u0000")";
        where = "the string at /";
    }
    SECTION("after arrays and objects") {
        bad.metadata = R"([[1,[2]],{"x~":[]},{"k":["\u0000"]}])";
        where = "the string at /2/k/0";
    }
    const std::string expected = "gqs: metadata of job " + bad.id.to_string() +
                                 " holds a NUL character (\\u0000) in " + where +
                                 ", which gqs does not store (PostgreSQL's jsonb cannot)";
    CHECK(refusal([&] { q.pusher.push(bad); }) == expected);
    std::vector<gqs::Message> batch(2);
    batch[1] = bad;
    CHECK(refusal([&] { q.pusher.push_batch(batch); }) == expected);
    CHECK(q.observer.list(std::nullopt, 0).empty());
    // A backslash and "u0000" is text, not a NUL.
    gqs::Message fine;
    fine.set("text", "a\\u0000b");
    q.pusher.push(fine);
    CHECK(q.stored(fine.id).get<std::string>("text") == "a\\u0000b");
}

TEST_CASE("metadata: text is read back as the same JSON value, unparsed until asked",
          "[pusher][metadata][conformance]") {
    Queue q;
    // Spacing, key order and number forms the backend may rewrite (jsonb does).
    auto m = message_with(R"( { "b" : [ 1.50, 2e2, -0 ] , "a" : { } , "s" : "\u00fc\/" } )");
    q.pusher.push(m);
    const auto stored = q.stored(m.id);
    CHECK(gqs::metadata_json(stored) == gqs::metadata_json(m));
    CHECK(stored.get<std::string>("s") == "ü/");
    CHECK(gqs::get_json<std::vector<double>>(stored, "b") == std::vector<double>{1.5, 200, 0});
    // A pulled job's metadata is what the backend stores (no parse on the pull path), and
    // Message::set works on it like on any message.
    auto pulled = q.puller.pull(1, std::chrono::hours(1));
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].metadata == stored.metadata);
    pulled[0].set("added", true);
    CHECK(pulled[0].get<bool>("added") == true);
    CHECK(gqs::get_json<nlohmann::json>(pulled[0], "a") == nlohmann::json::object());
}

TEST_CASE("metadata: the numbers and text one backend would refuse are refused on every backend",
          "[pusher][metadata][conformance]") {
    Queue q;
    const std::string zeros(16383, '0');
    // The limits of PostgreSQL's numeric, which SQLite does not have: the same on both.
    for (const std::string& fine : {std::string("1e-16383"), std::string("0.5e-16382"),
                                    std::string("0e1073741822"), "0." + zeros}) {
        INFO(fine);
        auto m = message_with("{\"n\":" + fine + "}");
        q.pusher.push(m);
        CHECK(q.stored(m.id).get<double>("n") == 0.0); // all below what a double holds
    }
    for (const std::string& bad : {std::string("1e-16384"), std::string("0e-20000"),
                                   std::string("0e1073741823"), "0." + zeros + "1"}) {
        INFO(bad);
        auto m = message_with("{\"n\":" + bad + "}");
        CHECK(refusal([&] {
                  q.pusher.push(m);
              }).ends_with(", which PostgreSQL's numeric cannot hold"));
    }
    auto bom = message_with("\xEF\xBB\xBF{}");
    CHECK(refusal([&] { q.pusher.push(bom); }).ends_with("starts with a byte order mark"));
    CHECK(q.observer.list(std::nullopt, 0).size() == 4);
}
