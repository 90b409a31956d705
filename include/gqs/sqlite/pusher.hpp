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

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::sqlite
