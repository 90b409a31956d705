// SPDX-License-Identifier: Apache-2.0
// Conformance: Pusher (push, push_batch, delays, bad input, round trips).
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <atomic>
#include <cmath>
#include <limits>
#include <thread>

using namespace std::chrono_literals;
using gqs::test::Queue;

TEST_CASE("pusher: push stores a Pending job runnable now", "[pusher][conformance]") {
    Queue q;
    auto before = std::chrono::system_clock::now() - 1ms;
    auto m = q.push("hello");
    auto job = q.stored(m.id);
    CHECK(job.status == gqs::Status::Pending);
    CHECK(job.attempts == 0);
    CHECK_FALSE(job.locked_until.has_value());
    CHECK(job.payload == "hello");
    CHECK(job.created_at >= before);
    CHECK(job.created_at == job.updated_at);
    CHECK(job.next_run_at == job.created_at);
}

TEST_CASE("pusher: delay sets next_run_at and hides the job until then", "[pusher][conformance]") {
    Queue q;
    auto m = q.push("later", 1h);
    auto job = q.stored(m.id);
    CHECK(job.next_run_at - job.created_at == 1h);
    CHECK(q.puller.pull(10, 10s).empty());
}

TEST_CASE("pusher: a short delay becomes runnable once it passes", "[pusher][conformance]") {
    Queue q;
    auto m = q.push("soon", 30ms);
    std::vector<gqs::Job> got;
    REQUIRE(gqs::test::wait_until([&] {
        got = q.puller.pull(1, 10s);
        return !got.empty();
    }));
    CHECK(got[0].id == m.id);
    CHECK(std::chrono::system_clock::now() >= got[0].next_run_at);
}

