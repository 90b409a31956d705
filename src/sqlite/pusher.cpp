// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one or a batch in one transaction.
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/sqlite/pusher.hpp>

namespace gqs::sqlite {

namespace {

// Caller holds the mutex. `metadata` is the encoded form of message.metadata.
void insert(detail::State& state, const Message& message, const std::string& metadata,
            std::int64_t now, std::int64_t run_at) {
    auto stmt = state.statement(detail::insert_sql, "pushing a job");
    detail::bind_id(stmt, 1, message.id);
    stmt.bind(2, now);
    stmt.bind(3, run_at);
    if (message.metadata.is_null()) {
        stmt.bind_null(4);
    } else {
        stmt.bind_text(4, metadata);
    }
    stmt.bind_blob(5, message.payload.data(), message.payload.size());
    try {
        stmt.run();
    } catch (const StorageError& e) {
        if (e.extended_code() == SQLITE_CONSTRAINT_PRIMARYKEY ||
            e.extended_code() == SQLITE_CONSTRAINT_UNIQUE)
            throw DuplicateJob("gqs: job " + message.id.to_string() + " already exists");
        throw;
    }
}

} // namespace

Pusher::Pusher(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Pusher");
}

void Pusher::push(const Message& message, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    std::string metadata = gqs::detail::encode_metadata(message);
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard lock(state.mutex);
        auto now = state.now();
        // One statement in autocommit mode is its own write transaction: SQLite takes the
        // write lock before reading anything, so busy_timeout applies.
        insert(state, message, metadata, now, detail::add_micros(now, delay));
    }
    state.notify_push();
}

void Pusher::push_batch(std::span<const Message> messages, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    if (messages.empty()) return;
    // Encode outside the lock and before the transaction, so bad input changes nothing.
    std::vector<std::string> metadata;
    metadata.reserve(messages.size());
    for (const auto& m : messages)
        metadata.push_back(gqs::detail::encode_metadata(m));
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard lock(state.mutex);
        detail::in_write_transaction(state, "pushing a batch of jobs", [&] {
            auto now = state.now();
            auto run_at = detail::add_micros(now, delay);
            for (std::size_t i = 0; i < messages.size(); ++i)
                insert(state, messages[i], metadata[i], now, run_at);
        });
    }
    state.notify_push();
}

} // namespace gqs::sqlite
