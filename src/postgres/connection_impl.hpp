// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: the connection's state and libpq in RAII.
#pragma once

#include "backend/gate.hpp"
#include "backend/push_callbacks.hpp"
#include "errors.hpp"
#include "listener.hpp"
#include "session.hpp"
#include "wire.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace gqs::postgres::detail {

/// Every `{s}` in `text` replaced by `schema_ident`.
std::string in_schema(std::string_view schema_ident, std::string text);

/// The LISTEN/NOTIFY channel of a schema: "gqs.<schema>", or "gqs.<md5>" when that would
/// not fit PostgreSQL's 63-byte names.
std::string channel_of(const std::string& schema);

/// A duration in microseconds, at most 250,000 years (so that now + it stays a timestamptz).
std::int64_t micros_of(Duration d) noexcept;

/// A Connection's insides. The mutex guards conn and prepared.
struct State {
    State();
    ~State();
    State(const State&) = delete;
    State& operator=(const State&) = delete;

    gqs::detail::Gate mutex;
    Conn conn; // null after a session was given up (then the next operation reconnects)
    std::string conninfo;
    Options options;             // as given to Connection::open (a sibling session opens with them)
    std::string listen_conninfo; // the LISTEN session's; empty: no LISTEN
    // Through a pooler the sender's pid does not tell this Connection's own NOTIFYs: they
    // carry "<token>:" before the queue. Empty when Direct.
    std::string notify_token;
    SessionDefaults defaults;
    // Through a transaction-mode pooler: no statement is prepared by name (a later
    // transaction may run on another server session, which would not know it).
    bool unnamed_statements = false;
    std::string schema;              // as given
    std::string schema_ident;        // quoted for SQL text
    std::string channel;             // channel_of(schema)
    std::atomic<int> backend_pid{0}; // conn's server process (a NOTIFY's sender)
    // Statement templates (by address) prepared on this session, and their names; with
    // unnamed_statements, their text in the schema instead.
    std::unordered_map<const char*, std::string> prepared;

    /// Connects again if the connection broke. Call at the start of each gqs operation, never
    /// inside one: a statement that runs on a new connection would run outside the
    /// operation's transaction. Caller holds `mutex`.
    void reconnect_if_broken();
    /// Takes `mutex` and reconnects if the connection broke: the start of every operation.
    /// The operation can be interrupted (interrupt()) from then on until the next enter().
    [[nodiscard]] std::unique_lock<gqs::detail::Gate> enter();
    /// Makes the operations entered so far (running, or waiting for `mutex`) give up their
    /// waits for the server: their session is closed and they throw StorageError
    /// (ConnectionLost). Later operations are not affected. Thread-safe; never blocks.
    void interrupt() noexcept { interrupts.fetch_add(1); }
    /// The bound of one statement of the current operation: Options::statement_timeout and
    /// a grace for the answer to arrive, or an interrupt. Caller holds `mutex`.
    [[nodiscard]] Bound statement_bound() const;
    /// Runs `sql` with text parameters (nullptr: NULL) and text results; throws SqlError
    /// (naming `doing` and the SQLSTATE) unless it succeeds. Caller holds `mutex`.
    Result exec(const std::string& sql, const std::vector<const char*>& params,
                std::string_view doing);
    /// Runs the statement template `sql` (its `{s}` is the schema; prepared once per session,
    /// keyed by the template's address) with binary parameters and binary results. Throws
    /// SqlError unless it succeeds. Caller holds `mutex`.
    Result run(const char* sql, const Params& params, std::string_view doing);
    /// BEGIN / COMMIT; throws SqlError. Caller holds `mutex`.
    void begin(std::string_view doing);
    void commit(std::string_view doing);
    /// Rolls an open transaction back, if the connection still works. Never throws.
    void rollback_quietly() noexcept;

