// SPDX-License-Identifier: Apache-2.0
// Pusher: inserting jobs, one per statement or a batch in one statement.
#include "backend/codec.hpp"
#include "backend/push.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/pusher.hpp>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace gqs::postgres {

namespace {

// The most times a keyed push runs again when the key's holder finished or committed while
// it looked (each run sees newer rows, so this only guards against a storm of races).
constexpr int key_tries = 8;

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
    if (metadata.empty()) { // encode_metadata's "": NULL
        p.null();
    } else {
        p.jsonb(metadata);
    }
    p.borrow(message.payload);
    p.borrow(message.queue);
    p.i16(static_cast<std::int16_t>(message.priority));
    if (message.concurrency_key) {
        p.borrow(*message.concurrency_key);
    } else {
        p.null();
    }
    if (message.group) {
        p.borrow(*message.group);
    } else {
        p.null();
    }
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
        queues(detail::oid_text), priorities(detail::oid_int2), keys(detail::oid_text),
        concurrency_keys(detail::oid_text), groups(detail::oid_text);
    for (auto i : at) {
        const auto& m = messages[i];
        ids.add(detail::uuid_bytes(m.id));
        if (metadata[i].empty()) {
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
        if (m.concurrency_key) {
            concurrency_keys.add(*m.concurrency_key);
        } else {
            concurrency_keys.add_null();
        }
        if (m.group) {
            groups.add(*m.group);
        } else {
            groups.add_null();
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
    p.own(concurrency_keys.finish());
    p.own(groups.finish());
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

// The dialect of the push rules (backend/push.hpp).
struct Store {
    detail::State& state;
    Transaction* tx = nullptr;

    template <class Fn>
    void locked(Fn&& fn) {
        auto lock = state.enter();
        fn();
    }
    // One statement: its own transaction (a keyed one retries races in it).
    PushResult insert(const Message& message, const std::string& metadata, Duration delay) {
        return insert_within(message, metadata, delay);
    }
    std::vector<PushResult> insert_batch(std::span<const Message> messages,
                                         const std::vector<std::string>& metadata, Duration delay) {
        // Without keys one statement stores the whole batch; with keys the holders' reads and
        // the retries need one transaction around them.
        if (!any_key(messages)) return insert_batch_within(messages, metadata, delay);
        return detail::in_transaction(state, "pushing a batch of jobs", [&] {
            return insert_batch_within(messages, metadata, delay);
        });
    }
    PushResult insert_within(const Message& message, const std::string& metadata, Duration delay) {
        return gqs::postgres::insert(state, message, metadata, detail::micros_of(delay));
    }
    std::vector<PushResult> insert_batch_within(std::span<const Message> messages,
                                                const std::vector<std::string>& metadata,
                                                Duration delay) {
        return insert_all(state, messages, metadata, detail::micros_of(delay));
    }
    void announce_locked(const std::string& queue) { state.announce_locked(queue); }
    void notify() { state.notify_push(); }
    template <class Fn>
    auto in_savepoint(Fn&& fn) {
        return detail::Access::in_savepoint(*tx, state, std::forward<Fn>(fn));
    }
    void stored(const std::string& queue) { detail::Access::stored(*tx, queue); }
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
    return gqs::postgres::insert(state, message, metadata, 0);
}

} // namespace gqs::postgres
