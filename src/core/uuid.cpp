// SPDX-License-Identifier: Apache-2.0
// Uuid::generate: compiled once here, so <random> stays out of every user's file.
#include <gqs/uuid.hpp>

#include <atomic>
#include <chrono>
#include <pthread.h>
#include <random>
#include <unistd.h>

namespace gqs {

namespace {

// Bumped in every child process right after fork(). A child inherits its parent's
// thread-local generator state; without a reseed, two children of one parent would draw the
// same "random" bits and, in the same millisecond, make the same id.
std::atomic<std::uint64_t> fork_generation{0};

const bool fork_handler_installed = []() noexcept {
    return ::pthread_atfork(nullptr, nullptr,
                            [] { fork_generation.fetch_add(1, std::memory_order_relaxed); }) == 0;
}();

std::mt19937_64 fresh_generator() {
    std::random_device rd;
    // The pid too: should random_device ever be a deterministic engine, processes still differ.
    const auto pid = static_cast<std::uint32_t>(::getpid());
    std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd(), pid};
    return std::mt19937_64(seq);
}

} // namespace

Uuid Uuid::generate() {
    // Per-thread state keeps generate() lock-free; the 62 random bits keep threads apart.
    struct State {
        std::mt19937_64 rng = fresh_generator();
        std::uint64_t generation = fork_generation.load(std::memory_order_relaxed);
        std::uint64_t last_ms = 0;
        std::uint16_t counter = 0;
    };
    thread_local State state;
    (void)fork_handler_installed;

    if (const auto now_generation = fork_generation.load(std::memory_order_relaxed);
        now_generation != state.generation) {
        // This process was forked since the state was seeded: the parent (and every sibling)
        // holds the same state, so start over from fresh entropy.
        state.rng = fresh_generator();
        state.generation = now_generation;
    }

    auto now = std::chrono::system_clock::now().time_since_epoch();
    auto ms = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::milliseconds>(now).count());
    if (ms > state.last_ms) {
        state.last_ms = ms;
        // Start the 12-bit counter low but random, leaving room to count up within the ms.
        state.counter = static_cast<std::uint16_t>(state.rng() & 0x3FF);
    } else if (++state.counter > 0xFFF) {
        // Counter exhausted (4096 ids in one ms) or clock went back: borrow the next ms.
        ++state.last_ms;
        state.counter = 0;
    }
    ms = state.last_ms;

    Bytes b{};
    for (int i = 0; i < 6; ++i)
        b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
    b[6] = static_cast<std::uint8_t>(0x70 | ((state.counter >> 8) & 0x0F));
    b[7] = static_cast<std::uint8_t>(state.counter & 0xFF);
    std::uint64_t r = state.rng();
    for (int i = 8; i < 16; ++i)
        b[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(r >> (8 * (i - 8)));
    b[8] = static_cast<std::uint8_t>(0x80 | (b[8] & 0x3F));
    return Uuid(b);
}

} // namespace gqs
