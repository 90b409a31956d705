// SPDX-License-Identifier: Apache-2.0
// gqs_schema_bench: the schema and pull-shape choices of docs/design.md section 5 ("Stored
// schema, the pull, and migrations") measured on raw SQLite.
//
// Standalone: the sqlite3 C API only, no gqs. Every statement is prepared once and reused
// (except where `statement_cache` measures the opposite). Each measurement uses a fresh
// database file under the temp directory (WAL, synchronous=NORMAL, busy_timeout 5000 ms),
// filled beforehand through a separate connection that is closed before the measured one
// opens. Run k measures every variant of a comparison once, rotating which goes first; each
// number printed is the median over the runs.

#include <sqlite3.h>

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <functional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------------------------
// SQL

// Columns as in gqs's schema (src/sqlite/schema.cpp), without its CHECK constraints (the same
// for both keys). Times are INTEGER microseconds since the Unix epoch.
constexpr const char* columns_after_id = "    created_at   INTEGER NOT NULL,\n"
                                         "    updated_at   INTEGER NOT NULL,\n"
                                         "    status       INTEGER NOT NULL,\n"
                                         "    attempts     INTEGER NOT NULL DEFAULT 0,\n"
                                         "    locked_until INTEGER,\n"
                                         "    next_run_at  INTEGER NOT NULL,\n"
                                         "    metadata     TEXT,\n"
                                         "    payload      BLOB    NOT NULL\n";

constexpr std::array index_sql = {
    "CREATE INDEX jobs_status_next_run_at ON jobs (status, next_run_at)",
    "CREATE INDEX jobs_status_locked_until ON jobs (status, locked_until)",
    "CREATE INDEX jobs_status_updated_at ON jobs (status, updated_at)",
};

constexpr const char* partial_index_sql =
    "CREATE INDEX jobs_ready ON jobs (next_run_at) WHERE status IN (1, 2)";

// gqs's version-1 INSERT and pull, the statements this study was made for (schema-results.txt;
// the WITHOUT ROWID variant replaces `rowid` with `id`): ?1 now, ?2 lease end, ?3 batch. Kept
// as they were: the study compares table layouts, not gqs's current SQL (raw_sql.hpp).
constexpr const char* insert_sql =
    "INSERT INTO jobs (id, created_at, updated_at, status, attempts, locked_until, "
    "next_run_at, metadata, payload) VALUES (?1, ?2, ?2, 1, 0, NULL, ?3, ?4, ?5)";
constexpr const char* union_all_pull_sql =
    "UPDATE jobs SET status = 2, attempts = max(attempts, 0) + 1, locked_until = ?2, "
    "updated_at = ?1 "
    "WHERE rowid IN ("
    " SELECT rowid FROM ("
    "  SELECT rowid, next_run_at FROM ("
    "   SELECT rowid, next_run_at FROM jobs"
    "   WHERE status = 1 AND next_run_at <= ?1 ORDER BY next_run_at LIMIT ?3)"
    "  UNION ALL"
    "  SELECT rowid, next_run_at FROM ("
    "   SELECT rowid, next_run_at FROM jobs"
    "   WHERE status = 2 AND locked_until < ?1 AND next_run_at <= ?1"
    "   ORDER BY locked_until LIMIT ?3)"
    "  ORDER BY next_run_at LIMIT ?3)) "
    "RETURNING id, created_at, updated_at, status, attempts, locked_until, next_run_at, "
    "metadata, payload";

// The seed's pull: one OR under ORDER BY next_run_at, rows found again by id.
constexpr const char* or_pull_sql =
    "UPDATE jobs SET status = 2, attempts = max(attempts, 0) + 1, locked_until = ?2, "
    "updated_at = ?1 "
    "WHERE id IN ("
    " SELECT id FROM jobs WHERE next_run_at <= ?1 AND (status = 1 OR (status = 2 AND "
    "locked_until < ?1)) ORDER BY next_run_at LIMIT ?3) "
    "RETURNING id, created_at, updated_at, status, attempts, locked_until, next_run_at, "
    "metadata, payload";

