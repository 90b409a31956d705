// SPDX-License-Identifier: Apache-2.0
// An existing queue, opened for the CLI's commands through the backend-neutral interfaces.
#pragma once

#include "target.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/queues.hpp>
#include <gqs/schedules.hpp>

#include <memory>
#include <string>

namespace gqs::cli {

/// A queue's Pusher, Observer, Admin, Cleaner, Schedules and Queues, of whichever backend the
/// Target names (they share one connection). Neither copyable nor movable. Not thread-safe: the CLI
/// is one thread.
class OpenedQueue {
public:
    /// Opens the queue at `target`; never creates a file, a schema or a table. Throws gqs::Error
    /// when there is no gqs queue there (a missing file, a file that is not SQLite, another
    /// application's database, a schema that `gqs init` has not set up), SchemaMismatch for a
    /// newer schema version or tables that are not gqs's, StorageError when storage fails
    /// (the server cannot be reached).
    explicit OpenedQueue(const Target& target);
    ~OpenedQueue();
    OpenedQueue(const OpenedQueue&) = delete;
    OpenedQueue& operator=(const OpenedQueue&) = delete;
    OpenedQueue(OpenedQueue&&) = delete;
    OpenedQueue& operator=(OpenedQueue&&) = delete;

    /// The queue's interfaces, valid while this object lives.
    [[nodiscard]] Pusher& pusher() noexcept { return *pusher_; }
    [[nodiscard]] Observer& observer() noexcept { return *observer_; }
    [[nodiscard]] Admin& admin() noexcept { return *admin_; }
    [[nodiscard]] Cleaner& cleaner() noexcept { return *cleaner_; }
    /// The queue's stored schedules. Throws gqs::Error when its schema version predates them
    /// (2): `gqs init` upgrades it in place.
    [[nodiscard]] Schedules& schedules();
    /// The queue limits stored in the database. Throws gqs::Error when its schema version
    /// predates them (3 or less): `gqs init` upgrades it in place.
    [[nodiscard]] Queues& queues();

private:
    std::unique_ptr<Pusher> pusher_;
    std::unique_ptr<Observer> observer_;
    std::unique_ptr<Admin> admin_;
    std::unique_ptr<Cleaner> cleaner_;
    std::unique_ptr<Schedules> schedules_;
    std::unique_ptr<Queues> queues_;
    // Why schedules_ is null: the error schedules() throws.
    std::string no_schedules_;
    // Why queues_ is null: the error queues() throws.
    std::string no_queues_;
};

/// Creates the queue at `target` if it is missing (the SQLite file too, or the PostgreSQL
/// schema) and returns the schema version it has. Idempotent. Throws as OpenedQueue does, and
/// SchemaMismatch when tables that are not gqs's are in the way.
int init_queue(const Target& target);

} // namespace gqs::cli
