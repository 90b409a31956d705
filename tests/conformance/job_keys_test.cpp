// SPDX-License-Identifier: Apache-2.0
// Conformance: Message::concurrency_key and Message::group (schema version 5). Stored by
// every push and read back by every read of a job; refused, with one message on every
// backend, when not 1..127 bytes of UTF-8 without NUL. Pulls do not enforce them yet.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::test::Queue;

namespace {

gqs::Message keyed(std::string payload, std::optional<std::string> key,
                   std::optional<std::string> group) {
    gqs::Message m;
    m.payload = std::move(payload);
    m.concurrency_key = std::move(key);
    m.group = std::move(group);
    return m;
}

// What `fn` threw as std::invalid_argument ("" if it threw nothing or something else).
template <class Fn>
std::string refusal(Fn&& fn) {
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        return e.what();
    } catch (...) {
    }
    return {};
}

// The stored fields of every job, by payload.
struct Keys {
    std::optional<std::string> key;
    std::optional<std::string> group;
    bool operator==(const Keys&) const = default;
};

std::map<std::string, Keys> keys_of(const std::vector<gqs::Job>& jobs) {
    std::map<std::string, Keys> out;
    for (const auto& job : jobs)
        out[job.payload] = Keys{job.concurrency_key, job.group};
    return out;
}

} // namespace

TEST_CASE("job keys: concurrency_key and group round-trip through push and push_batch and every "
          "read",
          "[keys][conformance]") {
    Queue q;
    const std::string longest_key(127, 'k');
    // 127 bytes of UTF-8 with multi-byte characters (é is two bytes).
    std::string longest_group = "g";
    for (int i = 0; i < 63; ++i)
        longest_group += "\xC3\xA9";
    REQUIRE(longest_group.size() == 127);

    const std::map<std::string, Keys> expected{
        {"both", {"tenant-42:import", "tenant-42"}},
        {"key only", {"k", std::nullopt}},
        {"group only", {std::nullopt, "g"}},
        {"none", {std::nullopt, std::nullopt}},
        {"batch both", {longest_key, longest_group}},
        {"batch none", {std::nullopt, std::nullopt}},
        {"batch group", {std::nullopt, "caf\xC3\xA9"}},
        {"tx both", {"tx-key", "tx-group"}},
        {"tx batch key", {"tx-batch-key", std::nullopt}},
    };
    for (const char* single : {"both", "key only", "group only", "none"}) {
        const auto& k = expected.at(single);
        (void)q.pusher.push(keyed(single, k.key, k.group));
    }
    std::vector<gqs::Message> batch;
    for (const char* name : {"batch both", "batch none", "batch group"}) {
        const auto& k = expected.at(name);
        batch.push_back(keyed(name, k.key, k.group));
    }
    (void)q.pusher.push_batch(batch);
    {
        auto tx = q.backend->begin_app();
        const auto& k = expected.at("tx both");
        (void)tx->push(keyed("tx both", k.key, k.group));
        std::vector<gqs::Message> in_tx;
        const auto& kb = expected.at("tx batch key");
        in_tx.push_back(keyed("tx batch key", kb.key, kb.group));
        (void)tx->push_batch(in_tx);
        tx->commit();
    }

    // list
    const auto listed = q.observer.list(std::nullopt, 0);
    CHECK(keys_of(listed) == expected);
    // get
    for (const auto& job : listed) {
        INFO(job.payload);
        const auto got = q.observer.get(job.id);
        REQUIRE(got);
        CHECK(got->concurrency_key == expected.at(job.payload).key);
        CHECK(got->group == expected.at(job.payload).group);
    }
    // list_after: the page after the first job holds the others as they were stored.
    REQUIRE(listed.size() == expected.size());
    auto rest = keys_of(q.observer.list_after(std::nullopt, 0, gqs::cursor_of(listed.front())));
    CHECK(rest.size() == expected.size() - 1);
    for (const auto& [payload, keys] : rest)
        CHECK(keys == expected.at(payload));
    // pull, and through a requeue and a pull again
    auto pulled = q.puller.pull(100, 1h);
    CHECK(keys_of(pulled) == expected);
    for (auto& job : pulled)
        q.puller.requeue(job, 0ms);
    pulled = q.puller.pull(100, 1h);
    CHECK(keys_of(pulled) == expected);
    for (auto& job : pulled)
        q.puller.complete(job);
    CHECK(keys_of(q.observer.list(gqs::Status::Done, 0)) == expected);
}

TEST_CASE("job keys: a bad concurrency_key or group is refused with one message and stores "
          "nothing",
          "[keys][conformance]") {
    Queue q;
    const auto bad = GENERATE(as<std::string>{}, "empty key", "long key", "NUL in key",
                              "invalid UTF-8 key", "empty group", "long group", "NUL in group",
                              "invalid UTF-8 group", "truncated UTF-8 group");
    INFO(bad);
    gqs::Message m;
    m.payload = "bad";
    std::string what, value;
    if (bad == "empty key") value = "";
    if (bad == "long key") value = std::string(128, 'k');
    if (bad == "NUL in key") value = std::string("a\0b", 3);
    if (bad == "invalid UTF-8 key") value = "\xff";
    if (bad == "empty group") value = "";
    if (bad == "long group") value = std::string(128, 'g');
    if (bad == "NUL in group") value = std::string("a\0b", 3);
    if (bad == "invalid UTF-8 group") value = "\xc3\x28";
    if (bad == "truncated UTF-8 group") value = "caf\xC3";
    if (bad.ends_with("key")) {
        m.concurrency_key = value;
        what = "the concurrency key";
    } else {
        m.group = value;
        what = "the group";
    }
    std::string expected = "gqs: ";
    expected += what;
    expected += " of job ";
    expected += m.id.to_string();
    expected += " must be 1 to 127 bytes of UTF-8 without NUL (got ";
    expected += std::to_string(value.size());
    expected += " bytes)";

    CHECK(refusal([&] { (void)q.pusher.push(m); }) == expected);
    // In a batch, the bad message names itself and none of the batch is stored.
    std::vector<gqs::Message> batch(3);
    batch[1] = m;
    CHECK(refusal([&] { (void)q.pusher.push_batch(batch); }) == expected);
    // Inside the app's transaction: refused alone; what else the transaction pushed commits.
    {
        auto tx = q.backend->begin_app();
        CHECK(refusal([&] { (void)tx->push(m); }) == expected);
        CHECK(refusal([&] { (void)tx->push_batch(batch); }) == expected);
        tx->commit();
    }
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("job keys: a schedule whose message has a concurrency_key or group is refused",
          "[keys][schedules][conformance]") {
    Queue q;
    gqs::Schedule s;
    s.name = "hourly";
    s.cron = "@every 1h";
    const bool with_key = GENERATE(true, false);
    // Built in place: assigning a literal trips GCC 12's -Wrestrict false positive here.
    if (with_key) {
        s.message.concurrency_key.emplace(1, 'k');
    } else {
        s.message.group.emplace(1, 'g');
    }
    const std::string expected =
        "gqs: schedule \"hourly\": a schedule's message cannot carry a concurrency key or a "
        "group yet";
    CHECK(refusal([&] { gqs::validate(s); }) == expected);
    CHECK(refusal([&] { q.schedules.put(s); }) == expected);
    CHECK(q.schedules.list().empty());
}
