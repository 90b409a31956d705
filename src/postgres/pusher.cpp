// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one per statement or a batch in one statement.
#include "backend/codec.hpp"
#include "connection_impl.hpp"
#include "sql.hpp"

#include <gqs/postgres/pusher.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace gqs::postgres {

namespace {

// The most times a keyed push runs again when the key's holder finished or committed while
// it looked (each run sees newer rows, so this only guards against a storm of races).
constexpr int key_tries = 8;

// Checks and encodes a message before anything is stored.
std::string prepare(const Message& message) {
    gqs::detail::check_message(message);
    // Metadata jsonb cannot hold (NUL) is refused there, the same as on every backend.
    return gqs::detail::encode_metadata(message);
}

// The id a unique violation names in its detail ("Key (id)=(0190...) already exists."; the
// "(id)=(" part is not translated), if any.
std::optional<Uuid> duplicate_id(const detail::SqlError& e) {
    const std::string_view what = e.what();
    constexpr std::string_view key = "(id)=(";
    const auto at = what.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    return Uuid::parse(what.substr(at + key.size(), 36));
}

// A duplicate id is DuplicateJob naming the id, as on every backend; `fallback` names the
// job when the server's message does not.
[[noreturn]] void rethrow_duplicate(const detail::SqlError& e, const std::string& fallback) {
    if (e.sqlstate() == "23505" && e.constraint() == "jobs_pkey") {
        if (const auto id = duplicate_id(e))
            throw DuplicateJob("gqs: job " + id->to_string() + " already exists");
        throw DuplicateJob(fallback);
    }
    throw;
}

// Stores one message unless its unique key is held by a live job of its queue; then returns
// the holder. One statement: its own transaction outside `tx`. Caller holds the mutex.
PushResult insert(detail::State& state, const Message& message, const std::string& metadata,
                  std::int64_t delay_us) {
    detail::Params p;
    p.uuid(message.id);
    p.i64(delay_us);
    if (message.metadata.is_null()) {
        p.null();
    } else {
        p.jsonb(metadata);
    }
    p.borrow(message.payload);
    p.borrow(message.queue);
    p.i16(static_cast<std::int16_t>(message.priority));
    try {
        if (!message.unique_key) {
            state.run(detail::insert_sql, p, "pushing a job");
            return {message.id, false};
        }
        p.borrow(*message.unique_key);
        for (int i = 0; i < key_tries; ++i) {
            auto r = state.run(detail::insert_keyed_sql, p, "pushing a job");
            if (PQntuples(r.get()) > 0)
                return {detail::uuid_at(r.get(), 0, 0), detail::bool_at(r.get(), 0, 1)};
        }
    } catch (const detail::SqlError& e) {
        rethrow_duplicate(e, "gqs: job " + message.id.to_string() + " already exists");
    }
    throw StorageError("gqs: pushing a job: its unique key's holder kept changing; try again",
                       StorageErrorKind::Busy);
}

// Inserts messages[at...] in one statement; returns the ids stored (when `want_ids`).
std::set<Uuid> insert_rows(detail::State& state, std::span<const Message> messages,
                           const std::vector<std::string>& metadata,
                           const std::vector<std::size_t>& at, std::int64_t delay_us,
                           bool want_ids) {
    detail::Array ids(detail::oid_uuid), meta(detail::oid_jsonb), payloads(detail::oid_bytea),
        queues(detail::oid_text), priorities(detail::oid_int2), keys(detail::oid_text);
    for (auto i : at) {
        const auto& m = messages[i];
        ids.add(detail::uuid_bytes(m.id));
        if (m.metadata.is_null()) {
            meta.add_null();
        } else {
            meta.add(detail::jsonb_bytes(metadata[i]));
        }
        payloads.add(m.payload);
        queues.add(m.queue);
        priorities.add(detail::be16(static_cast<std::int16_t>(m.priority)));
        if (m.unique_key) {
            keys.add(*m.unique_key);
        } else {
            keys.add_null();
        }
    }
    detail::Params p;
    p.own(ids.finish());
    p.i64(delay_us);
    p.own(meta.finish());
    p.own(payloads.finish());
    p.own(queues.finish());
    p.own(priorities.finish());
    p.own(keys.finish());
    std::set<Uuid> stored;
    try {
        auto r = state.run(detail::insert_batch_sql, p, "pushing a batch of jobs");
        for (int row = 0; want_ids && row < PQntuples(r.get()); ++row)
            stored.insert(detail::uuid_at(r.get(), row, 0));
    } catch (const detail::SqlError& e) {
        rethrow_duplicate(e, "gqs: a job of the batch already exists (or an id is repeated)");
    }
    return stored;
}

// The live holders of the keys of messages[at...].
std::map<std::pair<std::string, std::string>, Uuid>
key_holders(detail::State& state, std::span<const Message> messages,
            const std::vector<std::size_t>& at) {
    detail::Array queues(detail::oid_text), keys(detail::oid_text);
    for (auto i : at) {
        queues.add(messages[i].queue);
        keys.add(*messages[i].unique_key);
    }
    detail::Params p;
    p.own(queues.finish());
    p.own(keys.finish());
    auto r = state.run(detail::key_holders_sql, p, "reading unique keys' holders");
    std::map<std::pair<std::string, std::string>, Uuid> holders;
    for (int row = 0; row < PQntuples(r.get()); ++row)
        holders.emplace(
            std::pair{detail::bytes_at(r.get(), row, 0), detail::bytes_at(r.get(), row, 1)},
            detail::uuid_at(r.get(), row, 2));
    return holders;
}

bool any_key(std::span<const Message> messages) {
    return std::any_of(messages.begin(), messages.end(),
                       [](const Message& m) { return m.unique_key.has_value(); });
}

// Stores a batch. Without keys, one statement (its own transaction unless inside one); with
// keys, the caller holds a transaction: the messages not stored get their keys' holders,
// and a key whose holder finished meanwhile is tried again. Caller holds the mutex.
std::vector<PushResult> insert_all(detail::State& state, std::span<const Message> messages,
                                   const std::vector<std::string>& metadata,
                                   std::int64_t delay_us) {
    std::vector<PushResult> results(messages.size());
    std::vector<std::size_t> todo(messages.size());
    for (std::size_t i = 0; i < todo.size(); ++i)
        todo[i] = i;
    if (!any_key(messages)) {
        // Nothing to skip: the statement stores every message or fails.
        insert_rows(state, messages, metadata, todo, delay_us, false);
        for (std::size_t i = 0; i < messages.size(); ++i)
            results[i] = {messages[i].id, false};
        return results;
    }
    for (int attempt = 0; attempt < key_tries && !todo.empty(); ++attempt) {
        const auto stored = insert_rows(state, messages, metadata, todo, delay_us, true);
        std::vector<std::size_t> missing;
        for (auto i : todo) {
            if (stored.count(messages[i].id) > 0 && !results[i].duplicate) {
                results[i] = {messages[i].id, false};
            } else {
                missing.push_back(i);
            }
        }
        if (missing.empty()) return results;
        const auto holders = key_holders(state, messages, missing);
        todo.clear();
        for (auto i : missing) {
            auto it = holders.find({messages[i].queue, *messages[i].unique_key});
            if (it == holders.end()) {
                todo.push_back(i); // the holder finished meanwhile: the key is free
            } else {
                results[i] = {it->second, true};
            }
        }
    }
    if (!todo.empty())
        throw StorageError("gqs: pushing a batch: a unique key's holder kept changing; try again",
                           StorageErrorKind::Busy);
    return results;
}

std::vector<std::string> prepare_all(std::span<const Message> messages) {
    std::vector<std::string> metadata;
    metadata.reserve(messages.size());
    for (const auto& m : messages)
        metadata.push_back(prepare(m));
    return metadata;
}

// The queue to announce for the stored results: the one queue, or "" for several; nullopt
// when nothing was stored.
std::optional<std::string> stored_queue(std::span<const Message> messages,
                                        const std::vector<PushResult>& results) {
    std::optional<std::string> queue;
    for (std::size_t i = 0; i < results.size(); ++i) {
        if (results[i].duplicate) continue;
        if (!queue) {
            queue = messages[i].queue;
        } else if (*queue != messages[i].queue) {
            return std::string();
        }
    }
    return queue;
}

} // namespace

