// SPDX-License-Identifier: Apache-2.0
// More of the crash matrix (issue 22) on PostgreSQL: a disk that fills up (the queue's tables in a
// tablespace on a small tmpfs), and worker processes whose clocks are a minute off
// (Debian's faketime).
#include "support/catch.hpp"
#include "support/faults_run.hpp"
#include "support/postgres_queue.hpp"
#include "support/stress_run.hpp"
#include "support/test_support.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::Uuid;
namespace fs = std::filesystem;

namespace {

// A tmpfs of `bytes` mounted on a fresh directory for one test; unmounted and removed at the
// end. error() says why it could not be mounted (not root, no permission).
class TmpfsMount {
public:
    explicit TmpfsMount(std::size_t bytes) {
        if (::geteuid() != 0) {
            error_ = "not running as root";
            return;
        }
        std::string path = (fs::temp_directory_path() / "gqs-tmpfs-XXXXXX").string();
        if (::mkdtemp(path.data()) == nullptr) {
            error_ = std::string("mkdtemp: ") + std::strerror(errno);
            return;
        }
        dir_ = path;
        std::string data = "size=";
        data += std::to_string(bytes);
        data += ",mode=0755";
        if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0) {
            error_ = std::string("mount -t tmpfs: ") + std::strerror(errno);
            return;
        }
        mounted_ = true;
    }
    ~TmpfsMount() {
        if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
        std::error_code ec;
        if (!dir_.empty()) fs::remove_all(dir_, ec);
    }
    TmpfsMount(const TmpfsMount&) = delete;
    TmpfsMount& operator=(const TmpfsMount&) = delete;

    [[nodiscard]] const std::string& error() const noexcept { return error_; }
    [[nodiscard]] const fs::path& dir() const noexcept { return dir_; }

private:
    fs::path dir_;
    std::string error_;
    bool mounted_ = false;
};

// A tablespace dropped at the end (after the schema whose tables it holds), on a connection
// of its own.
class Tablespace {
public:
    Tablespace(std::string conninfo, std::string name)
        : conninfo_(std::move(conninfo)), name_(std::move(name)) {}
    ~Tablespace() {
        PGconn* c = PQconnectdb(conninfo_.c_str());
        if (PQstatus(c) == CONNECTION_OK) {
            const std::string sql = "DROP TABLESPACE IF EXISTS \"" + name_ + "\"";
            PGresult* r = PQexec(c, sql.c_str());
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                WARN("cannot drop tablespace " << name_ << ": " << PQresultErrorMessage(r));
            PQclear(r);
        }
        PQfinish(c);
    }
    Tablespace(const Tablespace&) = delete;
    Tablespace& operator=(const Tablespace&) = delete;

private:
    std::string conninfo_;
    std::string name_;
};

// A file that takes the tmpfs's free space, but `left` bytes.
class Filler {
public:
    explicit Filler(fs::path path) : path_(std::move(path)) {}
    ~Filler() { remove(); }
    Filler(const Filler&) = delete;
    Filler& operator=(const Filler&) = delete;

    void fill(off_t left) {
        const int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd < 0) throw std::runtime_error("cannot create the filler file");
        const std::string chunk(64 * 1024, 'f');
        off_t size = 0;
        while (true) {
            const auto n = ::write(fd, chunk.data(), chunk.size());
            if (n <= 0) break; // ENOSPC: the tmpfs is full
            size += n;
        }
        if (::ftruncate(fd, size > left ? size - left : 0) != 0) {
            ::close(fd);
            throw std::runtime_error("cannot truncate the filler file");
        }
        ::close(fd);
    }
    void remove() {
        std::error_code ec;
        fs::remove(path_, ec);
    }

private:
    fs::path path_;
};

// Which user the server runs as: the owner of its data directory (on this machine), or
// nullopt with the reason.
std::optional<uid_t> server_uid(const gqs::test::PgSchema& server, std::string& why) {
    try {
        const std::string data = server.exec("SHOW data_directory");
        struct stat st {};
        if (::stat(data.c_str(), &st) != 0) {
            why = "the server's data directory " + data + " is not on this machine";
            return std::nullopt;
        }
        return st.st_uid;
    } catch (const std::exception& e) {
        why = e.what();
        return std::nullopt;
    }
}

} // namespace

