// SPDX-License-Identifier: Apache-2.0
// The CLI's tests: the backend's fresh queue (support/queue.hpp) and the `gqs` tool run on it.
#pragma once

#include "support/catch.hpp"
#include "support/queue.hpp"

#include "cli_runner.hpp"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gqs::test {

/// The exit statuses of the tool: a command that failed, and a usage error.
inline constexpr int cli_failed = 1;
inline constexpr int cli_usage = 2;

inline bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

/// The contract of every failure: the exit status, nothing on stdout, exactly one line on
/// stderr that starts with "gqs: error: " and says what went wrong (holds `fragment`).
inline void check_failure(const CliResult& r, int status, const std::string& fragment) {
    INFO("stdout: " << r.out);
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("gqs: error: ", 0) == 0);
    CHECK(contains(r.err, fragment));
    REQUIRE(!r.err.empty());
    CHECK(r.err.back() == '\n');
    CHECK(r.err.find('\n') == r.err.size() - 1);
}

/// A fresh queue of the backend under test (initialised, empty), the library's view of it,
/// and `gqs` run on it. `files` holds the tool's stdin, stdout and stderr files and any file
/// a test passes to it.
struct CliQueue : Queue {
    TempDb files;

    /// `gqs --db <db> [--schema <name>] args...`
    [[nodiscard]] CliResult run(std::vector<std::string> args, const CliInput& input = {}) const {
        auto target = backend->target_args();
        args.insert(args.begin(), target.begin(), target.end());
        return run_cli(files.dir(), args, input);
    }

    /// `gqs` with exactly these arguments (no --db): the test names the queue itself.
    [[nodiscard]] CliResult run_bare(const std::vector<std::string>& args,
                                     const CliInput& input = {}) const {
        return run_cli(files.dir(), args, input);
    }

    /// run({"--json", args...}), which must succeed; its output parsed.
    [[nodiscard]] nlohmann::json run_json(std::vector<std::string> args) const {
        args.insert(args.begin(), "--json");
        auto r = run(std::move(args));
        INFO(r.err);
        REQUIRE(r.status == 0);
        return nlohmann::json::parse(r.out);
    }

    std::optional<Job> get(const Uuid& id) { return observer.get(id); }
};

inline Uuid id_of(const std::string& text) {
    auto id = Uuid::parse(text);
    REQUIRE(id.has_value());
    return *id;
}

/// The line of `text` that starts with `start`, or "" when there is none.
inline std::string line_starting(const std::string& text, const std::string& start) {
    for (const auto& line : lines(text)) {
        if (line.rfind(start, 0) == 0) return line;
    }
    return {};
}

/// The ids of a `list --json` page, in order.
inline std::vector<std::string> listed_ids(const nlohmann::json& page) {
    std::vector<std::string> ids;
    for (const auto& job : page.at("jobs"))
        ids.push_back(job.at("id").get<std::string>());
    return ids;
}

} // namespace gqs::test
