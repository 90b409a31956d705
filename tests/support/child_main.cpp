// SPDX-License-Identifier: Apache-2.0
// A separate process for multi-process tests: `child pull DB LEASE_MS` leases jobs one at a
// time until the queue is empty and prints each leased id on its own line.
#include <gqs/sqlite.hpp>

#include <cstdio>
#include <iostream>
#include <string>

int main(int argc, char** argv) {
    try {
        std::string mode = argc > 1 ? argv[1] : "";
        if (mode == "pull" && argc == 4) {
            auto db = gqs::sqlite::Connection::open(argv[2]);
            gqs::sqlite::Puller puller(db);
            gqs::Duration lease(std::stoll(argv[3]));
            std::string out;
            while (true) {
                auto jobs = puller.pull(1, lease);
                if (jobs.empty()) break;
                for (const auto& job : jobs) out += job.id.to_string() + "\n";
            }
            std::fwrite(out.data(), 1, out.size(), stdout);
            return 0;
        }
        std::cerr << "usage: gqs_test_child pull DB LEASE_MS\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "gqs_test_child: " << e.what() << "\n";
        return 1;
    }
}
