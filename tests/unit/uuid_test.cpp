// SPDX-License-Identifier: Apache-2.0
#include <gqs/uuid.hpp>

#include "support/catch.hpp"

#include <gqs/job.hpp>

#include <array>
#include <cstring>
#include <set>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

TEST_CASE("uuid: to_string is canonical lowercase and parse round-trips", "[uuid]") {
    auto id = gqs::Uuid::generate();
    auto text = id.to_string();
    REQUIRE(text.size() == 36);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            CHECK(text[i] == '-');
        } else {
            CHECK(((text[i] >= '0' && text[i] <= '9') || (text[i] >= 'a' && text[i] <= 'f')));
        }
    }
    auto back = gqs::Uuid::parse(text);
    REQUIRE(back.has_value());
    CHECK(*back == id);
}

TEST_CASE("uuid: generate has the UUIDv7 version and variant", "[uuid]") {
    auto id = gqs::Uuid::generate();
    CHECK((id.bytes()[6] >> 4) == 7);
    CHECK((id.bytes()[8] >> 6) == 2);
    CHECK(id.to_string()[14] == '7');
}

TEST_CASE("uuid: parse accepts upper case and rejects malformed text", "[uuid]") {
    auto id = gqs::Uuid::parse("0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B");
    REQUIRE(id.has_value());
    CHECK(id->to_string() == "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
    auto bad =
        GENERATE(as<std::string>{}, "", "0190a1b2c3d47e5f8a9b0c1d2e3f4a5b",
                 "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5bb",
                 "0190a1b2-c3d4-7e5f-8a9b_0c1d2e3f4a5b", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5g",
                 "{0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b}", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5 ");
    CHECK_FALSE(gqs::Uuid::parse(bad).has_value());
}

TEST_CASE("uuid: ids from one thread strictly increase", "[uuid]") {
    auto prev = gqs::Uuid::generate();
    for (int i = 0; i < 100000; ++i) {
        auto next = gqs::Uuid::generate();
        REQUIRE(prev < next);
        prev = next;
    }
}

TEST_CASE("uuid: ids from many threads are unique and hash well", "[uuid]") {
    constexpr int threads = 4, per_thread = 20000;
    std::vector<std::vector<gqs::Uuid>> made(threads);
    {
        std::vector<std::thread> pool;
        for (int t = 0; t < threads; ++t)
            pool.emplace_back([&, t] {
                for (int i = 0; i < per_thread; ++i)
                    made[static_cast<std::size_t>(t)].push_back(gqs::Uuid::generate());
            });
        for (auto& th : pool)
            th.join();
    }
    std::unordered_set<gqs::Uuid> all;
    std::set<std::size_t> hashes;
    for (auto& v : made)
        for (auto& id : v) {
            all.insert(id);
            hashes.insert(std::hash<gqs::Uuid>{}(id));
        }
    CHECK(all.size() == threads * per_thread);
    CHECK(hashes.size() > threads * per_thread * 99 / 100);
}

TEST_CASE("uuid: ordering is byte-wise and the nil id is smallest", "[uuid]") {
    gqs::Uuid nil;
    CHECK(nil.is_nil());
    auto a = *gqs::Uuid::parse("00000000-0000-0000-0000-000000000001");
    auto b = *gqs::Uuid::parse("00000000-0000-0000-0000-000000000100");
    auto c = *gqs::Uuid::parse("ff000000-0000-0000-0000-000000000000");
    CHECK(nil < a);
    CHECK(a < b);
    CHECK(b < c);
    CHECK_FALSE(a.is_nil());
    CHECK(a != b);
}

namespace {

// Forks a child that waits for a byte on `go`, then writes `count` fresh ids to `out`.
pid_t fork_id_maker(int go, int out, int count) {
    const pid_t pid = ::fork();
    if (pid != 0) return pid;
    char byte = 0;
    int status = ::read(go, &byte, 1) == 1 ? 0 : 1;
    for (int i = 0; i < count && status == 0; ++i) {
        const auto id = gqs::Uuid::generate();
        if (::write(out, id.bytes().data(), id.bytes().size()) != 16) status = 1;
    }
    ::_exit(status);
}

} // namespace

TEST_CASE("uuid: children forked after an id was made draw different ids in the same moment",
          "[uuid]") {
    // The parent has made an id (as decoding a row once did), so its thread's state exists
    // and every child inherits it.
    (void)gqs::Uuid::generate();
    constexpr int children = 2, per_child = 64;
    int go[2], out[children][2];
    REQUIRE(::pipe(go) == 0);
    std::array<pid_t, children> pids{};
    for (int c = 0; c < children; ++c) {
        REQUIRE(::pipe(out[c]) == 0);
        pids[static_cast<std::size_t>(c)] = fork_id_maker(go[0], out[c][1], per_child);
        REQUIRE(pids[static_cast<std::size_t>(c)] > 0);
        ::close(out[c][1]);
    }
    // Both children start at once (one write each), so most ids fall in the same millisecond.
    REQUIRE(::write(go[1], "xx", 2) == 2);
    std::vector<std::vector<gqs::Uuid>> made(children);
    for (int c = 0; c < children; ++c) {
        gqs::Uuid::Bytes raw{};
        std::size_t got = 0;
        while (true) {
            const auto n = ::read(out[c][0], raw.data() + got, raw.size() - got);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
            if (got == raw.size()) {
                made[static_cast<std::size_t>(c)].emplace_back(raw);
                got = 0;
            }
        }
        ::close(out[c][0]);
        int status = 0;
        REQUIRE(::waitpid(pids[static_cast<std::size_t>(c)], &status, 0) > 0);
        REQUIRE(WIFEXITED(status));
        REQUIRE(WEXITSTATUS(status) == 0);
    }
    ::close(go[0]);
    ::close(go[1]);
    REQUIRE(made[0].size() == per_child);
    REQUIRE(made[1].size() == per_child);
    // The 62 random bits (bytes 8-15) must differ whatever the clock did: a shared generator
    // state gives the same sequence in both children.
    std::set<std::array<std::uint8_t, 8>> tails;
    std::set<gqs::Uuid> all;
    for (const auto& ids : made)
        for (const auto& id : ids) {
            std::array<std::uint8_t, 8> tail{};
            std::memcpy(tail.data(), id.bytes().data() + 8, tail.size());
            tails.insert(tail);
            all.insert(id);
        }
    CHECK(all.size() == children * per_child);
    CHECK(tails.size() == children * per_child);
}

TEST_CASE("uuid: an empty Job has the nil id (reading a row generates none)", "[uuid]") {
    const gqs::Job job;
    CHECK(job.id.is_nil());
    CHECK_FALSE(gqs::Message{}.id.is_nil());
}
