// SPDX-License-Identifier: Apache-2.0
// Connection: opening, settings, the statement cache, and SQLite error translation.
#include "backend/rules.hpp"
#include "checkpointer.hpp"
#include "connection_impl.hpp"
#include "watcher.hpp"

#include <gqs/sqlite/schema.hpp>

#include <SQLiteCpp/Exception.h>

#include <climits>
#include <iterator>
#include <limits>
#include <optional>
#include <thread>

namespace gqs::sqlite {

struct Connection::Impl {
    explicit Impl(SQLite::Database&& db) : state(std::move(db)) {}
    detail::State state;
    // Declared after state: it is stopped before the database closes.
    std::unique_ptr<detail::Checkpointer> checkpointer;
};

namespace detail {

namespace {

// The names users search for; sqlite3_errstr only gives the prose.
const char* code_name(int primary) {
    static constexpr const char* names[] = {
        "SQLITE_OK",       "SQLITE_ERROR",     "SQLITE_INTERNAL", "SQLITE_PERM",
        "SQLITE_ABORT",    "SQLITE_BUSY",      "SQLITE_LOCKED",   "SQLITE_NOMEM",
        "SQLITE_READONLY", "SQLITE_INTERRUPT", "SQLITE_IOERR",    "SQLITE_CORRUPT",
        "SQLITE_NOTFOUND", "SQLITE_FULL",      "SQLITE_CANTOPEN", "SQLITE_PROTOCOL",
        "SQLITE_EMPTY",    "SQLITE_SCHEMA",    "SQLITE_TOOBIG",   "SQLITE_CONSTRAINT",
        "SQLITE_MISMATCH", "SQLITE_MISUSE",    "SQLITE_NOLFS",    "SQLITE_AUTH",
        "SQLITE_FORMAT",   "SQLITE_RANGE",     "SQLITE_NOTADB",   "SQLITE_NOTICE",
        "SQLITE_WARNING"};
    if (primary >= 0 && primary < static_cast<int>(std::size(names))) return names[primary];
    return "SQLITE_UNKNOWN";
}

} // namespace

StorageErrorKind kind_of(int primary) noexcept {
    switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return StorageErrorKind::Busy;
    case SQLITE_FULL: return StorageErrorKind::Full;
    case SQLITE_READONLY:
    case SQLITE_PERM: return StorageErrorKind::ReadOnly;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return StorageErrorKind::Corrupt;
    case SQLITE_CONSTRAINT: return StorageErrorKind::Constraint;
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL: return StorageErrorKind::Io;
    default: return StorageErrorKind::Other;
    }
}

void throw_error(sqlite3* db, int rc, std::string_view doing) {
    const int primary = rc & 0xFF;
    int extended = rc;
    const char* message = sqlite3_errstr(rc);
    // The handle's message is more precise ("UNIQUE constraint failed: jobs.id"), but only
    // when the handle's last error is the one we are reporting.
    if (db != nullptr && (sqlite3_extended_errcode(db) & 0xFF) == primary) {
        extended = sqlite3_extended_errcode(db);
        message = sqlite3_errmsg(db);
    }
    std::string what = "gqs: ";
    what += doing;
    what += ": ";
    what += message;
    what += " (";
    what += code_name(primary);
    what += ", code ";
    what += std::to_string(primary);
    if (extended != primary) what += "/" + std::to_string(extended);
    what += ")";
    throw StorageError(what, kind_of(primary), code_name(primary), primary, extended);
}

void Stmt::bind_blob(int index, const void* data, std::size_t size) {
    if (size > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::invalid_argument("gqs: value too large for SQLite");
    // A zero-length blob must still be a blob, not NULL: SQLite turns a null pointer into NULL.
    static const char empty = 0;
    check(sqlite3_bind_blob(stmt_, index, size ? data : &empty, static_cast<int>(size),
                            SQLITE_STATIC));
}

void Stmt::bind_text(int index, std::string_view text) {
    if (text.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
        throw std::invalid_argument("gqs: value too large for SQLite");
    check(
        sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_STATIC));
}

bool Stmt::step() {
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    throw_error(db_, rc, doing_);
}

int Stmt::run() {
    while (step()) {
    }
    return sqlite3_changes(db_);
}

State::State(SQLite::Database&& database) : db(std::move(database)), handle(db.getHandle()) {}

State::~State() {
    for (auto& [sql, stmt] : statements)
        sqlite3_finalize(stmt);
}

Stmt State::statement(const char* sql, std::string_view doing) {
    auto it = statements.find(sql);
    if (it == statements.end()) {
        sqlite3_stmt* stmt = nullptr;
        int rc = sqlite3_prepare_v3(handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
        if (rc != SQLITE_OK) throw_error(handle, rc, doing);
        it = statements.emplace(sql, stmt).first;
    }
    return Stmt(handle, it->second, doing);
}

void State::exec(const char* sql, std::string_view doing) {
    int rc = sqlite3_exec(handle, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw_error(handle, rc, doing);
}

namespace {

// The file a watcher can watch: none for a temporary or in-memory database.
std::filesystem::path watchable_file(sqlite3* handle) {
    const char* file = sqlite3_db_filename(handle, "main");
    if (file == nullptr || *file == '\0') return {};
    return file;
}

} // namespace

Subscription State::subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify) {
    const auto id = callbacks.add(std::move(notify));
    {
        std::lock_guard guard(watcher_mutex);
        if (watchers_wanted++ == 0) {
            auto file = watchable_file(handle);
            try {
                if (!file.empty()) watcher = std::make_unique<Watcher>(*this, file);
            } catch (const std::exception&) {
                // No thread: other connections' jobs are found by the workers' polls.
            }
        }
    }
    return Subscription([owner = std::move(owner), id] {
        auto& state = Access::state(*owner);
        state.callbacks.remove(id);
        std::lock_guard guard(state.watcher_mutex);
        if (--state.watchers_wanted == 0) state.watcher.reset(); // joins its thread
    });
}

void State::set_hungry(std::atomic<bool>& puller_flag, bool now_hungry) noexcept {
    if (puller_flag.exchange(now_hungry) == now_hungry) return;
    if (!now_hungry) {
        hungry.fetch_sub(1);
        return;
    }
    if (hungry.fetch_add(1) != 0) return;
    std::lock_guard guard(watcher_mutex);
    if (watcher) watcher->arm();
}

void State::notify_push() { callbacks.notify_all(); }

State& Access::state(Connection& connection) noexcept { return connection.impl_->state; }

State& Access::state(Transaction& tx, const Connection& expected, const char* who) {
    if (tx.connection_ == nullptr) gqs::detail::throw_ended(who);
    if (tx.connection_ != &expected) gqs::detail::throw_other_connection(who);
    auto& state = tx.connection_->impl_->state;
    if (sqlite3_get_autocommit(state.handle)) gqs::detail::throw_ended_by_app(who);
    return state;
}

void Access::undo(Transaction& tx, State& state) noexcept {
    if (sqlite3_get_autocommit(state.handle)) {
        // SQLite rolled the whole transaction back (a full disk, an I/O error): remember why,
        // so that commit() says so instead of committing the app's statements alone.
        try {
            throw;
        } catch (const StorageError& e) {
            tx.failed_ = e.what();
            tx.failed_code_ = e.extended_code();
        } catch (const std::exception& e) {
            tx.failed_ = e.what();
            tx.failed_code_ = SQLITE_ABORT;
        } catch (...) {
            tx.failed_ = "an unknown exception";
            tx.failed_code_ = SQLITE_ABORT;
        }
        return;
    }
    sqlite3_exec(state.handle, "ROLLBACK TO gqs_push; RELEASE gqs_push", nullptr, nullptr, nullptr);
}

Connection& require(const std::shared_ptr<Connection>& connection, const char* who) {
    if (!connection) gqs::detail::throw_null_connection(who);
    return *connection;
}

} // namespace detail

namespace {

const char* synchronous_pragma(Synchronous s) {
    switch (s) {
    case Synchronous::Off: return "PRAGMA synchronous=OFF";
    case Synchronous::Normal: return "PRAGMA synchronous=NORMAL";
    case Synchronous::Full: return "PRAGMA synchronous=FULL";
    case Synchronous::Extra: return "PRAGMA synchronous=EXTRA";
    }
    throw std::invalid_argument("gqs: unknown Synchronous value");
}

// A file init_db will refuse (another program's `jobs` table, or a newer gqs schema) is not
// switched to WAL either: switching rewrites the file header, and gqs promises to leave
// such files as they were.
bool foreign(detail::State& state, std::string_view doing) {
    try {
        return detail::find_schema(state, doing).version > schema_version;
    } catch (const SchemaMismatch&) {
        return true;
    }
}

// Switching to WAL takes a read lock and then the write lock within one statement. SQLite
// does not call the busy handler for that second step (two processes doing it at once would
// otherwise wait for each other), so it fails with SQLITE_BUSY at once when another process
// opens the same new file at the same moment. The statement holds no lock after failing, so
// it is retried here until busy_timeout has passed, as the busy handler would.
void switch_to_wal(detail::State& state, Duration busy_timeout, std::string_view doing) {
    const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
    auto pause = std::chrono::microseconds(100);
    while (true) {
        // journal_mode answers with the mode in force; a file SQLite cannot put in WAL mode
        // (e.g. ":memory:") keeps its own, which is not an error.
        const int rc =
            sqlite3_exec(state.handle, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr);
        if (rc == SQLITE_OK) return;
        if ((rc & 0xFF) != SQLITE_BUSY || std::chrono::steady_clock::now() >= deadline)
            detail::throw_error(state.handle, rc, doing);
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::microseconds(10000));
    }
}

bool in_wal_mode(detail::State& state, std::string_view doing) {
    auto stmt = state.statement("PRAGMA journal_mode", doing);
    if (!stmt.step()) return false;
    const auto* mode = reinterpret_cast<const char*>(sqlite3_column_text(stmt.get(), 0));
    return mode != nullptr && std::string_view(mode) == "wal";
}

// SQLite's default automatic-checkpoint threshold, kept for the background checkpoints.
constexpr int checkpoint_pages = 1000;

[[noreturn]] void rethrow_opening(const SQLite::Exception& e, const std::filesystem::path& path) {
    std::string what = "gqs: opening " + path.string() + ": " + e.what() + " (" +
                       detail::code_name(e.getErrorCode() & 0xFF) + ", code " +
                       std::to_string(e.getErrorCode() & 0xFF) + ")";
    throw StorageError(what, detail::kind_of(e.getErrorCode() & 0xFF),
                       detail::code_name(e.getErrorCode() & 0xFF), e.getErrorCode() & 0xFF,
                       e.getExtendedErrorCode());
}

} // namespace

std::shared_ptr<Connection> Connection::open(const std::filesystem::path& path,
                                             const Options& options) {
    if (options.busy_timeout.count() < 0)
        throw std::invalid_argument("gqs: Options::busy_timeout must not be negative");
    if (options.busy_timeout.count() > INT_MAX)
        throw std::invalid_argument("gqs: Options::busy_timeout is too large");
    int flags = options.read_only
                    ? SQLite::OPEN_READONLY
                    : SQLite::OPEN_READWRITE | (options.create ? SQLite::OPEN_CREATE : 0);
    // gqs serialises every use of the handle with its own mutex; SQLite's full mutex stays on
    // because with_database() and Transaction::database() hand the handle to the caller too.
    std::shared_ptr<Connection> connection;
    try {
        SQLite::Database db(path, flags | SQLite::OPEN_FULLMUTEX,
                            static_cast<int>(options.busy_timeout.count()));
        connection = std::make_shared<Connection>(std::move(db));
    } catch (const SQLite::Exception& e) {
        rethrow_opening(e, path);
    }
    auto& state = detail::Access::state(*connection);
    std::lock_guard lock(state.mutex);
    state.clock = options.clock;
    // The first statement reads the header: a file that is not SQLite fails here, at open.
    // Every error while opening names the file.
    const std::string doing = "opening " + path.string();
    state.exec("SELECT count(*) FROM sqlite_schema", doing);
    if (options.wal && !options.read_only && !foreign(state, doing))
        switch_to_wal(state, options.busy_timeout, doing);
    state.exec(synchronous_pragma(options.synchronous), doing);
    // A pull opens seven temporary b-trees (RETURNING, the IN lists, ORDER BY ... LIMIT, the
    // list of queues) and, inside a settle transaction, a statement journal. Backed by temp
    // files, each b-tree's page cache starts with a 20-page block (85 KiB) and the journal
    // with a 64 KiB chunk, all freed when the statement ends: about 680 KiB per pull for a
    // few rows. On a thread whose malloc arena holds nothing allocated after them (a worker
    // on a Connection whose page cache the pushing thread filled), glibc gives them back to
    // the kernel at every free and the next pull faults them in again: drains 8x slower.
    // In memory they are grown a page at a time, as needed. gqs's temporary tables hold a
    // batch of rows at most; the app can set it back through with_database.
    state.exec("PRAGMA temp_store=MEMORY", doing);
    if (options.background_checkpoint && !options.read_only && in_wal_mode(state, doing)) {
        // The file name SQLite resolved: "" for a temporary or in-memory database.
        const char* file = sqlite3_db_filename(state.handle, "main");
        if (file != nullptr && *file != '\0') {
            try {
                connection->impl_->checkpointer = std::make_unique<detail::Checkpointer>(
                    state.handle, file, static_cast<int>(options.busy_timeout.count()),
                    checkpoint_pages);
            } catch (const std::exception&) {
                // SQLite's own checkpoints stay in place: slower tails, nothing lost.
            }
        }
    }
    return connection;
}

Connection::Connection(SQLite::Database&& database)
    : impl_(std::make_unique<Impl>(std::move(database))) {}

Connection::~Connection() = default;

Transaction Connection::begin() {
    auto& state = impl_->state;
    state.mutex.lock(); // std::logic_error if this thread has a Transaction open
    try {
        state.statement("BEGIN IMMEDIATE", "beginning a transaction").run();
    } catch (...) {
        state.mutex.unlock();
        throw;
    }
    state.mutex.mark_transaction(true);
    return Transaction(*this);
}

Connection::Exclusive::Exclusive(Connection& connection) : connection_(connection) {
    connection_.impl_->state.mutex.lock();
    connection_.impl_->state.mutex.mark_transaction(true); // gqs calls from fn: logic_error
    if (auto& checkpointer = connection_.impl_->checkpointer) checkpointer->pause();
}

Connection::Exclusive::~Exclusive() {
    // `fn` threw with a transaction of its own open: gqs's next statement must not run in it.
    auto& state = connection_.impl_->state;
    if (!sqlite3_get_autocommit(state.handle))
        sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
    if (auto& checkpointer = connection_.impl_->checkpointer) checkpointer->resume();
    connection_.impl_->state.mutex.unlock();
}

SQLite::Database& Connection::Exclusive::database() noexcept { return connection_.impl_->state.db; }

void Connection::Exclusive::finish() {
    auto& state = connection_.impl_->state;
    if (sqlite3_get_autocommit(state.handle)) return;
    sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
    throw std::logic_error("gqs: with_database: the function left a transaction open; it was "
                           "rolled back (use Connection::begin() for a transaction)");
}

Transaction::Transaction(Transaction&& other) noexcept
    : connection_(std::exchange(other.connection_, nullptr)), pushed_(other.pushed_),
      failed_(std::move(other.failed_)), failed_code_(other.failed_code_) {}

Transaction& Transaction::operator=(Transaction&& other) noexcept {
    if (this != &other) {
        if (connection_ != nullptr) end(false);
        connection_ = std::exchange(other.connection_, nullptr);
        pushed_ = other.pushed_;
        failed_ = std::move(other.failed_);
        failed_code_ = other.failed_code_;
    }
    return *this;
}

Transaction::~Transaction() {
    if (connection_ != nullptr) end(false);
}

SQLite::Database& Transaction::database() {
    if (connection_ == nullptr) gqs::detail::throw_ended("database");
    return detail::Access::state(*connection_).db;
}

void Transaction::commit() {
    if (connection_ == nullptr) gqs::detail::throw_ended("commit");
    end(true);
}

void Transaction::rollback() {
    if (connection_ == nullptr) gqs::detail::throw_ended("rollback");
    end(false);
}

// Ends the transaction and releases the Connection whatever happens; throws afterwards if
// `commit` was asked and did not happen. A rollback never throws.
void Transaction::end(bool commit) {
    auto& state = detail::Access::state(*std::exchange(connection_, nullptr));
    const bool open = !sqlite3_get_autocommit(state.handle);
    std::optional<StorageError> error;
    bool ended_by_caller = false;
    if (commit && !failed_.empty()) {
        error.emplace("gqs: committing a transaction: SQLite had rolled it back when " + failed_,
                      detail::kind_of(failed_code_ & 0xFF), detail::code_name(failed_code_ & 0xFF),
                      failed_code_ & 0xFF, failed_code_);
    } else if (commit && !open) {
        ended_by_caller = true;
    } else if (commit) {
        try {
            state.statement("COMMIT", "committing a transaction").run();
        } catch (const StorageError& e) {
            error = e;
        }
    }
    // Whatever failed, nothing stays open: the Connection is free for the next user.
    if (!sqlite3_get_autocommit(state.handle))
        sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
    state.mutex.unlock();
    if (ended_by_caller) gqs::detail::throw_ended_by_app("commit");
    if (error) throw *error;
    if (commit && pushed_) state.notify_push();
}

} // namespace gqs::sqlite
