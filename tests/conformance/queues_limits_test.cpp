// SPDX-License-Identifier: Apache-2.0
// Conformance: stored queue limits (docs/limits.md): set, read, pause, resume, clear and list,
// the same on every backend. Storage only: no pull honours them yet.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/queues.hpp>

#include <atomic>
#include <cmath>
#include <limits>
#include <string>
#include <thread>
#include <utility>
#include <vector>

using gqs::QueueLimits;
using gqs::test::Queue;

namespace {

// Every field away from its default but max_running_per_key, which fair share does not
// combine with (keyed() has it).
QueueLimits every_field() {
    QueueLimits l;
    l.max_running = 7;
    l.rate = 2.5;
    l.burst = 4;
    l.paused = true;
    l.fair_share = true;
    l.group_weights = {{"tenant-a", 3}, {"tenant-b", 1}, {"é-ü", 1000}};
    return l;
}

// The other fields away from their default, with max_running_per_key.
QueueLimits keyed() {
    QueueLimits l;
    l.max_running = 7;
    l.rate = 2.5;
    l.burst = 4;
    l.paused = true;
    l.max_running_per_key = 2;
    return l;
}

// The names of the queues list() returns, in its order.
std::vector<std::string> listed(gqs::Queues& queues) {
    std::vector<std::string> names;
    for (const auto& [name, limits] : queues.list())
        names.push_back(name);
    return names;
}

// The message of the std::invalid_argument `fn` throws ("" if it throws none).
template <class Fn>
std::string refusal(Fn&& fn) {
    try {
        fn();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST_CASE("queue limits: a queue never configured has no limits", "[queues][conformance]") {
    Queue q;
    CHECK(q.queues.limits("default") == QueueLimits{});
    const auto none = q.queues.limits("never-seen");
    CHECK_FALSE(none.max_running);
    CHECK_FALSE(none.rate);
    CHECK(none.burst == 1);
    CHECK_FALSE(none.max_running_per_key);
    CHECK_FALSE(none.paused);
    CHECK(none.group_weights.empty());
    CHECK(q.queues.list().empty());
    CHECK_FALSE(q.queues.clear("never-seen"));
}

TEST_CASE("queue limits: every field round-trips", "[queues][conformance]") {
    Queue q;
    const auto all = every_field();
    q.queues.set_limits("emails", all);
    const auto read = q.queues.limits("emails");
    CHECK(read == all);
    CHECK(read.rate == 2.5);
    REQUIRE(read.group_weights.size() == 3);
    CHECK(read.group_weights.at("é-ü") == 1000);
    q.queues.set_limits("keyed", keyed());
    CHECK(q.queues.limits("keyed") == keyed());
    // A fractional rate below one start per second, and the largest values.
    QueueLimits slow;
    slow.rate = 1.0 / 3.0;
    slow.max_running = std::numeric_limits<int>::max();
    slow.burst = std::numeric_limits<int>::max();
    q.queues.set_limits("slow", slow);
    CHECK(q.queues.limits("slow") == slow);
    // A second connection reads the same.
    auto second = q.open_second();
    CHECK(second->queues().limits("emails") == all);
    CHECK(second->queues().limits("slow") == slow);
    // Other queues stay unlimited.
    CHECK(q.queues.limits("other") == QueueLimits{});
}

TEST_CASE("queue limits: set_limits replaces every limit", "[queues][conformance]") {
    Queue q;
    q.queues.set_limits("q", every_field());
    QueueLimits only_rate;
    only_rate.rate = 10;
    q.queues.set_limits("q", only_rate);
    CHECK(q.queues.limits("q") == only_rate);
    // Setting the defaults keeps the row (listed), with no limits.
    q.queues.set_limits("q", QueueLimits{});
    CHECK(q.queues.limits("q") == QueueLimits{});
    CHECK(listed(q.queues) == std::vector<std::string>{"q"});
}

TEST_CASE("queue limits: pause and resume keep the other limits", "[queues][conformance]") {
    Queue q;
    auto limits = every_field();
    limits.paused = false;
    q.queues.set_limits("q", limits);
    q.queues.pause("q");
    auto paused = limits;
    paused.paused = true;
    CHECK(q.queues.limits("q") == paused);
    q.queues.pause("q"); // no-op
    CHECK(q.queues.limits("q") == paused);
    q.queues.resume("q");
    CHECK(q.queues.limits("q") == limits);
    q.queues.resume("q"); // no-op
    CHECK(q.queues.limits("q") == limits);

    SECTION("pausing a queue without limits stores it paused, with no other limits") {
        q.queues.pause("fresh");
        QueueLimits expected;
        expected.paused = true;
        CHECK(q.queues.limits("fresh") == expected);
        CHECK(listed(q.queues) == std::vector<std::string>{"fresh", "q"});
        q.queues.resume("fresh");
        CHECK(q.queues.limits("fresh") == QueueLimits{});
    }
    SECTION("resuming a queue without limits stores nothing") {
        q.queues.resume("fresh");
        CHECK(q.queues.limits("fresh") == QueueLimits{});
        CHECK(listed(q.queues) == std::vector<std::string>{"q"});
    }
}

TEST_CASE("queue limits: clear goes back to no limits", "[queues][conformance]") {
    Queue q;
    q.queues.set_limits("a", every_field());
    q.queues.pause("b");
    CHECK(q.queues.clear("a"));
    CHECK(q.queues.limits("a") == QueueLimits{});
    CHECK_FALSE(q.queues.clear("a"));
    CHECK(listed(q.queues) == std::vector<std::string>{"b"});
    CHECK(q.queues.clear("b"));
    CHECK(q.queues.list().empty());
}

TEST_CASE("queue limits: list gives every configured queue by name in byte order",
          "[queues][conformance]") {
    Queue q;
    const std::vector<std::string> names{"b", "a", "Z", "ä", "a-b", "aa", "_", "0"};
    for (std::size_t i = 0; i < names.size(); ++i) {
        QueueLimits l;
        l.max_running = static_cast<int>(i) + 1;
        q.queues.set_limits(names[i], l);
    }
    const auto all = q.queues.list();
    // Byte order, whatever the database's collation: "0" "Z" "_" "a" "a-b" "aa" "b" "ä".
    const std::vector<std::string> expected{"0", "Z", "_", "a", "a-b", "aa", "b", "ä"};
    REQUIRE(listed(q.queues) == expected);
    for (const auto& [name, limits] : all) {
        std::size_t i = 0;
        while (names[i] != name)
            ++i;
        CHECK(limits.max_running == static_cast<int>(i) + 1);
    }
}

TEST_CASE("queue limits: invalid limits throw and store nothing", "[queues][conformance]") {
    Queue q;
    QueueLimits good;
    good.max_running = 3;
    q.queues.set_limits("q", good);
    auto bad = good;
    std::string expected;
    SECTION("max_running") {
        bad.max_running = 0;
        expected = "gqs: queue limits: max_running must be at least 1 (got 0)";
    }
    SECTION("negative rate") {
        bad.rate = -1;
        expected = "gqs: queue limits: rate must be a finite number of starts per second above 0 "
                   "(got -1)";
    }
    SECTION("zero rate") {
        bad.rate = 0.0;
        expected = "gqs: queue limits: rate must be a finite number of starts per second above 0 "
                   "(got 0)";
    }
    SECTION("infinite rate") {
        bad.rate = std::numeric_limits<double>::infinity();
        expected = "gqs: queue limits: rate must be a finite number of starts per second above 0 "
                   "(got inf)";
    }
    SECTION("NaN rate") {
        bad.rate = std::nan("");
        expected = "gqs: queue limits: rate must be a finite number of starts per second above 0 "
                   "(got nan)";
    }
    SECTION("burst") {
        bad.burst = 0;
        expected = "gqs: queue limits: burst must be at least 1 (got 0)";
    }
    SECTION("max_running_per_key") {
        bad.max_running_per_key = -2;
        expected = "gqs: queue limits: max_running_per_key must be at least 1 (got -2)";
    }
    SECTION("a weight of 0") {
        bad.group_weights = {{"ok", 1}, {"g", 0}};
        expected = "gqs: queue limits: the weight of group \"g\" must be 1 to 1000 (got 0)";
    }
    SECTION("a weight over 1000") {
        bad.group_weights = {{"g", 1001}};
        expected = "gqs: queue limits: the weight of group \"g\" must be 1 to 1000 (got 1001)";
    }
    SECTION("an empty group name") {
        bad.group_weights = {{"", 1}};
        expected = "gqs: queue limits: a group name must be 1 to 127 bytes of UTF-8 without NUL "
                   "(got 0 bytes)";
    }
    SECTION("a group name too long") {
        bad.group_weights = {{std::string(128, 'g'), 1}};
        expected = "gqs: queue limits: a group name must be 1 to 127 bytes of UTF-8 without NUL "
                   "(got 128 bytes)";
    }
    SECTION("a group name with NUL") {
        bad.group_weights = {{std::string("a\0b", 3), 1}};
        expected = "gqs: queue limits: a group name must be 1 to 127 bytes of UTF-8 without NUL "
                   "(got 3 bytes)";
    }
    SECTION("a group name that is not UTF-8") {
        bad.group_weights = {{"\xff", 1}};
        expected = "gqs: queue limits: a group name must be 1 to 127 bytes of UTF-8 without NUL "
                   "(got 1 bytes)";
    }
    CHECK(refusal([&] { gqs::validate(bad); }) == expected);
    CHECK(refusal([&] { q.queues.set_limits("q", bad); }) == expected);
    CHECK(refusal([&] { q.queues.set_limits("new", bad); }) == expected);
    CHECK(q.queues.limits("q") == good);
    CHECK(listed(q.queues) == std::vector<std::string>{"q"});
    // The longest group name and the extreme weights are accepted.
    QueueLimits edge;
    edge.group_weights = {{std::string(127, 'g'), 1}, {"h", 1000}};
    CHECK_NOTHROW(gqs::validate(edge));
    q.queues.set_limits("edge", edge);
    CHECK(q.queues.limits("edge") == edge);
}

TEST_CASE("queue limits: a bad queue name throws on every call", "[queues][conformance]") {
    Queue q;
    const std::string name = GENERATE(std::string(), std::string(128, 'q'), std::string("a\0b", 3),
                                      std::string("\xc3\x28"));
    const std::string expected = "gqs: a queue name must be 1 to 127 bytes of UTF-8 without NUL "
                                 "(got " +
                                 std::to_string(name.size()) + " bytes)";
    CHECK(refusal([&] { q.queues.set_limits(name, QueueLimits{}); }) == expected);
    CHECK(refusal([&] { (void)q.queues.limits(name); }) == expected);
    CHECK(refusal([&] { q.queues.pause(name); }) == expected);
    CHECK(refusal([&] { q.queues.resume(name); }) == expected);
    CHECK(refusal([&] { (void)q.queues.clear(name); }) == expected);
    CHECK(q.queues.list().empty());
    // The longest name is a name.
    q.queues.pause(std::string(127, 'q'));
    CHECK(q.queues.limits(std::string(127, 'q')).paused);
}

TEST_CASE("queue limits: two connections set different queues at once",
          "[queues][conformance][concurrency]") {
    Queue q;
    auto second = q.open_second();
    constexpr int per_thread = 40;
    std::atomic<int> ready{0};
    std::vector<std::string> errors(2);
    {
        std::vector<std::jthread> threads;
        threads.reserve(2);
        for (int t = 0; t < 2; ++t) {
            threads.emplace_back([&, t] {
                auto& queues = t == 0 ? q.queues : second->queues();
                ++ready;
                while (ready.load() < 2)
                    std::this_thread::yield();
                try {
                    for (int i = 0; i < per_thread; ++i) {
                        std::string name = t == 0 ? "first-" : "second-";
                        name += std::to_string(i);
                        QueueLimits l;
                        l.max_running = i + 1;
                        l.rate = 0.5 + i;
                        queues.set_limits(name, l);
                        if (i % 3 == 0) queues.pause(name);
                        // Both also change one queue they share: the last write wins whole.
                        QueueLimits shared;
                        shared.max_running = t + 1;
                        shared.burst = t + 1;
                        queues.set_limits("shared", shared);
                    }
                } catch (const std::exception& e) {
                    errors[static_cast<std::size_t>(t)] = e.what();
                }
            });
        }
    }
    CHECK(errors[0].empty());
    CHECK(errors[1].empty());
    const auto all = q.queues.list();
    CHECK(all.size() == 2 * per_thread + 1);
    for (const auto& [name, limits] : all) {
        INFO(name);
        if (name == "shared") {
            CHECK(limits.max_running == limits.burst);
            continue;
        }
        const int i = std::stoi(name.substr(name.find('-') + 1));
        CHECK(limits.max_running == i + 1);
        CHECK(limits.rate == 0.5 + i);
        CHECK(limits.paused == (i % 3 == 0));
    }
    CHECK(second->queues().list() == all);
}

TEST_CASE("queue limits: the table's CHECKs refuse what validate refuses",
          "[queues][conformance]") {
    Queue q;
    const auto all = every_field();
    q.queues.set_limits("q", all);
    const char* bad = GENERATE("queue = ''", "max_running = 0", "rate = 0", "rate = -1.5",
                               "burst = 0", "max_running_per_key = 0", "group_weights = '[1]'",
                               "paused = NULL", "fair_share = NULL");
    INFO(bad);
    CHECK_THROWS(q.backend->exec_sql(std::string("UPDATE gqs_queues SET ") + bad));
    CHECK(q.queues.limits("q") == all);
    CHECK(listed(q.queues) == std::vector<std::string>{"q"});
}
