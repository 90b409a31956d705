// SPDX-License-Identifier: Apache-2.0
// The baseline: gqs's own SQL run straight on the SQLite C API with reused prepared statements.
#pragma once

#include "raw_sql.hpp"
#include "support.hpp"

#include <sqlite3.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gqs_bench {

/// A row of the pull's RETURNING columns. Metadata and the error history are kept as the
/// stored bytes (gqs keeps the metadata's text too, and parses the error history).
struct RawJob {
    std::array<std::uint8_t, 16> id{};
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    int status = 0;
    std::int64_t attempts = 0;
    std::optional<std::int64_t> locked_until;
    std::int64_t next_run_at = 0;
    std::string metadata;
    std::string payload;
    std::string queue;
    int priority = 0;
    std::optional<std::string> unique_key;
    std::optional<std::string> errors;
    bool cancelled = false;
};

/// What a raw push stores besides the id and payload: the columns of gqs::Message that schema
/// version 2 added. The strings are bound without copying: they must outlive the call.
struct RawPushOptions {
    std::string_view queue = "default";
    int priority = 0;
    /// Set: a keyed push, run as gqs runs it (BEGIN IMMEDIATE; INSERT; COMMIT).
    std::optional<std::string_view> unique_key;
};

/// One SQLite connection opened with the settings gqs's Connection::open applies, and the
/// statements gqs would prepare on it. Not thread-safe. Throws std::runtime_error on any
/// SQLite error.
class RawQueue {
public:
    RawQueue(const std::filesystem::path& path, bool full_sync);
    ~RawQueue();
    RawQueue(const RawQueue&) = delete;
    RawQueue& operator=(const RawQueue&) = delete;

    /// As gqs's Pusher::push: one INSERT in autocommit mode (its own transaction), or for a
    /// keyed push BEGIN IMMEDIATE; INSERT; COMMIT. False if a live job held the key (gqs
    /// would then read the holder; the benchmark never pushes a duplicate).
    bool push(const gqs::Uuid& id, std::string_view payload, const RawPushOptions& options = {});
    /// BEGIN IMMEDIATE; one INSERT per id; COMMIT, as gqs's Pusher::push_batch.
    void push_batch(std::span<const gqs::Uuid> ids, std::string_view payload);
    /// The pull UPDATE ... RETURNING in autocommit mode; the rows read into RawJobs (a
    /// cancelled job the statement sent to Dead is left out, as gqs does). `queues`, when not
    /// empty, is the JSON array of the queues to serve (gqs encodes its list the same way):
    /// the statement with the queue filter then runs.
    [[nodiscard]] std::vector<RawJob> pull(int batch, gqs::Duration lock,
                                           std::string_view queues = {});
    /// The fenced complete UPDATE ... RETURNING in autocommit mode; false if no row matched.
    bool complete(const RawJob& job);
    /// BEGIN IMMEDIATE; one complete UPDATE per job; COMMIT. Returns how many matched.
    std::size_t complete_batch(std::span<const RawJob> jobs);
    /// BEGIN IMMEDIATE and COMMIT, for callers that group statements themselves (pull and
    /// complete run inside the transaction then).
    void begin();
    void commit();

    /// Fills the table outside of any measurement: `count` jobs in transactions of `chunk`,
    /// Pending (status 1) and ready now, or Done (status 3, finished in the past).
    void fill(std::size_t count, int status, std::size_t chunk = 10000);
    /// Fills the table outside of any measurement with Pending jobs as if pushed one by one:
    /// job i joins queue queues[i] at `priority`, created 1 µs after job i - 1 and the last
    /// one now, and runnable `delay` after its creation.
    void fill_pending(std::span<const std::string_view> queues, int priority, gqs::Duration delay);

    /// A single integer from `sql` (for checks).
    [[nodiscard]] std::int64_t scalar(const char* sql);

    [[nodiscard]] sqlite3* handle() const noexcept { return db_; }

private:
    sqlite3_stmt* prepare(const char* sql);
    void exec(const char* sql);
    void step_done(sqlite3_stmt* stmt, const char* doing);
    sqlite3_stmt* bind_insert(const gqs::Uuid& id, std::int64_t now, std::int64_t run_at,
                              std::string_view payload, const RawPushOptions& options);
    std::vector<RawJob> read_pulled(sqlite3_stmt* stmt, int batch);
    bool complete_at(const RawJob& job, std::int64_t now);
    void end_fill();
    [[noreturn]] void fail(const char* doing, int rc) const;
    [[nodiscard]] const char* sync_pragma() const noexcept {
        return full_sync_ ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL";
    }

    bool full_sync_ = false;
    sqlite3* db_ = nullptr;
    sqlite3_stmt* insert_ = nullptr;
    sqlite3_stmt* insert_keyed_ = nullptr;
    sqlite3_stmt* pull_ = nullptr;
    sqlite3_stmt* pull_queues_ = nullptr;
    sqlite3_stmt* complete_ = nullptr;
    sqlite3_stmt* begin_ = nullptr;
    sqlite3_stmt* commit_ = nullptr;
};

/// Creates gqs's schema in a new file through gqs's own init_db, so both sides of every
/// comparison run on the same table, indexes and user_version.
void create_schema(const std::filesystem::path& path, const Settings& settings);

/// The current time in microseconds since the Unix epoch, as gqs stores times.
inline std::int64_t now_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

/// Runs a short gqs session with SQLite's statement trace on, and compares the statements
/// gqs ran with raw_sql. Returns an empty string when every raw statement is among them,
/// else a description of the difference.
[[nodiscard]] std::string check_sql(const Settings& settings);

} // namespace gqs_bench
