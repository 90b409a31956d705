// SPDX-License-Identifier: Apache-2.0
// Schedules: the schedules stored in a queue's database, and the tick that pushes their slots.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/schedule.hpp>
#include <gqs/time.hpp>

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace gqs {

/// The most slots one tick pushes for one schedule with CatchUp::All: the most recent ones;
/// older missed slots are skipped, as CatchUp::None skips them (docs/schedules.md).
inline constexpr std::size_t max_catch_up_slots = 100;

/// The schedules stored in a queue's database, the same for every process that opens it
/// (docs/schedules.md, "Stored schedules"). Each backend has one (`sqlite::Schedules`,
/// `postgres::Schedules`) over its Connection. Each operation is atomic. Times are the
/// backend's "now": the Connection's clock on SQLite, the server's on PostgreSQL.
/// Thread-safety: every member is safe from any thread and from several processes at once.
class Schedules {
public:
    virtual ~Schedules() = default;
    /// Stores `schedule`, replacing the one of the same name (its last fire and last job are
    /// kept). Its next slot is the first fire time after now, unless the stored one has the
    /// same cron and zone and both are unpaused: then it keeps its next slot (missed slots are
    /// still caught up). Throws std::invalid_argument (validate's message; nothing stored).
    virtual void put(const Schedule& schedule) = 0;
    /// Deletes the schedule named `name`; false (and nothing changed) if there is none. Jobs
    /// it pushed stay.
    virtual bool remove(const std::string& name) = 0;
    /// Stops the schedule's slots until resume(); tick pushes nothing for it meanwhile. No-op
    /// if paused already. Throws ScheduleNotFound for an unknown name.
    virtual void pause(const std::string& name) = 0;
    /// Lets a paused schedule fire again from its first slot after now: the slots that passed
    /// while it was paused are not pushed. No-op if not paused. Throws ScheduleNotFound.
    virtual void resume(const std::string& name) = 0;
    /// Every stored schedule with where it stands, by name.
    [[nodiscard]] virtual std::vector<ScheduleInfo> list() = 0;
    /// The schedule named `name` with where it stands; nullopt if there is none.
    [[nodiscard]] virtual std::optional<ScheduleInfo> get(const std::string& name) = 0;
    /// Pushes the schedule's message once, now, outside its slots: the message's own unique
    /// key (if any) applies, its metadata gains "gqs_schedule": name, and the schedule's next
    /// and last slots do not change. Throws ScheduleNotFound for an unknown name.
    virtual PushResult run_now(const std::string& name) = 0;
    /// Pushes the due slots of every unpaused schedule (those at or before now), as its
    /// CatchUp says, and returns how many jobs were stored. Each slot's job has the unique
    /// key `cron:<name>:<slot in UTC ISO-8601>` and metadata "gqs_schedule" and "gqs_slot";
    /// the push and the schedule's advance to its next slot are one transaction. Any number
    /// of processes may tick at once: each slot is pushed once. Throws StorageError if the
    /// database fails; the schedules whose slots were pushed before stay pushed and advanced.
    virtual int tick() = 0;
    /// How long from now until the earliest next slot of an unpaused schedule (zero if one is
    /// due), as the backend's clock tells; nullopt when no schedule will fire. What a thread
    /// that ticks sleeps for (a put in another process may make it shorter).
    [[nodiscard]] virtual std::optional<Duration> next_due_in() = 0;
    /// Calls `notify` soon after a schedule is put, paused, resumed or removed through this
    /// Connection (on PostgreSQL, through any session of the database), so a sleeping
    /// scheduler looks again; it may call it at other times too (after pushes). `notify` runs
    /// on the changing thread or the backend's wake-up thread and must be quick and not throw.
    /// A backend without wake-ups returns an empty Subscription.
    [[nodiscard]] virtual Subscription on_change(std::function<void()> notify) = 0;
};

} // namespace gqs