    /// Registers a push callback (see Puller::on_push); the listener runs while any exists.
    Subscription subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify);
    /// Calls every push callback of this Connection. Call without holding `mutex`.
    void notify_push();
    /// Tells other connections and processes that `queue` got ready jobs: a NOTIFY after the
    /// commit, at most one per window; a push inside the window is told at the window's end
    /// (by a later push, or by a thread of this Connection). Caller holds `mutex`, outside a
    /// transaction. Never throws (a lost notification only costs a poll).
    void announce_locked(std::string_view queue) noexcept;

    std::atomic<std::uint64_t> interrupts{0}; // interrupt() calls so far
    std::uint64_t entered_at = 0;             // `interrupts` when the operation entered

    // The push callbacks, and the listener while there are any.
    gqs::detail::PushSubscribers<Listener> subscribers;
    // The rate limit of announce_locked (guarded by `mutex`).
    std::chrono::steady_clock::time_point last_notify{};
    bool notify_owed = false;
    std::string owed_queue; // the queue owed, "" for several
    // One NOTIFY per window (tests widen it). Guarded by `mutex`.
    std::chrono::steady_clock::duration notify_window = std::chrono::milliseconds(1);

private:
    /// Sends the owed NOTIFY now. Caller holds `mutex`. Never throws.
    void notify_locked() noexcept;
    /// Has the owed NOTIFY sent at `at` unless a push sends it first. Caller holds `mutex`.
    void owe_notify_until(std::chrono::steady_clock::time_point at) noexcept;
    void trailing_loop(const std::stop_token& stop);

    // The thread that sends a NOTIFY a burst of pushes left owed (started at the first).
    std::mutex trailing_mutex;
    std::condition_variable_any trailing_wake;
    std::optional<std::chrono::steady_clock::time_point> trailing_at; // by trailing_mutex
    std::jthread trailing; // last: stopped and joined before the rest goes
};

/// Runs `fn` inside BEGIN ... COMMIT, rolling back if anything throws. Caller holds `mutex`.
template <class Fn>
auto in_transaction(State& state, std::string_view doing, Fn&& fn) {
    state.begin(doing);
    try {
        if constexpr (std::is_void_v<decltype(fn())>) {
            fn();
            state.commit(doing);
        } else {
            auto result = fn();
            state.commit(doing);
            return result;
        }
    } catch (...) {
        state.rollback_quietly();
        throw;
    }
}

/// Access to a Connection's state for the backend's classes.
struct Access {
    static State& state(Connection& connection) noexcept;
    /// The state of `tx`'s Connection, after checking that `tx` is open, on `expected`, and
    /// usable. Throws std::logic_error / std::invalid_argument naming `who`.
    static State& state(Transaction& tx, const Connection& expected, const char* who);
    /// Runs `fn` under a savepoint of `tx` so that its failure undoes only itself, then
    /// remembers the queue to announce at commit when `stored`.
    template <class Fn>
    static auto in_savepoint(Transaction& tx, State& state, Fn&& fn);
    static void stored(Transaction& tx, std::string_view queue);
    static void savepoint(State& state, const char* sql);
};

template <class Fn>
auto Access::in_savepoint(Transaction&, State& state, Fn&& fn) {
    savepoint(state, "SAVEPOINT gqs_push");
    try {
        auto result = fn();
        savepoint(state, "RELEASE SAVEPOINT gqs_push");
        return result;
    } catch (...) {
        if (PQstatus(state.conn.get()) == CONNECTION_OK) {
            try {
                savepoint(state, "ROLLBACK TO SAVEPOINT gqs_push; RELEASE SAVEPOINT gqs_push");
            } catch (const std::exception&) {
                // The first error says what went wrong; this one follows from it.
            }
        }
        throw;
    }
}

/// Stores one checked message (`metadata`: its encode_metadata text), runnable now, or returns
/// the live job that holds its unique key (pusher.cpp). One statement: inside the caller's
/// transaction if one is open. Caller holds `mutex`.
PushResult insert_job(State& state, const Message& message, const std::string& metadata);

/// Throws std::invalid_argument("gqs: <who> needs a connection") for a null connection.
void require(const std::shared_ptr<Connection>& connection, const char* who);

} // namespace gqs::postgres::detail
