// SPDX-License-Identifier: Apache-2.0
// gqs::Pusher over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <memory>

namespace gqs::postgres {

/// Inserts jobs into the schema's `jobs` table. Thread-safety: safe from any thread; shares
/// the Connection's lock. Throws std::invalid_argument for a null connection.
class Pusher final : public gqs::Pusher {
public:
    explicit Pusher(std::shared_ptr<Connection> connection);
    /// One statement; a message with a unique key gets the holder's id from the same one.
    /// Other connections' workers are told by a NOTIFY after it committed.
    PushResult push(const Message& message, Duration delay = {}) override;
    /// One INSERT for the whole batch (all or nothing).
    std::vector<PushResult> push_batch(std::span<const Message> messages,
                                       Duration delay = {}) override;

    /// Pushes inside the app's transaction `tx` (Connection::begin()): the job exists only if
    /// `tx` commits, and workers are told after the commit. A push that fails (bad input,
    /// DuplicateJob, a storage error) throws and changes nothing, and `tx` stays usable (the
    /// push runs under a savepoint). Throws std::logic_error if `tx` has ended,
    /// std::invalid_argument if it belongs to another Connection than this Pusher's.
    PushResult push(Transaction& tx, const Message& message, Duration delay = {});
    /// push_batch inside `tx`: all of the batch or (if it throws) none of it.
    std::vector<PushResult> push_batch(Transaction& tx, std::span<const Message> messages,
                                       Duration delay = {});

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
