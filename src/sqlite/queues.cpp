// SPDX-License-Identifier: Apache-2.0
// Queues: the stored queue limits (the rules in backend/queue_rules.hpp; here their SQL).
#include "backend/queue_rules.hpp"
#include "connection_impl.hpp"
#include "statements.hpp"

#include <gqs/sqlite/queues.hpp>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

namespace gqs::sqlite {

namespace {

std::string text_at(sqlite3_stmt* stmt, int col) {
    const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, col));
    const auto size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, col));
    return data == nullptr ? std::string() : std::string(data, size);
}

// An INTEGER as an int; a value another program wrote past int's range saturates.
int clamped_int(sqlite3_stmt* stmt, int col) {
    return static_cast<int>(std::clamp<std::int64_t>(sqlite3_column_int64(stmt, col),
                                                     std::numeric_limits<int>::min(),
                                                     std::numeric_limits<int>::max()));
}

std::optional<int> int_at(sqlite3_stmt* stmt, int col) {
    if (sqlite3_column_type(stmt, col) == SQLITE_NULL) return std::nullopt;
    return clamped_int(stmt, col);
}

// A row of GQS_QUEUE_COLUMNS.
std::pair<std::string, QueueLimits> read_limits(sqlite3_stmt* stmt) {
    std::pair<std::string, QueueLimits> row;
    row.first = text_at(stmt, 0);
    auto& limits = row.second;
    limits.paused = sqlite3_column_int(stmt, 1) != 0;
    limits.max_running = int_at(stmt, 2);
    if (sqlite3_column_type(stmt, 3) != SQLITE_NULL) limits.rate = sqlite3_column_double(stmt, 3);
    limits.burst = clamped_int(stmt, 4);
    limits.max_running_per_key = int_at(stmt, 5);
    limits.group_weights = gqs::detail::decode_group_weights(text_at(stmt, 6));
    limits.fair_share = sqlite3_column_int(stmt, 7) != 0;
    return row;
}

void bind_optional(detail::Stmt& stmt, int index, std::optional<int> value) {
    if (value) {
        stmt.bind(index, *value);
    } else {
        stmt.bind_null(index);
    }
}

// The dialect of the queue rules (backend/queue_rules.hpp).
struct Store {
    detail::State& state;

    template <class Fn>
    void locked(Fn&& fn) {
        std::lock_guard guard(state.mutex);
        fn();
    }
    void write(const std::string& queue, const QueueLimits& limits, const std::string& weights) {
        auto stmt = state.statement(detail::queue_write_sql, "storing queue limits");
        stmt.bind_text(1, queue);
        stmt.bind(2, limits.paused ? 1 : 0);
        bind_optional(stmt, 3, limits.max_running);
        if (limits.rate) {
            stmt.bind_double(4, *limits.rate);
        } else {
            stmt.bind_null(4);
        }
        stmt.bind(5, limits.burst);
        bind_optional(stmt, 6, limits.max_running_per_key);
        if (weights.empty()) {
            stmt.bind_null(7);
        } else {
            stmt.bind_text(7, weights);
        }
        stmt.bind(8, state.now());
        stmt.bind(9, limits.fair_share ? 1 : 0);
        stmt.run();
    }
    bool set_paused(const std::string& queue, bool paused) {
        auto stmt = state.statement(paused ? detail::queue_pause_sql : detail::queue_resume_sql,
                                    paused ? "pausing a queue" : "resuming a queue");
        stmt.bind_text(1, queue);
        stmt.bind(2, state.now());
        return stmt.run() > 0;
    }
    bool erase(const std::string& queue) {
        auto stmt = state.statement(detail::queue_erase_sql, "clearing queue limits");
        stmt.bind_text(1, queue);
        return stmt.run() > 0;
    }
    std::optional<QueueLimits> read(const std::string& queue) {
        auto stmt = state.statement(detail::queue_read_sql, "reading queue limits");
        stmt.bind_text(1, queue);
        if (!stmt.step()) return std::nullopt;
        return read_limits(stmt.get()).second;
    }
    std::vector<std::pair<std::string, QueueLimits>> read_all() {
        auto stmt = state.statement(detail::queue_read_all_sql, "listing queue limits");
        std::vector<std::pair<std::string, QueueLimits>> all;
        while (stmt.step())
            all.push_back(read_limits(stmt.get()));
        return all;
    }
    // Other connections and processes learn of the commit from the file (the watcher).
    void announce_locked(const std::string&) noexcept {}
    void notify() { state.notify_push(); }
};

} // namespace

Queues::Queues(std::shared_ptr<Connection> connection) : connection_(std::move(connection)) {
    detail::require(connection_, "Queues");
}

void Queues::set_limits(const std::string& queue, const QueueLimits& limits) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_limits_with(store, queue, limits);
}

QueueLimits Queues::limits(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::limits_with(store, queue);
}

void Queues::pause(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_paused_with(store, queue, true);
}

void Queues::resume(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    gqs::detail::set_paused_with(store, queue, false);
}

bool Queues::clear(const std::string& queue) {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::clear_with(store, queue);
}

std::vector<std::pair<std::string, QueueLimits>> Queues::list() {
    Store store{detail::Access::state(*connection_)};
    return gqs::detail::list_queues_with(store);
}

} // namespace gqs::sqlite
