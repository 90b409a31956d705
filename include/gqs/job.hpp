// SPDX-License-Identifier: Apache-2.0
// A job: a message plus its queue state, as read from storage.
#pragma once

#include <gqs/message.hpp>
#include <gqs/status.hpp>
#include <gqs/time.hpp>

#include <cstdint>
#include <optional>

namespace gqs {

/// A snapshot of a stored job. Changing its fields changes nothing in storage; a successful
/// Puller transition updates the caller's snapshot to match what it wrote.
struct Job : Message {
    TimePoint created_at{};
    TimePoint updated_at{};
    Status status = Status::Unknown;
    /// How many times the job was pulled; also the fence of the current lease.
    std::uint32_t attempts = 0;
    /// End of the current lease; nullopt when the job is not leased.
    std::optional<TimePoint> locked_until;
    /// Earliest time the job may be pulled.
    TimePoint next_run_at{};
};

} // namespace gqs
