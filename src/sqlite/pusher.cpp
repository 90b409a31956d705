// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one or a batch in one transaction.
#include "connection_impl.hpp"

#include <gqs/sqlite/pusher.hpp>

#include <cmath>
#include <optional>
#include <string>

namespace gqs::sqlite {

namespace {

constexpr const char* insert_sql =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload) VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5)";

void check_delay(Duration delay) {
    if (delay.count() < 0) throw std::invalid_argument("gqs: push delay must not be negative");
}

// A key as a JSON pointer token (RFC 6901): `~` and `/` escaped.
std::string pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

// JSON has no NaN, no infinities and no binary values: nlohmann::json would write them as
// `null` and `{"bytes":…}`, so the job would come back with other metadata than it was
// pushed with. Returns the JSON pointer of the first such value, or nullopt.
std::optional<std::string> unstorable(const nlohmann::json& value, const std::string& where) {
    switch (value.type()) {
    case nlohmann::json::value_t::number_float:
        if (std::isfinite(value.get<double>())) return std::nullopt;
        return (where.empty() ? "/" : where) + " (" +
               (std::isnan(value.get<double>()) ? "NaN" : "infinity") + ")";
    case nlohmann::json::value_t::binary: return (where.empty() ? "/" : where) + " (binary)";
    case nlohmann::json::value_t::array:
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (auto bad = unstorable(value[i], where + "/" + std::to_string(i))) return bad;
        }
        return std::nullopt;
    case nlohmann::json::value_t::object:
        for (const auto& [key, item] : value.items()) {
            if (auto bad = unstorable(item, where + "/" + pointer_token(key))) return bad;
        }
        return std::nullopt;
    default: return std::nullopt;
    }
}

std::string encode_metadata(const Message& message) {
    if (message.metadata.is_null()) return {};
    if (auto bad = unstorable(message.metadata, ""))
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: the value at " + *bad +
                                    " has no JSON form");
    try {
        return message.metadata.dump();
    } catch (const nlohmann::json::exception& e) {
        // dump() refuses strings that are not valid UTF-8.
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: " + e.what());
    }
}

// Caller holds the mutex. `metadata` is the encoded form of message.metadata.
void insert(detail::State& state, const Message& message, const std::string& metadata,
            std::int64_t now, std::int64_t run_at) {
    auto stmt = state.statement(insert_sql, "pushing a job");
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
    check_delay(delay);
    std::string metadata = encode_metadata(message);
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard lock(state.mutex);
        auto now = detail::now_micros();
        // One statement in autocommit mode is its own write transaction: SQLite takes the
        // write lock before reading anything, so busy_timeout applies.
        insert(state, message, metadata, now, detail::add_micros(now, delay));
    }
    state.notify_push();
}

void Pusher::push_batch(std::span<const Message> messages, Duration delay) {
    check_delay(delay);
    if (messages.empty()) return;
    // Encode outside the lock and before the transaction, so bad input changes nothing.
    std::vector<std::string> metadata;
    metadata.reserve(messages.size());
    for (const auto& m : messages)
        metadata.push_back(encode_metadata(m));
    auto& state = detail::Access::state(*connection_);
    {
        std::lock_guard lock(state.mutex);
        detail::in_write_transaction(state, "pushing a batch of jobs", [&] {
            auto now = detail::now_micros();
            auto run_at = detail::add_micros(now, delay);
            for (std::size_t i = 0; i < messages.size(); ++i)
                insert(state, messages[i], metadata[i], now, run_at);
        });
    }
    state.notify_push();
}

} // namespace gqs::sqlite
