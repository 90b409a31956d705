// SPDX-License-Identifier: Apache-2.0
// Conformance: unique keys (docs/design.md section 7, "Queues, priorities, unique keys, error
// history, snooze and cancel"). A key is held by a live (Pending or Processing) job of its
// queue; a push with a held key stores nothing and names the holder.
#include "support/catch.hpp"
#include "support/queue.hpp"
#include "support/sync.hpp"

#include <atomic>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::Queue;

namespace {

gqs::Message keyed(std::string key, std::string queue = "default") {
    gqs::Message m;
    m.unique_key = std::move(key);
    m.queue = std::move(queue);
    return m;
}

} // namespace

TEST_CASE("unique keys: a live holder turns a push into a duplicate", "[unique][conformance]") {
    Queue q;
    auto first = keyed("k");
    auto r1 = q.pusher.push(first);
    CHECK(r1 == gqs::PushResult{first.id, false});
    auto second = keyed("k");
    auto r2 = q.pusher.push(second);
    CHECK(r2.duplicate);
    CHECK(r2.id == first.id);
    CHECK_FALSE(q.observer.get(second.id).has_value()); // nothing stored
    CHECK(q.stored(first.id).unique_key == std::optional<std::string>("k"));
    // Another queue, or no key: not a duplicate.
    CHECK_FALSE(q.pusher.push(keyed("k", "other")).duplicate);
    CHECK_FALSE(q.pusher.push(gqs::Message{}).duplicate);
    // A Processing holder still holds it.
    auto leased = q.puller.pull(1, 1h);
    REQUIRE(leased.size() == 1);
    REQUIRE(leased[0].id == first.id);
    CHECK(q.pusher.push(keyed("k")) == gqs::PushResult{first.id, true});
}

TEST_CASE("unique keys: a Done or Dead holder frees the key", "[unique][conformance]") {
    Queue q;
    auto first = keyed("k");
    q.pusher.push(first);
    auto jobs = q.puller.pull(1, 1h);
    REQUIRE(jobs.size() == 1);
    const bool complete = GENERATE(true, false);
    if (complete) {
        q.puller.complete(jobs[0]);
    } else {
        q.puller.kill(jobs[0]);
    }
    auto again = keyed("k");
    CHECK(q.pusher.push(again) == gqs::PushResult{again.id, false});
    CHECK(q.stored(again.id).status == Status::Pending);
}

TEST_CASE("unique keys: inside one push_batch the second message with a key is a duplicate",
          "[unique][conformance]") {
    Queue q;
    std::vector<gqs::Message> batch{keyed("k"), keyed("k"), keyed("j"), keyed("k", "other"),
                                    gqs::Message{}};
    auto results = q.pusher.push_batch(batch);
    REQUIRE(results.size() == batch.size());
    CHECK(results[0] == gqs::PushResult{batch[0].id, false});
    CHECK(results[1] == gqs::PushResult{batch[0].id, true});
    CHECK(results[2] == gqs::PushResult{batch[2].id, false});
    CHECK(results[3] == gqs::PushResult{batch[3].id, false});
    CHECK(results[4] == gqs::PushResult{batch[4].id, false});
    CHECK(q.observer.list(std::nullopt, 0).size() == 4);
    // A batch that fails stores nothing, its keyed messages included.
    std::vector<gqs::Message> failing{keyed("new"), batch[4]}; // batch[4]'s id exists
    CHECK_THROWS_AS(q.pusher.push_batch(failing), gqs::DuplicateJob);
    CHECK_FALSE(q.observer.get(failing[0].id).has_value());
    CHECK_FALSE(q.pusher.push(keyed("new")).duplicate);
}

TEST_CASE("unique keys: a duplicate id is still DuplicateJob; a held key is checked first",
          "[unique][conformance]") {
    Queue q;
    auto m = keyed("k");
    q.pusher.push(m);
    auto same_id = keyed("other-key");
    same_id.id = m.id;
    CHECK_THROWS_AS(q.pusher.push(same_id), gqs::DuplicateJob);
    gqs::Message no_key;
    no_key.id = m.id;
    CHECK_THROWS_AS(q.pusher.push(no_key), gqs::DuplicateJob);
    // The same message pushed again: its key is held (by itself), so it is a duplicate.
    CHECK(q.pusher.push(m) == gqs::PushResult{m.id, true});
}

TEST_CASE("unique keys: retrying a dead job whose key is held again is a UniqueConflict",
          "[unique][admin][conformance]") {
    Queue q;
    auto dead = keyed("k");
    q.pusher.push(dead);
    auto jobs = q.puller.pull(1, 1h);
    REQUIRE(jobs.size() == 1);
    q.puller.kill(jobs[0]);
    auto live = keyed("k");
    REQUIRE_FALSE(q.pusher.push(live).duplicate);
    CHECK_THROWS_AS(q.admin.retry(dead.id), gqs::UniqueConflict);
    CHECK(q.stored(dead.id).status == Status::Dead);
    CHECK(q.admin.retry_all_dead() == 0); // skipped, not failed
    CHECK(q.stored(dead.id).status == Status::Dead);
    // Once the live job is done the key is free, and the retry goes through.
    auto pulled = q.puller.pull(1, 1h);
    REQUIRE(pulled.size() == 1);
    q.puller.complete(pulled[0]);
    q.admin.retry(dead.id);
    CHECK(q.stored(dead.id).status == Status::Pending);
    CHECK(q.pusher.push(keyed("k")) == gqs::PushResult{dead.id, true});
}

TEST_CASE("unique keys: threads pushing the same keys at once store one job per key",
          "[unique][concurrency][conformance]") {
    Queue q;
    auto second = q.open_second();
    constexpr int threads = 4, keys = 50;
    std::vector<std::vector<gqs::PushResult>> results(threads);
    {
        // Declared before the threads, so they outlive them (jthreads join when destroyed).
        gqs::test::Counter ready;
        std::atomic<bool> go{false};
        std::vector<std::jthread> pushers;
        for (int t = 0; t < threads; ++t) {
            gqs::Pusher& pusher = t % 2 == 0 ? q.pusher : second->pusher();
            pushers.emplace_back([&, t, &pusher = pusher] {
                ready.bump();
                while (!go.load())
                    std::this_thread::yield();
                for (int k = 0; k < keys; ++k)
                    results[static_cast<std::size_t>(t)].push_back(
                        pusher.push(keyed("key-" + std::to_string(k))));
            });
        }
        const bool all_ready = ready.wait_for(threads);
        go = true; // before any REQUIRE: the threads must not spin forever
        REQUIRE(all_ready);
    }
    std::map<int, std::set<gqs::Uuid>> ids_per_key;
    int stored = 0;
    for (const auto& mine : results) {
        REQUIRE(mine.size() == static_cast<std::size_t>(keys));
        for (int k = 0; k < keys; ++k) {
            ids_per_key[k].insert(mine[static_cast<std::size_t>(k)].id);
            if (!mine[static_cast<std::size_t>(k)].duplicate) ++stored;
        }
    }
    CHECK(stored == keys);
    for (const auto& [key, ids] : ids_per_key) {
        INFO("key-" << key);
        CHECK(ids.size() == 1); // every pusher was told the same holder
    }
    CHECK(q.observer.list(std::nullopt, 0).size() == static_cast<std::size_t>(keys));
    second.reset();
}
