// SPDX-License-Identifier: Apache-2.0
// The rules of Schedules (put, pause, resume, run_now, tick), written once over a backend's
// data layer.
#pragma once

#include "codec.hpp"

#include <gqs/cron.hpp>
#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/schedule.hpp>
#include <gqs/schedules.hpp>

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gqs::detail {

// A change of the schedules (put, remove, pause, resume) is announced as a push to no one queue
// is: other processes' schedulers wake and look again (their workers pull once, early).
//
// A backend's Schedules store is its dialect for the gqs_schedules table. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   template <class Fn> void in_transaction(const char* doing, Fn&& fn);
//       lock held: runs fn in one write transaction, rolled back if fn throws
//   std::int64_t now();
//       lock held: the backend's now in µs (SQLite: its clock; PostgreSQL: the server's)
//   void write(const Schedule&, const std::string& metadata, std::optional<std::int64_t> next);
//       insert or replace by name, keeping last_fire and last_job
//   bool erase(const std::string& name);
//   bool pause(const std::string& name);                       false: no such schedule
//   bool resume(const std::string& name, std::optional<std::int64_t> next);
//       a paused schedule only; false when none matched
//   std::optional<ScheduleInfo> read(const std::string& name);
//   std::optional<ScheduleInfo> read_locked(const std::string& name);
//       inside in_transaction: read, and no tick can claim the row until the transaction ends
//   std::vector<ScheduleInfo> read_all();                      by name
//   std::optional<ScheduleInfo> claim_due(std::int64_t now);
//       inside in_transaction: one unpaused schedule whose next slot is at or before `now`,
//       which no other transaction can claim until this one ends; nullopt when none is left
//   bool advance(const std::string& name, std::int64_t was, std::optional<std::int64_t> next,
//                std::optional<std::int64_t> last_fire, std::optional<Uuid> last_job);
//       inside in_transaction: moves next_fire from `was` to `next` (a fenced update);
//       last_fire and last_job only when given
//   PushResult push(const Message&, const std::string& metadata);
//       inside in_transaction: stores the message, runnable now; a held unique key makes a
//       duplicate result
//   std::optional<std::int64_t> earliest();                    the next slot of any unpaused one
//   void announce_locked(const std::string& queue); void notify();
//       as for the Pusher's store (push.hpp)

/// The due slots of a schedule whose stored next slot is `first`, at `now`, as `catch_up`
/// says, and its next slot after them (nullopt: it never fires again). Pure.
struct SlotPlan {
    std::vector<TimePoint> slots; // to push, oldest first
    std::optional<TimePoint> next;
};
[[nodiscard]] SlotPlan plan_slots(const Cron& cron, const std::string& zone, TimePoint first,
                                  CatchUp catch_up, TimePoint now);

/// A slot as UTC ISO-8601: 2026-12-07T08:30:00Z, with .fff (or .ffffff) when not whole
/// seconds. Pure.
[[nodiscard]] std::string iso_slot(TimePoint slot);

/// What a slot of `schedule` pushes (a fresh id, the slot's unique key and metadata); `slot`
/// nullopt: what run_now pushes.
[[nodiscard]] Message slot_message(const Schedule& schedule, std::optional<TimePoint> slot);

/// ScheduleNotFound naming `name`, the same on every backend.
[[noreturn]] void throw_schedule_not_found(const std::string& name);

/// Schedules::put. The same timing put again (every process declaring its schedules at
/// start) keeps the stored next slot, so the slots missed while nothing ran are still caught
/// up; a new, paused or retimed schedule starts from now. The row is read locked, and now
/// after that: a tick that held it has committed, and the next slot is past what it pushed.
template <class Store>
void put_with(Store& store, const Schedule& schedule) {
    validate(schedule);
    const auto cron = Cron::parse(schedule.cron);
    const std::string metadata = encode_metadata(schedule.message);
    store.locked([&] {
        store.in_transaction("storing a schedule", [&] {
            const auto stored = store.read_locked(schedule.name);
            std::optional<std::int64_t> next_us;
            if (stored && !stored->schedule.paused && !schedule.paused && stored->next_fire &&
                stored->schedule.cron == schedule.cron && stored->schedule.zone == schedule.zone) {
                next_us = to_micros(*stored->next_fire);
            } else if (const auto next = cron.next(from_micros(store.now()), schedule.zone)) {
                next_us = to_micros(*next);
            }
            store.write(schedule, metadata, next_us);
        });
        store.announce_locked(std::string());
    });
    store.notify();
}

/// Schedules::remove.
template <class Store>
bool remove_schedule_with(Store& store, const std::string& name) {
    bool removed = false;
    store.locked([&] {
        removed = store.erase(name);
        if (removed) store.announce_locked(std::string());
    });
    if (removed) store.notify();
    return removed;
}

/// Schedules::pause.
template <class Store>
void pause_with(Store& store, const std::string& name) {
    bool found = false;
    store.locked([&] {
        found = store.pause(name);
        if (found) store.announce_locked(std::string());
    });
    if (!found) throw_schedule_not_found(name);
    store.notify();
}

/// Schedules::resume. The next slot is computed from now only for a schedule that is paused,
/// which no tick touches: a running one keeps the slot a tick may be pushing.
template <class Store>
void resume_with(Store& store, const std::string& name) {
    store.locked([&] {
        store.in_transaction("resuming a schedule", [&] {
            const auto info = store.read(name);
            if (!info) throw_schedule_not_found(name);
            if (!info->schedule.paused) return;
            const auto next = Cron::parse(info->schedule.cron)
                                  .next(from_micros(store.now()), info->schedule.zone);
            std::optional<std::int64_t> next_us;
            if (next) next_us = to_micros(*next);
            (void)store.resume(name, next_us);
        });
        store.announce_locked(std::string());
    });
    store.notify();
}

/// Schedules::get.
template <class Store>
std::optional<ScheduleInfo> get_schedule_with(Store& store, const std::string& name) {
    std::optional<ScheduleInfo> info;
    store.locked([&] { info = store.read(name); });
    return info;
}

/// Schedules::list.
template <class Store>
std::vector<ScheduleInfo> list_schedules_with(Store& store) {
    std::vector<ScheduleInfo> all;
    store.locked([&] { all = store.read_all(); });
    return all;
}

/// Schedules::run_now.
template <class Store>
PushResult run_now_with(Store& store, const std::string& name) {
    PushResult result;
    std::string queue;
    store.locked([&] {
        store.in_transaction("running a schedule now", [&] {
            const auto info = store.read(name);
            if (!info) throw_schedule_not_found(name);
            const auto message = slot_message(info->schedule, std::nullopt);
            queue = message.queue;
            result = store.push(message, encode_metadata(message));
        });
        if (!result.duplicate) store.announce_locked(queue);
    });
    if (!result.duplicate) store.notify();
    return result;
}

/// Schedules::tick: one transaction per due schedule, so a schedule's slots and its advance
/// commit together, and a slow schedule never holds the others' rows. `now` is read once: a
/// schedule advances past it, so each is claimed at most once per tick and the loop ends.
template <class Store>
int tick_with(Store& store) {
    std::int64_t now = 0;
    store.locked([&] { now = store.now(); });
    int pushed = 0;
    for (;;) {
        bool claimed = false;
        int stored = 0;
        std::string queue;
        store.locked([&] {
            store.in_transaction("pushing the due slots of a schedule", [&] {
                const auto due = store.claim_due(now);
                if (!due || !due->next_fire) return;
                claimed = true;
                const auto& schedule = due->schedule;
                SlotPlan plan;
                std::vector<Message> messages;
                std::vector<std::string> metadata;
                try {
                    plan = plan_slots(Cron::parse(schedule.cron), schedule.zone, *due->next_fire,
                                      schedule.catch_up, from_micros(now));
                    for (const auto slot : plan.slots) {
                        messages.push_back(slot_message(schedule, slot));
                        metadata.push_back(encode_metadata(messages.back()));
                    }
                } catch (const std::invalid_argument&) {
                    // A row put never wrote (another program's), or a zone the system's tz
                    // database no longer has: it stops firing (next_fire NULL) instead of
                    // failing every tick, and every other schedule, forever.
                    plan = SlotPlan{};
                    messages.clear();
                }
                std::optional<std::int64_t> last_fire;
                std::optional<Uuid> last_job;
                for (std::size_t i = 0; i < messages.size(); ++i) {
                    const auto result = store.push(messages[i], metadata[i]);
                    if (!result.duplicate) ++stored;
                    last_fire = to_micros(plan.slots[i]);
                    last_job = result.id;
                }
                std::optional<std::int64_t> next;
                if (plan.next) next = to_micros(*plan.next);
                if (!store.advance(schedule.name, to_micros(*due->next_fire), next, last_fire,
                                   last_job))
                    throw StorageError("gqs: schedule \"" + schedule.name +
                                           "\" changed while its slots were pushed; try again",
                                       StorageErrorKind::Busy);
                queue = schedule.message.queue;
            });
            if (stored > 0) store.announce_locked(queue);
        });
        if (!claimed) break;
        if (stored > 0) store.notify();
        pushed += stored;
    }
    return pushed;
}

/// Schedules::next_due_in.
template <class Store>
std::optional<Duration> next_due_in_with(Store& store) {
    std::optional<Duration> in;
    store.locked([&] {
        const auto earliest = store.earliest();
        if (!earliest) return;
        const auto now = store.now();
        in = *earliest <= now
                 ? Duration{0}
                 : std::chrono::ceil<Duration>(std::chrono::microseconds(*earliest - now));
    });
    return in;
}

} // namespace gqs::detail