TEST_CASE("pusher: bad input throws and stores nothing", "[pusher][conformance]") {
    Queue q;
    gqs::Message m;
    CHECK_THROWS_AS(q.pusher.push(m, -1ms), std::invalid_argument);
    std::vector<gqs::Message> batch(3);
    CHECK_THROWS_AS(q.pusher.push_batch(batch, -1ms), std::invalid_argument);
    gqs::Message bad_utf8;
    bad_utf8.set("k", std::string("\xff\xfe"));
    CHECK_THROWS_AS(q.pusher.push(bad_utf8), std::invalid_argument);
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("pusher: metadata that JSON cannot hold is refused and nothing stored",
          "[pusher][conformance]") {
    Queue q;
    gqs::Message bad;
    std::string where;
    SECTION("NaN") {
        bad.set("x", std::nan(""));
        where = "/x (NaN)";
    }
    SECTION("infinity, deep inside") {
        bad.metadata = {{"a", {{"b/c", {1, 2, -std::numeric_limits<double>::infinity()}}}}};
        where = "/a/b~1c/2 (infinity)";
    }
    SECTION("+infinity at the top") {
        bad.metadata = std::numeric_limits<double>::infinity();
        where = "/ (infinity)";
    }
    SECTION("a binary value") {
        bad.metadata = {{"blob", nlohmann::json::binary({1, 2, 3})}};
        where = "/blob (binary)";
    }
    INFO(where);
    try {
        q.pusher.push(bad);
        FAIL("push accepted metadata with no JSON form");
    } catch (const std::invalid_argument& e) {
        CHECK(std::string(e.what()).find(where) != std::string::npos);
    }
    std::vector<gqs::Message> batch(3);
    batch[1] = bad;
    CHECK_THROWS_AS(q.pusher.push_batch(batch), std::invalid_argument);
    CHECK(q.observer.list(std::nullopt, 0).empty());
    // Finite floats are fine.
    gqs::Message fine;
    fine.set("x", 1e300);
    q.pusher.push(fine);
    CHECK(q.stored(fine.id).get<double>("x") == 1e300);
}

TEST_CASE("pusher: a duplicate id is refused and the original is kept", "[pusher][conformance]") {
    Queue q;
    auto m = q.push("first");
    gqs::Message again = m;
    again.payload = "second";
    CHECK_THROWS_AS(q.pusher.push(again), gqs::DuplicateJob);
    CHECK_THROWS_WITH(q.pusher.push(again), "gqs: job " + m.id.to_string() + " already exists");
    CHECK(q.stored(m.id).payload == "first");
    CHECK(q.observer.list(std::nullopt, 0).size() == 1);
}

TEST_CASE("pusher: push_batch stores all in one go", "[pusher][conformance]") {
    Queue q;
    std::vector<gqs::Message> batch(500);
    for (std::size_t i = 0; i < batch.size(); ++i)
        batch[i].payload = std::to_string(i);
    q.pusher.push_batch(batch, 5s);
    auto all = q.observer.list(gqs::Status::Pending, 0);
    REQUIRE(all.size() == 500);
    for (auto& job : all)
        CHECK(job.next_run_at - job.created_at == 5s);
    q.pusher.push_batch(std::span<const gqs::Message>{}); // empty: no-op
    CHECK(q.observer.list(std::nullopt, 0).size() == 500);
}

TEST_CASE("pusher: push_batch is all or nothing on a duplicate", "[pusher][conformance]") {
    Queue q;
    auto existing = q.push("existing");
    std::vector<gqs::Message> batch(10);
    SECTION("duplicate of a stored job") { batch[7].id = existing.id; }
    SECTION("duplicate inside the batch") { batch[9].id = batch[2].id; }
    // The same error, naming the id, on every backend.
    const auto repeated = batch[9].id == batch[2].id ? batch[9].id : existing.id;
    CHECK_THROWS_AS(q.pusher.push_batch(batch), gqs::DuplicateJob);
    CHECK_THROWS_WITH(q.pusher.push_batch(batch),
                      "gqs: job " + repeated.to_string() + " already exists");
    auto all = q.observer.list(std::nullopt, 0);
    REQUIRE(all.size() == 1);
    CHECK(all[0].id == existing.id);
    // The connection is usable afterwards (no transaction left open).
    std::vector<gqs::Message> fresh(2);
    q.pusher.push_batch(fresh);
    CHECK(q.observer.list(std::nullopt, 0).size() == 3);
}

TEST_CASE("pusher: metadata and payload round-trip exactly", "[pusher][observer][conformance]") {
    Queue q;
    gqs::Message m;
    m.metadata = nlohmann::json::parse(R"({"ключ":"値","deep":{"a":[1,2,{"b":null}],"t":true},
                                          "emoji":"🚀","n":-1.5})");
    std::string payload;
    SECTION("binary with NUL bytes") {
        for (int i = 0; i < 256; ++i)
            payload.push_back(static_cast<char>(i));
        payload += std::string("\0\0\0", 3);
    }
    SECTION("1 MiB") {
        payload.resize(1 << 20);
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>(i * 31 + 7);
    }
    SECTION("empty") {}
    m.payload = payload;
    q.pusher.push(m);
    auto job = q.stored(m.id);
    CHECK(job.metadata == m.metadata);
    CHECK(job.payload == payload);
    auto pulled = q.puller.pull(1, 10s);
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].payload == payload);
    CHECK(pulled[0].metadata == m.metadata);
}

TEST_CASE("pusher: null metadata stays null", "[pusher][conformance]") {
    Queue q;
    auto m = q.push();
    CHECK(q.stored(m.id).metadata.is_null());
}

TEST_CASE("pusher: threads pushing through one connection lose nothing",
          "[pusher][conformance][concurrency]") {
    Queue q;
    constexpr int threads = 4, each = 250;
    std::vector<std::thread> pool;
    std::atomic<int> errors{0};
    for (int t = 0; t < threads; ++t)
        pool.emplace_back([&] {
            for (int i = 0; i < each; ++i) {
                try {
                    gqs::Message m;
                    q.pusher.push(m);
                } catch (...) {
                    ++errors;
                }
            }
        });
    for (auto& th : pool)
        th.join();
    CHECK(errors == 0);
    CHECK(q.observer.list(gqs::Status::Pending, 0).size() == threads * each);
}
