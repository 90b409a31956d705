// SPDX-License-Identifier: Apache-2.0
// Transaction: the app's transaction that gqs pushes join (savepoints, the wake-up after
// commit), and how it ends.
#include "backend/rules.hpp"
#include "backend/transaction_rules.hpp"
#include "connection_impl.hpp"

#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

namespace gqs::postgres {

namespace detail {

State& Access::state(Transaction& tx, const Connection& expected, const char* who) {
    if (tx.connection_ == nullptr) gqs::detail::throw_ended(who);
    if (tx.connection_ != &expected) gqs::detail::throw_other_connection(who);
    auto& state = Access::state(*tx.connection_);
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

} // namespace detail

Transaction Connection::begin() {
    auto& state = detail::Access::state(*this);
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
        if (connection_ != nullptr) end(false); // a rollback never throws
        connection_ = std::exchange(other.connection_, nullptr);
        pushed_ = std::exchange(other.pushed_, std::nullopt);
    }
    return *this;
}

Transaction::~Transaction() {
    if (connection_ != nullptr) end(false); // a rollback never throws
}

pg_conn* Transaction::native() {
    if (connection_ == nullptr) gqs::detail::throw_ended("native");
    return detail::Access::state(*connection_).conn.get();
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

// The end of a transaction in PostgreSQL's dialect (backend/transaction_rules.hpp).
struct TxStore {
    detail::State& state;
    const std::optional<std::string>& pushed; // the queue announced after the commit

    bool ended_by_app() const noexcept {
        return PQtransactionStatus(state.conn.get()) == PQTRANS_IDLE;
    }
    std::exception_ptr aborted() const {
        const auto status = PQtransactionStatus(state.conn.get());
        if (status == PQTRANS_INTRANS) return nullptr;
        // The session is gone (killed, the server restarted, the network failed): the server
        // rolled the transaction back when it lost the session.
        if (status == PQTRANS_UNKNOWN || PQstatus(state.conn.get()) != CONNECTION_OK)
            return std::make_exception_ptr(
                StorageError("gqs: commit: the connection to the server was lost before the "
                             "commit; nothing was committed",
                             StorageErrorKind::ConnectionLost));
        return std::make_exception_ptr(
            StorageError("gqs: commit: a statement in the transaction failed, so PostgreSQL "
                         "aborted it; nothing was committed",
                         StorageErrorKind::Other));
    }
    void commit() { state.commit("committing a transaction"); }
    void rollback() noexcept { state.rollback_quietly(); }
    void release() noexcept { state.mutex.unlock(); }
    void announce_locked() noexcept { state.announce_locked(*pushed); }
    void notify() { state.notify_push(); }
};

} // namespace

void Transaction::end(bool commit) {
    auto& state = detail::Access::state(*std::exchange(connection_, nullptr));
    const auto pushed = std::exchange(pushed_, std::nullopt);
    TxStore store{state, pushed};
    gqs::detail::end_transaction(store, commit, pushed.has_value());
}

} // namespace gqs::postgres
