// SPDX-License-Identifier: Apache-2.0
// Power loss on SQLite (issue 22): each workload runs through PowerLossVfs once to count its
// I/O events, then once per cut point with the power cut at that event; the files a disk
// could hold after the reboot (synced content plus random subsets of the unsynced sectors)
// are opened with the default VFS and checked: the file opens, passes integrity_check, holds
// the state after a prefix of the operations that returned (with synchronous=FULL, all of
// them), and gqs works on it.
#include "support/catch.hpp"
#include "support/powerloss_vfs.hpp"
#include "support/sqlite_queue.hpp"

#include <SQLiteCpp/Statement.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <iostream>
#include <span>
#include <sstream>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::sqlite::Synchronous;
using gqs::test::PowerLossVfs;
using gqs::test::TempDb;
namespace fs = std::filesystem;

// Under a sanitizer every cut point costs ~10x: only every 10th is run there.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define GQS_POWERLOSS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define GQS_POWERLOSS_SANITIZED 1
#endif
#endif
#ifdef GQS_POWERLOSS_SANITIZED
#define GQS_CUTS " (every 10th cut point under sanitizers)"
constexpr std::uint64_t stride = 10;
#else
#define GQS_CUTS ""
constexpr std::uint64_t stride = 1;
#endif

namespace {

PowerLossVfs& vfs() {
    static PowerLossVfs instance;
    return instance;
}

// Every run tells the same time, so that the same operations store the same rows.
const gqs::TimePoint fixed_now{std::chrono::seconds(1'750'000'000)};

gqs::sqlite::Options options_for(Synchronous synchronous, bool background_checkpoint) {
    gqs::sqlite::Options o;
    o.synchronous = synchronous;
    o.background_checkpoint = background_checkpoint;
    o.clock = [] { return fixed_now; };
    return o;
}

// The whole content of the database, as one comparable string: its schema, user_version
// and every row of every table.
std::string state_of(SQLite::Database& db) {
    std::string out;
    auto dump = [&](const std::string& sql) {
        SQLite::Statement st(db, sql);
        while (st.executeStep()) {
            for (int c = 0; c < st.getColumnCount(); ++c) {
                const auto column = st.getColumn(c);
                if (column.isNull()) {
                    out += "null,";
                    continue;
                }
                const auto* bytes = static_cast<const unsigned char*>(column.getBlob());
                const auto size = static_cast<std::size_t>(column.getBytes());
                out += std::to_string(size) + ":";
                if (column.isBlob()) { // in hex, so that a failure message can show it
                    static const char digits[] = "0123456789abcdef";
                    for (std::size_t i = 0; i < size; ++i) {
                        out += digits[bytes[i] >> 4];
                        out += digits[bytes[i] & 15];
                    }
                } else {
                    out.append(reinterpret_cast<const char*>(bytes), size);
                }
                out += ',';
            }
            out += '\n';
        }
    };
    dump("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name");
    dump("PRAGMA user_version");
    std::vector<std::string> tables;
    {
        SQLite::Statement st(db, "SELECT name FROM sqlite_schema WHERE type = 'table' "
                                 "ORDER BY name");
        while (st.executeStep())
            tables.push_back(st.getColumn(0).getString());
    }
    for (const auto& table : tables) {
        out += "table " + table + '\n';
        dump("SELECT * FROM \"" + table + "\" ORDER BY 1");
    }
    return out;
}

// Empties `dir` (creating it if needed). The directory itself stays: removing a directory
// costs milliseconds on ext4, and this runs thousands of times.
void clear_dir(const fs::path& dir) {
    fs::create_directories(dir);
    for (const auto& entry : fs::directory_iterator(dir))
        fs::remove_all(entry.path());
}

void copy_files(const fs::path& from, const fs::path& to) {
    clear_dir(to);
    for (const auto& entry : fs::directory_iterator(from))
        fs::copy_file(entry.path(), to / entry.path().filename());
}

std::size_t wal_frames(const fs::path& db) {
    std::error_code ec;
    const auto size = fs::file_size(fs::path(db.string() + "-wal"), ec);
    return ec || size < 32 ? 0 : (size - 32) / (4096 + 24);
}

// Thrown out of a workload when an operation failed because the power was cut.
struct PowerLost {};

// One run of a workload: the operations that returned, and the database they worked on.
struct Run {
    fs::path db;
    gqs::sqlite::Options options;
    std::shared_ptr<gqs::sqlite::Connection> connection;
    std::vector<std::uint64_t> returned; // PowerLossVfs::events() as each operation returned
    std::function<void()> after_each;    // the counting run takes a snapshot here

    // Runs one operation. One that fails without a power cut fails the test.
    template <class Fn>
    void op(Fn&& fn) {
        try {
            fn();
        } catch (...) {
            if (vfs().lost_power()) throw PowerLost{};
            throw;
        }
        returned.push_back(vfs().events());
        if (after_each) after_each();
    }

    std::shared_ptr<gqs::sqlite::Connection> open() {
        op([&] { connection = gqs::sqlite::Connection::open(db, options); });
        return connection;
    }
};

struct Workload {
    std::string name;
    bool background_checkpoint = false;
    // Writes the starting file(s) at this path (its directory is empty).
    std::function<void(const fs::path&)> make_start;
    std::function<void(Run&)> body;
};

// Per post-crash image, the probability that an unsynced sector reached the disk: all of
// them, none (only what was synced), and two random halves.
constexpr double variants[] = {1.0, 0.0, 0.5, 0.5};

std::uint64_t base_seed() {
    if (const char* s = std::getenv("GQS_POWERLOSS_SEED")) return std::strtoull(s, nullptr, 0);
    return 0x6771732d706f7772ULL;
}

std::uint64_t mix(std::uint64_t x) { // splitmix64
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

// The first line where `found` differs from `expected` (the state after `hi` operations),
// both cut to 300 bytes, for the failure message.
std::string first_difference(const std::string& expected, const std::string& found) {
    std::istringstream a(expected);
    std::istringstream b(found);
    std::string x;
    std::string y;
    for (int line = 1;; ++line) {
        const bool more_a = static_cast<bool>(std::getline(a, x));
        const bool more_b = static_cast<bool>(std::getline(b, y));
        if (!more_a && !more_b) return "no line differs";
        if (!more_a || !more_b || x != y)
            return "line " + std::to_string(line) + " of the dump: expected \"" +
                   (more_a ? x.substr(0, 300) : "<end>") + "\", found \"" +
                   (more_b ? y.substr(0, 300) : "<end>") + "\"";
    }
}

// The file after the reboot: opens, passes integrity_check, holds one of states[lo..hi];
// with `use_gqs`, gqs opens it and pushes, pulls and completes on it. "" (and in `found_out`
// which state it holds) or what is wrong.
std::string check_after(const fs::path& db, const std::vector<std::string>& states, std::size_t lo,
                        std::size_t hi, bool use_gqs, std::size_t& found_out) {
    std::string state;
    try {
        SQLite::Database raw(db, SQLite::OPEN_READWRITE);
        // Before the first read (which recovers a WAL or rolls back a hot journal): the
        // checks need no fsync of their own, and skipping them keeps thousands of reopens
        // quick.
        raw.exec("PRAGMA synchronous=OFF");
        // Nor a checkpoint when it closes (gqs's check below opens the WAL as it is).
        sqlite3_db_config(raw.getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
        const auto integrity = gqs::test::query_text(raw, "PRAGMA integrity_check");
        if (integrity != "ok") return "integrity_check: " + integrity;
        state = state_of(raw);
    } catch (const std::exception& e) {
        return std::string("does not open: ") + e.what();
    }
    std::size_t found = states.size();
    for (std::size_t j = lo; j <= hi && found == states.size(); ++j)
        if (states[j] == state) found = j;
    if (found == states.size()) {
        std::ostringstream why;
        why << "holds none of the states after " << lo << ".." << hi << " operations";
        for (std::size_t j = 0; j < states.size(); ++j)
            if (states[j] == state) why << " (it is the state after " << j << ")";
        if (std::find(states.begin(), states.end(), state) == states.end())
            why << " (nor any other: a torn or unknown state); "
                << first_difference(states[hi], state);
        return why.str();
    }
    found_out = found;
    if (!use_gqs) return {};
    try {
        auto options = options_for(Synchronous::Off, false);
        auto connection = gqs::sqlite::Connection::open(db, options);
        gqs::sqlite::init_db(*connection);
        gqs::sqlite::Pusher pusher(connection);
        gqs::sqlite::Puller puller(connection);
        gqs::Message m;
        m.payload = "after the reboot";
        pusher.push(m);
        auto jobs = puller.pull(1, 1h);
        if (jobs.size() != 1) return "gqs: the pull after reopening found no job";
        puller.complete(jobs.front());
    } catch (const std::exception& e) {
        return std::string("gqs on the reopened file: ") + e.what();
    }
    return {};
}

struct Totals {
    std::uint64_t cuts = 0;
    std::uint64_t images = 0;
    std::uint64_t lost_returned = 0;  // images without the last operations that returned
    std::uint64_t in_flight_kept = 0; // images with the operation the power cut short
};

// Runs `w` once uncut (counting events, snapshotting the state after each operation), then
// once per cut point, and checks each post-crash image.
Totals run_cuts(const Workload& w, Synchronous synchronous) {
    const bool full = synchronous == Synchronous::Full;
    TempDb tmp;
    const fs::path start = tmp.dir() / "start";
    const fs::path run = tmp.dir() / "run";
    const fs::path crash = tmp.dir() / "crash";
    fs::create_directories(start);
    w.make_start(start / "queue.db");

    // The state before anything: read from a scratch copy (a reader may change the files).
    std::vector<std::string> states;
    copy_files(start, crash);
    {
        SQLite::Database raw(crash / "queue.db", SQLite::OPEN_READWRITE);
        states.push_back(state_of(raw));
    }

    auto new_run = [&] {
        Run r;
        r.db = run / "queue.db";
        r.options = options_for(synchronous, w.background_checkpoint);
        r.options.vfs = vfs().name();
        return r;
    };

    // The counting run.
    vfs().reset();
    copy_files(start, run);
    std::uint64_t total = 0;
    {
        Run r = new_run();
        r.after_each = [&] {
            states.push_back(
                r.connection->with_database([](SQLite::Database& db) { return state_of(db); }));
        };
        w.body(r);
        r.connection.reset();
        total = vfs().events();
        REQUIRE_FALSE(vfs().lost_power());
    }
    const std::size_t ops = states.size() - 1;
    INFO(w.name << ": " << ops << " operations, " << total << " I/O events");
    REQUIRE(total > 0);

    Totals totals;
    const std::uint64_t seed0 = base_seed();
    int failures = 0;
    for (std::uint64_t cut = 0; cut <= total && failures < 5; cut += stride) {
        vfs().reset();
        vfs().cut_power_at(cut);
        copy_files(start, run);
        Run r = new_run();
        try {
            w.body(r);
        } catch (const PowerLost&) {
        }
        r.connection.reset();
        const bool lost = vfs().lost_power();
        if (!w.background_checkpoint && lost != (cut < total)) {
            FAIL_CHECK(w.name << ": cut at event " << cut << " of " << total
                              << (lost ? " lost power after the end" : " never came"));
            ++failures;
        }
        const std::size_t k = r.returned.size();
        std::size_t lo = k;
        if (!full) {
            // NORMAL: what returned before the last sync of the WAL (or of a rollback journal)
            // is on disk; later commits may not be.
            const std::uint64_t synced = vfs().last_log_sync();
            lo = synced == PowerLossVfs::never
                     ? 0
                     : static_cast<std::size_t>(
                           std::count_if(r.returned.begin(), r.returned.end(),
                                         [&](std::uint64_t at) { return at <= synced; }));
        }
        // The operation under way when the power went may have reached the disk.
        const std::size_t hi = std::min(k + 1, ops);
        ++totals.cuts;
        for (std::size_t v = 0; v < std::size(variants); ++v) {
            const double keep = variants[v];
            const std::uint64_t seed =
                mix(seed0 ^ mix(std::hash<std::string>{}(w.name) ^ mix(cut * 16 + v)));
            clear_dir(crash);
            vfs().write_after_power_loss(run, crash, seed, keep);
            ++totals.images;
            // gqs itself is run on the harshest image only (random sectors), to save time.
            std::size_t found = 0;
            const auto why = check_after(crash / "queue.db", states, lo, hi, v == 2, found);
            if (why.empty() && found < k) ++totals.lost_returned;
            if (why.empty() && found > k) ++totals.in_flight_kept;
            if (!why.empty()) {
                FAIL_CHECK(w.name << ", synchronous=" << (full ? "FULL" : "NORMAL")
                                  << ": power cut at I/O event " << cut << " of " << total
                                  << " after " << k << " of " << ops
                                  << " operations returned; sectors kept with p=" << keep
                                  << ", seed " << seed << " (GQS_POWERLOSS_SEED=" << seed0
                                  << "): " << why);
                ++failures;
            }
        }
    }
    std::cout << w.name << ", synchronous=" << (full ? "FULL" : "NORMAL") << ": " << ops
              << " operations, " << total << " I/O events, " << totals.cuts << " cut points, "
              << totals.images << " post-crash images checked (" << totals.lost_returned
              << " without the last operations that returned, " << totals.in_flight_kept
              << " with the one cut short)\n";
    return totals;
}

// A new queue file (schema version 2, WAL) with `pending` jobs pushed at fixed_now.
void make_queue(const fs::path& db, const std::vector<gqs::Message>& pending = {}) {
    auto connection = gqs::sqlite::Connection::open(db, options_for(Synchronous::Normal, false));
    gqs::sqlite::init_db(*connection);
    if (!pending.empty()) gqs::sqlite::Pusher(connection).push_batch(pending);
}

gqs::Message message(std::string payload, int n) {
    gqs::Message m;
    m.payload = std::move(payload);
    m.set("n", n);
    return m;
}

// Messages of several shapes: metadata, named queues, priorities, a unique key, a payload
// bigger than a page (overflow pages) and an empty one.
std::vector<gqs::Message> messages(int count) {
    std::vector<gqs::Message> out;
    for (int i = 0; i < count; ++i) {
        auto m = message("payload " + std::to_string(i), i);
        if (i % 4 == 1) m.queue = "mail";
        if (i % 3 == 2) m.priority = 5;
        if (i % 5 == 3) m.unique_key = "key-" + std::to_string(i);
        if (i % 7 == 4) m.payload = std::string(6000, static_cast<char>('a' + i % 26));
        if (i % 11 == 6) m.payload.clear();
        out.push_back(std::move(m));
    }
    return out;
}

// A queue whose WAL holds at least `frames` frames (SQLite's checkpoint threshold is 1,000),
// none of them checkpointed: the files are copied while the writing connection is open.
void make_full_wal(const fs::path& db, std::size_t frames) {
    TempDb making;
    {
        auto connection =
            gqs::sqlite::Connection::open(making.path(), options_for(Synchronous::Normal, false));
        gqs::sqlite::init_db(*connection);
        gqs::test::exec(*connection, "PRAGMA wal_autocheckpoint=0");
        gqs::sqlite::Pusher pusher(connection);
        int n = 0;
        while (wal_frames(making.path()) < frames)
            pusher.push(message(std::string(300, 'w'), n++));
        fs::copy_file(making.path(), db);
        fs::copy_file(fs::path(making.path().string() + "-wal"), fs::path(db.string() + "-wal"));
    }
}

} // namespace

TEST_CASE("power loss: single pushes" GQS_CUTS, "[sqlite][powerloss]") {
    const auto batch = messages(24);
    Workload w{"single pushes", false, [](const fs::path& db) { make_queue(db); },
               [&](Run& r) {
                   gqs::sqlite::Pusher pusher(r.open());
                   for (const auto& m : batch)
                       r.op([&] { pusher.push(m); });
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: push_batch" GQS_CUTS, "[sqlite][powerloss]") {
    const auto all = messages(52);
    Workload w{"push_batch", false, [](const fs::path& db) { make_queue(db); },
               [&](Run& r) {
                   gqs::sqlite::Pusher pusher(r.open());
                   std::size_t at = 0;
                   for (std::size_t size : {1U, 5U, 12U, 8U, 2U, 20U, 3U, 1U}) {
                       std::span<const gqs::Message> batch(all.data() + at, size);
                       r.op([&] { (void)pusher.push_batch(batch); });
                       at += size;
                   }
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: pulls and settle batches" GQS_CUTS, "[sqlite][powerloss]") {
    const auto pending = messages(40);
    Workload w{"pull and settle", false, [&](const fs::path& db) { make_queue(db, pending); },
               [&](Run& r) {
                   gqs::sqlite::Puller puller(r.open());
                   // What a worker does: pull a batch, settle it with every kind of outcome.
                   auto settle_all = [](const std::vector<gqs::Job>& jobs) {
                       std::vector<gqs::Settlement> out;
                       for (std::size_t i = 0; i < jobs.size(); ++i) {
                           gqs::Settlement s;
                           s.lease = gqs::lease_of(jobs[i]);
                           switch (i % 5) {
                           case 0: s.action = gqs::Action::Complete; break;
                           case 1:
                               s.action = gqs::Action::Requeue;
                               s.error = "failed " + std::to_string(i);
                               break;
                           case 2: s.action = gqs::Action::Kill; break;
                           case 3:
                               s.action = gqs::Action::Snooze;
                               s.backoff = 1h;
                               break;
                           default: s.action = gqs::Action::Release; break;
                           }
                           out.push_back(std::move(s));
                       }
                       return out;
                   };
                   auto require_applied = [](const std::vector<gqs::SettleResult>& results) {
                       for (const auto& result : results)
                           if (!result.applied())
                               throw std::runtime_error("settle: " + result.error);
                   };
                   std::vector<gqs::Job> jobs;
                   for (int cycle = 0; cycle < 5; ++cycle) {
                       r.op([&] { jobs = puller.pull(7, 1h); });
                       const auto settlements = settle_all(jobs);
                       r.op([&] { require_applied(puller.settle(settlements)); });
                   }
                   // The worker's own cycle: settle and pull in one call.
                   r.op([&] { jobs = puller.pull(6, 1h); });
                   const auto settlements = settle_all(jobs);
                   r.op([&] {
                       std::vector<gqs::SettleResult> results;
                       jobs = puller.settle_and_pull(settlements, results, 6, 1h);
                       require_applied(results);
                   });
                   r.op([&] { require_applied(puller.complete_batch(jobs)); });
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: the outbox (an app row and its jobs in one transaction)" GQS_CUTS,
          "[sqlite][powerloss][outbox]") {
    const auto all = messages(20);
    Workload w{"outbox", false,
               [](const fs::path& db) {
                   make_queue(db);
                   SQLite::Database raw(db, SQLite::OPEN_READWRITE);
                   raw.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, what TEXT NOT NULL)");
               },
               [&](Run& r) {
                   auto connection = r.open();
                   gqs::sqlite::Pusher pusher(connection);
                   for (std::size_t i = 0; i < all.size(); i += 2) {
                       r.op([&] {
                           auto tx = connection->begin();
                           SQLite::Statement insert(tx.database(),
                                                    "INSERT INTO orders (what) VALUES (?)");
                           insert.bind(1, "order " + std::to_string(i));
                           insert.exec();
                           if (i % 4 == 0) {
                               pusher.push(tx, all[i]);
                               pusher.push(tx, all[i + 1]);
                           } else {
                               (void)pusher.push_batch(
                                   tx, std::span<const gqs::Message>(all.data() + i, 2));
                           }
                           tx.commit();
                       });
                   }
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: the upgrade from 0.1.0" GQS_CUTS, "[sqlite][powerloss][upgrade]") {
    const auto after = message("after the upgrade", 0);
    Workload w{
        "upgrade from 0.1.0", false,
        [](const fs::path& db) { fs::copy_file(fs::path(GQS_TEST_FIXTURES) / "gqs-0.1.0.db", db); },
        [&](Run& r) {
            auto connection = r.open(); // switches the file to WAL
            r.op([&] { gqs::sqlite::init_db(*connection); });
            gqs::sqlite::Pusher pusher(connection);
            r.op([&] { pusher.push(after); });
        }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: checkpoints in a commit and wal_checkpoint(TRUNCATE)" GQS_CUTS,
          "[sqlite][powerloss][checkpoint]") {
    // Without background checkpoints SQLite checkpoints inside the commit that takes the WAL
    // past 1,000 frames; then the app truncates the WAL (through with_database).
    const auto more = messages(6);
    Workload w{"checkpoint in a commit", false, [](const fs::path& db) { make_full_wal(db, 990); },
               [&](Run& r) {
                   auto connection = r.open();
                   gqs::sqlite::Pusher pusher(connection);
                   for (std::size_t i = 0; i < 4; ++i)
                       r.op([&] { pusher.push(more[i]); });
                   r.op([&] { gqs::test::exec(*connection, "PRAGMA wal_checkpoint(TRUNCATE)"); });
                   for (std::size_t i = 4; i < more.size(); ++i)
                       r.op([&] { pusher.push(more[i]); });
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("power loss: the background checkpoint" GQS_CUTS, "[sqlite][powerloss][checkpoint]") {
    // The Connection's checkpoint thread copies the WAL once a push takes it past 1,000
    // frames. The workload waits for that checkpoint's sync of the database (or the power
    // cut) before it pushes again, so the order of I/O events is the same in every run.
    const auto more = messages(8);
    Workload w{"background checkpoint", true, [](const fs::path& db) { make_full_wal(db, 990); },
               [&](Run& r) {
                   auto connection = r.open();
                   gqs::sqlite::Pusher pusher(connection);
                   std::size_t i = 0;
                   while (wal_frames(r.db) < 1000) {
                       if (i + 3 >= more.size()) FAIL("the WAL did not reach 1,000 frames");
                       r.op([&] { pusher.push(more[i]); });
                       ++i;
                   }
                   const bool done = gqs::test::wait_until(
                       [&] { return vfs().lost_power() || vfs().syncs(r.db) > 0; });
                   if (vfs().lost_power()) throw PowerLost{};
                   REQUIRE(done);
                   for (; i < more.size(); ++i)
                       r.op([&] { pusher.push(more[i]); });
               }};
    for (auto synchronous : {Synchronous::Full, Synchronous::Normal}) {
        INFO("synchronous " << static_cast<int>(synchronous));
        run_cuts(w, synchronous);
    }
}

TEST_CASE("Options::vfs: every handle gqs opens goes through the named VFS",
          "[sqlite][powerloss][connection]") {
    TempDb tmp;
    vfs().reset();
    auto options = options_for(Synchronous::Full, true);
    options.vfs = vfs().name();
    {
        auto connection = gqs::sqlite::Connection::open(tmp.path(), options);
        gqs::sqlite::init_db(*connection);
        const auto before = vfs().events();
        gqs::sqlite::Pusher(connection).push(message("through the VFS", 1));
        CHECK(vfs().events() > before);
        // A checkpoint syncs the database file. (The background checkpointer's handle is
        // checked by "the background checkpoint" below, which waits for its sync.)
        gqs::test::exec(*connection, "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    CHECK(vfs().syncs(tmp.path()) > 0);
    options.vfs = "no-such-vfs";
    CHECK_THROWS_AS(gqs::sqlite::Connection::open(tmp.path(), options), gqs::StorageError);
}
