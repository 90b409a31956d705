// SPDX-License-Identifier: Apache-2.0
// Connection: opening, running statements, PostgreSQL error translation, and push
// notifications (in the process, and across processes through LISTEN/NOTIFY).
#include "backend/rules.hpp"
#include "connection_impl.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <fcntl.h>
#include <poll.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>
#include <utility>

namespace gqs::postgres {

struct Connection::Impl {
    detail::State state;
};

namespace detail {

StorageErrorKind kind_of(std::string_view sqlstate) noexcept {
    if (sqlstate.size() != 5) return StorageErrorKind::Other;
    const std::string_view cls = sqlstate.substr(0, 2);
    if (sqlstate == "53100") return StorageErrorKind::Full;     // disk_full
    if (sqlstate == "25006") return StorageErrorKind::ReadOnly; // read_only_sql_transaction
    if (sqlstate == "40001" || sqlstate == "40P01" || sqlstate == "55P03" || sqlstate == "57014")
        return StorageErrorKind::Busy; // serialization failure, deadlock, lock not available,
                                       // statement_timeout
    if (cls == "23") return StorageErrorKind::Constraint;
    if (cls == "08" || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03")
        return StorageErrorKind::ConnectionLost; // connection exception, admin shutdown
    if (sqlstate == "XX001" || sqlstate == "XX002") return StorageErrorKind::Corrupt;
    if (cls == "58") return StorageErrorKind::Io;
    if (cls == "42" && sqlstate == "42501") return StorageErrorKind::ReadOnly; // privilege
    return StorageErrorKind::Other;
}

std::string in_schema(std::string_view schema_ident, std::string text) {
    for (auto at = text.find("{s}"); at != std::string::npos; at = text.find("{s}", at))
        text.replace(at, 3, schema_ident);
    return text;
}

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

/// Listens on the schema's channel on a connection of its own, and calls the Connection's
/// push callbacks when a notification arrives; after a (re)connect it calls them once, for
/// what it may have missed. Runs while the Connection has push subscribers.
class Listener {
public:
    explicit Listener(State& state) : state_(state), conninfo_(state.conninfo) {
        if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error("gqs: cannot make the listener's pipe");
        thread_ = std::thread([this] { run(); });
        // Pushes committed once this returns are heard: wait for the first LISTEN (or its
        // failure, when the workers' polls are all there is until a retry succeeds).
        std::unique_lock lock(first_mutex_);
        first_cv_.wait_for(lock, std::chrono::seconds(10), [this] { return first_done_; });
    }
    ~Listener() {
        stop_.store(true);
        [[maybe_unused]] auto n = ::write(wake_[1], "x", 1);
        thread_.join();
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

private:
    // Waits for the socket (or, with -1, only for the stop pipe) up to `timeout_ms`; false
    // when stopping.
    bool wait(int socket, int timeout_ms) {
        pollfd fds[2] = {{wake_[0], POLLIN, 0}, {socket, POLLIN, 0}};
        const int n = ::poll(fds, socket >= 0 ? 2 : 1, timeout_ms);
        if (n < 0 && errno != EINTR) return !stop_.load();
        return !stop_.load();
    }

    Conn listen() {
        SessionDefaults defaults = state_.defaults;
        defaults.application_name += "-listen";
        Conn conn = connect(conninfo_, defaults, [this] { return stop_.load(); });
        char* quoted =
            PQescapeIdentifier(conn.get(), state_.channel.c_str(), state_.channel.size());
        if (quoted == nullptr) throw StorageError("gqs: bad channel", StorageErrorKind::Other);
        const std::string sql = std::string("LISTEN ") + quoted;
        PQfreemem(quoted);
        exec(conn, sql.c_str(),
             bound_after(state_.defaults.statement_timeout, "Options::statement_timeout",
                         [this] { return stop_.load(); }),
             "listening for pushes");
        return conn;
    }

    void first_attempt_done() {
        std::lock_guard lock(first_mutex_);
        first_done_ = true;
        first_cv_.notify_all();
    }

    void run() {
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
                while (PGnotify* n = PQnotifies(conn.get())) {
                    // This Connection's own pushes told its callbacks already.
                    any = any || n->be_pid != state_.backend_pid.load();
                    PQfreemem(n);
                }
                if (any) state_.notify_push();
            }
        }
    }

    State& state_;
    std::string conninfo_;
    std::mutex first_mutex_;
    std::condition_variable first_cv_;
    bool first_done_ = false; // the first LISTEN succeeded or failed
    int wake_[2] = {-1, -1};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

State::State() = default;
State::~State() = default;

void State::reconnect_if_broken() {
    // The call that found the connection broken has thrown, with its transaction lost as a
    // whole: nothing is half-applied, and the next call starts on a new connection.
    if (PQstatus(conn.get()) != CONNECTION_OK) {
        conn.reset();
        conn = connect(conninfo, defaults,
                       [this] { return interrupts.load(std::memory_order_relaxed) != entered_at; });
        backend_pid = PQbackendPID(conn.get());
        prepared.clear(); // a new session knows none of them
    }
}

Bound State::statement_bound() const {
    // The server ends a statement at statement_timeout; the grace lets its error arrive.
    // Without a server-side limit, the client's is the only one.
    constexpr auto grace = std::chrono::seconds(5);
    const auto limit = defaults.statement_timeout.count() > 0
                           ? defaults.statement_timeout + std::chrono::milliseconds(grace)
                           : std::chrono::milliseconds(0);
    return bound_after(limit, "Options::statement_timeout",
                       [this] { return interrupts.load(std::memory_order_relaxed) != entered_at; });
}

Result State::exec(const std::string& sql, const std::vector<const char*>& params,
                   std::string_view doing) {
    if (!conn || PQsendQueryParams(conn.get(), sql.c_str(), static_cast<int>(params.size()),
                                   nullptr, params.data(), nullptr, nullptr, 0) == 0)
        throw_error(conn.get(), nullptr, doing);
    Result result = finish(conn, statement_bound(), doing);
    check(conn.get(), result, doing);
    return result;
}

Result State::run(const char* sql, const Params& params, std::string_view doing) {
    auto it = prepared.find(sql);
    if (it == prepared.end()) {
        std::string name = "gqs_" + std::to_string(prepared.size() + 1);
        if (!conn || PQsendPrepare(conn.get(), name.c_str(), in_schema(schema_ident, sql).c_str(),
                                   params.size(), nullptr) == 0)
            throw_error(conn.get(), nullptr, doing);
        Result made = finish(conn, statement_bound(), doing);
        check(conn.get(), made, doing);
        it = prepared.emplace(sql, std::move(name)).first;
    }
    if (!conn || PQsendQueryPrepared(conn.get(), it->second.c_str(), params.size(), params.values(),
                                     params.lengths(), params.formats(), 1) == 0)
        throw_error(conn.get(), nullptr, doing);
    Result result = finish(conn, statement_bound(), doing);
    check(conn.get(), result, doing);
    return result;
}

void State::begin(std::string_view doing) { detail::exec(conn, "BEGIN", statement_bound(), doing); }

void State::commit(std::string_view doing) {
    detail::exec(conn, "COMMIT", statement_bound(), doing);
}

void State::rollback_quietly() noexcept {
    if (PQstatus(conn.get()) != CONNECTION_OK || PQtransactionStatus(conn.get()) == PQTRANS_IDLE)
        return;
    try {
        detail::exec(conn, "ROLLBACK", statement_bound(), "rolling back");
    } catch (...) {
        // A session that cannot roll back is closed (or broken): the server rolls back.
    }
}

Subscription State::subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify) {
    const auto id = callbacks.add(std::move(notify));
    {
        std::lock_guard guard(listener_mutex);
        if (listeners_wanted++ == 0) {
            try {
                listener = std::make_unique<Listener>(*this);
            } catch (const std::exception&) {
                // No thread: other processes' jobs are found by the workers' polls.
            }
        }
    }
    return Subscription([owner = std::move(owner), id] {
        auto& state = Access::state(*owner);
        state.callbacks.remove(id);
        std::lock_guard guard(state.listener_mutex);
        if (--state.listeners_wanted == 0) state.listener.reset(); // joins its thread
    });
}

void State::notify_push() { callbacks.notify_all(); }

void State::announce_locked(std::string_view queue) noexcept {
    // One NOTIFY per window: a burst of single pushes sends a few hundred a second, not one
    // per job. The first push after a quiet spell is announced at once.
    constexpr auto window = std::chrono::milliseconds(1);
    if (!notify_owed) {
        owed_queue = queue;
    } else if (owed_queue != queue) {
        owed_queue.clear(); // several queues
    }
    notify_owed = true;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_notify < window) return;
    try {
        Params p;
        p.borrow(channel);
        p.borrow(owed_queue);
        run("SELECT pg_notify($1::text, $2::text)", p, "announcing pushed jobs");
        last_notify = now;
        notify_owed = false;
    } catch (const std::exception&) {
        // The workers' polls find the jobs; the next operation reconnects if need be.
    }
}

State& Access::state(Connection& connection) noexcept { return connection.impl_->state; }

State& Access::state(Transaction& tx, const Connection& expected, const char* who) {
    if (tx.connection_ == nullptr) gqs::detail::throw_ended(who);
    if (tx.connection_ != &expected) gqs::detail::throw_other_connection(who);
    auto& state = tx.connection_->impl_->state;
    const auto status = PQtransactionStatus(state.conn.get());
    if (status == PQTRANS_IDLE) gqs::detail::throw_ended_by_app(who);
    if (status == PQTRANS_INERROR)
        throw std::logic_error(std::string("gqs: ") + who +
                               ": a statement of the app failed, so PostgreSQL aborted the "
                               "transaction; roll it back");
    return state;
}

void Access::stored(Transaction& tx, std::string_view queue) {
    if (!tx.pushed_) {
        tx.pushed_ = std::string(queue);
    } else if (*tx.pushed_ != queue) {
        tx.pushed_->clear();
    }
}

void Access::savepoint(State& state, const char* sql) {
    exec(state.conn, sql, state.statement_bound(), "pushing in a transaction");
}

std::int64_t micros_of(Duration d) noexcept {
    constexpr std::int64_t max_ms = 250'000LL * 31'557'600LL * 1000LL; // 250,000 years
    return std::min<std::int64_t>(d.count(), max_ms) * 1000;
}

std::unique_lock<gqs::detail::Gate> State::enter() {
    // Read before waiting for the lock: an interrupt while this operation waits for another
    // one (stuck on the server) ends this one too.
    const auto seen = interrupts.load(std::memory_order_relaxed);
    std::unique_lock lock(mutex);
    entered_at = seen;
    reconnect_if_broken();
    return lock;
}

void require(const std::shared_ptr<Connection>& connection, const char* who) {
    if (!connection) gqs::detail::throw_null_connection(who);
}

} // namespace detail

