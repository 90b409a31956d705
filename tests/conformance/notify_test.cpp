// SPDX-License-Identifier: Apache-2.0
// Conformance: Puller::on_push (notifications, Subscription::reset) and Puller::has_ready.
#include "support/catch.hpp"
#include "support/queue.hpp"

#include <atomic>
#include <thread>

using namespace std::chrono_literals;
using gqs::test::Queue;

// A backend states what it can do (PullerCapabilities); what it says it cannot do is held to
// the interface's fallback promise instead.
TEST_CASE("capabilities: what a backend cannot do it does not fake", "[notify][conformance]") {
    Queue q;
    const auto caps = q.puller.capabilities();
    if (!caps.push_notifications) {
        std::atomic<int> calls{0};
        auto sub = q.puller.on_push([&] { ++calls; });
        q.push();
        CHECK(calls == 0);
    }
    if (!caps.cheap_ready_check) CHECK(q.puller.has_ready()); // always true, even when empty
    SUCCEED("push notifications: " << caps.push_notifications
                                   << ", cheap ready check: " << caps.cheap_ready_check);
}

TEST_CASE("notify: a push wakes subscribers of the same connection", "[notify][conformance]") {
    Queue q;
    if (!q.puller.capabilities().push_notifications) {
        WARN("this backend has no push notifications");
        return;
    }
    std::atomic<int> calls{0};
    auto sub = q.puller.on_push([&] { ++calls; });
    q.push();
    CHECK(calls == 1);
    std::vector<gqs::Message> msgs(5);
    q.pusher.push_batch(msgs);
    CHECK(calls == 2); // one notification per committed push call
    gqs::Message dup;
    q.pusher.push(dup);
    CHECK_THROWS_AS(q.pusher.push(dup), gqs::DuplicateJob);
    CHECK(calls == 3); // a failed push does not notify
    sub.reset();
    q.push();
    CHECK(calls == 3);
}

TEST_CASE("notify: reset waits for a running callback and stops later ones",
          "[notify][conformance]") {
    Queue q;
    if (!q.puller.capabilities().push_notifications) {
        WARN("this backend has no push notifications");
        return;
    }
    std::atomic<bool> in_callback{false}, release{false};
    std::atomic<int> calls{0};
    auto sub = q.puller.on_push([&] {
        ++calls;
        in_callback = true;
        while (!release)
            std::this_thread::yield();
        in_callback = false;
    });
    std::thread pusher([&] { q.push(); });
    REQUIRE(gqs::test::wait_until([&] { return in_callback.load(); }));
    std::atomic<bool> reset_done{false};
    std::thread resetter([&] {
        sub.reset();
        reset_done = true;
    });
    // reset must not return while the callback runs. A broken reset returns within
    // microseconds; a correct one never does, however long we look.
    CHECK_FALSE(gqs::test::wait_until([&] { return reset_done.load(); }, 200ms));
    release = true;
    pusher.join();
    resetter.join();
    CHECK_FALSE(in_callback.load());
    q.push();
    CHECK(calls == 1);
}

TEST_CASE("has_ready: answers from a read, for pending and expired leases",
          "[puller][conformance]") {
    Queue q;
    if (!q.puller.capabilities().cheap_ready_check) {
        WARN("this backend has no cheap ready check");
        return;
    }
    CHECK_FALSE(q.puller.has_ready());
    q.push("later", 1h);
    CHECK_FALSE(q.puller.has_ready());
    q.push("now");
    CHECK(q.puller.has_ready());
    auto job = q.puller.pull(1, 20ms);
    REQUIRE(job.size() == 1);
    CHECK_FALSE(q.puller.has_ready());                                    // leased, lease running
    REQUIRE(gqs::test::wait_until([&] { return q.puller.has_ready(); })); // lease expired
}
