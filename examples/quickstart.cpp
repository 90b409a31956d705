// SPDX-License-Identifier: Apache-2.0
// The smallest tour of gqs: push, pull, complete, requeue, kill, release, and look at the result.
#include <gqs/sqlite.hpp>

#include <filesystem>
#include <iostream>
#include <map>

int main(int argc, char** argv) {
    // A real file: the queue survives the process. Start fresh for the demo.
    std::filesystem::path path = argc > 1 ? argv[1] : "quickstart.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);

    auto db = gqs::sqlite::Connection::open(path); // WAL, busy_timeout 5 s, synchronous=NORMAL
    gqs::sqlite::init_db(*db);                     // idempotent

    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);

    // Producer: four jobs with JSON metadata and a binary-safe payload.
    for (int i = 0; i < 4; ++i) {
        gqs::Message m;
        m.set("kind", "email").set("n", i);
        m.payload = "hello #" + std::to_string(i);
        pusher.push(m);
    }

    // Worker side: lease all four jobs for 30 seconds each.
    auto jobs = puller.pull(4, std::chrono::seconds(30));
    std::cout << "pulled " << jobs.size() << " jobs\n";
    puller.complete(jobs[0]);                         // handled: Done
    puller.requeue(jobs[1], std::chrono::seconds(0)); // failed: Pending again, runnable now
    puller.kill(jobs[2]);                             // hopeless: Dead
    puller.release(jobs[3]); // never started: Pending again, attempts back to 0

    // What the Observer sees.
    std::map<gqs::Status, int> counts;
    for (const auto& job : observer.list(std::nullopt, 0)) {
        ++counts[job.status];
        std::cout << job.id.to_string() << "  " << gqs::to_string(job.status)
                  << "  attempts=" << job.attempts << "  n=" << job.get<int>("n").value_or(-1)
                  << "  payload=\"" << job.payload << "\"\n";
    }
    for (auto s :
         {gqs::Status::Pending, gqs::Status::Processing, gqs::Status::Done, gqs::Status::Dead})
        std::cout << gqs::to_string(s) << ": " << counts[s] << "\n";
    return 0;
}
