// SPDX-License-Identifier: Apache-2.0
// The seam between the suites written once (conformance, CLI) and a backend: what a
// backend's factory provides.
#pragma once

#include <gqs/interfaces.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// The suites written once (tests/conformance/*_test.cpp, tests/cli/*_test.cpp) use this
// header and never name a backend. Each backend has one factory file that defines
// make_backend() (support/sqlite_backend.cpp is the model); tests/CMakeLists.txt links it
// into one program per suite: gqs_add_backend_tests(<suite> <backend> ...).
namespace gqs::test {

/// The interface objects on one connection to a queue, as one process holds them. The
/// objects live as long as the Session and are safe to use from several threads at once
/// (the suite's thread tests share one Session between threads).
class Session {
public:
    Session() = default;
    virtual ~Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&&) = delete;
    Session& operator=(Session&&) = delete;

    [[nodiscard]] virtual Pusher& pusher() = 0;
    [[nodiscard]] virtual Puller& puller() = 0;
    [[nodiscard]] virtual Observer& observer() = 0;
    [[nodiscard]] virtual Cleaner& cleaner() = 0;
    [[nodiscard]] virtual Admin& admin() = 0;
};

/// A Session over a backend's own classes, each built from one shared Connection.
template <class Connection, class PusherT, class PullerT, class ObserverT, class CleanerT,
          class AdminT>
class SessionOf final : public Session {
public:
    explicit SessionOf(std::shared_ptr<Connection> connection)
        : connection_(std::move(connection)), pusher_(connection_), puller_(connection_),
          observer_(connection_), cleaner_(connection_), admin_(connection_) {}

    Pusher& pusher() override { return pusher_; }
    Puller& puller() override { return puller_; }
    Observer& observer() override { return observer_; }
    Cleaner& cleaner() override { return cleaner_; }
    Admin& admin() override { return admin_; }

private:
    std::shared_ptr<Connection> connection_;
    PusherT pusher_;
    PullerT puller_;
    ObserverT observer_;
    CleanerT cleaner_;
    AdminT admin_;
};

/// A queue owned by one test: initialised and empty when made, and gone (with every file or
/// schema it used) when destroyed. Its own interface objects are the test's first Session.
class Backend : public Session {
public:
    /// Another, independent Session on a connection of its own to the same queue, as
    /// another process would have: the fencing and "never share a lease" tests pull through
    /// both. The test destroys it before the Backend.
    [[nodiscard]] virtual std::unique_ptr<Session> open_second() = 0;

    // What a program outside the test (the `gqs` tool) needs to reach the same queue.

    /// The `--db` value (a file path, a conninfo string).
    [[nodiscard]] virtual std::string db() const = 0;
    /// The options after `--db <db()>` that pick this queue there (e.g. `--schema NAME`).
    [[nodiscard]] virtual std::vector<std::string> db_options() const = 0;
    /// How the tool prints `--db <db> <db_options>` back (in "next page: gqs ..."), or ""
    /// when it may print less of it (a password it leaves out).
    [[nodiscard]] virtual std::string printed_target() const = 0;
    /// The backend's current schema version (what `gqs init --json` reports).
    [[nodiscard]] virtual int schema_version() const = 0;
    /// Runs SQL on the queue's tables (unqualified names) through a connection of its own, as
    /// another program would; throws if it fails.
    virtual void exec_sql(const std::string& sql) = 0;
    /// Sets every job's stored metadata to arrays nested as deep as the database takes (far
    /// deeper than a push accepts), as another program could; returns that text.
    virtual std::string nest_metadata_deep() = 0;

    /// `duration` as SQL that a time column of the queue's tables adds
    /// (`locked_until + <it>`), for exec_sql.
    [[nodiscard]] virtual std::string sql_duration(Duration duration) const = 0;

    /// `--db <db()> <db_options()...>`
    [[nodiscard]] std::vector<std::string> target_args() const {
        std::vector<std::string> args{"--db", db()};
        auto options = db_options();
        args.insert(args.end(), options.begin(), options.end());
        return args;
    }
};

/// `text` as one word of a POSIX shell command line: as it is when it holds only letters,
/// digits and / . _ - + :, else in single quotes (how the tool prints --db back).
inline std::string shell_word(const std::string& text) {
    bool plain = !text.empty();
    for (char c : text) {
        plain =
            plain && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      std::string_view("/._-+:").find(c) != std::string_view::npos);
    }
    if (plain) return text;
    std::string quoted = "'";
    for (char c : text)
        quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return quoted + "'";
}

/// A fresh queue for one test. Defined once per test program, by the backend's factory file.
[[nodiscard]] std::unique_ptr<Backend> make_backend();

} // namespace gqs::test
