// SPDX-License-Identifier: Apache-2.0
// The rules of Admin's actions, written once over a backend's data layer.
#pragma once

#include "codec.hpp"
#include "rules.hpp"

#include <gqs/errors.hpp>
#include <gqs/uuid.hpp>

#include <cstdint>
#include <string>

namespace gqs::detail {

// A backend's Admin store is its dialect for the operator's actions. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   template <class Fn> void in_transaction(const char* doing, Fn&& fn);
//       lock held: runs fn in one write transaction, rolled back if fn throws
//   std::int64_t retry(const Uuid&, Duration delay);     Dead -> Pending; rows changed
//   std::int64_t retry_all(Duration delay);               every Dead job whose key is free
//   std::int64_t cancel(const Uuid&);                     rows changed
//   std::int64_t remove(const Uuid&);                     rows changed
//       lock held, inside in_transaction (retry_all: outside; its own transaction)
//   bool holds_unique_key(const StorageError&) const;
//       the error is the live jobs' unique-key index refusing a change
//   std::optional<std::int64_t> status_of(const Uuid&);  the stored status, nullopt if none
//   void announce_locked(const std::string& queue); void notify();
//       as for the Pusher's store (push.hpp): a retried job is a pushed one

/// After an action matched no row: throws JobLost or BadStatus from the status the action's
/// own transaction sees.
template <class Store>
[[noreturn]] void explain_miss(Store& store, const Uuid& id, const char* action,
                               const char* wanted) {
    const auto status = store.status_of(id);
    std::optional<Status> found;
    if (status) found = status_of_code(*status);
    explain_no_match(id, action, wanted, found);
}

/// Admin::retry.
template <class Store>
void retry_with(Store& store, const Uuid& id, Duration delay) {
    check_delay(delay, "retry delay");
    store.locked([&] {
        store.in_transaction("retrying a job", [&] {
            std::int64_t changed = 0;
            try {
                changed = store.retry(id, delay);
            } catch (const StorageError& e) {
                // The only unique index a retry can hit is the live jobs' unique keys.
                if (!store.holds_unique_key(e)) throw;
                throw UniqueConflict("gqs: cannot retry job " + id.to_string() +
                                     ": a live job of its queue holds its unique key");
            }
            if (changed == 0) explain_miss(store, id, "retry", "a dead job");
        });
        store.announce_locked("");
    });
    store.notify();
}

/// Admin::retry_all_dead.
template <class Store>
std::int64_t retry_all_with(Store& store, Duration delay) {
    check_delay(delay, "retry delay");
    std::int64_t changed = 0;
    store.locked([&] {
        changed = store.retry_all(delay);
        if (changed > 0) store.announce_locked("");
    });
    if (changed > 0) store.notify();
    return changed;
}

/// Admin::cancel.
template <class Store>
void cancel_with(Store& store, const Uuid& id) {
    store.locked([&] {
        store.in_transaction("cancelling a job", [&] {
            if (store.cancel(id) == 0)
                explain_miss(store, id, "cancel", "a pending or processing job");
        });
    });
}

/// Admin::remove.
template <class Store>
void remove_with(Store& store, const Uuid& id) {
    store.locked([&] {
        store.in_transaction("deleting a job", [&] {
            if (store.remove(id) == 0)
                explain_miss(store, id, "delete", "a job that is not processing");
        });
    });
}

} // namespace gqs::detail