// The partial index jobs_ready, named with INDEXED BY.
constexpr const char* partial_pull_sql =
    "UPDATE jobs SET status = 2, attempts = max(attempts, 0) + 1, locked_until = ?2, "
    "updated_at = ?1 "
    "WHERE rowid IN ("
    " SELECT rowid FROM jobs INDEXED BY jobs_ready WHERE status IN (1, 2) AND next_run_at <= ?1 "
    "AND (status = 1 OR locked_until < ?1) ORDER BY next_run_at LIMIT ?3) "
    "RETURNING id, created_at, updated_at, status, attempts, locked_until, next_run_at, "
    "metadata, payload";

constexpr const char* complete_sql =
    "UPDATE jobs SET status = 3, locked_until = NULL, "
    "updated_at = ?2 WHERE id = ?1 AND status = 2 AND attempts = ?3";

constexpr const char* metadata_text = R"({"k":"v"})";
constexpr std::int64_t lease_micros = 30'000'000;

std::string replace_all(std::string text, std::string_view from, std::string_view to) {
    for (std::size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
    return text;
}

// The SELECT inside `WHERE … IN (…)` of a pull statement.
std::string subquery_of(std::string_view pull) {
    const std::size_t open = pull.find(" IN (");
    const std::size_t close = pull.rfind(") RETURNING");
    if (open == std::string_view::npos || close == std::string_view::npos)
        throw std::logic_error("no subquery in a pull statement");
    return std::string(pull.substr(open + 5, close - open - 5));
}

// ---------------------------------------------------------------------------------------------
// SQLite plumbing

[[noreturn]] void fail(sqlite3* db, const std::string& doing, int rc) {
    throw std::runtime_error(doing + ": " + (db != nullptr ? sqlite3_errmsg(db) : "") + " (" +
                             sqlite3_errstr(rc) + ", " + std::to_string(rc) + ")");
}

/// A prepared statement, finalized when this goes away.
class Stmt {
public:
    Stmt() = default;
    Stmt(sqlite3* db, const std::string& sql, bool persistent = true) : db_(db) {
        const int rc = persistent ? sqlite3_prepare_v3(db, sql.c_str(), -1,
                                                       SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr)
                                  : sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr);
        if (rc != SQLITE_OK) fail(db, "preparing `" + sql + "`", rc);
    }
    ~Stmt() { sqlite3_finalize(stmt_); }
    Stmt(const Stmt&) = delete;
    Stmt& operator=(const Stmt&) = delete;
    Stmt(Stmt&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
    Stmt& operator=(Stmt&& other) noexcept {
        if (this != &other) {
            sqlite3_finalize(stmt_);
            db_ = other.db_;
            stmt_ = other.stmt_;
            other.stmt_ = nullptr;
        }
        return *this;
    }

    [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

    /// Steps to SQLITE_DONE and resets.
    void run(const char* doing) {
        const int rc = sqlite3_step(stmt_);
        sqlite3_reset(stmt_);
        if (rc != SQLITE_DONE) fail(db_, doing, rc);
    }

private:
    sqlite3* db_ = nullptr;
    sqlite3_stmt* stmt_ = nullptr;
};

/// One connection with the settings gqs's Connection::open applies.
class Db {
public:
    explicit Db(const std::filesystem::path& path) {
        // The flags gqs opens with (through SQLiteCpp).
        const int rc = sqlite3_open_v2(
            path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
            nullptr);
        if (rc != SQLITE_OK) {
            const std::string what = "opening " + path.string() + ": " + sqlite3_errstr(rc);
            sqlite3_close_v2(db_);
            throw std::runtime_error(what);
        }
        try {
            const int brc = sqlite3_busy_timeout(db_, 5000);
            if (brc != SQLITE_OK) fail(db_, "setting busy_timeout", brc);
            if (text("PRAGMA journal_mode=WAL") != "wal")
                throw std::runtime_error("journal_mode=WAL was refused");
            exec("PRAGMA synchronous=NORMAL");
        } catch (...) {
            sqlite3_close_v2(db_);
            throw;
        }
    }
    ~Db() { sqlite3_close_v2(db_); }
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    [[nodiscard]] sqlite3* get() const noexcept { return db_; }

    void exec(const std::string& sql) {
        const int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) fail(db_, sql, rc);
    }

    /// The first column of the first row of `sql`, as text.
    std::string text(const std::string& sql) {
        Stmt stmt(db_, sql, false);
        const int rc = sqlite3_step(stmt.get());
        if (rc == SQLITE_DONE) return {};
        if (rc != SQLITE_ROW) fail(db_, sql, rc);
        const unsigned char* value = sqlite3_column_text(stmt.get(), 0);
        return value != nullptr ? reinterpret_cast<const char*>(value) : "";
    }

    std::int64_t scalar(const std::string& sql) { return std::stoll(text(sql)); }

private:
    sqlite3* db_ = nullptr;
};

/// A fresh database path under the temp directory; the file and its -wal, -shm and -journal
/// companions are removed when this goes away.
class TempDb {
public:
    TempDb() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("gqs_schema_bench_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter++) + ".db");
        remove_files();
    }
    ~TempDb() { remove_files(); }
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    void remove_files() const noexcept {
        std::error_code ec;
        for (const char* suffix : {"", "-wal", "-shm", "-journal"})
            std::filesystem::remove(path_.string() + suffix, ec);
    }
    std::filesystem::path path_;
};

// ---------------------------------------------------------------------------------------------
// Values

using Id = std::array<std::uint8_t, 16>;

/// UUIDv7-like ids: 48-bit Unix time in ms, version nibble 7 and a 12-bit counter that keeps
/// ids made in the same millisecond in order, variant bits and 62 random bits. With `random`
/// set (--ids=v4), UUIDv4-like ids instead: 122 random bits, for comparison.
class IdGenerator {
public:
    bool random = false;

    Id next() {
        if (random) return next_v4();
        auto ms =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
        if (ms <= last_ms_) {
            ms = last_ms_;
            if (++counter_ > 0xFFF) {
                ++ms; // borrow the next millisecond rather than go out of order
                counter_ = 0;
            }
        } else {
            counter_ = 0;
        }
        last_ms_ = ms;
        Id id{};
        for (int i = 0; i < 6; ++i)
            id[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(ms >> (40 - 8 * i));
        id[6] = static_cast<std::uint8_t>(0x70U | (counter_ >> 8U));
        id[7] = static_cast<std::uint8_t>(counter_ & 0xFFU);
        const std::uint64_t bits = rng_();
        for (int i = 0; i < 8; ++i)
            id[static_cast<std::size_t>(8 + i)] = static_cast<std::uint8_t>(bits >> (8 * i));
        id[8] = static_cast<std::uint8_t>(0x80U | (id[8] & 0x3FU));
        return id;
    }

    Id next_v4() {
        Id id{};
        for (std::size_t half = 0; half < 2; ++half) {
            const std::uint64_t bits = rng_();
            for (std::size_t i = 0; i < 8; ++i)
                id[8 * half + i] = static_cast<std::uint8_t>(bits >> (8 * i));
        }
        id[6] = static_cast<std::uint8_t>(0x40U | (id[6] & 0x0FU));
        id[8] = static_cast<std::uint8_t>(0x80U | (id[8] & 0x3FU));
        return id;
    }

    std::vector<Id> make(std::size_t count) {
        std::vector<Id> ids;
        ids.reserve(count);
        for (std::size_t i = 0; i < count; ++i)
            ids.push_back(next());
        return ids;
    }

private:
    std::mt19937_64 rng_{std::random_device{}()};
    std::uint64_t last_ms_ = 0;
    unsigned counter_ = 0;
};

IdGenerator& ids() {
    static IdGenerator generator;
    return generator;
}

std::int64_t now_micros() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

const std::string& payload() {
    static const std::string bytes = [] {
        std::string p(100, '\0');
        for (std::size_t i = 0; i < p.size(); ++i)
            p[i] = static_cast<char>('a' + i % 26);
        return p;
    }();
    return bytes;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------------------------
// Schema, fill, and the queue operations

enum class Key { rowid, without_rowid };

void create_schema(Db& db, Key key, bool partial_index) {
    std::string table = "CREATE TABLE jobs (\n";
    table += key == Key::rowid ? "    id           BLOB    NOT NULL UNIQUE,\n"
                               : "    id           BLOB    PRIMARY KEY,\n";
    table += columns_after_id;
    table += key == Key::rowid ? ")" : ") WITHOUT ROWID";
    db.exec("BEGIN IMMEDIATE");
    db.exec(table);
    for (const char* sql : index_sql)
        db.exec(sql);
    if (partial_index) db.exec(partial_index_sql);
    db.exec("COMMIT");
}

class Inserter {
public:
    explicit Inserter(Db& db) : stmt_(db.get(), insert_sql) {}
    void insert(const Id& id, std::int64_t now) {
        sqlite3_stmt* s = stmt_.get();
        sqlite3_bind_blob(s, 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, now);
        sqlite3_bind_int64(s, 3, now); // next_run_at: ready at once
        sqlite3_bind_text(s, 4, metadata_text, -1, SQLITE_STATIC);
        sqlite3_bind_blob(s, 5, payload().data(), static_cast<int>(payload().size()),
                          SQLITE_STATIC);
        stmt_.run("inserting a job");
    }

private:
    Stmt stmt_;
};

/// Creates the schema in `path` and inserts `count` ready jobs, through a connection that is
/// closed (and so checkpointed) before this returns.
void fill(const std::filesystem::path& path, Key key, bool partial_index, std::size_t count) {
    Db db(path);
    db.exec("PRAGMA synchronous=OFF"); // not measured
    create_schema(db, key, partial_index);
    Inserter inserter(db);
    Stmt begin(db.get(), "BEGIN IMMEDIATE");
    Stmt commit(db.get(), "COMMIT");
    constexpr std::size_t chunk = 10'000;
    for (std::size_t done = 0; done < count;) {
        begin.run("BEGIN IMMEDIATE");
        const std::int64_t now = now_micros();
        for (std::size_t i = 0; i < chunk && done < count; ++i, ++done)
            inserter.insert(ids().next(), now);
        commit.run("COMMIT");
    }
}

/// A row of the pull's RETURNING columns, copied out as a user would.
struct Job {
    Id id{};
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    int status = 0;
    std::int64_t attempts = 0;
    std::int64_t locked_until = 0;
    std::int64_t next_run_at = 0;
    std::string metadata;
    std::string payload;
};

/// pull(1): binds, steps, copies the one row into `job`, resets. Throws unless exactly one
/// job came back.
void pull_one(Db& db, sqlite3_stmt* s, Job& job) {
    const std::int64_t now = now_micros();
    sqlite3_bind_int64(s, 1, now);
    sqlite3_bind_int64(s, 2, now + lease_micros);
    sqlite3_bind_int64(s, 3, 1);
    int rows = 0;
    int rc = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ++rows;
        const void* id = sqlite3_column_blob(s, 0);
        if (id != nullptr && sqlite3_column_bytes(s, 0) == 16) std::memcpy(job.id.data(), id, 16);
        job.created_at = sqlite3_column_int64(s, 1);
        job.updated_at = sqlite3_column_int64(s, 2);
        job.status = sqlite3_column_int(s, 3);
        job.attempts = sqlite3_column_int64(s, 4);
        job.locked_until = sqlite3_column_int64(s, 5);
        job.next_run_at = sqlite3_column_int64(s, 6);
        const unsigned char* meta = sqlite3_column_text(s, 7);
        job.metadata.assign(meta != nullptr ? reinterpret_cast<const char*>(meta) : "",
                            static_cast<std::size_t>(sqlite3_column_bytes(s, 7)));
        const void* body = sqlite3_column_blob(s, 8);
        job.payload.assign(body != nullptr ? static_cast<const char*>(body) : "",
                           static_cast<std::size_t>(sqlite3_column_bytes(s, 8)));
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) fail(db.get(), "pulling a job", rc);
    if (rows != 1) throw std::runtime_error("pull(1) returned " + std::to_string(rows) + " rows");
}

void complete_one(Db& db, sqlite3_stmt* s, const Job& job) {
    sqlite3_bind_blob(s, 1, job.id.data(), static_cast<int>(job.id.size()), SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now_micros());
    sqlite3_bind_int64(s, 3, job.attempts);
    const int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE) fail(db.get(), "completing a job", rc);
    if (sqlite3_changes(db.get()) != 1) throw std::runtime_error("complete matched no row");
}

void expect_done(Db& db, std::size_t count) {
    const std::int64_t done = db.scalar("SELECT count(*) FROM jobs WHERE status = 3");
    if (done != static_cast<std::int64_t>(count))
        throw std::runtime_error(std::to_string(done) + " jobs done, expected " +
                                 std::to_string(count));
}

std::string pull_sql_for(Key key) {
    return key == Key::rowid ? std::string(union_all_pull_sql)
                             : replace_all(union_all_pull_sql, "rowid", "id");
}

// ---------------------------------------------------------------------------------------------
// Workloads: each returns jobs per second

double push_batch(Key key, std::size_t count) {
    TempDb file;
    Db db(file.path());
    create_schema(db, key, false);
    const std::vector<Id> batch_ids = ids().make(count);
    Inserter inserter(db);
    Stmt begin(db.get(), "BEGIN IMMEDIATE");
    Stmt commit(db.get(), "COMMIT");
    constexpr std::size_t batch = 1'000;
    const auto start = Clock::now();
    for (std::size_t done = 0; done < count;) {
        begin.run("BEGIN IMMEDIATE");
        const std::int64_t now = now_micros();
        for (std::size_t i = 0; i < batch && done < count; ++i, ++done)
            inserter.insert(batch_ids[done], now);
        commit.run("COMMIT");
    }
    const double seconds = seconds_since(start);
    if (db.scalar("SELECT count(*) FROM jobs") != static_cast<std::int64_t>(count))
        throw std::runtime_error("push_batch lost jobs");
    return static_cast<double>(count) / seconds;
}

double push_single(Key key, std::size_t count) {
    TempDb file;
    Db db(file.path());
    create_schema(db, key, false);
    const std::vector<Id> job_ids = ids().make(count);
    Inserter inserter(db);
    const auto start = Clock::now();
    for (const Id& id : job_ids)
        inserter.insert(id, now_micros());
    const double seconds = seconds_since(start);
    if (db.scalar("SELECT count(*) FROM jobs") != static_cast<std::int64_t>(count))
        throw std::runtime_error("push lost jobs");
    return static_cast<double>(count) / seconds;
}

/// `taken` × (pull(1) + complete), each in autocommit mode, with `backlog` more jobs ready
/// than are taken.
double pull_complete(Key key, bool partial_index, const std::string& pull_sql, std::size_t taken,
                     std::size_t backlog) {
    TempDb file;
    fill(file.path(), key, partial_index, taken + backlog);
    Db db(file.path());
    Stmt pull(db.get(), pull_sql);
    Stmt complete(db.get(), complete_sql);
    Job job;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < taken; ++i) {
        pull_one(db, pull.get(), job);
        complete_one(db, complete.get(), job);
    }
    const double seconds = seconds_since(start);
    expect_done(db, taken);
    return static_cast<double>(taken) / seconds;
}

