// SPDX-License-Identifier: Apache-2.0
// The program every consumer project builds: push one job, pull it, complete it, and ask for a
// fire time in a named zone (gqs::core links libdate-tz, which the consumer must get too).
#include <gqs/sqlite.hpp>

#include <chrono>
#include <filesystem>
#include <iostream>

int main(int argc, char** argv) {
    std::filesystem::path path = argc > 1 ? argv[1] : "consumer.db";
    std::filesystem::remove(path);
    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    gqs::sqlite::Pusher(db).push(gqs::Message{});
    gqs::sqlite::Puller puller(db);
    auto jobs = puller.pull(1, std::chrono::seconds(10));
    if (jobs.size() != 1) return 1;
    puller.complete(jobs[0]);
    const gqs::TimePoint monday = std::chrono::sys_days(std::chrono::year(2026) / 3 / 30);
    const auto fire = gqs::next_fire("30 2 * * *", "Europe/Berlin", monday);
    if (!fire || *fire != monday + std::chrono::minutes(30)) return 1; // 02:30 CEST
    std::cout << "consumer ok (gqs " << gqs::version_string << ")\n";
    return 0;
}
