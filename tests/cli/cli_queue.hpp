// SPDX-License-Identifier: Apache-2.0
// A database initialised by `gqs init` for the CLI's tests, and the library's view of it.
#pragma once

#include "support/catch.hpp"

#include "cli_runner.hpp"

#include <gqs/sqlite.hpp>

#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gqs::test {

/// A database initialised by `gqs init`, plus the library's view of the same file.
struct CliQueue {
    TempDb tmp;
    std::shared_ptr<sqlite::Connection> db;

    CliQueue() {
        auto r = run({"init"});
        if (r.status != 0) throw std::runtime_error("gqs init failed: " + r.err);
        db = sqlite::Connection::open(tmp.path());
    }

    /// `gqs --db <path> args...`
    CliResult run(std::vector<std::string> args, const CliInput& input = {}) const {
        args.insert(args.begin(), {"--db", tmp.path().string()});
        return run_cli(tmp.dir(), args, input);
    }

    /// `gqs --db <path> --json args...`, which must succeed; its output parsed.
    nlohmann::json run_json(std::vector<std::string> args) const {
        args.insert(args.begin(), "--json");
        auto r = run(std::move(args));
        INFO(r.err);
        REQUIRE(r.status == 0);
        return nlohmann::json::parse(r.out);
    }

    Message push(std::string payload = "p", Duration delay = {}) {
        Message m;
        m.payload = std::move(payload);
        return push(std::move(m), delay);
    }

    Message push(Message m, Duration delay = {}) {
        sqlite::Pusher(db).push(m, delay);
        return m;
    }

    Job pull() {
        auto jobs = sqlite::Puller(db).pull(1, std::chrono::hours(1));
        REQUIRE(jobs.size() == 1);
        return jobs.front();
    }

    Job dead_job() {
        push();
        auto job = pull();
        sqlite::Puller(db).kill(job);
        return job;
    }

    std::optional<Job> get(const Uuid& id) { return sqlite::Observer(db).get(id); }
};

inline Uuid id_of(const std::string& text) {
    auto id = Uuid::parse(text);
    REQUIRE(id.has_value());
    return *id;
}

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// `get` and `list` (text and --json) on a queue whose one job `id` has metadata `deep`,
/// nested deeper than a push accepts: each shows it as the raw text (a JSON string), never
/// parsed. Works on any queue with run() and run_json() (every backend's CLI tests).
template <class Queue>
void check_shows_raw_metadata(const Queue& q, const Uuid& id, const std::string& deep) {
    auto get = q.run({"get", id.to_string()});
    INFO(get.err);
    REQUIRE(get.status == 0);
    CHECK(contains(get.out, id.to_string()));
    CHECK(contains(get.out, "\"[[[["));
    auto list = q.run({"list"});
    INFO(list.err);
    REQUIRE(list.status == 0);
    CHECK(contains(list.out, id.to_string()));
    CHECK(contains(list.out, "\"[[[["));
    // Parenthesised: a failure must not print a value this deep.
    CHECK((q.run_json({"get", id.to_string()}).at("metadata") == deep));
    CHECK((q.run_json({"list"}).at("jobs").at(0).at("metadata") == deep));
}

} // namespace gqs::test