/// pull(1) + complete with both statements prepared (sqlite3_prepare_v2) and finalized on
/// every call.
double pull_complete_prepared_each_call(std::size_t taken) {
    TempDb file;
    fill(file.path(), Key::rowid, false, taken);
    Db db(file.path());
    const std::string pull_sql = union_all_pull_sql;
    const std::string done_sql = complete_sql;
    Job job;
    const auto start = Clock::now();
    for (std::size_t i = 0; i < taken; ++i) {
        {
            Stmt pull(db.get(), pull_sql, false);
            pull_one(db, pull.get(), job);
        }
        Stmt complete(db.get(), done_sql, false);
        complete_one(db, complete.get(), job);
    }
    const double seconds = seconds_since(start);
    expect_done(db, taken);
    return static_cast<double>(taken) / seconds;
}

/// EXPLAIN QUERY PLAN of `select` on a database made with `key` / `partial_index`, as an
/// indented tree on stderr.
void explain(const char* title, Key key, bool partial_index, const std::string& select) {
    TempDb file;
    fill(file.path(), key, partial_index, 1'000);
    Db db(file.path());
    Stmt stmt(db.get(), "EXPLAIN QUERY PLAN " + select, false);
    std::fprintf(stderr, "# EXPLAIN QUERY PLAN, %s:\n#   %s\n", title, select.c_str());
    std::vector<std::pair<int, int>> depth_of; // (id, depth)
    int rc = 0;
    while ((rc = sqlite3_step(stmt.get())) == SQLITE_ROW) {
        const int id = sqlite3_column_int(stmt.get(), 0);
        const int parent = sqlite3_column_int(stmt.get(), 1);
        int depth = 0;
        for (const auto& [known, d] : depth_of)
            if (known == parent) depth = d + 1;
        depth_of.emplace_back(id, depth);
        const unsigned char* detail = sqlite3_column_text(stmt.get(), 3);
        std::fprintf(stderr, "#   %*s%s\n", 2 * depth, "",
                     detail != nullptr ? reinterpret_cast<const char*>(detail) : "");
    }
    if (rc != SQLITE_DONE) fail(db.get(), "EXPLAIN QUERY PLAN", rc);
}

// ---------------------------------------------------------------------------------------------
// Driver

struct Options {
    bool quick = false;
    bool verbose = false;
    int runs = 5;
    std::size_t push_batch_jobs = 100'000;
    std::size_t push_jobs = 20'000;
    std::size_t pull_jobs = 20'000;
    std::size_t backlog_small = 1'000;
    std::size_t backlog_large = 100'000;
    std::size_t backlog_taken = 2'000;
    std::size_t backlog_taken_or_large = 200; // the OR shape sorts the whole backlog per pull
    std::size_t cache_jobs = 20'000;
};

struct Variant {
    std::string name;
    std::function<double()> measure;
};

/// Runs every variant once per run, rotating which goes first; returns each one's median.
std::vector<double> interleaved(const char* comparison, const std::vector<Variant>& variants,
                                const Options& options) {
    const std::size_t n = variants.size();
    std::vector<std::vector<double>> results(n);
    for (int run = 0; run < options.runs; ++run) {
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t v = (i + static_cast<std::size_t>(run)) % n;
            const double value = variants[v].measure();
            results[v].push_back(value);
            if (options.verbose)
                std::fprintf(stderr, "%s run=%d %s=%.0f\n", comparison, run + 1,
                             variants[v].name.c_str(), value);
        }
    }
    std::vector<double> medians;
    for (auto& values : results) {
        std::sort(values.begin(), values.end());
        const std::size_t m = values.size();
        medians.push_back(m % 2 == 1 ? values[m / 2] : (values[m / 2 - 1] + values[m / 2]) / 2);
    }
    return medians;
}

