// SPDX-License-Identifier: Apache-2.0
// Conformance: Pusher (push, push_batch, delays, bad input, round trips).
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <gqs/json.hpp>

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
    CHECK_THROWS_AS(bad_utf8.set("k", std::string("\xff\xfe")), std::invalid_argument);
    bad_utf8.metadata = "{\"k\":\"\xff\xfe\"}"; // the text written by hand: push refuses it
    CHECK_THROWS_AS(q.pusher.push(bad_utf8), std::invalid_argument);
    CHECK(q.observer.list(std::nullopt, 0).empty());
}

TEST_CASE("pusher: metadata that is not JSON text is refused and nothing stored",
          "[pusher][conformance]") {
    Queue q;
    gqs::Message bad;
    // NaN and infinities have no JSON text: set refuses them (and so does
    // gqs::set_metadata_json, with where they are); as text they are not JSON.
    CHECK_THROWS_AS(bad.set("x", std::nan("")), std::invalid_argument);
    CHECK_THROWS_AS(bad.set("x", std::numeric_limits<double>::infinity()), std::invalid_argument);
    CHECK(bad.metadata.empty());
    bad.metadata = GENERATE(as<std::string>{}, R"({"x":NaN})", R"({"x":Infinity})", "{\"x\":1e400}",
                            "{", "{} {}", "'x'", " ", std::string("{}\0", 3));
    INFO(bad.metadata);
    const std::string expected =
        "gqs: metadata of job " + bad.id.to_string() + " is not JSON text (UTF-8): ";
    std::string why;
    try {
        q.pusher.push(bad);
        FAIL("push accepted metadata that is not JSON");
    } catch (const std::invalid_argument& e) {
        why = e.what();
    }
    CHECK(why.starts_with(expected));
    std::vector<gqs::Message> batch(3);
    batch[1] = bad;
    CHECK_THROWS_WITH(q.pusher.push_batch(batch), why);
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
    m.metadata = R"({"ключ":"値","deep":{"a":[1,2,{"b":null}],"t":true},
                    "emoji":"🚀","n":-1.5})";
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
    // The same JSON value; the text only on SQLite (PostgreSQL's jsonb reformats it).
    CHECK(gqs::metadata_json(job) == gqs::metadata_json(m));
    CHECK(job.get<std::string>("emoji") == "🚀");
    CHECK(job.payload == payload);
    auto pulled = q.puller.pull(1, 10s);
    REQUIRE(pulled.size() == 1);
    CHECK(pulled[0].payload == payload);
    CHECK(gqs::metadata_json(pulled[0]) == gqs::metadata_json(m));
    CHECK(pulled[0].get<double>("n") == -1.5);
}

TEST_CASE("pusher: no metadata stays none; null is stored as none", "[pusher][conformance]") {
    Queue q;
    auto m = q.push();
    CHECK(q.stored(m.id).metadata.empty());
    gqs::Message null;
    null.metadata = GENERATE(as<std::string>{}, "null", " null\n");
    q.pusher.push(null);
    CHECK(q.stored(null.id).metadata.empty());
    const auto pulled = q.puller.pull(2, 10s);
    REQUIRE(pulled.size() == 2);
    for (const auto& job : pulled)
        CHECK(job.metadata.empty());
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
