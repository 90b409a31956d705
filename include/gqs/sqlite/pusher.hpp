// SPDX-License-Identifier: Apache-2.0
// gqs::Pusher over SQLite.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/sqlite/connection.hpp>

#include <memory>

namespace gqs::sqlite {

/// Inserts jobs into the `jobs` table. Thread-safety: safe from any thread; shares the
/// Connection's lock. Throws std::invalid_argument for a null connection.
class Pusher final : public gqs::Pusher {
public:
    explicit Pusher(std::shared_ptr<Connection> connection);
    /// A message with a unique key is stored in its own transaction (insert, and on a
    /// duplicate the holder's id, read from the same snapshot).
    PushResult push(const Message& message, Duration delay = {}) override;
    std::vector<PushResult> push_batch(std::span<const Message> messages,
                                       Duration delay = {}) override;

    /// Pushes inside the app's transaction `tx` (Connection::begin()): the job exists only if
    /// `tx` commits, and workers are woken after the commit. A push that fails (bad input,
    /// DuplicateJob, a storage error) throws and changes nothing, and `tx` stays usable; if
    /// SQLite rolled the whole transaction back (a full disk), commit() throws. Throws
    /// std::logic_error if `tx` has ended, std::invalid_argument if it belongs to another
    /// Connection than this Pusher's.
    PushResult push(Transaction& tx, const Message& message, Duration delay = {});
    /// push_batch inside `tx`: all of the batch or (if it throws) none of it.
    std::vector<PushResult> push_batch(Transaction& tx, std::span<const Message> messages,
                                       Duration delay = {});

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::sqlite