void key_comparison(const char* line, const std::function<double(Key)>& measure,
                    const Options& options) {
    const auto m = interleaved(line,
                               {{"rowid", [&] { return measure(Key::rowid); }},
                                {"without_rowid", [&] { return measure(Key::without_rowid); }}},
                               options);
    std::printf("%s rowid_jobs_per_s=%.0f without_rowid_jobs_per_s=%.0f ratio=%.3f\n", line, m[0],
                m[1], m[1] / m[0]);
    std::fflush(stdout);
}

std::string thousands(std::size_t n) {
    return n % 1000 == 0 ? std::to_string(n / 1000) + "k" : std::to_string(n);
}

int run(const Options& o) {
    {
        char date[32];
        const std::time_t now = std::time(nullptr);
        std::tm utc{};
        gmtime_r(&now, &utc);
        std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &utc);
        std::printf("# gqs_schema_bench date=%s sqlite=%s sync=NORMAL mode=%s runs=%d ids=%s\n",
                    date, sqlite3_libversion(), o.quick ? "quick" : "full", o.runs,
                    ids().random ? "v4" : "v7");
        std::printf("# sizes push_batch=%zux1000 pull_complete_1=%zu push=%zu "
                    "pull_shape=%zu/%zu+%zu(or at %zu: %zu) statement_cache=%zu\n",
                    o.push_batch_jobs, o.pull_jobs, o.push_jobs, o.backlog_small, o.backlog_large,
                    o.backlog_taken, o.backlog_large, o.backlog_taken_or_large, o.cache_jobs);
        std::fflush(stdout);
    }

    // 1. Table key.
    key_comparison(
        "key_push_batch", [&](Key key) { return push_batch(key, o.push_batch_jobs); }, o);
    key_comparison(
        "key_pull_complete_1",
        [&](Key key) { return pull_complete(key, false, pull_sql_for(key), o.pull_jobs, 0); }, o);
    // 4. Single pushes, one commit each.
    key_comparison(
        "key_push", [&](Key key) { return push_single(key, o.push_jobs); }, o);

    // 2. Pull shape at backlog depth.
    explain("rowid key, union_all (gqs)", Key::rowid, false, subquery_of(union_all_pull_sql));
    explain("without_rowid key, union_all", Key::without_rowid, false,
            subquery_of(pull_sql_for(Key::without_rowid)));
    explain("or (the seed)", Key::rowid, false, subquery_of(or_pull_sql));
    explain("partial_index with INDEXED BY", Key::rowid, true, subquery_of(partial_pull_sql));
    explain("partial_index without INDEXED BY (what the planner picks by itself)", Key::rowid, true,
            replace_all(subquery_of(partial_pull_sql), " INDEXED BY jobs_ready", ""));

    struct Shape {
        const char* name;
        const char* sql;
        bool partial_index;
    };
    const std::array<Shape, 3> shapes = {{{"or", or_pull_sql, false},
                                          {"union_all", union_all_pull_sql, false},
                                          {"partial_index", partial_pull_sql, true}}};
    std::vector<Variant> variants;
    for (const std::size_t backlog : {o.backlog_small, o.backlog_large}) {
        for (const Shape& shape : shapes) {
            const std::size_t taken =
                backlog == o.backlog_large && std::string_view(shape.name) == "or"
                    ? o.backlog_taken_or_large
                    : o.backlog_taken;
            variants.push_back({std::string(shape.name) + "_" + thousands(backlog), [=] {
                                    return pull_complete(Key::rowid, shape.partial_index, shape.sql,
                                                         taken, backlog);
                                }});
        }
    }
    const auto m = interleaved("pull_shape", variants, o);
    const std::string small = thousands(o.backlog_small);
    const std::string large = thousands(o.backlog_large);
    for (std::size_t depth = 0; depth < 2; ++depth)
        std::printf("pull_shape_%s or_jobs_per_s=%.0f union_all_jobs_per_s=%.0f "
                    "partial_index_jobs_per_s=%.0f\n",
                    (depth == 0 ? small : large).c_str(), m[3 * depth], m[3 * depth + 1],
                    m[3 * depth + 2]);
    // Cost per job at the large backlog / at the small one (1.0 = flat).
    std::printf("pull_shape_cost_%s_vs_%s or=%.3f union_all=%.3f partial_index=%.3f\n",
                large.c_str(), small.c_str(), m[0] / m[3], m[1] / m[4], m[2] / m[5]);
    std::fflush(stdout);

    // 3. Statement caching.
    {
        const auto c = interleaved(
            "statement_cache",
            {{"reused",
              [&] {
                  return pull_complete(Key::rowid, false, union_all_pull_sql, o.cache_jobs, 0);
              }},
             {"prepared_each_call",
              [&] { return pull_complete_prepared_each_call(o.cache_jobs); }}},
            o);
        std::printf("statement_cache reused_jobs_per_s=%.0f prepared_each_call_jobs_per_s=%.0f "
                    "ratio=%.3f\n",
                    c[0], c[1], c[1] / c[0]);
        std::fflush(stdout);
    }
    return 0;
}

