// SPDX-License-Identifier: Apache-2.0
// Schedules: the stored schedules (the rules in backend/schedule_rules.hpp; here their SQL).
#include "backend/schedule_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/schedules.hpp>

#include <utility>

namespace gqs::sqlite {

namespace {

std::string text_at(sqlite3_stmt* stmt, int col) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, col));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, col));
    return data == nullptr ? std::string() : std::string(data, size);
}

std::optional<TimePoint> time_at(sqlite3_stmt* stmt, int col) {
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) return std::nullopt;
    return detail::from_micros(sqlite3_column_int64(stmt, col));
}

// A row of GQS_SCHEDULE_COLUMNS.
ScheduleInfo read_schedule(sqlite3_stmt* stmt) {
    ScheduleInfo info;
    auto& s = info.schedule;
    s.name = text_at(stmt, 0);
    s.cron = text_at(stmt, 1);
    s.zone = text_at(stmt, 2);
    s.catch_up = static_cast<CatchUp>(sqlite3_column_int(stmt, 3));
    s.paused = sqlite3_column_int(stmt, 4) != 0;
    s.message.metadata = text_at(stmt, 5);
    s.message.payload = text_at(stmt, 6);
    s.message.queue = text_at(stmt, 7);
    s.message.priority = sqlite3_column_int(stmt, 8);
    if (sqlite3_column_type(stmt, 9) != SQLITE_NULL) s.message.unique_key = text_at(stmt, 9);
    info.next_fire = time_at(stmt, 10);
    info.last_fire = time_at(stmt, 11);
    if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) info.last_job = detail::read_id(stmt, 12);
    return info;
}

void bind_optional(detail::Stmt& stmt, int index, std::optional<std::int64_t> value) {
    if (value) {
        stmt.bind(index, *value);
    } else {
        stmt.bind_null(index);
    }
}

// The dialect of the schedule rules (backend/schedule_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard guard(state.mutex);
        fn();
    }
    template <class Fn>
    void in_transaction(const char* doing, Fn&& fn) {
        detail::in_write_transaction(state, doing, std::forward<Fn>(fn));
    }
    std::int64_t now() const { return state.now(); }
    void write(const Schedule& s, const std::string& metadata, std::optional<std::int64_t> next) {
        auto stmt = state.statement(detail::schedule_write_sql, "storing a schedule");
        stmt.bind_text(1, s.name);
        stmt.bind_text(2, s.cron);
        stmt.bind_text(3, s.zone);
        stmt.bind(4, static_cast<std::int64_t>(s.catch_up));
        stmt.bind(5, s.paused ? 1 : 0);
        if (metadata.empty()) {
            stmt.bind_null(6);
        } else {
            stmt.bind_text(6, metadata);
        }
        stmt.bind_blob(7, s.message.payload.data(), s.message.payload.size());
        stmt.bind_text(8, s.message.queue);
        stmt.bind(9, s.message.priority);
        if (s.message.unique_key) {
            stmt.bind_text(10, *s.message.unique_key);
        } else {
            stmt.bind_null(10);
        }
        bind_optional(stmt, 11, next);
        stmt.bind(12, state.now());
        stmt.run();
    }
    bool erase(const std::string& name) {
        auto stmt = state.statement(detail::schedule_erase_sql, "deleting a schedule");
        stmt.bind_text(1, name);
        return stmt.run() > 0;
    }
    bool pause(const std::string& name) {
        auto stmt = state.statement(detail::schedule_pause_sql, "pausing a schedule");
        stmt.bind_text(1, name);
        stmt.bind(2, state.now());
        return stmt.run() > 0;
    }
    bool resume(const std::string& name, std::optional<std::int64_t> next) {
        auto stmt = state.statement(detail::schedule_resume_sql, "resuming a schedule");
        stmt.bind_text(1, name);
        bind_optional(stmt, 2, next);
        stmt.bind(3, state.now());
        return stmt.run() > 0;
    }
    std::optional<ScheduleInfo> read(const std::string& name) {
        auto stmt = state.statement(detail::schedule_read_sql, "reading a schedule");
        stmt.bind_text(1, name);
        if (!stmt.step()) return std::nullopt;
        return read_schedule(stmt.get());
    }
    // Inside the write transaction: no other connection writes until it ends.
    std::optional<ScheduleInfo> read_locked(const std::string& name) { return read(name); }
    std::vector<ScheduleInfo> read_all() {
        auto stmt = state.statement(detail::schedule_read_all_sql, "listing schedules");
        std::vector<ScheduleInfo> all;
        while (stmt.step())
            all.push_back(read_schedule(stmt.get()));
        return all;
    }
    // The tick's transaction holds SQLite's write lock: the claim is the transaction itself.
    std::optional<ScheduleInfo> claim_due(std::int64_t now) {
        auto stmt = state.statement(detail::schedule_claim_sql, "reading the due schedules");
        stmt.bind(1, now);
        if (!stmt.step()) return std::nullopt;
        return read_schedule(stmt.get());
    }
    bool advance(const std::string& name, std::int64_t was, std::optional<std::int64_t> next,
                 std::optional<std::int64_t> last_fire, std::optional<Uuid> last_job) {
        auto stmt = state.statement(detail::schedule_advance_sql, "advancing a schedule");
        stmt.bind_text(1, name);
        stmt.bind(2, was);
        bind_optional(stmt, 3, next);
        bind_optional(stmt, 4, last_fire);
        if (last_job) {
            detail::bind_id(stmt, 5, *last_job);
        } else {
            stmt.bind_null(5);
        }
        stmt.bind(6, state.now());
        return stmt.run() > 0;
    }
    PushResult push(const Message& message, const std::string& metadata) {
        return detail::insert_job(state, message, metadata);
    }
    std::optional<std::int64_t> earliest() {
        auto stmt = state.statement(detail::schedule_earliest_sql, "reading the next slot");
        if (!stmt.step() || sqlite3_column_type(stmt.get(), 0) == SQLITE_NULL) return std::nullopt;
        return sqlite3_column_int64(stmt.get(), 0);
    }
    // Other connections and processes learn of the commit from the file (the watcher).
    void announce_locked(const std::string&) noexcept {}
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

} // namespace gqs::sqlite
