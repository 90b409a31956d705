// SPDX-License-Identifier: Apache-2.0
// Connection: opening, settings, the statement cache and the lock over them.
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

State& Access::state(Connection& connection) noexcept { return connection.impl_->state; }

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
                            static_cast<int>(options.busy_timeout.count()), options.vfs);
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
                    state.handle, file, options.vfs, static_cast<int>(options.busy_timeout.count()),
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

} // namespace gqs::sqlite
