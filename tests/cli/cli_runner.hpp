// SPDX-License-Identifier: Apache-2.0
// Runs the `gqs` tool as a child process with its own stdin, stdout and stderr files.
#pragma once

#include "support/test_support.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace gqs::test {

/// Path of the gqs tool under test.
inline const char* cli_program() { return GQS_CLI_PATH; }

/// What a run of the tool left behind.
struct CliResult {
    int status = -1;
    std::string out;
    std::string err;
};

/// Options of one run: standard input text, extra environment entries ("NAME=value").
struct CliInput {
    std::optional<std::string> stdin_text;
    std::vector<std::string> env;
};

/// Runs `gqs args...` with its files in `dir`, waits, returns exit status and output.
/// GQS_DB from the test's own environment is never passed on.
inline CliResult run_cli(const std::filesystem::path& dir, const std::vector<std::string>& args,
                         const CliInput& input = {}) {
    static std::atomic<unsigned> counter{0};
    const auto n = std::to_string(counter++);
    const auto in_path = dir / ("cli-" + n + ".in");
    const auto out_path = dir / ("cli-" + n + ".out");
    const auto err_path = dir / ("cli-" + n + ".err");
    {
        std::ofstream in(in_path, std::ios::binary);
        if (input.stdin_text) in << *input.stdin_text;
    }

    std::vector<std::string> all{cli_program()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all)
        argv.push_back(a.data());
    argv.push_back(nullptr);

    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) {
        if (std::strncmp(*e, "GQS_DB=", 7) != 0) env_strings.emplace_back(*e);
    }
    env_strings.insert(env_strings.end(), input.env.begin(), input.env.end());
    std::vector<char*> envp;
    for (auto& e : env_strings)
        envp.push_back(e.data());
    envp.push_back(nullptr);

    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, all[0].c_str(), &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) throw std::system_error(rc, std::generic_category(), "posix_spawn gqs");

    CliResult result;
    result.status = wait_child(Child{pid, out_path});
    result.out = read_file(out_path);
    result.err = read_file(err_path);
    return result;
}

} // namespace gqs::test
