// SPDX-License-Identifier: Apache-2.0
// The program every consumer project builds: push one job, pull it, complete it.
#include <gqs/sqlite.hpp>

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
    std::cout << "consumer ok (gqs " << gqs::version_string << ")\n";
    return 0;
}
