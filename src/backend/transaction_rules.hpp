// SPDX-License-Identifier: Apache-2.0
// How a backend's Transaction ends, written once over its dialect.
#pragma once

#include "rules.hpp"

#include <exception>

namespace gqs::detail {

// A backend's end-of-transaction store. It provides:
//
//   bool ended_by_app() const;
//       nothing is open and the database did not abort it: the application's own COMMIT or
//       ROLLBACK through its handle ended it
//   std::exception_ptr aborted() const;
//       the database aborted it (a failed statement, a full disk, a lost session): what a
//       commit throws; null when it is still open and usable
//   void commit();                     COMMIT; throws StorageError
//   void rollback() noexcept;          rolls back whatever is still open, if anything
//   void release() noexcept;           frees the Connection's lock
//   void announce_locked() noexcept;   lock held, after a commit that stored jobs: tells other
//                                      connections and processes (may do nothing)
//   void notify();                     lock free: wakes this Connection's workers

/// Ends a Transaction: commits (`commit`) or rolls back, and frees the Connection whatever
/// happens. A rollback never throws. A commit throws, after freeing the Connection, the
/// ended-by-the-app error, the abort's error, or the COMMIT's own; after a commit of a
/// transaction that stored jobs (`pushed`) the workers are woken.
template <class TxStore>
void end_transaction(TxStore& store, bool commit, bool pushed) {
    if (!commit) {
        store.rollback();
        store.release();
        return;
    }
    const bool by_app = store.ended_by_app();
    std::exception_ptr error;
    if (!by_app) {
        error = store.aborted();
        if (!error) {
            try {
                store.commit();
            } catch (...) {
                error = std::current_exception();
            }
        }
    }
    const bool committed = !by_app && !error;
    if (committed && pushed) store.announce_locked();
    store.rollback(); // whatever failed, nothing stays open for the Connection's next user
    store.release();
    if (by_app) throw_ended_by_app("commit");
    if (error) std::rethrow_exception(error);
    if (pushed) store.notify();
}

} // namespace gqs::detail
