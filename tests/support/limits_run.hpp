// SPDX-License-Identifier: Apache-2.0
// max_running across processes (issue 24), for every backend: a queue stored with
// max_running = 2 and 200 jobs of 2 to 5 ms, served by 3 worker processes of 4 threads with the
// adaptive prefetch (gqs_stress_child's `limited` mode, lease 2 s). The first one started
// SIGKILLs itself inside its 20th handler, so it dies holding that job's lease (and whatever
// else it leased). Once every lease held at its death has ended, 60 more jobs are pushed.
// Checks:
//   - from the database, sampled every few milliseconds by the test while the processes run:
//     never more than 2 jobs of the queue Processing with a live lease;
//   - from the handlers, whose [start, end] each process logs on the steady clock (one clock
//     for every process on Linux): never more than 2 handlers at once, the victim's unfinished
//     handlers counted as running until their leases ended; 2 at once at some moment after
//     those leases ended (the dead process's slot is used again);
//   - every job Done, each completed once; an attempt before a job's last only where the
//     victim held it; the job the victim died in done by another process at attempt 2, started
//     after its lease ended.
// Keyed (`keys` > 0): the queue has max_running_per_key = 1 instead, and job i the
// concurrency key "k<i % keys>"; the same checks hold per key (never more than one of a key in
// the database samples nor in the handlers), and across keys for `keys` = 2 (so at most 2).
// (In practice the victim, started first, holds both slots until it dies, and then one of the
// other two takes them and keeps them: its settle_and_pull frees a slot and takes it again in
// one transaction, while the third process polls every 20 ms and finds none free. So the
// processes run one after another rather than side by side; the checks do not depend on it.)
#pragma once

#include "support/catch.hpp"
#include "support/kill_point_run.hpp"
#include "support/test_support.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/queues.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <signal.h>
#include <sys/wait.h>

