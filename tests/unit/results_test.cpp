// SPDX-License-Identifier: Apache-2.0
// The Worker's handling of settle results: which failed results are stored again.
#include "support/catch.hpp"

#include "worker/results.hpp"

#include <string>
#include <vector>

using gqs::Action;
using gqs::SettleResult;
using gqs::SettleStatus;

TEST_CASE("results: a failed release or snooze is never stored again", "[unit][worker]") {
    // They take the attempt back: a retry after one that did commit could match the next
    // holder's lease. Complete, requeue and kill are fenced by an attempt only they hold.
    std::vector<gqs::detail::Finished> done;
    for (Action action :
         {Action::Complete, Action::Requeue, Action::Kill, Action::Release, Action::Snooze}) {
        gqs::detail::Finished f;
        f.lease.id = gqs::Uuid::generate();
        f.lease.attempts = 1;
        f.action = action;
        done.push_back(f);
    }
    SettleResult failed;
    failed.status = SettleStatus::StorageFailed;
    failed.error = "disk I/O error";
    std::vector<std::string> lines;
    const gqs::Logger logger = [&](gqs::LogLevel, std::string_view line) {
        lines.emplace_back(line);
    };
    auto again =
        gqs::detail::unsettled(done, std::vector<SettleResult>(done.size(), failed), logger, 3);
    REQUIRE(again.size() == 3);
    CHECK(again[0].action == Action::Complete);
    CHECK(again[1].action == Action::Requeue);
    CHECK(again[2].action == Action::Kill);
    for (const auto& f : again)
        CHECK(f.tries == 1);
}

TEST_CASE("results: a settle that storage turned Dead for a cancel is said so", "[unit][worker]") {
    gqs::detail::Finished f;
    f.lease.id = gqs::Uuid::generate();
    f.action = Action::Requeue;
    SettleResult dead;
    dead.cancelled = true;
    std::vector<std::string> lines;
    const gqs::Logger logger = [&](gqs::LogLevel, std::string_view line) {
        lines.emplace_back(line);
    };
    auto again = gqs::detail::unsettled({f}, {dead}, logger, 3);
    CHECK(again.empty());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("cancelled by an operator") != std::string::npos);
}
