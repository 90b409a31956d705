// SPDX-License-Identifier: Apache-2.0
// A job: a message plus its queue state, as read from storage.
#pragma once

#include <gqs/message.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gqs {

/// One failed attempt of a job, as kept in Job::errors.
struct AttemptError {
    /// When the failure was stored.
    TimePoint at{};
    /// The attempt that failed (Job::attempts while it ran).
    std::uint32_t attempt = 0;
    /// The handler's message, "lease expired", or "cancelled"; at most 4 KiB of UTF-8.
    std::string message;
    friend bool operator==(const AttemptError&, const AttemptError&) = default;
};

/// How many entries Job::errors keeps (the newest), and the most bytes of one message.
inline constexpr std::size_t max_attempt_errors = 20;
inline constexpr std::size_t max_error_bytes = 4096;

/// A snapshot of a stored job. Changing its fields changes nothing in storage; a successful
/// Puller transition updates the caller's snapshot to match what it wrote.
struct Job : Message {
    /// An empty snapshot: the nil id (no id is generated: every stored row brings its own).
    Job();

    TimePoint created_at{};
    TimePoint updated_at{};
    Status status = Status::Unknown;
    /// How many times the job was pulled; also the fence of the current lease.
    std::uint32_t attempts = 0;
    /// End of the current lease; nullopt when the job is not leased.
    std::optional<TimePoint> locked_until;
    /// Earliest time the job may be pulled.
    TimePoint next_run_at{};
    /// Why earlier attempts failed, oldest first; at most the last max_attempt_errors.
    std::vector<AttemptError> errors;
    /// Admin::cancel asked for this running job to stop; it is never pulled again.
    bool cancel_requested = false;
};

// The members named are those without a default initializer.
inline Job::Job()
    : Message{.id = Uuid{},
              .metadata = {},
              .payload = {},
              .unique_key = {},
              .concurrency_key = {},
              .group = {}} {}

} // namespace gqs