namespace gqs::test {

namespace limits_detail {

/// A line of a `limited` process's log: "pulled|settled ID ATTEMPT" or "start|end ID ATTEMPT T".
struct Entry {
    std::string what;
    Uuid id;
    std::uint32_t attempts = 0;
    std::int64_t t = -1; // steady-clock microseconds ("start" and "end")
};

inline std::vector<Entry> read_entries(const std::filesystem::path& path) {
    std::vector<Entry> out;
    for (const auto& text : lines(read_file(path))) {
        std::istringstream in(text);
        Entry e;
        std::string id;
        in >> e.what >> id >> e.attempts;
        if (e.what == "start" || e.what == "end") in >> e.t;
        auto parsed = Uuid::parse(id);
        if (!parsed || !in) throw std::runtime_error("bad log line: " + text);
        e.id = *parsed;
        out.push_back(std::move(e));
    }
    return out;
}

/// Microseconds on the steady clock, the children's clock.
inline std::int64_t steady_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

/// The moment `at` (the database's clock, this machine's system clock) on the steady clock.
inline std::int64_t steady_us_of(TimePoint at) {
    const auto sys_now = std::chrono::system_clock::now();
    return steady_us() +
           std::chrono::duration_cast<std::chrono::microseconds>(at - sys_now).count();
}

/// A handler's time, [begin, end) in steady-clock microseconds, and its job.
struct Interval {
    std::int64_t begin = 0;
    std::int64_t end = 0;
    Uuid id;
};

/// The most intervals open at one moment at or after `from`.
inline int most_at_once(const std::vector<Interval>& intervals,
                        std::int64_t from = std::numeric_limits<std::int64_t>::min()) {
    std::vector<std::pair<std::int64_t, int>> events; // an end sorts before a start at one time
    for (const auto& i : intervals) {
        const auto begin = std::max(i.begin, from);
        if (begin >= i.end) continue;
        events.emplace_back(begin, 1);
        events.emplace_back(i.end, -1);
    }
    std::sort(events.begin(), events.end());
    int open = 0;
    int most = 0;
    for (const auto& [t, delta] : events) {
        open += delta;
        most = std::max(most, open);
    }
    return most;
}

/// The queue's jobs Processing with a live lease, from one read, and the most of them that
/// share a concurrency key. `now` is taken after the read answered, so a lease that ended
/// while it ran is not counted (never a count too high).
inline std::pair<int, int> live_leases(Observer& observer, const std::string& queue) {
    const auto processing = observer.list(Status::Processing, 0);
    const auto now = std::chrono::system_clock::now();
    std::map<std::string, int> by_key;
    int all = 0;
    int most_of_a_key = 0;
    for (const Job& j : processing) {
        if (j.queue != queue || !j.locked_until || *j.locked_until < now) continue;
        ++all;
        if (j.concurrency_key)
            most_of_a_key = std::max(most_of_a_key, ++by_key[*j.concurrency_key]);
    }
    return {all, most_of_a_key};
}

} // namespace limits_detail

/// Runs the processes on `db` (gqs_stress_child's DB argument, a fresh queue), pushing through
/// `pusher`, storing the limit through `queues` and reading through `observer` (the same
/// database), with their logs in `dir`. `keys` > 0: the keyed run (max_running_per_key = 1).
inline void limits_run(const std::string& db, Pusher& pusher, Observer& observer, Queues& queues,
                       const std::filesystem::path& dir, int keys = 0) {
    using namespace std::chrono_literals;
    using limits_detail::Entry;
    using limits_detail::Interval;
    using limits_detail::steady_us;
    const std::string child = GQS_STRESS_CHILD;
    const std::string queue = "api";
    constexpr int max_running = 2;
    constexpr int first = 200;
    constexpr int second = 60;
    constexpr int total = first + second;
    constexpr long kill_after = 20;
    // Half a millisecond off the end of a dead lease, for reading two clocks apart (the lease
    // ends on the system clock, the handlers log the steady one).
    constexpr std::int64_t clock_slack_us = 500;

    QueueLimits limits;
    if (keys > 0) {
        REQUIRE(keys == max_running); // so that the checks across keys hold as they are
        limits.max_running_per_key = 1;
    } else {
        limits.max_running = max_running;
    }
    queues.set_limits(queue, limits);
    auto push = [&](int from, int n) {
        std::vector<Message> batch;
        for (int i = from; i < from + n; ++i) {
            Message m;
            m.queue = queue;
            m.set("n", i);
            if (keys > 0) m.concurrency_key = numbered("k", i % keys);
            batch.push_back(std::move(m));
        }
        (void)pusher.push_batch(batch);
    };
    push(0, first);

    auto log_of = [&](const std::string& name) { return dir / (name + ".log"); };
    auto start = [&](const std::string& name, long kill) {
        std::vector<std::string> args{
            "limited", db, log_of(name).string(), queue, std::to_string(total), "2000"};
        if (kill > 0) args.push_back(std::to_string(kill));
        Child c = spawn(child, args, dir / (name + ".out"));
        const bool ready =
            wait_until([&] { return read_file(c.output).find("ready") != std::string::npos; }, 60s);
        INFO(name << ": " << read_file(c.output));
        REQUIRE(ready);
        return c;
    };
    // The victim first: alone at the start, it surely runs its 20 handlers.
    Child victim = start("victim", kill_after);
    std::vector<Child> live{start("w1", 0), start("w2", 0)};

    // Sampled every few milliseconds until the live processes exit; meanwhile the victim's
    // death is noticed, the leases held then are read, and the second batch is pushed once
    // they all ended.
    int most_sampled = 0;
    int most_sampled_of_a_key = 0;
    int most_sampled_after = 0; // once every lease held at the victim's death ended
    long samples = 0;
    std::optional<int> victim_status;
    std::map<std::pair<Uuid, std::uint32_t>, std::int64_t> held_at_death; // -> lease end
    std::int64_t leases_end = std::numeric_limits<std::int64_t>::max();
    bool pushed_second = false;
    std::vector<std::optional<int>> live_status(live.size());
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    bool timed_out = false;
    while (true) {
        const auto [sampled, of_a_key] = limits_detail::live_leases(observer, queue);
        most_sampled = std::max(most_sampled, sampled);
        most_sampled_of_a_key = std::max(most_sampled_of_a_key, of_a_key);
        if (steady_us() > leases_end) most_sampled_after = std::max(most_sampled_after, sampled);
        ++samples;
        if (!victim_status) {
            int raw = 0;
            if (::waitpid(victim.pid, &raw, WNOHANG) == victim.pid) {
                victim_status = WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : WEXITSTATUS(raw);
                victim.pid = -1;
                // Dead, it extends nothing: these leases end when they say.
                leases_end = steady_us();
                for (const Job& job : observer.list(Status::Processing, 0)) {
                    if (!job.locked_until) continue;
                    const auto end = limits_detail::steady_us_of(*job.locked_until);
                    held_at_death[{job.id, job.attempts}] = end;
                    leases_end = std::max(leases_end, end);
                }
            }
        }
        if (victim_status && !pushed_second && steady_us() > leases_end) {
            push(first, second);
            pushed_second = true;
        }
        for (std::size_t i = 0; i < live.size(); ++i) {
            int raw = 0;
            if (!live_status[i] && ::waitpid(live[i].pid, &raw, WNOHANG) == live[i].pid) {
                live_status[i] = WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : WEXITSTATUS(raw);
                live[i].pid = -1;
            }
        }
        if (std::all_of(live_status.begin(), live_status.end(), [](auto& s) { return s; })) break;
        if (std::chrono::steady_clock::now() > deadline) {
            timed_out = true;
            break;
        }
        std::this_thread::sleep_for(3ms); // the sampling period, not a synchronisation
    }
    const auto stats = observer.stats();
    INFO("pending " << stats.pending << ", processing " << stats.processing << ", done "
                    << stats.done << ", dead " << stats.dead);
    INFO("victim: " << read_file(dir / "victim.out"));
    INFO("w1: " << read_file(dir / "w1.out"));
    INFO("w2: " << read_file(dir / "w2.out"));
    if (timed_out) {
        for (Child* c : {&victim, &live[0], &live[1]})
            if (c->pid > 0) {
                ::kill(c->pid, SIGKILL);
                wait_child(*c);
            }
        FAIL("the processes did not finish within 120 s");
    }
    REQUIRE(victim_status == 128 + SIGKILL);
    for (const auto& status : live_status)
        CHECK(status == 0);
    REQUIRE(pushed_second);

    // The handlers' intervals. The live processes finished every handler they started; the
    // victim's unfinished ones ran, as far as the limit is concerned, until their leases ended.
    std::vector<Interval> intervals;
    std::set<std::pair<Uuid, std::uint32_t>> pulled_live;
    std::map<std::pair<Uuid, std::uint32_t>, std::int64_t> started_live;
    std::map<std::pair<Uuid, std::uint32_t>, int> ended;                  // by every process
    std::map<std::pair<Uuid, std::uint32_t>, std::int64_t> open_at_death; // -> lease end
    long ran[3] = {0, 0, 0};
    const char* names[3] = {"victim", "w1", "w2"};
    for (int p = 0; p < 3; ++p) {
        std::map<std::pair<Uuid, std::uint32_t>, std::int64_t> open;
        for (const Entry& e : limits_detail::read_entries(log_of(names[p]))) {
            const std::pair<Uuid, std::uint32_t> key{e.id, e.attempts};
            if (e.what == "pulled" && p > 0) pulled_live.insert(key);
            if (e.what == "start") {
                open[key] = e.t;
                if (p > 0) started_live[key] = e.t;
            }
            if (e.what == "end") {
                const auto it = open.find(key);
                REQUIRE(it != open.end());
                intervals.push_back({it->second, e.t, e.id});
                open.erase(it);
                ++ended[key];
                ++ran[p];
            }
        }
        if (p > 0) {
            INFO(names[p] << " left " << open.size() << " handlers unfinished");
            CHECK(open.empty());
            continue;
        }
        for (const auto& [key, begin] : open) {
            const auto held = held_at_death.find(key);
            INFO("the victim's unfinished attempt " << key.second << " of "
                                                    << key.first.to_string());
            REQUIRE(held != held_at_death.end()); // leased at its death
            intervals.push_back({begin, held->second - clock_slack_us, key.first});
            open_at_death[key] = held->second;
        }
    }
    INFO("handlers run: victim " << ran[0] << ", w1 " << ran[1] << ", w2 " << ran[2]);
    INFO(samples << " database samples");
    CHECK(samples >= 100);
    CHECK(most_sampled <= max_running);
    CHECK(limits_detail::most_at_once(intervals) <= max_running);
    // The limit was reached (so the checks above tested something), and after the dead leases
    // ended their slots were used again.
    CHECK(most_sampled == max_running);
    CHECK(limits_detail::most_at_once(intervals) == max_running);
    INFO(most_sampled_after << " live leases at most in samples once the dead leases ended");
    CHECK(limits_detail::most_at_once(intervals, leases_end) == max_running);

    // The victim died inside a handler; another process ran that job again once its lease ended.
    CHECK(open_at_death.size() >= 1);
    for (const auto& [key, lease_end] : open_at_death) {
        const auto again = started_live.find({key.first, key.second + 1});
        INFO("the job " << key.first.to_string() << " the victim died in");
        REQUIRE(again != started_live.end());
        CHECK(again->second >= lease_end - clock_slack_us);
        CHECK(ended[{key.first, key.second + 1}] == 1);
    }

    const auto jobs = observer.list(std::nullopt, 0);
    REQUIRE(jobs.size() == static_cast<std::size_t>(total));
    if (keys > 0) {
        // Per key: never two at once, in the database nor in the handlers.
        INFO(most_sampled_of_a_key << " live leases of one key at most in samples");
        CHECK(most_sampled_of_a_key == 1);
        std::map<Uuid, std::string> key_of;
        for (const Job& job : jobs)
            key_of[job.id] = job.concurrency_key.value_or("");
        std::map<std::string, std::vector<Interval>> by_key;
        for (const auto& i : intervals)
            by_key[key_of[i.id]].push_back(i);
        CHECK(by_key.size() == static_cast<std::size_t>(keys));
        for (const auto& [key, of_key] : by_key) {
            INFO("key " << key);
            CHECK(limits_detail::most_at_once(of_key) == 1);
        }
    }
    long wrong = 0;
    long retried = 0;
    for (const Job& job : jobs) {
        bool ok = job.status == Status::Done && ended[{job.id, job.attempts}] == 1;
        // An attempt before the last one was the victim's: no live process pulled it. (The
        // victim may have ended its handler and died before the settle.)
        for (std::uint32_t a = 1; a < job.attempts; ++a)
            ok = ok && !pulled_live.count({job.id, a});
        if (job.attempts > 1) ++retried;
        if (!ok && ++wrong <= 5)
            UNSCOPED_INFO("job " << job.id.to_string() << " n=" << job.get<long>("n").value_or(-1)
                                 << " status " << to_string(job.status) << " attempts "
                                 << job.attempts);
    }
    INFO(retried << " jobs ran again after the victim's death");
    CHECK(wrong == 0);
    CHECK(retried >= static_cast<long>(open_at_death.size()));
}

} // namespace gqs::test
