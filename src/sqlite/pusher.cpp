// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one or a batch in one transaction.
#include "backend/push.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/pusher.hpp>

#include <utility>

namespace gqs::sqlite {

namespace {

// Stores one message unless its unique key is held by a live job of its queue; then returns
// the holder. Caller holds the mutex, inside a transaction when the message has a key (the
// insert and the holder's read must see the same state). `metadata` is the encoded form of
// message.metadata (encode_metadata): "" is stored as NULL.
PushResult insert(detail::State& state, const Message& message, const std::string& metadata,
                  std::int64_t now, std::int64_t run_at) {
    int changed = 0;
    {
        auto stmt = state.statement(
            message.unique_key ? detail::insert_keyed_sql : detail::insert_sql, "pushing a job");
        detail::bind_id(stmt, 1, message.id);
        stmt.bind(2, now);
        stmt.bind(3, run_at);
        if (metadata.empty()) {
            stmt.bind_null(4);
        } else {
            stmt.bind_text(4, metadata);
        }
        stmt.bind_blob(5, message.payload.data(), message.payload.size());
        stmt.bind_text(6, message.queue);
        stmt.bind(7, message.priority);
        if (message.unique_key) {
            stmt.bind_text(8, *message.unique_key);
        } else {
            stmt.bind_null(8);
        }
        if (message.concurrency_key) {
            stmt.bind_text(9, *message.concurrency_key);
        } else {
            stmt.bind_null(9);
        }
        if (message.group) {
            stmt.bind_text(10, *message.group);
        } else {
            stmt.bind_null(10);
        }
        try {
            changed = stmt.run();
        } catch (const StorageError& e) {
            if (e.extended_code() == SQLITE_CONSTRAINT_PRIMARYKEY ||
                e.extended_code() == SQLITE_CONSTRAINT_UNIQUE)
                throw DuplicateJob("gqs: job " + message.id.to_string() + " already exists");
            throw;
        }
    }
    if (changed > 0 || !message.unique_key) return {message.id, false};
    auto stmt = state.statement(detail::key_holder_sql, "reading a unique key's holder");
    stmt.bind_text(1, message.queue);
    stmt.bind_text(2, *message.unique_key);
    if (!stmt.step())
        throw StorageError("gqs: pushing a job: its unique key is held, but no live job holds it",
                           StorageErrorKind::Other, "SQLITE_INTERNAL", SQLITE_INTERNAL,
                           SQLITE_INTERNAL);
    return {detail::read_id(stmt.get(), 0), true};
}

// Stores a batch; caller holds the lock, inside a transaction.
std::vector<PushResult> insert_all(detail::State& state, std::span<const Message> messages,
                                   const std::vector<std::string>& metadata, Duration delay) {
    std::vector<PushResult> results;
    results.reserve(messages.size());
    auto now = state.now();
    auto run_at = detail::add_micros(now, delay);
    for (std::size_t i = 0; i < messages.size(); ++i)
        results.push_back(insert(state, messages[i], metadata[i], now, run_at));
    return results;
}

// The dialect of the push rules (backend/push.hpp).
struct Store {
    detail::State& state;
    Transaction* tx = nullptr;

    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard lock(state.mutex);
        fn();
    }
    PushResult insert(const Message& message, const std::string& metadata, Duration delay) {
        if (!message.unique_key) {
            // One statement in autocommit mode is its own write transaction: SQLite takes the
            // write lock before reading anything, so busy_timeout applies.
            return insert_within(message, metadata, delay);
        }
        return detail::in_write_transaction(
            state, "pushing a job", [&] { return insert_within(message, metadata, delay); });
    }
    std::vector<PushResult> insert_batch(std::span<const Message> messages,
                                         const std::vector<std::string>& metadata, Duration delay) {
        return detail::in_write_transaction(state, "pushing a batch of jobs", [&] {
            return insert_all(state, messages, metadata, delay);
        });
    }
    PushResult insert_within(const Message& message, const std::string& metadata, Duration delay) {
        auto now = state.now();
        return gqs::sqlite::insert(state, message, metadata, now, detail::add_micros(now, delay));
    }
    std::vector<PushResult> insert_batch_within(std::span<const Message> messages,
                                                const std::vector<std::string>& metadata,
                                                Duration delay) {
        return insert_all(state, messages, metadata, delay);
    }
    // Other connections and processes learn of the commit from the file (the watcher).
    void announce_locked(const std::string&) noexcept {}
    void notify() { state.notify_push(); }
    template <class Fn>
    auto in_savepoint(Fn&& fn) {
        return detail::Access::in_savepoint(*tx, state, std::forward<Fn>(fn));
    }
    void stored(const std::string&) noexcept { detail::Access::stored(*tx); }
};

} // namespace

Pusher::Pusher(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Pusher");
}

PushResult Pusher::push(const Message& message, Duration delay) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::push_with(store, message, delay);
}

std::vector<PushResult> Pusher::push_batch(std::span<const Message> messages, Duration delay) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::push_batch_with(store, messages, delay);
}

PushResult Pusher::push(Transaction& tx, const Message& message, Duration delay) {
    return gqs::detail::push_within_with(
        [&] {
            return Store{detail::Access::state(tx, *connection_, "pushing a job"), &tx};
        },
        message, delay);
}

std::vector<PushResult> Pusher::push_batch(Transaction& tx, std::span<const Message> messages,
                                           Duration delay) {
    return gqs::detail::push_batch_within_with(
        [&] {
            return Store{detail::Access::state(tx, *connection_, "pushing a batch of jobs"), &tx};
        },
        messages, delay);
}

PushResult detail::insert_job(State& state, const Message& message, const std::string& metadata) {
    const auto now = state.now();
    return gqs::sqlite::insert(state, message, metadata, now, now);
}

} // namespace gqs::sqlite
