// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the tests: temp databases, condition waits, child processes.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace gqs::test {

/// A fresh directory under the temp dir holding one database path; removes the directory
/// (database, -wal, -shm and anything else a test put there) when destroyed.
class TempDb {
public:
    TempDb();
    ~TempDb();
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
    /// The database file's path (the file does not exist until something opens it).
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    /// The directory, for other files the test needs.
    [[nodiscard]] const std::filesystem::path& dir() const noexcept { return dir_; }

private:
    std::filesystem::path dir_;
    std::filesystem::path path_;
};

/// Polls `predicate` until it returns true or `timeout` passes; returns its last result.
/// The timeout is a deadline against hangs, never an expectation about speed.
bool wait_until(const std::function<bool()>& predicate,
                std::chrono::milliseconds timeout = std::chrono::seconds(30));

/// A child process started from `program` with `args`, stdout redirected to a file.
struct Child {
    pid_t pid = -1;
    std::filesystem::path output;
};

/// Starts the program (argv[0] = program) with stdout and stderr to `output`.
Child spawn(const std::string& program, const std::vector<std::string>& args,
            const std::filesystem::path& output);

/// Waits for the child; returns its exit status (128 + signal number if it was killed).
int wait_child(const Child& child);

/// Reads a whole file into a string ("" if it does not exist).
std::string read_file(const std::filesystem::path& path);

/// `prefix` followed by `n` in decimal ("k" + std::to_string(n) makes GCC 12 warn, -Wrestrict).
inline std::string numbered(std::string prefix, long n) {
    prefix += std::to_string(n);
    return prefix;
}

/// Splits text into lines (without the newlines), skipping empty ones.
std::vector<std::string> lines(const std::string& text);

/// Path of the gqs_test_child helper program.
inline const char* child_program() { return GQS_TEST_CHILD; }

} // namespace gqs::test
