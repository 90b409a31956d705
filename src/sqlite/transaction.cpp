// SPDX-License-Identifier: Apache-2.0
// Transaction: the app's transaction that gqs pushes join (savepoints, the wake-up after
// commit), and how it ends.
#include "backend/rules.hpp"
#include "backend/transaction_rules.hpp"
#include "connection_impl.hpp"

#include <exception>
#include <string>
#include <utility>

namespace gqs::sqlite {

namespace detail {

State& Access::state(Transaction& tx, const Connection& expected, const char* who) {
    if (tx.connection_ == nullptr) gqs::detail::throw_ended(who);
    if (tx.connection_ != &expected) gqs::detail::throw_other_connection(who);
    auto& state = Access::state(*tx.connection_);
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

} // namespace detail

Transaction Connection::begin() {
    auto& state = detail::Access::state(*this);
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

namespace {

// The end of a transaction in SQLite's dialect (backend/transaction_rules.hpp).
struct TxStore {
    detail::State& state;
    const std::string& failed; // why SQLite rolled it back, if it did
    int failed_code;

    bool ended_by_app() const noexcept {
        return failed.empty() && sqlite3_get_autocommit(state.handle) != 0;
    }
    std::exception_ptr aborted() const {
        if (failed.empty()) return nullptr;
        return std::make_exception_ptr(
            StorageError("gqs: committing a transaction: SQLite had rolled it back when " + failed,
                         detail::kind_of(failed_code & 0xFF), detail::code_name(failed_code & 0xFF),
                         failed_code & 0xFF, failed_code));
    }
    void commit() { state.statement("COMMIT", "committing a transaction").run(); }
    void rollback() noexcept {
        if (!sqlite3_get_autocommit(state.handle))
            sqlite3_exec(state.handle, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void release() noexcept { state.mutex.unlock(); }
    // Other connections learn of the commit from the file (the watcher).
    void announce_locked() noexcept {}
    void notify() { state.notify_push(); }
};

} // namespace

void Transaction::end(bool commit) {
    TxStore store{detail::Access::state(*std::exchange(connection_, nullptr)), failed_,
                  failed_code_};
    gqs::detail::end_transaction(store, commit, pushed_);
}

} // namespace gqs::sqlite
