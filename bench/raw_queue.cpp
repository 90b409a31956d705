// SPDX-License-Identifier: Apache-2.0
// RawQueue: the baseline side of every comparison, and the check that it runs gqs's SQL.
#include "raw_queue.hpp"

#include <cstring>
#include <limits>
#include <set>
#include <stdexcept>

namespace gqs_bench {

namespace {

// Done rows for the scale workload: finished an hour ago, pulled once.
constexpr const char* insert_done_sql =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload) VALUES (?1, ?2, ?2, 3, 1, NULL, ?2, ?3, ?4)";

std::int64_t lock_until(std::int64_t now, gqs::Duration lock) { return now + lock.count() * 1000; }

} // namespace

RawQueue::RawQueue(const std::filesystem::path& path, bool full_sync) : full_sync_(full_sync) {
    // The flags and busy timeout gqs's Connection::open uses (through SQLiteCpp).
    int rc = sqlite3_open_v2(path.c_str(), &db_,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             nullptr);
    if (rc != SQLITE_OK) {
        std::string what = "raw: opening " + path.string() + ": " + sqlite3_errstr(rc);
        sqlite3_close_v2(db_);
        db_ = nullptr;
        throw std::runtime_error(what);
    }
    try {
        rc = sqlite3_busy_timeout(db_, 5000);
        if (rc != SQLITE_OK) fail("setting busy_timeout", rc);
        exec("PRAGMA journal_mode=WAL");
        exec(sync_pragma());
        insert_ = prepare(raw_sql::insert);
        insert_keyed_ = prepare(raw_sql::insert_keyed);
        pull_ = prepare(raw_sql::pull);
        pull_queues_ = prepare(raw_sql::pull_queues);
        complete_ = prepare(raw_sql::complete);
        begin_ = prepare("BEGIN IMMEDIATE");
        commit_ = prepare("COMMIT");
    } catch (...) {
        for (auto* stmt : {insert_, insert_keyed_, pull_, pull_queues_, complete_, begin_, commit_})
            sqlite3_finalize(stmt);
        sqlite3_close_v2(db_);
        throw;
    }
}

RawQueue::~RawQueue() {
    for (auto* stmt : {insert_, insert_keyed_, pull_, pull_queues_, complete_, begin_, commit_})
        sqlite3_finalize(stmt);
    sqlite3_close_v2(db_);
}

void RawQueue::fail(const char* doing, int rc) const {
    throw std::runtime_error(std::string("raw: ") + doing + ": " + sqlite3_errmsg(db_) + " (" +
                             std::to_string(rc) + ")");
}

sqlite3_stmt* RawQueue::prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) fail("preparing a statement", rc);
    return stmt;
}

void RawQueue::exec(const char* sql) {
    int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(sql, rc);
}

void RawQueue::step_done(sqlite3_stmt* stmt, const char* doing) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) fail(doing, rc);
}

sqlite3_stmt* RawQueue::bind_insert(const gqs::Uuid& id, std::int64_t now, std::int64_t run_at,
                                    std::string_view payload, const RawPushOptions& options) {
    // As gqs: the ON CONFLICT form only for a message with a key.
    sqlite3_stmt* stmt = options.unique_key ? insert_keyed_ : insert_;
    sqlite3_bind_blob(stmt, 1, id.bytes().data(), static_cast<int>(id.bytes().size()),
                      SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 2, now);
    sqlite3_bind_int64(stmt, 3, run_at);
    sqlite3_bind_text(stmt, 4, metadata_text, -1, SQLITE_STATIC);
    sqlite3_bind_blob(stmt, 5, payload.data(), static_cast<int>(payload.size()), SQLITE_STATIC);
    sqlite3_bind_text(stmt, 6, options.queue.data(), static_cast<int>(options.queue.size()),
                      SQLITE_STATIC);
    sqlite3_bind_int(stmt, 7, options.priority);
    if (options.unique_key) {
        sqlite3_bind_text(stmt, 8, options.unique_key->data(),
                          static_cast<int>(options.unique_key->size()), SQLITE_STATIC);
    } else {
        sqlite3_bind_null(stmt, 8);
    }
    return stmt;
}