std::shared_ptr<Connection> Connection::open(const std::string& conninfo, const Options& options) {
    if (options.schema.empty()) throw std::invalid_argument("gqs: Options::schema is empty");
    // PostgreSQL would silently cut a longer name (NAMEDATALEN - 1): another schema's.
    if (options.schema.size() > 63)
        throw std::invalid_argument("gqs: Options::schema is longer than 63 bytes: " +
                                    options.schema);
    auto impl = std::make_unique<Impl>();
    auto& state = impl->state;
    state.conninfo = conninfo;
    state.schema = options.schema;
    state.channel = detail::channel_of(options.schema);
    state.defaults.connect_timeout = options.connect_timeout;
    state.defaults.statement_timeout = options.statement_timeout;
    state.conn = detail::connect(conninfo, state.defaults);
    state.backend_pid = PQbackendPID(state.conn.get());
    char* quoted =
        PQescapeIdentifier(state.conn.get(), options.schema.c_str(), options.schema.size());
    if (quoted == nullptr)
        throw std::invalid_argument("gqs: Options::schema is not a valid name: " + options.schema);
    state.schema_ident = quoted;
    PQfreemem(quoted);
    return std::shared_ptr<Connection>(new Connection(std::move(impl)));
}

Transaction Connection::begin() {
    auto& state = impl_->state;
    auto lock = state.enter();
    state.begin("beginning a transaction");
    state.mutex.mark_transaction(true);
    lock.release(); // held by the Transaction until it ends
    return Transaction(*this);
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)),
      pushed_(std::exchange(other.pushed_, std::nullopt)) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
    if (this != &other) {
        if (connection_ != nullptr) {
            try {
                end(false);
            } catch (...) {
                // Rolling back cannot fail in a way the caller could act on.
            }
        }
        connection_ = std::exchange(other.connection_, nullptr);
        pushed_ = std::exchange(other.pushed_, std::nullopt);
    }
    return *this;
}

