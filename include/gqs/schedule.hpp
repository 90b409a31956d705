// SPDX-License-Identifier: Apache-2.0
// A schedule: a message pushed at the fire times of a cron expression (docs/schedules.md).
#pragma once

#include <gqs/cron.hpp>
#include <gqs/message.hpp>
#include <gqs/time.hpp>
#include <gqs/uuid.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace gqs {

/// What a schedule does with the slots it missed (no process ran it while they passed).
enum class CatchUp : std::uint8_t {
    Latest, ///< push the most recent missed slot only
    All,    ///< push every missed slot (at most the latest max_catch_up_slots, 100)
    None,   ///< push none of them; wait for the next slot (one due slot is not "missed")
};

/// A named, recurring push: `message` at each fire time of `cron` in `zone`.
/// Value type; not synchronised (const members may run concurrently with each other).
struct Schedule {
    /// 1..127 bytes of UTF-8 without NUL; unique among a store's schedules.
    std::string name;
    /// A cron expression (gqs::Cron::parse: 5 fields, a macro or `@every <duration>`).
    std::string cron;
    /// The message each slot pushes; each slot's job gets its own id and the unique key
    /// `cron:<name>:<slot>`. Its concurrency_key and group must be unset: schedules do not
    /// store them yet.
    Message message;
    /// "UTC", "local" or an IANA name ("Europe/Berlin") from the system's tz database.
    std::string zone = "UTC";
    /// What to do with slots missed while nothing ran the schedule.
    CatchUp catch_up = CatchUp::Latest;
    /// A paused schedule pushes nothing until resumed.
    bool paused = false;
};

/// A schedule as stored, with where it stands. A snapshot: changing it changes nothing.
struct ScheduleInfo {
    /// The schedule as put.
    Schedule schedule;
    /// The next slot it will push; nullopt when its expression never fires again.
    std::optional<TimePoint> next_fire;
    /// The last slot it pushed, if any.
    std::optional<TimePoint> last_fire;
    /// The id of the job the last slot pushed, if any.
    std::optional<Uuid> last_job;
};

/// Throws std::invalid_argument, saying what is wrong, unless `schedule` can be stored: its
/// name is 1..127 bytes of UTF-8 without NUL, its cron expression parses, its zone exists,
/// and its message is one a push accepts (queue, priority, unique key, metadata) with
/// metadata that is empty or a JSON object (each slot adds keys to it) and without a
/// concurrency key or group (not stored with schedules yet). Thread-safe.
void validate(const Schedule& schedule);

} // namespace gqs
