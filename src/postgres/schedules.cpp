// SPDX-License-Identifier: Apache-2.0
// Schedules: the stored schedules (the rules in backend/schedule_rules.hpp; here their SQL).
#include "backend/codec.hpp"
#include "backend/schedule_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/postgres/schedules.hpp>

#include <string>
#include <utility>

namespace gqs::postgres {

namespace {

// The rows a statement changed.
std::int64_t changed(const detail::Result& r) { return std::stoll(PQcmdTuples(r.get())); }

// A row of GQS_PG_SCHEDULE_COLUMNS.
ScheduleInfo read_schedule(const PGresult* r, int row) {
    ScheduleInfo info;
    auto& s = info.schedule;
    s.name = detail::bytes_at(r, row, 0);
    s.cron = detail::bytes_at(r, row, 1);
    s.zone = detail::bytes_at(r, row, 2);
    s.catch_up = static_cast<CatchUp>(detail::int_at(r, row, 3));
    s.paused = detail::bool_at(r, row, 4);
    if (!detail::null_at(r, row, 5)) s.message.metadata = detail::json_at(r, row, 5);
    s.message.payload = detail::bytes_at(r, row, 6);
    s.message.queue = detail::bytes_at(r, row, 7);
    s.message.priority = static_cast<int>(detail::int_at(r, row, 8));
    if (!detail::null_at(r, row, 9)) s.message.unique_key = detail::bytes_at(r, row, 9);
    info.next_fire = detail::optional_time_at(r, row, 10);
    info.last_fire = detail::optional_time_at(r, row, 11);
    if (!detail::null_at(r, row, 12)) info.last_job = detail::uuid_at(r, row, 12);
    return info;
}

void optional_time(detail::Params& p, std::optional<std::int64_t> us) {
    if (us) {
        p.time(gqs::detail::from_micros(*us));
    } else {
        p.null();
    }
}

// The dialect of the schedule rules (backend/schedule_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        auto guard = state.enter();
        fn();
    }
    template <class Fn>
    void in_transaction(const char* doing, Fn&& fn) {
        detail::in_transaction(state, doing, std::forward<Fn>(fn));
    }
    // The server's clock, as every lease and delay on this backend.
    std::int64_t now() {
        auto r = state.run(detail::schedule_now_sql, {}, "reading the server's time");
        return gqs::detail::to_micros(detail::time_at(r.get(), 0, 0));
    }
    void write(const Schedule& s, const std::string& metadata, std::optional<std::int64_t> next) {
        detail::Params p;
        p.borrow(s.name);
        p.borrow(s.cron);
        p.borrow(s.zone);
        p.i16(static_cast<std::int16_t>(s.catch_up));
        p.i16(s.paused ? 1 : 0);
        if (metadata.empty()) {
            p.null();
        } else {
            p.jsonb(metadata);
        }
        p.borrow(s.message.payload);
        p.borrow(s.message.queue);
        p.i16(static_cast<std::int16_t>(s.message.priority));
        if (s.message.unique_key) {
            p.borrow(*s.message.unique_key);
        } else {
            p.null();
        }
        optional_time(p, next);
        (void)state.run(detail::schedule_write_sql, p, "storing a schedule");
    }
    bool erase(const std::string& name) {
        detail::Params p;
        p.borrow(name);
        return changed(state.run(detail::schedule_erase_sql, p, "deleting a schedule")) > 0;
    }
    bool pause(const std::string& name) {
        detail::Params p;
        p.borrow(name);
        return changed(state.run(detail::schedule_pause_sql, p, "pausing a schedule")) > 0;
    }
    bool resume(const std::string& name, std::optional<std::int64_t> next) {
        detail::Params p;
        p.borrow(name);
        optional_time(p, next);
        return changed(state.run(detail::schedule_resume_sql, p, "resuming a schedule")) > 0;
    }
    std::optional<ScheduleInfo> read(const std::string& name) {
        detail::Params p;
        p.borrow(name);
        auto r = state.run(detail::schedule_read_sql, p, "reading a schedule");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return read_schedule(r.get(), 0);
    }
    std::optional<ScheduleInfo> read_locked(const std::string& name) {
        detail::Params p;
        p.borrow(name);
        auto r = state.run(detail::schedule_read_locked_sql, p, "reading a schedule");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return read_schedule(r.get(), 0);
    }
    std::vector<ScheduleInfo> read_all() {
        auto r = state.run(detail::schedule_read_all_sql, {}, "listing schedules");
        std::vector<ScheduleInfo> all;
        all.reserve(static_cast<std::size_t>(PQntuples(r.get())));
        for (int row = 0; row < PQntuples(r.get()); ++row)
            all.push_back(read_schedule(r.get(), row));
        return all;
    }
    std::optional<ScheduleInfo> claim_due(std::int64_t now) {
        detail::Params p;
        p.time(gqs::detail::from_micros(now));
        auto r = state.run(detail::schedule_claim_sql, p, "reading the due schedules");
        if (PQntuples(r.get()) == 0) return std::nullopt;
        return read_schedule(r.get(), 0);
    }
    bool advance(const std::string& name, std::int64_t was, std::optional<std::int64_t> next,
                 std::optional<std::int64_t> last_fire, std::optional<Uuid> last_job) {
        detail::Params p;
        p.borrow(name);
        p.time(gqs::detail::from_micros(was));
        optional_time(p, next);
        optional_time(p, last_fire);
        if (last_job) {
            p.uuid(*last_job);
        } else {
            p.null();
        }
        return changed(state.run(detail::schedule_advance_sql, p, "advancing a schedule")) > 0;
    }
    PushResult push(const Message& message, const std::string& metadata) {
        return detail::insert_job(state, message, metadata);
    }
    std::optional<std::int64_t> earliest() {
        auto r = state.run(detail::schedule_earliest_sql, {}, "reading the next slot");
        const auto at = detail::optional_time_at(r.get(), 0, 0);
        if (!at) return std::nullopt;
        return gqs::detail::to_micros(*at);
    }
    void announce_locked(const std::string& queue) { state.announce_locked(queue); }
    void notify() { state.notify_push(); }
};

} // namespace

Schedules::Schedules(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Schedules");
}

void Schedules::put(const Schedule& schedule) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::put_with(store, schedule);
}

bool Schedules::remove(const std::string& name) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::remove_schedule_with(store, name);
}

void Schedules::pause(const std::string& name) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::pause_with(store, name);
}

void Schedules::resume(const std::string& name) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::resume_with(store, name);
}

std::vector<ScheduleInfo> Schedules::list() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::list_schedules_with(store);
}

std::optional<ScheduleInfo> Schedules::get(const std::string& name) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::get_schedule_with(store, name);
}

PushResult Schedules::run_now(const std::string& name) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::run_now_with(store, name);
}

int Schedules::tick() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::tick_with(store);
}

std::optional<Duration> Schedules::next_due_in() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::next_due_in_with(store);
}

Subscription Schedules::on_change(std::function<void()> notify) {
    return detail::Access::state(*connection_).subscribe(connection_, std::move(notify));
}

} // namespace gqs::postgres
