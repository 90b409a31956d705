// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one or a batch in one transaction.
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/pusher.hpp>

#include <algorithm>

namespace gqs::sqlite {

namespace {

// Stores one message unless its unique key is held by a live job of its queue; then returns
// the holder. Caller holds the mutex, inside a transaction when the message has a key (the
// insert and the holder's read must see the same state). `metadata` is the encoded form of
// message.metadata.
PushResult insert(detail::State& state, const Message& message, const std::string& metadata,
                  std::int64_t now, std::int64_t run_at) {
    int changed = 0;
    {
        auto stmt = state.statement(
            message.unique_key ? detail::insert_keyed_sql : detail::insert_sql, "pushing a job");
        detail::bind_id(stmt, 1, message.id);
        stmt.bind(2, now);
        stmt.bind(3, run_at);
        if (message.metadata.is_null()) {
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

// Checks and encodes a message before anything is stored.
std::string prepare(const Message& message) {
    gqs::detail::check_message(message);
    return gqs::detail::encode_metadata(message);
}

} // namespace

Pusher::Pusher(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Pusher");
}

PushResult Pusher::push(const Message& message, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    std::string metadata = prepare(message);
    auto& state = detail::Access::state(*connection_);
    PushResult result;
    {
        std::lock_guard lock(state.mutex);
        auto now = state.now();
        auto run_at = detail::add_micros(now, delay);
        if (message.unique_key) {
            result = detail::in_write_transaction(state, "pushing a job", [&] {
                return insert(state, message, metadata, now, run_at);
            });
        } else {
            // One statement in autocommit mode is its own write transaction: SQLite takes the
            // write lock before reading anything, so busy_timeout applies.
            result = insert(state, message, metadata, now, run_at);
        }
    }
    if (!result.duplicate) state.notify_push();
    return result;
}

PushResult Pusher::push(Transaction& tx, const Message& message, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    std::string metadata = prepare(message);
    auto& state = detail::Access::state(tx, *connection_, "pushing a job");
    auto result = detail::Access::in_savepoint(tx, state, [&] {
        auto now = state.now();
        return insert(state, message, metadata, now, detail::add_micros(now, delay));
    });
    if (!result.duplicate) detail::Access::stored(tx);
    return result;
}

namespace {

// Checks and encodes a batch before anything is stored: bad input changes nothing.
std::vector<std::string> prepare_all(std::span<const Message> messages) {
    std::vector<std::string> metadata;
    metadata.reserve(messages.size());
    for (const auto& m : messages)
        metadata.push_back(prepare(m));
    return metadata;
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

bool any_stored(const std::vector<PushResult>& results) {
    return std::any_of(results.begin(), results.end(), [](const auto& r) { return !r.duplicate; });
}

} // namespace

std::vector<PushResult> Pusher::push_batch(std::span<const Message> messages, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    if (messages.empty()) return {};
    auto metadata = prepare_all(messages);
    auto& state = detail::Access::state(*connection_);
    std::vector<PushResult> results;
    {
        std::lock_guard lock(state.mutex);
        results = detail::in_write_transaction(state, "pushing a batch of jobs", [&] {
            return insert_all(state, messages, metadata, delay);
        });
    }
    if (any_stored(results)) state.notify_push();
    return results;
}

std::vector<PushResult> Pusher::push_batch(Transaction& tx, std::span<const Message> messages,
                                           Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    auto& state = detail::Access::state(tx, *connection_, "pushing a batch of jobs");
    if (messages.empty()) return {};
    auto metadata = prepare_all(messages);
    auto results = detail::Access::in_savepoint(
        tx, state, [&] { return insert_all(state, messages, metadata, delay); });
    if (any_stored(results)) detail::Access::stored(tx);
    return results;
}

} // namespace gqs::sqlite