Transaction::~Transaction() {
    if (connection_ == nullptr) return;
    try {
        end(false);
    } catch (...) {
        // As above.
    }
}

pg_conn* Transaction::native() {
    if (connection_ == nullptr) gqs::detail::throw_ended("native");
    return connection_->impl_->state.conn.get();
}

void Transaction::commit() {
    if (connection_ == nullptr) gqs::detail::throw_ended("commit");
    end(true);
}

void Transaction::rollback() {
    if (connection_ == nullptr) gqs::detail::throw_ended("rollback");
    end(false);
}

void Transaction::end(bool commit) {
    auto& state = std::exchange(connection_, nullptr)->impl_->state;
    auto pushed = std::exchange(pushed_, std::nullopt);
    std::unique_lock lock(state.mutex, std::adopt_lock);
    const auto status = PQtransactionStatus(state.conn.get());
    // Ended by the application's own COMMIT or ROLLBACK: nothing to roll back; a commit
    // cannot say what became of it. A rollback never throws, as on every backend.
    if (status == PQTRANS_IDLE) {
        if (commit) gqs::detail::throw_ended_by_app("commit");
        return;
    }
    if (!commit || status != PQTRANS_INTRANS) {
        state.rollback_quietly();
        if (!commit) return;
        // The session is gone (killed, the server restarted, the network failed): the server
        // rolled the transaction back when it lost the session.
        if (status == PQTRANS_UNKNOWN || PQstatus(state.conn.get()) != CONNECTION_OK)
            throw StorageError("gqs: commit: the connection to the server was lost before the "
                               "commit; nothing was committed",
                               StorageErrorKind::ConnectionLost);
        throw StorageError("gqs: commit: a statement in the transaction failed, so "
                           "PostgreSQL aborted it; nothing was committed",
                           StorageErrorKind::Other);
    }
    state.commit("committing a transaction");
    if (!pushed) return;
    state.announce_locked(*pushed);
    lock.unlock();
    state.notify_push();
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection::~Connection() = default;

const std::string& Connection::schema() const noexcept { return impl_->state.schema; }

} // namespace gqs::postgres