void usage(std::FILE* to) {
    std::fputs("usage: gqs_schema_bench [--quick] [--runs=N] [--ids=v7|v4] [--verbose]\n"
               "  --quick    small sizes and 3 runs (a few seconds)\n"
               "  --runs=N   runs per comparison (default 5)\n"
               "  --ids=v4   random (UUIDv4-like) ids instead of time-ordered UUIDv7-like ones\n"
               "  --verbose  every run's result on stderr\n",
               to);
}

} // namespace

int main(int argc, char** argv) {
    Options o;
    int runs = 0;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--quick") {
            o.quick = true;
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else if (arg == "--ids=v7" || arg == "--ids=v4") {
            ids().random = arg == "--ids=v4";
        } else if (arg.starts_with("--runs=")) {
            char* end = nullptr;
            const long n = std::strtol(argv[i] + 7, &end, 10);
            if (end == argv[i] + 7 || *end != '\0' || n < 1 || n > 1000) {
                std::fprintf(stderr, "gqs_schema_bench: bad %s\n", argv[i]);
                return 1;
            }
            runs = static_cast<int>(n);
        } else if (arg == "--help" || arg == "-h") {
            usage(stdout);
            return 0;
        } else {
            std::fprintf(stderr, "gqs_schema_bench: unknown argument %s\n", argv[i]);
            usage(stderr);
            return 1;
        }
    }
    if (o.quick) {
        o.runs = 3;
        o.push_batch_jobs = 5'000;
        o.push_jobs = 500;
        o.pull_jobs = 500;
        o.backlog_small = 1'000;
        o.backlog_large = 10'000;
        o.backlog_taken = 200;
        o.backlog_taken_or_large = 200;
        o.cache_jobs = 500;
    }
    if (runs > 0) o.runs = runs;
    try {
        return run(o);
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "gqs_schema_bench: %s\n", e.what());
        return 1;
    }
}