bool RawQueue::push(const gqs::Uuid& id, std::string_view payload, const RawPushOptions& options) {
    if (!options.unique_key) {
        const std::int64_t now = now_micros();
        step_done(bind_insert(id, now, now, payload, options), "inserting a job");
        return sqlite3_changes(db_) > 0;
    }
    // gqs reads the key's holder in the same transaction when the insert stores nothing, so
    // a keyed push is a write transaction of its own.
    step_done(begin_, "BEGIN IMMEDIATE");
    try {
        const std::int64_t now = now_micros();
        step_done(bind_insert(id, now, now, payload, options), "inserting a job");
        const bool stored = sqlite3_changes(db_) > 0;
        step_done(commit_, "COMMIT");
        return stored;
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

void RawQueue::push_batch(std::span<const gqs::Uuid> ids, std::string_view payload) {
    step_done(begin_, "BEGIN IMMEDIATE");
    const std::int64_t now = now_micros();
    try {
        for (const auto& id : ids) {
            step_done(bind_insert(id, now, now, payload, {}), "inserting a job");
        }
        step_done(commit_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
}

std::vector<RawJob> RawQueue::pull(int batch, gqs::Duration lock, std::string_view queues) {
    sqlite3_stmt* stmt = queues.empty() ? pull_ : pull_queues_;
    const std::int64_t now = now_micros();
    sqlite3_bind_int64(stmt, 1, now);
    sqlite3_bind_int64(stmt, 2, lock_until(now, lock));
    sqlite3_bind_int64(stmt, 3, batch);
    if (!queues.empty())
        sqlite3_bind_text(stmt, 4, queues.data(), static_cast<int>(queues.size()), SQLITE_STATIC);
    return read_pulled(stmt, batch);
}

std::vector<RawJob> RawQueue::read_pulled(sqlite3_stmt* stmt, int batch) {
    auto text = [stmt](int col) {
        const auto* data = sqlite3_column_text(stmt, col);
        return std::string(reinterpret_cast<const char*>(data),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt, col)));
    };
    std::vector<RawJob> jobs;
    jobs.reserve(static_cast<std::size_t>(batch));
    int rc = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        // A cancelled job whose lease ran out went Dead: not the caller's (gqs skips it too).
        if (sqlite3_column_int(stmt, 3) != 2) continue;
        RawJob& job = jobs.emplace_back();
        const void* id = sqlite3_column_blob(stmt, 0);
        const auto id_size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 0));
        if (id != nullptr) std::memcpy(job.id.data(), id, std::min(id_size, job.id.size()));
        job.created_at = sqlite3_column_int64(stmt, 1);
        job.updated_at = sqlite3_column_int64(stmt, 2);
        job.status = sqlite3_column_int(stmt, 3);
        job.attempts = sqlite3_column_int64(stmt, 4);
        if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
            job.locked_until = sqlite3_column_int64(stmt, 5);
        job.next_run_at = sqlite3_column_int64(stmt, 6);
        if (sqlite3_column_type(stmt, 7) != SQLITE_NULL) job.metadata = text(7);
        const void* payload = sqlite3_column_blob(stmt, 8);
        const auto payload_size = static_cast<std::size_t>(sqlite3_column_bytes(stmt, 8));
        if (payload != nullptr) job.payload.assign(static_cast<const char*>(payload), payload_size);
        job.queue = text(9);
        job.priority = sqlite3_column_int(stmt, 10);
        if (sqlite3_column_type(stmt, 11) != SQLITE_NULL) job.unique_key = text(11);
        if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) job.errors = text(12);
        job.cancelled = sqlite3_column_int(stmt, 13) != 0;
    }
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) fail("pulling jobs", rc);
    return jobs;
}

bool RawQueue::complete(const RawJob& job) { return complete_at(job, now_micros()); }

