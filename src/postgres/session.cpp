// SPDX-License-Identifier: Apache-2.0
// libpq sessions with a bound on every wait: connecting polls with a deadline, statements are
// sent without blocking and their results awaited with poll(), and a session that does not
// answer in time is closed rather than waited for.
#include "connection_impl.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <deque>
#include <optional>
#include <poll.h>
#include <vector>

namespace gqs::postgres::detail {

namespace {

using Clock = std::chrono::steady_clock;

// How often a wait looks at its `interrupted` predicate.
constexpr auto interrupt_check = std::chrono::milliseconds(50);

enum class Waited : std::uint8_t { Readable, Writable, Over };

// Waits until the session's socket is ready for `events` or the bound is over.
Waited wait_socket(PGconn* conn, short events, const Bound& bound) {
    const int socket = PQsocket(conn);
    if (socket < 0) return Waited::Readable; // libpq reports the broken session next
    while (true) {
        if (bound.interrupted && bound.interrupted()) return Waited::Over;
        const auto now = Clock::now();
        if (now >= bound.deadline) return Waited::Over;
        auto slice = bound.deadline - now;
        if (bound.interrupted) slice = std::min<Clock::duration>(slice, interrupt_check);
        const auto ms = std::chrono::ceil<std::chrono::milliseconds>(slice).count();
        pollfd fd{socket, events, 0};
        const int n = ::poll(&fd, 1, static_cast<int>(std::min<std::int64_t>(ms, 60'000)));
        if (n < 0 && errno != EINTR) return Waited::Readable; // libpq reports it next
        if (n > 0) {
            // An error or hang-up is read by libpq, which then reports the broken session.
            if ((fd.revents & (POLLIN | POLLERR | POLLHUP)) != 0) return Waited::Readable;
            if ((fd.revents & POLLOUT) != 0) return Waited::Writable;
        }
    }
}

// The bound ran out: the session is closed, because a late answer would belong to a
// statement the caller has given up on. The server rolls back what it was doing.
[[noreturn]] void give_up(Conn& conn, const Bound& bound, std::string_view doing) {
    const bool interrupted = bound.interrupted && bound.interrupted();
    if (conn) PQsetnonblocking(conn.get(), 1); // PQfinish must not block on a full socket
    conn.reset();
    std::string what = "gqs: ";
    what += doing;
    if (interrupted) {
        what += ": interrupted while waiting for the server; the session was closed";
    } else {
        what += ": no answer from the server within " + std::to_string(bound.length.count()) +
                " ms (" + bound.limit + "); the session was closed";
    }
    throw StorageError(what, StorageErrorKind::ConnectionLost);
}

// connect_timeout as the session has it (from the conninfo or PGCONNECT_TIMEOUT), if set.
std::optional<std::chrono::milliseconds> configured_connect_timeout(PGconn* conn) {
    std::optional<std::chrono::milliseconds> out;
    PQconninfoOption* options = PQconninfo(conn);
    if (options == nullptr) return out;
    for (auto* o = options; o->keyword != nullptr; ++o) {
        if (std::string_view(o->keyword) != "connect_timeout" || o->val == nullptr ||
            *o->val == '\0')
            continue;
        // libpq's own rule: whole seconds, at least 2; zero or less waits forever.
        const long seconds = std::strtol(o->val, nullptr, 10);
        out = seconds <= 0 ? std::chrono::milliseconds(0)
                           : std::chrono::seconds(std::max(seconds, 2L));
    }
    PQconninfoFree(options);
    return out;
}

} // namespace

Bound bound_after(std::chrono::milliseconds timeout, const char* limit,
                  std::function<bool()> interrupted) {
    Bound b;
    b.interrupted = std::move(interrupted);
    b.limit = limit;
    b.length = timeout;
    if (timeout.count() > 0) b.deadline = Clock::now() + timeout;
    return b;
}

Conn connect(const std::string& conninfo, const SessionDefaults& defaults,
             const std::function<bool()>& interrupted) {
    // Defaults come before the conninfo (expanded in place of "dbname"), so that the
    // conninfo's own settings win; an environment variable wins over a default only where
    // gqs leaves the keyword out.
    std::deque<std::string> owned;
    std::vector<const char*> keys;
    std::vector<const char*> values;
    const auto add = [&](const char* key, std::string value) {
        owned.push_back(std::move(value));
        keys.push_back(key);
        values.push_back(owned.back().c_str());
    };
    if (std::getenv("PGAPPNAME") == nullptr) add("application_name", defaults.application_name);
    // A peer that vanished without a word (a partition, a machine gone) is noticed in about
    // 30 s: idle sessions by keepalives, sessions with unacknowledged data by the timeout.
    add("keepalives", "1");
    add("keepalives_idle", "15");
    add("keepalives_interval", "5");
    add("keepalives_count", "3");
    add("tcp_user_timeout", "30000");
    add("dbname", conninfo);
    keys.push_back(nullptr);
    values.push_back(nullptr);

    Conn conn(PQconnectStartParams(keys.data(), values.data(), /*expand_dbname=*/1));
    if (!conn) throw StorageError("gqs: connecting: out of memory", StorageErrorKind::Other);
    if (PQstatus(conn.get()) == CONNECTION_BAD) throw_error(conn.get(), nullptr, "connecting");
    const auto limit = configured_connect_timeout(conn.get()).value_or(defaults.connect_timeout);
    const Bound bound = bound_after(limit, "connect_timeout", interrupted);
    auto polled = PGRES_POLLING_WRITING;
    while (polled != PGRES_POLLING_OK) {
        if (polled == PGRES_POLLING_FAILED) throw_error(conn.get(), nullptr, "connecting");
        const short events = polled == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        if (wait_socket(conn.get(), events, bound) == Waited::Over)
            give_up(conn, bound, "connecting");
        polled = PQconnectPoll(conn.get());
    }
    // Statements are sent without blocking and awaited with a bound (finish). The app's
    // PQexec on Transaction::native() still blocks, as libpq documents.
    if (PQsetnonblocking(conn.get(), 1) != 0) throw_error(conn.get(), nullptr, "connecting");
    // Notices ("... already exists, skipping") are not errors; libpq would print them.
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    // Times are compared in the database (timestamptz); the session's zone only formats.
    // Every statement is planned once for any parameters: a custom plan for one large batch
    // may trade the pull's ordered index ranges for a sort of a whole queue's range, which is
    // unbounded when statistics are stale (tests/postgres/claim_plan_test.cpp).
    if (!defaults.settings) return conn;
    std::string setup = "SET TimeZone = 'UTC'; SET plan_cache_mode = force_generic_plan";
    if (defaults.statement_timeout.count() > 0)
        setup += "; SET statement_timeout = " + std::to_string(defaults.statement_timeout.count());
    const Bound setup_bound = bound_after(limit, "connect_timeout", interrupted);
    exec(conn, setup.c_str(), setup_bound, "setting up the session");
    return conn;
}

Result finish(Conn& conn, const Bound& bound, std::string_view doing) {
    if (!conn) throw_error(nullptr, nullptr, doing);
    // Everything sent must leave; the server may be sending meanwhile (read it, or both
    // sides could wait for the other's buffer).
    while (true) {
        const int flushed = PQflush(conn.get());
        if (flushed == 0) break;
        if (flushed < 0) throw_error(conn.get(), nullptr, doing);
        const Waited waited = wait_socket(conn.get(), POLLIN | POLLOUT, bound);
        if (waited == Waited::Over) give_up(conn, bound, doing);
        if (waited == Waited::Readable && PQconsumeInput(conn.get()) == 0)
            throw_error(conn.get(), nullptr, doing);
    }
    Result last;
    while (true) {
        while (PQisBusy(conn.get()) != 0) {
            if (wait_socket(conn.get(), POLLIN, bound) == Waited::Over) give_up(conn, bound, doing);
            if (PQconsumeInput(conn.get()) == 0) throw_error(conn.get(), nullptr, doing);
        }
        Result next(PQgetResult(conn.get()));
        if (!next) break;
        const auto status = PQresultStatus(last.get());
        if (!last || status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK)
            last = std::move(next);
    }
    return last;
}

Result exec(Conn& conn, const char* sql, const Bound& bound, std::string_view doing) {
    if (!conn || PQsendQuery(conn.get(), sql) == 0) throw_error(conn.get(), nullptr, doing);
    Result result = finish(conn, bound, doing);
    check(conn.get(), result, doing);
    return result;
}

} // namespace gqs::postgres::detail
