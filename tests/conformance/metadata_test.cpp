// SPDX-License-Identifier: Apache-2.0
// Conformance: the metadata every backend refuses (too deep, NUL) and the depth it keeps.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/message.hpp>

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

using gqs::test::Queue;

namespace {

// `levels` arrays or objects nested around 1 (alternating, arrays outermost), built and
// later destroyed without recursion (copying or comparing it would recurse).
nlohmann::json nested(std::size_t levels) {
    nlohmann::json value = 1;
    for (std::size_t i = levels; i > 0; --i) {
        nlohmann::json outer = i % 2 == 1 ? nlohmann::json::array() : nlohmann::json::object();
        if (outer.is_array()) {
            outer.push_back(std::move(value));
        } else {
            outer["k"] = std::move(value);
        }
        value = std::move(outer);
    }
    return value;
}

gqs::Message message_with(nlohmann::json metadata) {
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
    const std::string why = refusal([&] { q.pusher.push(deep); });
    CHECK(why.find(deep.id.to_string()) != std::string::npos);
    CHECK(why.find("deeper than " + std::to_string(gqs::max_metadata_depth) + " levels") !=
          std::string::npos);
    // Built in place: copying the message would recurse once per level.
    std::vector<gqs::Message> batch(3);
    batch[2].metadata = nested(levels);
    CHECK(refusal([&] { q.pusher.push_batch(batch); }).find(batch[2].id.to_string()) !=
          std::string::npos);
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("metadata: max_metadata_depth levels are stored and read back equal",
          "[pusher][metadata][conformance]") {
    Queue q;
    auto m = message_with(nested(gqs::max_metadata_depth));
    q.pusher.push(m);
    CHECK(q.stored(m.id).metadata == m.metadata);
    std::vector<gqs::Message> batch{message_with(nested(gqs::max_metadata_depth - 1)), m};
    batch[1].id = gqs::Uuid::generate();
    q.pusher.push_batch(batch);
    CHECK(q.stored(batch[0].id).metadata == batch[0].metadata);
    auto pulled = q.puller.pull(3, std::chrono::hours(1));
    REQUIRE(pulled.size() == 3);
    for (const auto& job : pulled)
        CHECK((job.metadata == m.metadata || job.metadata == batch[0].metadata));
}

TEST_CASE("metadata: a NUL character is refused with the same message on every backend",
          "[pusher][metadata][conformance]") {
    Queue q;
    gqs::Message bad;
    std::string where;
    SECTION("in a string value") {
        bad.metadata = {{"a", {1, std::string("x\0y", 3)}}};
        where = "the string at /a/1";
    }
    SECTION("in a key") {
        bad.metadata = {{"a/b", nlohmann::json::object({{std::string("k\0", 2), 1}})}};
        where = "a key of the object at /a~1b";
    }
    SECTION("the whole metadata") {
        bad.metadata = std::string(1, '\0');
        where = "the string at /";
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
    auto fine = message_with({{"text", "a\\u0000b"}});
    q.pusher.push(fine);
    CHECK(q.stored(fine.id).get<std::string>("text") == "a\\u0000b");
}