TEST_CASE("postgres faults: the disk fills up during pushes and settles and space returns",
          "[faults][full]") {
    TmpfsMount mount(16 * 1024 * 1024);
    std::optional<Tablespace> tablespace;
    gqs::test::PgQueue q; // its schema is dropped before the tablespace, and that before umount
    if (!mount.error().empty()) {
        WARN("disk full (postgres): the cell could not run: " << mount.error());
        SUCCEED("cannot mount a tmpfs here");
        return;
    }
    std::string why;
    const auto uid = server_uid(q.schema, why);
    const fs::path location = mount.dir() / "tablespace";
    if (uid) {
        fs::create_directory(location);
        if (::chown(location.c_str(), *uid, static_cast<gid_t>(-1)) != 0 ||
            ::chmod(location.c_str(), 0700) != 0)
            why = std::string("chown: ") + std::strerror(errno);
    }
    if (!uid || !why.empty()) {
        WARN("disk full (postgres): the cell could not run: " << why);
        SUCCEED("no tablespace on this machine");
        return;
    }
    std::string name = "gqs_full_";
    name += std::to_string(::getpid());
    try {
        q.schema.exec("CREATE TABLESPACE \"" + name + "\" LOCATION '" + location.string() + "'");
    } catch (const std::exception& e) {
        WARN("disk full (postgres): the cell could not run: " << e.what());
        SUCCEED("cannot create a tablespace");
        return;
    }
    tablespace.emplace(q.schema.conninfo(), name);
    // Every table and index of the queue's schema (TOAST tables follow their table).
    q.schema.exec("DO $$ DECLARE r record; BEGIN FOR r IN SELECT c.oid::regclass AS rel, "
                  "c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                  "WHERE n.nspname = '" +
                  q.schema.name() +
                  "' AND c.relkind IN ('r', 'i') LOOP EXECUTE format('ALTER %s %s SET "
                  "TABLESPACE %I', CASE r.relkind WHEN 'r' THEN 'TABLE' ELSE 'INDEX' END, "
                  "r.rel, '" +
                  name + "'); END LOOP; END $$");
    REQUIRE(q.schema.exec("SELECT count(*) FROM pg_tables WHERE schemaname = '" + q.schema.name() +
                          "' AND tablespace IS DISTINCT FROM '" + name + "'") == "0");

    auto worker_db = q.connect();
    auto manual_db = q.connect();
    gqs::postgres::Puller worker_puller(worker_db);
    gqs::postgres::Puller manual_puller(manual_db);
    Filler filler(mount.dir() / "filler");
    gqs::test::DiskFullTarget target{
        q.pusher, worker_puller, manual_puller, q.observer,
        // 64 KiB (8 pages) left: the next pages the tables or indexes need cannot be had.
        [&] { filler.fill(64 * 1024); }, [&] { filler.remove(); },
        [&] {
            // amcheck's B-tree checks on every index of the queue, where the server has it.
            try {
                q.schema.exec("CREATE EXTENSION IF NOT EXISTS amcheck");
                q.schema.exec("SELECT count(bt_index_check(c.oid, true)) FROM pg_class c JOIN "
                              "pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid "
                              "= c.relam WHERE n.nspname = '" +
                              q.schema.name() + "' AND c.relkind = 'i' AND a.amname = 'btree'");
            } catch (const std::exception& e) {
                if (std::string(e.what()).find("amcheck") == std::string::npos)
                    return std::string(e.what());
            }
            q.schema.exec("SELECT count(*) FROM \"" + q.schema.name() + "\".jobs");
            return std::string("ok");
        }};
    const auto counts = gqs::test::disk_full_run(target, "postgres");
    // SQLSTATE 53100 (disk_full) is StorageErrorKind::Full (the run checked the kind).
    INFO(counts.first_refusal);
    CHECK(counts.first_refusal.find("53100") != std::string::npos);
}

namespace {

// The faketime program, or "" when it is not installed.
std::string find_faketime() {
    const char* path = std::getenv("PATH");
    std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
        const fs::path candidate = fs::path(dir) / "faketime";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
    return {};
}

// The arguments of /usr/bin/env that run `args` under faketime with the wall clock moved by
// `offset` ("+60s") and the monotonic clock (the Worker's steady_clock) left real.
std::vector<std::string> under_faketime(const std::string& faketime, const std::string& offset,
                                        const std::vector<std::string>& args) {
    std::string asan = "ASAN_OPTIONS=";
    if (const char* a = std::getenv("ASAN_OPTIONS"); a != nullptr && *a != '\0') {
        asan += a;
        asan += ':';
    }
    // libfaketime is preloaded ahead of a sanitizer's runtime.
    asan += "verify_asan_link_order=0";
    std::vector<std::string> all{
        "FAKETIME_DONT_FAKE_MONOTONIC=1", asan, faketime, "-m", "-f", offset};
    all.insert(all.end(), args.begin(), args.end());
    return all;
}

} // namespace

