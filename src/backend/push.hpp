// SPDX-License-Identifier: Apache-2.0
// The rules of Pusher::push and push_batch, written once over a backend's data layer.
#pragma once

#include "codec.hpp"

#include <gqs/interfaces.hpp>

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gqs::detail {

// A backend's Pusher store is its dialect for pushing. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   PushResult insert(const Message&, const std::string& metadata, Duration delay);
//   std::vector<PushResult> insert_batch(std::span<const Message>,
//                                        const std::vector<std::string>& metadata, Duration);
//       lock held, outside any transaction: store in a transaction of their own (a batch
//       all or none); a held unique key makes a duplicate result
//   PushResult insert_within(...); std::vector<PushResult> insert_batch_within(...);
//       the same inside the caller's transaction (no transaction of their own)
//   void announce_locked(const std::string& queue);
//       lock held, after a commit that stored jobs of `queue` ("" for several): tells other
//       connections and processes, where the backend does so itself
//   void notify();
//       no lock, after that commit: wakes this process's push subscribers
//
// and, for a push inside the application's transaction, a store made for `tx` (its checks
// done: the transaction is open, on the Pusher's Connection) with:
//
//   template <class Fn> auto in_savepoint(Fn&& fn);
//       runs fn under a savepoint of tx, so that a failed push undoes only itself
//   void stored(const std::string& queue);
//       tx stored jobs of `queue`: announce and notify after its commit

/// Checks and encodes a message before anything is stored: its metadata's stored text.
/// Throws std::invalid_argument as Pusher::push promises.
[[nodiscard]] inline std::string prepare(const Message& message) {
    check_message(message);
    return encode_metadata(message);
}

/// prepare() of every message, before anything is stored: bad input changes nothing.
[[nodiscard]] inline std::vector<std::string> prepare_all(std::span<const Message> messages) {
    std::vector<std::string> metadata;
    metadata.reserve(messages.size());
    for (const auto& m : messages)
        metadata.push_back(prepare(m));
    return metadata;
}

/// The queue a push announces: the one queue of the jobs stored, "" for several, nullopt
/// when nothing was stored (every message a duplicate).
[[nodiscard]] inline std::optional<std::string>
stored_queue(std::span<const Message> messages, const std::vector<PushResult>& results) {
    std::optional<std::string> queue;
    for (std::size_t i = 0; i < results.size() && i < messages.size(); ++i) {
        if (results[i].duplicate) continue;
        if (!queue) {
            queue = messages[i].queue;
        } else if (*queue != messages[i].queue) {
            return std::string();
        }
    }
    return queue;
}

/// Pusher::push: checks, stores, and wakes workers only after the commit, and only when a
/// job was stored.
template <class Store>
PushResult push_with(Store& store, const Message& message, Duration delay) {
    check_delay(delay, "push delay");
    const std::string metadata = prepare(message);
    PushResult result;
    store.locked([&] {
        result = store.insert(message, metadata, delay);
        if (!result.duplicate) store.announce_locked(message.queue);
    });
    if (!result.duplicate) store.notify();
    return result;
}

/// Pusher::push_batch: every message checked first; all stored or none.
template <class Store>
std::vector<PushResult> push_batch_with(Store& store, std::span<const Message> messages,
                                        Duration delay) {
    check_delay(delay, "push delay");
    if (messages.empty()) return {};
    const auto metadata = prepare_all(messages);
    std::vector<PushResult> results;
    std::optional<std::string> queue;
    store.locked([&] {
        results = store.insert_batch(messages, metadata, delay);
        queue = stored_queue(messages, results);
        if (queue) store.announce_locked(*queue);
    });
    if (queue) store.notify();
    return results;
}

/// Pusher::push(tx, ...): `make_store()` checks the transaction and returns its store; the
/// job exists only if the transaction commits, which wakes workers.
template <class MakeStore>
PushResult push_within_with(MakeStore&& make_store, const Message& message, Duration delay) {
    check_delay(delay, "push delay");
    const std::string metadata = prepare(message);
    auto store = make_store();
    auto result = store.in_savepoint([&] { return store.insert_within(message, metadata, delay); });
    if (!result.duplicate) store.stored(message.queue);
    return result;
}

/// Pusher::push_batch(tx, ...), as push_within_with.
template <class MakeStore>
std::vector<PushResult> push_batch_within_with(MakeStore&& make_store,
                                               std::span<const Message> messages, Duration delay) {
    check_delay(delay, "push delay");
    auto store = make_store();
    if (messages.empty()) return {};
    const auto metadata = prepare_all(messages);
    auto results =
        store.in_savepoint([&] { return store.insert_batch_within(messages, metadata, delay); });
    if (const auto queue = stored_queue(messages, results)) store.stored(*queue);
    return results;
}

} // namespace gqs::detail
