// SPDX-License-Identifier: Apache-2.0
// The PostgreSQL backend's wake-up: NOTIFY after a commit that stored jobs (rate-limited),
// and a LISTEN thread that calls the Connection's push callbacks when another connection or
// process announces jobs.
#include "listener.hpp"

#include "connection_impl.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unistd.h>
#include <utility>

namespace gqs::postgres::detail {

std::string channel_of(const std::string& schema) {
    // PostgreSQL's names hold 63 bytes; LISTEN would cut a longer one, pg_notify refuse it.
    if (schema.size() + 4 <= 63) return "gqs." + schema;
    // A stable short name for a long schema name (FNV-1a, 64 bits, in hex).
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : schema)
        h = (h ^ c) * 1099511628211ULL;
    static constexpr char digits[] = "0123456789abcdef";
    std::string out = "gqs.";
    for (int i = 60; i >= 0; i -= 4)
        out += digits[(h >> i) & 0xF];
    return out;
}

Listener::Listener(State& state) : state_(state), conninfo_(state.listen_conninfo) {
    if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
        throw std::runtime_error("gqs: cannot make the listener's pipe");
    thread_ = std::thread([this] { run(); });
    // Pushes committed once this returns are heard: wait for the first LISTEN (or its
    // failure, when the workers' polls are all there is until a retry succeeds).
    std::unique_lock lock(first_mutex_);
    first_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return first_done_; });
}

Listener::~Listener() {
    stop_.store(true);
    [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
    thread_.join();
    ::close(wake_[0]);
    ::close(wake_[1]);
}

// Waits for the socket (or, with -1, only for the stop pipe) up to `timeout_ms`; false when
// stopping.
bool Listener::wait(int socket, int timeout_ms) {
    pollfd fds[2] = {{wake_[0], POLLIN, 0}, {socket, POLLIN, 0}};
    const int n = ::poll(fds, socket >= 0 ? 2 : 1, timeout_ms);
    if (n < 0 && errno != EINTR) return !stop_.load();
    return !stop_.load();
}

Conn Listener::listen() {
    SessionDefaults defaults = state_.defaults;
    defaults.application_name += "-listen";
    defaults.settings = true; // a session of its own, never through a transaction pooler
    Conn conn = connect(conninfo_, defaults, [this] { return stop_.load(); });
    char* quoted = PQescapeIdentifier(conn.get(), state_.channel.c_str(), state_.channel.size());
    if (quoted == nullptr) throw StorageError("gqs: bad channel", StorageErrorKind::Other);
    const std::string sql = std::string("LISTEN ") + quoted;
    PQfreemem(quoted);
    exec(conn, sql.c_str(),
         bound_after(state_.defaults.statement_timeout, "Options::statement_timeout",
                     [this] { return stop_.load(); }),
         "listening for pushes");
    return conn;
}

void Listener::first_attempt_done() {
    std::lock_guard lock(first_mutex_);
    first_done_ = true;
    first_cv_.notify_all();
}

void Listener::run() {
    int backoff_ms = 50;
    bool reconnected = false;
    while (!stop_.load()) {
        Conn conn;
        try {
            conn = listen();
            first_attempt_done();
        } catch (const std::exception&) {
            first_attempt_done();
            // The server is away: the workers poll meanwhile; try again later.
            if (!wait(-1, backoff_ms)) return;
            backoff_ms = std::min(backoff_ms * 2, 5000);
            continue;
        }
        backoff_ms = 50;
        // Whatever was announced while no one listened is lost: look once.
        if (std::exchange(reconnected, true)) state_.notify_push();
        const int socket = PQsocket(conn.get());
        while (wait(socket, -1)) {
            if (PQconsumeInput(conn.get()) == 0) break; // connection lost: listen again
            bool any = false;
            const std::string own = state_.notify_token + ":";
            while (PGnotify* n = PQnotifies(conn.get())) {
                // This Connection's own pushes told its callbacks already.
                const bool mine = state_.notify_token.empty()
                                      ? n->be_pid == state_.backend_pid.load()
                                      : std::string_view(n->extra).starts_with(own);
                any = any || !mine;
                PQfreemem(n);
            }
            if (any) state_.notify_push();
        }
    }
}

Subscription State::subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify) {
    // Without a session to LISTEN on, only this Connection's own pushes call back.
    const auto id = subscribers.subscribe(std::move(notify), [this] {
        return listen_conninfo.empty() ? nullptr : std::make_unique<Listener>(*this);
    });
    return Subscription(
        [owner = std::move(owner), id] { Access::state(*owner).subscribers.unsubscribe(id); });
}

void State::notify_push() { subscribers.notify_all(); }

void State::announce_locked(std::string_view queue) noexcept {
    // One NOTIFY per window: a burst of single pushes sends a thousand a second at most, not
    // one per job (each takes PostgreSQL's lock on the notification queue). The first push
    // after a quiet spell is announced at once; one inside the window at the window's end.
    if (!notify_owed) {
        owed_queue = queue;
    } else if (owed_queue != queue) {
        owed_queue.clear(); // several queues
    }
    notify_owed = true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_notify < notify_window) {
        owe_notify_until(last_notify + notify_window);
        return;
    }
    notify_locked();
}

void State::notify_locked() noexcept {
    try {
        const std::string payload =
            notify_token.empty() ? owed_queue : notify_token + ":" + owed_queue;
        Params p;
        p.borrow(channel);
        p.borrow(payload);
        run("SELECT pg_notify($1::text, $2::text)", p, "announcing pushed jobs");
        last_notify = std::chrono::steady_clock::now();
        notify_owed = false;
    } catch (const std::exception&) {
        // The workers' polls find the jobs; the next operation reconnects if need be.
    }
}

void State::owe_notify_until(std::chrono::steady_clock::time_point at) noexcept {
    try {
        std::lock_guard lock(trailing_mutex);
        if (!trailing.joinable())
            trailing = std::jthread([this](const std::stop_token& stop) { trailing_loop(stop); });
        trailing_at = at;
    } catch (const std::exception&) {
        return; // no thread: the workers' polls find the jobs
    }
    trailing_wake.notify_one();
}

void State::trailing_loop(const std::stop_token& stop) {
    std::unique_lock lock(trailing_mutex);
    while (trailing_wake.wait(lock, stop, [this] { return trailing_at.has_value(); })) {
        // Until the window ends (a later owed push may move the end further on).
        const auto at = *trailing_at;
        if (trailing_wake.wait_until(lock, stop, at, [&] { return *trailing_at != at; })) continue;
        if (stop.stop_requested()) return;
        trailing_at.reset();
        lock.unlock();
        try {
            // As an operation: after any the app or a worker runs (a Transaction included).
            // Acquire: seeing the destructor's interrupt() means seeing its stop request too.
            const auto seen = interrupts.load(std::memory_order_acquire);
            if (stop.stop_requested()) return;
            std::unique_lock gate(mutex);
            entered_at = seen;
            // A push since then may have sent it; a broken session is left to the next
            // operation, which reconnects; inside a transaction a statement would join it.
            if (notify_owed && PQstatus(conn.get()) == CONNECTION_OK &&
                PQtransactionStatus(conn.get()) == PQTRANS_IDLE)
                notify_locked();
        } catch (const std::exception&) {
            // The workers' polls find the jobs.
        }
        lock.lock();
    }
}

} // namespace gqs::postgres::detail
