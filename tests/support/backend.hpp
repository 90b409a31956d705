// SPDX-License-Identifier: Apache-2.0
// The seam between the suites written once (conformance, CLI) and a backend: what a
// backend's factory provides.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/queues.hpp>
#include <gqs/schedules.hpp>

#include <memory>
#include <span>
#include <stdexcept>
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
    [[nodiscard]] virtual Schedules& schedules() = 0;
    [[nodiscard]] virtual Queues& queues() = 0;
};

/// A Session over a backend's own classes, each built from one shared Connection.
template <class Connection, class PusherT, class PullerT, class ObserverT, class CleanerT,
          class AdminT, class SchedulesT, class QueuesT>
class SessionOf final : public Session {
public:
    explicit SessionOf(std::shared_ptr<Connection> connection)
        : connection_(std::move(connection)), pusher_(connection_), puller_(connection_),
          observer_(connection_), cleaner_(connection_), admin_(connection_),
          schedules_(connection_), queues_(connection_) {}

    Pusher& pusher() override { return pusher_; }
    Puller& puller() override { return puller_; }
    Observer& observer() override { return observer_; }
    Cleaner& cleaner() override { return cleaner_; }
    Admin& admin() override { return admin_; }
    Schedules& schedules() override { return schedules_; }
    Queues& queues() override { return queues_; }

private:
    std::shared_ptr<Connection> connection_;
    PusherT pusher_;
    PullerT puller_;
    ObserverT observer_;
    CleanerT cleaner_;
    AdminT admin_;
    SchedulesT schedules_;
    QueuesT queues_;
};

/// The application's own transaction on a queue (the outbox): the backend's Transaction
/// (Connection::begin()) with its Pusher's push(tx, ...) overloads, behind one interface.
/// Destroying it while open rolls it back (the Transaction's destructor).
class AppTransaction {
public:
    AppTransaction() = default;
    virtual ~AppTransaction() = default;
    AppTransaction(const AppTransaction&) = delete;
    AppTransaction& operator=(const AppTransaction&) = delete;
    AppTransaction(AppTransaction&&) = delete;
    AppTransaction& operator=(AppTransaction&&) = delete;

    /// Inserts one row into the app's table (Backend::app_rows counts them) inside it;
    /// throws std::runtime_error if the statement fails.
    virtual void insert_row() = 0;
    /// Runs the app's SQL text inside it, through the backend's handle (tx.database(),
    /// tx.native()); returns whether it succeeded.
    virtual bool exec(const std::string& sql) = 0;
    /// Pusher::push(tx, message, delay) and push_batch(tx, messages, delay).
    virtual PushResult push(const Message& message, Duration delay = {}) = 0;
    virtual std::vector<PushResult> push_batch(std::span<const Message> messages,
                                               Duration delay = {}) = 0;
    virtual void commit() = 0;
    virtual void rollback() = 0;
    [[nodiscard]] virtual bool active() const noexcept = 0;
    /// The Transaction moved out (its move constructor) into a new AppTransaction, for
    /// another thread to end; this one is left without one (active() false).
    [[nodiscard]] virtual std::unique_ptr<AppTransaction> moved() = 0;
};

/// An AppTransaction over a backend's Transaction and Pusher. `run` runs SQL text through
/// the transaction's handle and returns whether it succeeded; `insert` is insert_row's SQL.
template <class Transaction, class PusherT>
class AppTransactionOf final : public AppTransaction {
public:
    using Run = bool (*)(Transaction&, const std::string&);
    AppTransactionOf(Transaction tx, PusherT& pusher, std::string insert, Run run)
        : tx_(std::move(tx)), pusher_(pusher), insert_(std::move(insert)), run_(run) {}

    void insert_row() override {
        if (!run_(tx_, insert_)) throw std::runtime_error("the app's statement failed: " + insert_);
    }
    bool exec(const std::string& sql) override { return run_(tx_, sql); }
    PushResult push(const Message& message, Duration delay) override {
        return pusher_.push(tx_, message, delay);
    }
    std::vector<PushResult> push_batch(std::span<const Message> messages, Duration delay) override {
        return pusher_.push_batch(tx_, messages, delay);
    }
    void commit() override { tx_.commit(); }
    void rollback() override { tx_.rollback(); }
    bool active() const noexcept override { return tx_.active(); }
    std::unique_ptr<AppTransaction> moved() override {
        return std::make_unique<AppTransactionOf>(std::move(tx_), pusher_, insert_, run_);
    }

private:
    Transaction tx_;
    PusherT& pusher_;
    std::string insert_;
    Run run_;
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

    // The outbox: the app's own transaction and table, in the queue's database.

    /// Begins the app's transaction on this Session's connection (Connection::begin()); its
    /// pushes go through pusher(). Creates the app's table first, the first time.
    [[nodiscard]] virtual std::unique_ptr<AppTransaction> begin_app() = 0;
    /// How many rows the app's table holds, as another connection sees them (committed
    /// ones); 0 before the first begin_app().
    [[nodiscard]] virtual long app_rows() = 0;
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
