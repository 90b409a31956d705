// SPDX-License-Identifier: Apache-2.0
// The Worker's handling of settle results: which failed results are stored again.
#include "support/catch.hpp"

#include "worker/results.hpp"

#include <algorithm>
#include <chrono>
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
    auto again = gqs::detail::unsettled(done, std::vector<SettleResult>(done.size(), failed),
                                        logger, std::chrono::steady_clock::now(), false);
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
    auto again =
        gqs::detail::unsettled({f}, {dead}, logger, std::chrono::steady_clock::now(), false);
    CHECK(again.empty());
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].find("cancelled by an operator") != std::string::npos);
}

TEST_CASE("results: a failed result is tried again only while its lease lasts and the worker "
          "has not given up",
          "[unit][worker]") {
    const auto now = std::chrono::steady_clock::now();
    gqs::detail::Finished f;
    f.lease.id = gqs::Uuid::generate();
    f.action = Action::Complete;
    SettleResult failed;
    failed.status = SettleStatus::StorageFailed;
    failed.error = "server closed the connection";
    std::vector<std::string> lines;
    const gqs::Logger logger = [&](gqs::LogLevel, std::string_view line) {
        lines.emplace_back(line);
    };
    f.expires = now + std::chrono::seconds(1);
    f.tries = 7; // many tries so far: the lease decides, not a count
    CHECK(gqs::detail::unsettled({f}, {failed}, logger, now, false).size() == 1);
    CHECK(gqs::detail::unsettled({f}, {failed}, logger, now, true).empty());
    f.expires = now;
    CHECK(gqs::detail::unsettled({f}, {failed}, logger, now, false).empty());
    CHECK(std::count_if(lines.begin(), lines.end(), [](const std::string& l) {
              return l.find("left Processing") != std::string::npos;
          }) == 2);
}