Pusher::Pusher(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Pusher");
}

PushResult Pusher::push(const Message& message, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    const std::string metadata = prepare(message);
    auto& state = detail::Access::state(*connection_);
    PushResult result;
    {
        auto lock = state.enter();
        result = insert(state, message, metadata, detail::micros_of(delay));
        if (result.duplicate) return result;
        state.announce_locked(message.queue);
    }
    state.notify_push();
    return result;
}

PushResult Pusher::push(Transaction& tx, const Message& message, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    const std::string metadata = prepare(message);
    auto& state = detail::Access::state(tx, *connection_, "pushing a job");
    auto result = detail::Access::in_savepoint(
        tx, state, [&] { return insert(state, message, metadata, detail::micros_of(delay)); });
    if (!result.duplicate) detail::Access::stored(tx, message.queue);
    return result;
}

std::vector<PushResult> Pusher::push_batch(std::span<const Message> messages, Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    if (messages.empty()) return {};
    const auto metadata = prepare_all(messages);
    auto& state = detail::Access::state(*connection_);
    std::vector<PushResult> results;
    {
        auto lock = state.enter();
        if (any_key(messages)) {
            results = detail::in_transaction(state, "pushing a batch of jobs", [&] {
                return insert_all(state, messages, metadata, detail::micros_of(delay));
            });
        } else {
            results = insert_all(state, messages, metadata, detail::micros_of(delay));
        }
        const auto queue = stored_queue(messages, results);
        if (!queue) return results;
        state.announce_locked(*queue);
    }
    state.notify_push();
    return results;
}

std::vector<PushResult> Pusher::push_batch(Transaction& tx, std::span<const Message> messages,
                                           Duration delay) {
    gqs::detail::check_delay(delay, "push delay");
    auto& state = detail::Access::state(tx, *connection_, "pushing a batch of jobs");
    if (messages.empty()) return {};
    const auto metadata = prepare_all(messages);
    auto results = detail::Access::in_savepoint(
        tx, state, [&] { return insert_all(state, messages, metadata, detail::micros_of(delay)); });
    if (const auto queue = stored_queue(messages, results)) detail::Access::stored(tx, *queue);
    return results;
}

} // namespace gqs::postgres