bool RawQueue::complete_at(const RawJob& job, std::int64_t now) {
    sqlite3_bind_blob(complete_, 1, job.id.data(), static_cast<int>(job.id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(complete_, 2, now);
    sqlite3_bind_int64(complete_, 3, job.attempts);
    // As gqs: one step, then the changed-row count says whether the lease matched.
    const int rc = sqlite3_step(complete_);
    const bool matched = rc == SQLITE_DONE && sqlite3_changes(db_) > 0;
    sqlite3_reset(complete_);
    if (rc != SQLITE_DONE) fail("completing a job", rc);
    return matched;
}

std::size_t RawQueue::complete_batch(std::span<const RawJob> jobs) {
    step_done(begin_, "BEGIN IMMEDIATE");
    std::size_t done = 0;
    const std::int64_t now = now_micros();
    try {
        for (const auto& job : jobs)
            if (complete_at(job, now)) ++done;
        step_done(commit_, "COMMIT");
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    return done;
}

void RawQueue::begin() { step_done(begin_, "BEGIN IMMEDIATE"); }

void RawQueue::commit() { step_done(commit_, "COMMIT"); }

void RawQueue::fill(std::size_t count, int status, std::size_t chunk) {
    const std::string payload = make_payload();
    // Not measured: no need to wait for the disk while filling.
    exec("PRAGMA synchronous=OFF");
    sqlite3_stmt* done = status == 3 ? prepare(insert_done_sql) : nullptr;
    try {
        std::size_t left = count;
        while (left > 0) {
            const std::size_t n = std::min(left, chunk);
            step_done(begin_, "BEGIN IMMEDIATE");
            const std::int64_t now = now_micros();
            for (std::size_t i = 0; i < n; ++i) {
                const gqs::Uuid id = gqs::Uuid::generate();
                if (done == nullptr) {
                    step_done(bind_insert(id, now, now, payload, {}), "filling the table");
                } else {
                    sqlite3_bind_blob(done, 1, id.bytes().data(), 16, SQLITE_STATIC);
                    sqlite3_bind_int64(done, 2, now - 3'600'000'000LL);
                    sqlite3_bind_text(done, 3, metadata_text, -1, SQLITE_STATIC);
                    sqlite3_bind_blob(done, 4, payload.data(), static_cast<int>(payload.size()),
                                      SQLITE_STATIC);
                    step_done(done, "filling the table");
                }
            }
            step_done(commit_, "COMMIT");
            left -= n;
        }
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        sqlite3_finalize(done);
        throw;
    }
    sqlite3_finalize(done);
    end_fill();
}

void RawQueue::fill_pending(std::span<const std::string_view> queues, int priority,
                            gqs::Duration delay) {
    constexpr std::size_t chunk = 10000;
    const std::string payload = make_payload();
    exec("PRAGMA synchronous=OFF");
    // Job i is created at first + i µs, the last one now.
    const std::int64_t first = now_micros() - static_cast<std::int64_t>(queues.size()) + 1;
    const std::int64_t delay_us = delay.count() * 1000;
    try {
        for (std::size_t i = 0; i < queues.size();) {
            step_done(begin_, "BEGIN IMMEDIATE");
            for (const std::size_t end = std::min(queues.size(), i + chunk); i < end; ++i) {
                const gqs::Uuid id = gqs::Uuid::generate(); // bound without a copy
                const std::int64_t created = first + static_cast<std::int64_t>(i);
                step_done(bind_insert(id, created, created + delay_us, payload,
                                      {.queue = queues[i], .priority = priority, .unique_key = {}}),
                          "filling the table");
            }
            step_done(commit_, "COMMIT");
        }
    } catch (...) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        throw;
    }
    end_fill();
}

void RawQueue::end_fill() {
    // Copy the WAL into the database and flush it now, so that the kernel's writeback of a
    // big fill does not run into the measurement that follows.
    exec(sync_pragma());
    exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

std::int64_t RawQueue::scalar(const char* sql) {
    sqlite3_stmt* stmt = prepare(sql);
    std::int64_t value = 0;
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) value = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) fail(sql, rc);
    return value;
}

void create_schema(const std::filesystem::path& path, const Settings& settings) {
    auto connection = gqs::sqlite::Connection::open(path, settings.options());
    gqs::sqlite::init_db(*connection);
}

namespace {

int collect_statement(unsigned type, void* context, void* statement, void* /*text*/) {
    if (type == SQLITE_TRACE_STMT) {
        const char* sql = sqlite3_sql(static_cast<sqlite3_stmt*>(statement));
        if (sql != nullptr) static_cast<std::set<std::string>*>(context)->insert(sql);
    }
    return 0;
}

} // namespace

std::string check_sql(const Settings& settings) {
    TempDb db(settings);
    create_schema(db.path(), settings);
    auto connection = gqs::sqlite::Connection::open(db.path(), settings.options());
    sqlite3* handle =
        connection->with_database([](SQLite::Database& database) { return database.getHandle(); });
    std::set<std::string> seen;
    sqlite3_trace_v2(handle, SQLITE_TRACE_STMT, collect_statement, &seen);
    {
        gqs::sqlite::Pusher pusher(connection);
        gqs::sqlite::Puller puller(connection);
        auto messages = make_messages(4);
        pusher.push(messages[0]);
        pusher.push_batch(std::span<const gqs::Message>(messages).subspan(1, 2));
        auto one = puller.pull(1, gqs::Duration(30000));
        for (auto& job : one)
            puller.complete(job);
        auto two = puller.pull(2, gqs::Duration(30000));
        for (const auto& result : puller.complete_batch(two))
            if (!result.applied()) throw std::runtime_error(result.error);
        // A keyed push into a named queue, and a pull that serves named queues.
        messages[3].queue = "q1";
        messages[3].unique_key = "check";
        if (pusher.push(messages[3]).duplicate)
            throw std::runtime_error("the keyed push was taken for a duplicate");
        const std::vector<std::string> queues = {"q1", "q4"};
        auto keyed = puller.pull(1, gqs::Duration(30000), queues);
        if (keyed.size() != 1) throw std::runtime_error("the queue pull returned no job");
        puller.complete(keyed.front());
    }
    sqlite3_trace_v2(handle, 0, nullptr, nullptr);

    std::string problems;
    for (const char* sql : {raw_sql::insert, raw_sql::insert_keyed, raw_sql::pull,
                            raw_sql::pull_queues, raw_sql::complete, "BEGIN IMMEDIATE", "COMMIT"}) {
        if (seen.count(sql) == 0) problems += std::string("  gqs did not run: ") + sql + "\n";
    }
    if (!problems.empty()) {
        problems += "  statements gqs ran:\n";
        for (const auto& s : seen)
            problems += "    " + s + "\n";
    }
    return problems;
}

} // namespace gqs_bench
