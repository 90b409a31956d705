// SPDX-License-Identifier: Apache-2.0
// Watcher: waking idle workers when another connection commits a ready job.
#include "watcher.hpp"

#include "connection_impl.hpp"
#include "statements.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/inotify.h>
#endif

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <system_error>
#include <utility>

namespace gqs::sqlite::detail {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::microseconds;
using std::chrono::milliseconds;

// After an event: the first check at once, then again after 10 us, doubling up to 1 ms, until
// 10 ms after the last event. The writer publishes its commit in the -shm index after
// writing the frames that raised the event; a writer descheduled in between for longer
// than that is caught by the safety check.
constexpr microseconds first_recheck{10};
constexpr microseconds max_recheck{1000};
constexpr milliseconds series_length{10};
// While the gate is busy outside a series (a long Transaction): how often to try again.
constexpr milliseconds busy_retry{10};
// The safety check, with inotify and without; and once the file is gone or replaced. Each
// costs a wake-up and a read (~130 us of CPU measured here): with inotify it only catches a
// writer descheduled between its WAL write and its commit for longer than a series; without
// it, it is the signal, kept to ~0.5% of a core while idle.
constexpr milliseconds safety_inotify{1000};
constexpr milliseconds safety_poll{25};
constexpr milliseconds safety_lost{1000};

constexpr Clock::time_point never = Clock::time_point::max();

struct Identity {
    dev_t dev = 0;
    ino_t ino = 0;
    bool exists = false;
    bool operator==(const Identity&) const = default;
};

Identity identity_of(const std::filesystem::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return {};
    return {st.st_dev, st.st_ino, true};
}

enum class Checked { Busy, Unchanged, Changed };

// Reads data_version on the Connection's handle without waiting for its lock; when it moved
// (another connection committed), asks whether a job is ready now. `ready` is set only on
// Changed. Errors (a locked or vanished file) count as Unchanged: the next check tries again.
Checked check(State& state, std::int64_t& version, bool& known, bool& ready) {
    std::unique_lock lock(state.mutex, std::try_to_lock);
    if (!lock.owns_lock()) return Checked::Busy;
    try {
        std::int64_t now_version = 0;
        {
            auto stmt = state.statement("PRAGMA data_version", "watching for commits");
            if (!stmt.step()) return Checked::Unchanged;
            now_version = sqlite3_column_int64(stmt.get(), 0);
        }
        if (known && now_version == version) return Checked::Unchanged;
        auto stmt = state.statement(has_ready_sql, "checking for ready jobs");
        stmt.bind(1, state.now());
        ready = stmt.step() && sqlite3_column_int(stmt.get(), 0) != 0;
        // Only now: a has_ready that failed leaves the change to be found again.
        known = true;
        version = now_version;
        return Checked::Changed;
    } catch (const std::exception&) {
        return Checked::Unchanged;
    }
}

void set_flags(int fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

// Waits until `deadline` or until one of `fds` is readable.
void wait_until(pollfd* fds, nfds_t count, Clock::time_point deadline) {
    const auto left = std::max(deadline - Clock::now(), Clock::duration::zero());
#ifdef __linux__
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timespec timeout{static_cast<time_t>(ns / 1'000'000'000),
                     static_cast<long>(ns % 1'000'000'000)};
    ::ppoll(fds, count, &timeout, nullptr);
#else
    const auto ms = std::chrono::ceil<milliseconds>(left).count();
    ::poll(fds, count, static_cast<int>(std::min<long long>(ms, 60'000)));
#endif
}

// Reads everything the fd holds; returns false when it was empty.
bool drain(int fd) {
    char buf[256];
    bool any = false;
    while (::read(fd, buf, sizeof buf) > 0)
        any = true;
    return any;
}

} // namespace

Watcher::Watcher(State& state, std::filesystem::path file) : state_(state), file_(std::move(file)) {
    if (::pipe(pipe_) != 0) throw std::system_error(errno, std::generic_category(), "gqs: pipe");
    set_flags(pipe_[0]);
    set_flags(pipe_[1]);
#ifdef __linux__
    // Here rather than on the thread: adding a watch costs time in proportion to what the
    // kernel remembers of the directory (it marks every entry), which belongs to starting a
    // worker, not to its idle time. One watch for the watcher's life. Without inotify (the
    // user's limit reached, another kernel), the safety check polls.
    events_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (events_ >= 0) {
        const auto directory =
            file_.parent_path().empty() ? std::filesystem::path(".") : file_.parent_path();
        watch_ = ::inotify_add_watch(events_, directory.c_str(), IN_MODIFY);
    }
#endif
    try {
        thread_ = std::thread([this] { run(); });
    } catch (...) {
        close_all();
        throw;
    }
}

Watcher::~Watcher() {
    stop_.store(true);
    poke();
    thread_.join();
    close_all();
}

void Watcher::close_all() noexcept {
    ::close(pipe_[0]);
    ::close(pipe_[1]);
    if (events_ >= 0) ::close(events_); // removes the watch
}

void Watcher::arm() noexcept { poke(); }

void Watcher::poke() noexcept {
    const char c = 'w';
    // A full pipe already holds a wake-up: nothing is lost.
    [[maybe_unused]] const auto n = ::write(pipe_[1], &c, 1);
}

void Watcher::run() noexcept {
    int& events = events_;
    int& watch = watch_;
    const std::string name = file_.filename().string();
    const std::string wal = name + "-wal";
    const Identity identity = identity_of(file_);
    bool lost = !identity.exists;
    // Whether the inotify descriptor reported a write to the database or its WAL.
    auto relevant_event = [&]() {
        bool relevant = false;
#ifdef __linux__
        alignas(inotify_event) char buf[4096];
        while (true) {
            const auto n = ::read(events, buf, sizeof buf);
            if (n <= 0) break;
            for (const char* p = buf; p < buf + n;) {
                const auto* e = reinterpret_cast<const inotify_event*>(p);
                if ((e->mask & IN_Q_OVERFLOW) != 0) relevant = true;
                if ((e->mask & IN_IGNORED) != 0 && e->wd == watch) watch = -1;
                if (e->len > 0) {
                    const std::string_view what(e->name);
                    if (what == name || what == wal) relevant = true;
                }
                p += sizeof(inotify_event) + e->len;
            }
        }
#endif
        return relevant;
    };
    auto safety_interval = [&] {
        return lost ? safety_lost : watch >= 0 ? safety_inotify : safety_poll;
    };

    std::int64_t version = 0;
    bool known = false;
    bool armed = false;
    auto now = Clock::now();
    Clock::time_point next_check = now; // the first check reads the version to compare with
    Clock::time_point series_end = now;
    Clock::duration step = first_recheck;
    Clock::time_point next_safety = now + safety_interval();
    while (true) {
        pollfd fds[2] = {{pipe_[0], POLLIN, 0}, {events, POLLIN, 0}};
        // While disarmed the descriptor is not polled: the kernel queues (and merges) the
        // events, drained once armed again.
        const bool listening = armed && watch >= 0;
        wait_until(fds, listening ? 2 : 1, std::min(next_check, next_safety));
        const bool poked = drain(pipe_[0]);
        if (stop_.load()) break;
        now = Clock::now();
        const bool was_armed = armed;
        armed = state_.hungry.load() > 0 && !lost;
        const bool event = armed && watch >= 0 && relevant_event();
        // Newly armed: commits made while nobody was hungry went unwatched; one check finds
        // them (data_version counts every commit since the last read).
        if (armed && (!was_armed || poked)) next_check = std::min(next_check, now);
        if (event) {
            // Every event starts the quick rechecks over: a series still running from an
            // earlier event would otherwise look only every max_recheck.
            step = first_recheck;
            next_check = now;
            series_end = now + series_length;
        }
        if (now >= next_safety) {
            if (!lost && identity_of(file_) != identity) {
                lost = true; // deleted or replaced: nothing to listen to any more
                armed = false;
                watch = -1; // the descriptor is closed with the watcher
            }
            next_safety = now + safety_interval();
            if (armed) next_check = std::min(next_check, now);
        }
        // Disarmed, nothing needs checking (after the first read of the version).
        if (!armed && known) next_check = never;
        if (now < next_check) continue;
        bool ready = false;
        const Checked checked = check(state_, version, known, ready);
        if (checked == Checked::Changed && ready && armed) state_.notify_push();
        if (now < series_end) {
            step = std::min<Clock::duration>(step * 2, max_recheck);
            next_check = now + step;
        } else if (checked == Checked::Busy) {
            next_check = now + busy_retry;
        } else {
            next_check = never;
        }
    }
}

namespace {

// The file a watcher can watch: none for a temporary or in-memory database.
std::filesystem::path watchable_file(sqlite3* handle) {
    const char* file = sqlite3_db_filename(handle, "main");
    if (file == nullptr || *file == '\0') return {};
    return file;
}

} // namespace

Subscription State::subscribe(std::shared_ptr<Connection> owner, std::function<void()> notify) {
    const auto id = subscribers.subscribe(std::move(notify), [this] {
        auto file = watchable_file(handle);
        return file.empty() ? nullptr : std::make_unique<Watcher>(*this, file);
    });
    return Subscription(
        [owner = std::move(owner), id] { Access::state(*owner).subscribers.unsubscribe(id); });
}

void State::set_hungry(std::atomic<bool>& puller_flag, bool now_hungry) noexcept {
    if (puller_flag.exchange(now_hungry) == now_hungry) return;
    if (!now_hungry) {
        hungry.fetch_sub(1);
        return;
    }
    if (hungry.fetch_add(1) != 0) return;
    subscribers.with_thread([](Watcher& watcher) { watcher.arm(); });
}

void State::notify_push() { subscribers.notify_all(); }

} // namespace gqs::sqlite::detail