// Which clock rules on PostgreSQL: the server's. Every time gqs stores or compares (leases,
// delays, backoffs) is the server's statement_timestamp(); a client's wall clock is never
// used, and the Worker times its lease extensions and watchdog with steady_clock. So two
// worker processes whose wall clocks are a minute ahead and a minute behind run next to a
// normal producer with nothing lost and nothing run twice.
TEST_CASE("postgres faults: two worker processes with their clocks a minute ahead and a minute "
          "behind",
          "[faults][process][clock]") {
    const std::string faketime = find_faketime();
    if (faketime.empty())
        FAIL("faketime is not installed: apt-get install faketime (scripts/test.sh installs it "
             "through scripts/deps.sh)");
    gqs::test::PgQueue q;
    gqs::test::TempDb tmp; // for the processes' logs and output
    // faketime works here: a child's wall clock is a minute ahead.
    {
        auto probe =
            gqs::test::spawn("/usr/bin/env", under_faketime(faketime, "+60s", {"date", "+%s"}),
                             tmp.dir() / "probe.out");
        const int status = gqs::test::wait_child(probe);
        const std::string out = gqs::test::read_file(probe.output);
        INFO("faketime date +%s: exit " << status << ", output: " << out);
        REQUIRE(status == 0);
        const long now = static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
        const long faked = std::stol(out);
        REQUIRE(faked - now >= 55);
        REQUIRE(faked - now <= 65);
    }

    const std::string db = q.child_db();
    const std::string child = GQS_STRESS_CHILD;
    constexpr long rate = 100;
    constexpr long total = 6 * rate;
    constexpr auto lease = 2s;
    const std::string lease_ms = "2000";
    const auto begin = std::chrono::steady_clock::now();
    auto producer = gqs::test::spawn(child,
                                     {"trickle", db, std::to_string(total), std::to_string(rate),
                                      (tmp.dir() / "pushed.log").string()},
                                     tmp.dir() / "producer.out");
    std::vector<std::pair<std::string, gqs::test::Child>> workers;
    for (const auto& [name, offset] : {std::pair{"ahead", "+60s"}, std::pair{"behind", "-60s"}}) {
        workers.emplace_back(
            name,
            gqs::test::spawn("/usr/bin/env",
                             under_faketime(faketime, offset,
                                            {child, "work", db,
                                             (tmp.dir() / (std::string(name) + ".log")).string(),
                                             "2", std::to_string(total), lease_ms}),
                             tmp.dir() / (std::string(name) + ".out")));
    }
    {
        INFO(gqs::test::read_file(tmp.dir() / "producer.out"));
        CHECK(gqs::test::wait_child(producer) == 0);
    }
    const auto produced = std::chrono::steady_clock::now();
    std::set<Uuid> pushed;
    for (const auto& line : gqs::test::stress_detail::read_log(tmp.dir() / "pushed.log"))
        pushed.insert(line.id);
    auto not_done = [&] {
        long missing = 0;
        for (const auto& id : pushed) {
            auto job = q.observer.get(id);
            if (!job || job->status != Status::Done) ++missing;
        }
        return missing;
    };
    // Stuck: not Done one lease time after the last push.
    gqs::test::wait_until([&] { return not_done() == 0; },
                          std::chrono::duration_cast<std::chrono::milliseconds>(
                              produced + lease - std::chrono::steady_clock::now()));
    const long stuck = not_done();
    // The workers exit once every job is finished.
    const bool exited = gqs::test::wait_until(
        [&] {
            for (auto& [name, w] : workers) {
                if (w.pid < 0) continue;
                int status = 0;
                if (::waitpid(w.pid, &status, WNOHANG) != w.pid) return false;
                INFO(name << " output: " << gqs::test::read_file(w.output));
                CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
                w.pid = -1;
            }
            return true;
        },
        std::chrono::minutes(1));
    for (auto& [name, w] : workers) {
        if (w.pid < 0) continue;
        ::kill(w.pid, SIGKILL);
        gqs::test::wait_child(w);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();

    std::map<Uuid, int> done_runs;
    std::map<std::string, long> done_by;
    for (const auto& [name, w] : workers)
        for (const auto& line :
             gqs::test::stress_detail::read_log(tmp.dir() / (std::string(name) + ".log")))
            if (line.what == "done") {
                ++done_runs[line.id];
                ++done_by[name];
            }
    long done = 0, lost = 0, twice = 0;
    for (const auto& id : pushed) {
        auto job = q.observer.get(id);
        if (job && job->status == Status::Done)
            ++done;
        else
            ++lost;
        if (done_runs[id] > 1) ++twice;
    }
    std::ostringstream report;
    report << "clock off by +60 s and -60 s on two worker processes (postgres): pushed "
           << pushed.size() << ", done " << done << " (" << done_by["ahead"]
           << " by the one ahead, " << done_by["behind"] << " by the one behind), lost " << lost
           << ", run twice " << twice << ", stuck " << stuck << "; " << seconds << " s";
    WARN(report.str());
    for (const auto& [name, w] : workers)
        INFO(name << " output: " << gqs::test::read_file(w.output));
    CHECK(exited);
    CHECK(static_cast<long>(pushed.size()) == total);
    CHECK(lost == 0);
    CHECK(twice == 0);
    CHECK(stuck == 0);
    // Both skewed workers took part.
    CHECK(done_by["ahead"] > 0);
    CHECK(done_by["behind"] > 0);
}
