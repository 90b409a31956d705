// SPDX-License-Identifier: Apache-2.0
// `gqs push` from an operator's shell wakes an idle worker in another process at once.
#include "support/catch.hpp"
#include "support/sync.hpp"

#include "cli_queue.hpp"

#include <gqs/worker.hpp>

#include <chrono>

TEST_CASE("cli: a job pushed with `gqs push` starts on an idle worker without waiting for "
          "its poll",
          "[cli][wakeup][process]") {
    gqs::test::CliQueue q;
    gqs::test::Counter started;
    gqs::WorkerConfig config;
    config.pull_interval = std::chrono::minutes(10); // a poll cannot explain the start
    gqs::Worker worker(
        q.puller, [&](const gqs::Job&, std::stop_token) { started.bump(); }, config);
    worker.start();
    for (int i = 1; i <= 2; ++i) {
        auto r = q.run({"push", "--payload", "from the shell"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        REQUIRE(started.wait_for(i)); // the deadline (30 s) is far below pull_interval
    }
    worker.stop(std::chrono::seconds(30));
}
