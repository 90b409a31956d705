// SPDX-License-Identifier: Apache-2.0
// gqs_bench: jobs/s of gqs against raw SQLite running the same SQL, one line per workload.
#include "raw_queue.hpp"
#include "support.hpp"
#include "workloads.hpp"

#include <gqs/version.hpp>

#include <sqlite3.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <exception>
#include <functional>
#include <iostream>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gqs_bench {
namespace {

constexpr std::string_view usage =
    "usage: gqs_bench [--quick] [--sync=normal|full] [--inline-checkpoint] [--runs=N]\n"
    "                 [--only=NAME[,NAME...]]\n"
    "                 [--dir=PATH]\n"
    "  --quick        small sizes, a few seconds in total (a smoke test)\n"
    "  --sync=MODE    PRAGMA synchronous for both sides (default normal)\n"
    "  --inline-checkpoint  gqs with Options::background_checkpoint off: WAL checkpoints\n"
    "                 inside commits on both sides, so the ratio is gqs's own overhead\n"
    "  --runs=N       runs per workload, median reported (default 7; 3 for worker_drain,\n"
    "                 scale, idle, memory and schedule_tick; 3 with --quick)\n"
    "  --only=NAMES   run a subset: push push_batch push_unique pull_complete_1\n"
    "                 pull_complete_100 worker_drain (= worker_drain_c1,worker_drain_c4,\n"
    "                 worker_drain_q100_c1,worker_drain_q100_c4,worker_drain_shared_c4)\n"
    "                 latency latency_xproc latency_xproc_100hz scale\n"
    "                 backlog (= backlog_1k,backlog_100k) backlog_queues priority_wall\n"
    "                 idle memory drain_processes schedule_tick limited_pull keyed_drain\n"
    "  --dir=PATH     where the database files go (default: the temp directory)\n"
    "  --verbose      print every run's result to stderr\n"
    "  --side=SIDE    gqs, raw or both (default): run one side only, e.g. under a profiler\n"
    "                 (raw skips idle, memory, drain_processes, schedule_tick and\n"
    "                 limited_pull and keyed_drain, which have no raw side)\n";

const std::vector<std::string> all_workloads = {"push",
                                                "push_batch",
                                                "push_unique",
                                                "pull_complete_1",
                                                "pull_complete_100",
                                                "worker_drain_c1",
                                                "worker_drain_c4",
                                                "worker_drain_q100_c1",
                                                "worker_drain_q100_c4",
                                                "worker_drain_shared_c4",
                                                "latency",
                                                "latency_xproc",
                                                "latency_xproc_100hz",
                                                "scale",
                                                "backlog_1k",
                                                "backlog_100k",
                                                "backlog_queues",
                                                "priority_wall",
                                                "idle",
                                                "memory",
                                                "drain_processes",
                                                "schedule_tick",
                                                "limited_pull",
                                                "keyed_drain"};

struct Rates {
    double gqs = 0;
    double raw = 0;
};

enum class Side : std::uint8_t { Both, Gqs, Raw };

struct Options {
    Settings settings;
    Side side = Side::Both;
    bool verbose = false;
    std::set<std::string> only;
};

std::optional<Options> parse(int argc, char** argv) {
    Options o;
    o.settings.dir = std::filesystem::temp_directory_path();
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        auto value = [&](std::string_view key) -> std::optional<std::string_view> {
            if (arg.substr(0, key.size()) == key) return arg.substr(key.size());
            return std::nullopt;
        };
        if (arg == "--quick") {
            o.settings.quick = true;
        } else if (arg == "--verbose") {
            o.verbose = true;
        } else if (arg == "--inline-checkpoint") {
            o.settings.inline_checkpoint = true;
        } else if (auto v = value("--sync=")) {
            if (*v == "full") {
                o.settings.full_sync = true;
            } else if (*v == "normal") {
                o.settings.full_sync = false;
            } else {
                return std::nullopt;
            }
        } else if (auto runs = value("--runs=")) {
            try {
                o.settings.runs = std::stoi(std::string(*runs));
            } catch (const std::exception&) {
                return std::nullopt;
            }
            if (o.settings.runs <= 0) return std::nullopt;
            o.settings.runs_given = true;
        } else if (auto names = value("--only=")) {
            std::string_view rest = *names;
            while (!rest.empty()) {
                const auto comma = rest.find(',');
                const std::string name(rest.substr(0, comma));
                rest =
                    comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
                if (name == "worker_drain") {
                    o.only.insert({"worker_drain_c1", "worker_drain_c4", "worker_drain_q100_c1",
                                   "worker_drain_q100_c4", "worker_drain_shared_c4"});
                } else if (name == "backlog") {
                    o.only.insert({"backlog_1k", "backlog_100k"});
                } else if (std::find(all_workloads.begin(), all_workloads.end(), name) !=
                           all_workloads.end()) {
                    o.only.insert(name);
                } else {
                    std::cerr << "gqs_bench: unknown workload '" << name << "'\n";
                    return std::nullopt;
                }
            }
        } else if (auto side = value("--side=")) {
            if (*side == "gqs") {
                o.side = Side::Gqs;
            } else if (*side == "raw") {
                o.side = Side::Raw;
            } else if (*side != "both") {
                return std::nullopt;
            }
        } else if (auto dir = value("--dir=")) {
            o.settings.dir = std::string(*dir);
        } else {
            return std::nullopt;
        }
    }
    if (o.only.empty()) o.only.insert(all_workloads.begin(), all_workloads.end());
    return o;
}

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return text;
}

void line(const std::string& text) {
    std::fputs((text + "\n").c_str(), stdout);
    std::fflush(stdout);
}

class Runner {
public:
    explicit Runner(Options options)
        : s_(std::move(options.settings)), side_(options.side), verbose_(options.verbose),
          only_(std::move(options.only)), z_(Sizes::for_mode(s_.quick)) {}

    int run() {
        std::string sql = "identical";
        try {
            const std::string problems = check_sql(s_);
            if (!problems.empty()) {
                sql = "DIFFERS";
                std::cerr << "gqs_bench: the baseline's SQL is not what gqs runs; update "
                             "bench/raw_queue.hpp:\n"
                          << problems;
            }
        } catch (const std::exception& e) {
            sql = "unchecked";
            std::cerr << "gqs_bench: SQL check failed: " << e.what() << "\n";
        }
        line("# gqs_bench date=" + utc_now() + " sqlite=" + sqlite3_libversion() +
             " sync=" + (s_.full_sync ? "FULL" : "NORMAL") +
             " checkpoint=" + (s_.inline_checkpoint ? "inline" : "background") +
             " mode=" + (s_.quick ? "quick" : "full") + " runs=" + std::to_string(runs(false)) +
             "/" + std::to_string(runs(true)) + " gqs=" + gqs::version_string + " sql=" + sql);
        line("# sizes push=" + std::to_string(z_.push) +
             " push_batch=" + std::to_string(z_.push_batch) + "x" + std::to_string(z_.batch) +
             " push_unique=" + std::to_string(z_.push_unique) +
             " pull_complete_1=" + std::to_string(z_.pull_complete_1) +
             " pull_complete_100=" + std::to_string(z_.pull_complete_100) +
             " worker_drain=" + std::to_string(z_.drain) + "(ceiling " +
             std::to_string(z_.drain_ceiling) + ") latency=" + std::to_string(z_.latency_samples) +
             " scale=" + std::to_string(z_.scale_jobs) + "+" + std::to_string(z_.scale_done) +
             "done backlog=" + std::to_string(z_.backlog_small) + "/" +
             std::to_string(z_.backlog_large) + "+" + std::to_string(z_.backlog_measured) +
             " backlog_queues=" + std::to_string(z_.queues_small) + "/" +
             std::to_string(z_.queues_large) + "+" + std::to_string(z_.backlog_measured) +
             " priority_wall=" + std::to_string(z_.wall) + "+" + std::to_string(z_.wall_ready) +
             fmt(" idle=%gs", z_.idle_window_s) + " memory=" + std::to_string(z_.memory_small) +
             "/" + std::to_string(z_.memory_large) + "+" + std::to_string(z_.memory_jobs) +
             " schedule_tick=" + std::to_string(z_.tick.schedules) + "(" +
             std::to_string(z_.tick.every) + " due)+" + std::to_string(z_.tick_done) + "done");

        attempt("push", [&] { push(); });
        attempt("push_batch", [&] { push_batch(); });
        attempt("push_unique", [&] { push_unique(); });
        attempt("pull_complete_1", [&] { pull_complete_1(); });
        attempt("pull_complete_100", [&] { pull_complete_100(); });
        attempt("worker_drain_c1", [&] { worker_drain(1); });
        attempt("worker_drain_c4", [&] { worker_drain(4); });
        attempt("worker_drain_q100_c1", [&] { worker_drain(1, 100); });
        attempt("worker_drain_q100_c4", [&] { worker_drain(4, 100); });
        attempt("worker_drain_shared_c4", [&] { worker_drain_shared(4); });
        attempt("latency", [&] { latency(); });
        attempt("latency_xproc", [&] { latency(true); });
        attempt("latency_xproc_100hz", [&] { latency(true, std::chrono::milliseconds(10)); });
        attempt("scale", [&] { scale(); });
        if (wanted("backlog_1k") || wanted("backlog_100k")) {
            try {
                backlog();
            } catch (const std::exception& e) {
                for (const char* name : {"backlog_1k", "backlog_100k"})
                    if (wanted(name)) error(name, e.what());
            }
        }
        attempt("backlog_queues", [&] { backlog_queues(); });
        attempt("priority_wall", [&] { priority_wall(); });
        // Neither has a raw side.
        if (side_ != Side::Raw) {
            attempt("idle", [&] { idle(); });
            attempt("memory", [&] { memory(); });
            attempt("drain_processes", [&] { drain_processes(); });
            attempt("schedule_tick", [&] { schedule_tick(); });
            attempt("limited_pull", [&] { limited_pull(); });
            attempt("keyed_drain", [&] {
                const auto z = keyed_drain_sizes(s_.quick);
                line(keyed_drain_line(runs(true), z, [&] { return gqs_keyed_drain(s_, z); }));
            });
        }
        return failures_ == 0 ? 0 : 1;
    }

private:
    [[nodiscard]] bool wanted(const std::string& name) const { return only_.count(name) > 0; }

    [[nodiscard]] int runs(bool heavy) const {
        if (s_.runs_given) return s_.runs;
        if (s_.quick) return 3;
        return heavy ? 3 : 7;
    }

    void error(const std::string& name, const std::string& what) {
        ++failures_;
        line(name + " error=\"" + what + "\"");
    }

    void attempt(const std::string& name, const std::function<void()>& body) {
        if (!wanted(name)) return;
        try {
            body();
        } catch (const std::exception& e) {
            error(name, e.what());
        }
    }

    // One measurement of one side of one configuration.
    struct Variant {
        bool gqs;
        std::function<double()> once;
    };

    // Each run measures every variant once, starting at a different one each run, so that
    // drift on a shared machine spreads over all of them. Returns the median per variant
    // (0 for a side --side left out).
    std::vector<double> interleave(bool heavy, const std::vector<Variant>& variants) {
        std::vector<std::vector<double>> samples(variants.size());
        for (int run = 0; run < runs(heavy); ++run) {
            for (std::size_t k = 0; k < variants.size(); ++k) {
                const std::size_t i = (k + static_cast<std::size_t>(run)) % variants.size();
                const bool skip = variants[i].gqs ? side_ == Side::Raw : side_ == Side::Gqs;
                if (skip) continue;
                samples[i].push_back(variants[i].once());
                if (verbose_)
                    std::cerr << "  run " << run << " variant " << i << " ("
                              << (variants[i].gqs ? "gqs" : "raw")
                              << "): " << fmt("%.0f", samples[i].back()) << "\n";
            }
        }
        std::vector<double> medians;
        for (auto& v : samples)
            medians.push_back(median(v));
        return medians;
    }

    template <class Gqs, class Raw>
    Rates measure(bool heavy, Gqs gqs, Raw raw) {
        const auto m = interleave(heavy, {{true, gqs}, {false, raw}});
        return {m[0], m[1]};
    }

    static void report(const std::string& name, Rates rates, const std::string& extra = {}) {
        line(name + fmt(" gqs_jobs_per_s=%.0f", rates.gqs) +
             fmt(" raw_jobs_per_s=%.0f", rates.raw) +
             fmt(" ratio=%.3f", rates.raw > 0 ? rates.gqs / rates.raw : 0) + extra);
    }

    void push() {
        report("push", measure(
                           false, [&] { return gqs_push(s_, z_.push); },
                           [&] { return raw_push(s_, z_.push); }));
    }

    void push_batch() {
        report("push_batch", measure(
                                 false, [&] { return gqs_push_batch(s_, z_.push_batch, z_.batch); },
                                 [&] { return raw_push_batch(s_, z_.push_batch, z_.batch); }));
    }

    // Every job with a unique key of its own: the keyed push's transaction and the unique
    // index, never the duplicate path.
    void push_unique() {
        report("push_unique", measure(
                                  false, [&] { return gqs_push_unique(s_, z_.push_unique); },
                                  [&] { return raw_push_unique(s_, z_.push_unique); }));
    }

    void pull_complete_1() {
        const auto n = z_.pull_complete_1;
        report("pull_complete_1", measure(
                                      false, [&] { return gqs_pull_complete_1(s_, n, n); },
                                      [&] { return raw_pull_complete_1(s_, n, n); }));
    }

    // Measured once per process; worker_drain and scale compare against it too.
    Rates pc100() {
        if (!pc100_) {
            const auto n = z_.pull_complete_100;
            pc100_ = measure(
                false, [&] { return gqs_pull_complete_batch(s_, n, 100); },
                [&] { return raw_pull_complete_batch(s_, n, 100); });
        }
        return *pc100_;
    }

    void pull_complete_100() { report("pull_complete_100", pc100()); }

    // queue 0: the default config (it leases only for idle threads); queue > 0: that many
    // jobs leased ahead of the threads, and a batch_size of `queue`.
    void worker_drain(int concurrency, int queue = 0) {
        if (!have_worker()) throw std::runtime_error("gqs::Worker is not in this build");
        // The ceiling: one transaction per c jobs (complete the last c, pull the next c), the
        // most a worker that leases c jobs at a time could do.
        const int c = queue > 0 ? queue : concurrency;
        const auto m = interleave(
            true, {{true, [&] { return gqs_worker_drain(s_, z_.drain, concurrency, queue); }},
                   {false, [&] { return raw_worker_ceiling(s_, z_.drain_ceiling, c); }},
                   {true, [&] { return gqs_worker_ceiling(s_, z_.drain_ceiling, c); }}});
        // The target: a worker keeps up with half of what raw batched pull + complete does.
        const std::string name =
            queue > 0 ? "worker_drain_q" + std::to_string(queue) + "_c" : "worker_drain_c";
        report(name + std::to_string(concurrency), {m[0], pc100().raw},
               fmt(" raw_ceiling_jobs_per_s=%.0f", m[1]) +
                   fmt(" vs_ceiling=%.3f", m[1] > 0 ? m[0] / m[1] : 0) +
                   fmt(" api_ceiling_jobs_per_s=%.0f", m[2]));
    }

    // The README's pattern: the jobs pushed (push_batch) through the Connection the worker
    // then drains on, against the same pushes through another Connection (interleaved).
    void worker_drain_shared(int concurrency) {
        if (!have_worker()) throw std::runtime_error("gqs::Worker is not in this build");
        const auto drain = [&](DrainJobs jobs) {
            return gqs_worker_drain(s_, z_.drain, concurrency, 0, jobs, z_.batch);
        };
        const auto m =
            interleave(true, {{true, [&] { return drain(DrainJobs::PushedHere); }},
                              {true, [&] { return drain(DrainJobs::PushedElsewhere); }}});
        report("worker_drain_shared_c" + std::to_string(concurrency), {m[0], pc100().raw},
               fmt(" fresh_jobs_per_s=%.0f", m[1]) +
                   fmt(" shared_vs_fresh=%.3f", m[1] > 0 ? m[0] / m[1] : 0));
    }

    // Scale-out on one file: 1, 2 and 4 worker processes of 4 threads (the default config).
    void drain_processes() {
        const auto m =
            interleave(true, {{true, [&] { return gqs_drain_processes(s_, z_.drain, 1); }},
                              {true, [&] { return gqs_drain_processes(s_, z_.drain, 2); }},
                              {true, [&] { return gqs_drain_processes(s_, z_.drain, 4); }}});
        line(fmt("drain_processes one_jobs_per_s=%.0f", m[0]) + fmt(" two_jobs_per_s=%.0f", m[1]) +
             fmt(" four_jobs_per_s=%.0f", m[2]) +
             fmt(" two_vs_one=%.3f", m[0] > 0 ? m[1] / m[0] : 0) +
             fmt(" four_vs_one=%.3f", m[0] > 0 ? m[2] / m[0] : 0));
    }

    // Push to handler start for an idle worker; `xproc`: the pushes come from another process,
    // with a `period`: one every period (the line is named after the rate).
    void latency(bool xproc = false, std::chrono::microseconds period = {}) {
        if (!have_worker()) throw std::runtime_error("gqs::Worker is not in this build");
        std::vector<double> p50;
        std::vector<double> p99;
        std::size_t samples = 0;
        for (int i = 0; i < runs(false); ++i) {
            auto us = xproc ? gqs_latency_xproc(s_, z_.latency_samples, z_.latency_budget_s, period)
                            : gqs_latency(s_, z_.latency_samples, z_.latency_budget_s);
            if (us.empty()) throw std::runtime_error("no handler started in time");
            samples += us.size();
            p50.push_back(percentile(us, 50));
            p99.push_back(percentile(us, 99));
        }
        std::string name = xproc ? "latency_xproc" : "latency";
        if (period.count() > 0) name += "_" + std::to_string(1'000'000 / period.count()) + "hz";
        line(name + fmt(" p50_us=%.0f", median(p50)) + fmt(" p99_us=%.0f", median(p99)) +
             " samples=" + std::to_string(samples));
    }

    // The empty-table baseline runs interleaved with the big table, so both see the same
    // machine; scale_vs_empty is the cost per job with the history over the cost without.
    void scale() {
        const auto n = z_.scale_jobs;
        const auto done = z_.scale_done;
        const auto m =
            interleave(true, {{true, [&] { return gqs_pull_complete_batch(s_, n, 100, done); }},
                              {false, [&] { return raw_pull_complete_batch(s_, n, 100, done); }},
                              {true, [&] { return gqs_pull_complete_batch(s_, n, 100); }},
                              {false, [&] { return raw_pull_complete_batch(s_, n, 100); }}});
        report("scale", {m[0], m[1]},
               fmt(" scale_vs_empty=%.3f", m[0] > 0 ? m[2] / m[0] : 0) +
                   fmt(" raw_scale_vs_empty=%.3f", m[1] > 0 ? m[3] / m[1] : 0));
    }

    // backlog_measured more jobs than the nominal backlog are ready, so the backlog never
    // falls below it while measuring. Both depths run interleaved.
    void backlog() {
        const auto m = z_.backlog_measured;
        const auto small = z_.backlog_small + m;
        const auto large = z_.backlog_large + m;
        const auto r =
            interleave(false, {{true, [&] { return gqs_pull_complete_1(s_, small, m); }},
                               {false, [&] { return raw_pull_complete_1(s_, small, m); }},
                               {true, [&] { return gqs_pull_complete_1(s_, large, m); }},
                               {false, [&] { return raw_pull_complete_1(s_, large, m); }}});
        if (wanted("backlog_1k")) report("backlog_1k", {r[0], r[1]});
        if (wanted("backlog_100k"))
            report("backlog_100k", {r[2], r[3]},
                   fmt(" cost_100k_vs_1k=%.3f", r[2] > 0 ? r[0] / r[2] : 0) +
                       fmt(" raw_cost_100k_vs_1k=%.3f", r[3] > 0 ? r[1] / r[3] : 0));
    }

    // backlog with named queues: the backlog spread evenly over q0..q9, a puller serving q1, q4
    // and q7. The line's rates are the large backlog's; both depths run interleaved.
    void backlog_queues() {
        const auto m = z_.backlog_measured;
        const auto small = z_.queues_small;
        const auto large = z_.queues_large;
        const auto r =
            interleave(false, {{true, [&] { return gqs_pull_complete_queues(s_, small, m); }},
                               {false, [&] { return raw_pull_complete_queues(s_, small, m); }},
                               {true, [&] { return gqs_pull_complete_queues(s_, large, m); }},
                               {false, [&] { return raw_pull_complete_queues(s_, large, m); }}});
        report("backlog_queues", {r[2], r[3]},
               fmt(" gqs_jobs_per_s_1k=%.0f", r[0]) + fmt(" raw_jobs_per_s_1k=%.0f", r[1]) +
                   fmt(" cost_100k_vs_1k=%.3f", r[2] > 0 ? r[0] / r[2] : 0) +
                   fmt(" raw_cost_100k_vs_1k=%.3f", r[3] > 0 ? r[1] / r[3] : 0));
    }

    // The same ready jobs at priority 5 with and without a wall of delayed priority-0 jobs in
    // front of them in the index, interleaved. The line's rates are those with the wall.
    void priority_wall() {
        const auto wall = z_.wall;
        const auto ready = z_.wall_ready;
        const auto r =
            interleave(false, {{true, [&] { return gqs_pull_complete_wall(s_, 0, ready); }},
                               {false, [&] { return raw_pull_complete_wall(s_, 0, ready); }},
                               {true, [&] { return gqs_pull_complete_wall(s_, wall, ready); }},
                               {false, [&] { return raw_pull_complete_wall(s_, wall, ready); }}});
        report("priority_wall", {r[2], r[3]},
               fmt(" gqs_jobs_per_s_no_wall=%.0f", r[0]) +
                   fmt(" raw_jobs_per_s_no_wall=%.0f", r[1]) +
                   fmt(" cost_wall_vs_none=%.3f", r[2] > 0 ? r[0] / r[2] : 0) +
                   fmt(" raw_cost_wall_vs_none=%.3f", r[3] > 0 ? r[1] / r[3] : 0));
    }

    // CPU and polls of a worker on an empty queue, over a window that starts after the pull
    // the worker makes when it starts.
    void idle() {
        if (!have_worker()) throw std::runtime_error("gqs::Worker is not in this build");
        std::vector<double> cpu;
        std::vector<double> polls;
        std::size_t write_polls = 0; // the most in any run: the target is none at all
        std::vector<double> seconds;
        for (int run = 0; run < runs(true); ++run) {
            const auto r = gqs_idle(s_, z_.idle_window_s);
            cpu.push_back(r.cpu_percent);
            polls.push_back(static_cast<double>(r.polls));
            write_polls = std::max(write_polls, r.write_polls);
            seconds.push_back(r.seconds);
            if (verbose_)
                std::cerr << "  run " << run << fmt(": cpu_percent=%.3f", r.cpu_percent)
                          << " polls=" << r.polls << " write_polls=" << r.write_polls
                          << fmt(" seconds=%.2f", r.seconds) << "\n";
        }
        line(fmt("idle cpu_percent=%.3f", median(cpu)) + fmt(" polls=%.0f", median(polls)) +
             " write_polls=" + std::to_string(write_polls) + fmt(" seconds=%.2f", median(seconds)));
    }

    // Heap growth while a worker handles memory_jobs jobs, over a small and a large backlog,
    // interleaved so both see the same machine.
    void memory() {
        if (!have_worker()) throw std::runtime_error("gqs::Worker is not in this build");
        const auto jobs = z_.memory_jobs;
        const auto m = interleave(
            true, {{true, [&] { return gqs_memory_growth_kib(s_, z_.memory_small, jobs); }},
                   {true, [&] { return gqs_memory_growth_kib(s_, z_.memory_large, jobs); }}});
        line(fmt("memory heap_growth_kib_1k=%.0f", m[0]) + fmt(" heap_growth_kib_1m=%.0f", m[1]) +
             fmt(" ratio=%.3f", m[0] > 0 ? m[1] / m[0] : 0) + " jobs=" + std::to_string(jobs));
    }

    // A pull of a queue with limits that never bind against one without, interleaved.
    void limited_pull() {
        const auto z = limited_pull_sizes(s_.quick);
        line(limited_pull_line(runs(true), z, [&] { return gqs_limited_pull(s_, z); }));
    }

    // The scheduler thread's cost per wake with many schedules, few due, on a table without
    // and with Done jobs (the two setups interleaved): a line for each, the second with the
    // ratios to the first.
    void schedule_tick() {
        const std::array<std::size_t, 2> done = {0, z_.tick_done};
        std::array<std::vector<double>, 2> looks;
        std::array<std::vector<double>, 2> ticks;
        for (int run = 0; run < runs(true); ++run) {
            // Both setups in one run, blocks of samples interleaved; the first block
            // alternates.
            const std::size_t first = static_cast<std::size_t>(run) % done.size();
            const std::size_t second = 1 - first;
            const auto costs = gqs_schedule_tick(s_, z_.tick, {done.at(first), done.at(second)});
            for (std::size_t k = 0; k < costs.size(); ++k) {
                const std::size_t i = k == 0 ? first : second;
                looks.at(i).push_back(costs[k].look_us);
                ticks.at(i).push_back(costs[k].tick_us);
                if (verbose_)
                    std::cerr << "  run " << run << " done_jobs=" << done.at(i)
                              << fmt(": look_us=%.1f", costs[k].look_us)
                              << fmt(" tick_us=%.1f", costs[k].tick_us) << "\n";
            }
        }
        const std::array<double, 2> look = {median(looks[0]), median(looks[1])};
        const std::array<double, 2> tick = {median(ticks[0]), median(ticks[1])};
        const std::string sizes = " schedules=" + std::to_string(z_.tick.schedules) +
                                  " due=" + std::to_string(z_.tick.every);
        line(fmt("schedule_tick look_us=%.1f", look[0]) + fmt(" tick_us=%.1f", tick[0]) +
             " done_jobs=0" + sizes);
        line(fmt("schedule_tick look_us=%.1f", look[1]) + fmt(" tick_us=%.1f", tick[1]) +
             " done_jobs=" + std::to_string(done[1]) + sizes +
             fmt(" look_vs_no_done=%.3f", look[0] > 0 ? look[1] / look[0] : 0) +
             fmt(" tick_vs_no_done=%.3f", tick[0] > 0 ? tick[1] / tick[0] : 0));
    }

    Settings s_;
    Side side_;
    bool verbose_;
    std::set<std::string> only_;
    Sizes z_;
    std::optional<Rates> pc100_;
    int failures_ = 0;
};

} // namespace
} // namespace gqs_bench

int main(int argc, char** argv) {
    if (argc == 4 && std::string_view(argv[1]) == gqs_bench::xproc_pusher_flag) {
        try {
            return gqs_bench::run_xproc_pusher(argv[2], argv[3]);
        } catch (const std::exception& e) {
            std::cerr << "gqs_bench pusher: " << e.what() << "\n";
            return 1;
        }
    }
    if (argc == 4 && std::string_view(argv[1]) == gqs_bench::xproc_drainer_flag) {
        try {
            return gqs_bench::run_xproc_drainer(argv[2], argv[3]);
        } catch (const std::exception& e) {
            std::cerr << "gqs_bench drainer: " << e.what() << "\n";
            return 1;
        }
    }
    if (argc == 2 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")) {
        std::cout << gqs_bench::usage;
        return 0;
    }
    auto options = gqs_bench::parse(argc, argv);
    if (!options) {
        std::cerr << gqs_bench::usage;
        return 2;
    }
    try {
        return gqs_bench::Runner(std::move(*options)).run();
    } catch (const std::exception& e) {
        std::cerr << "gqs_bench: " << e.what() << "\n";
        return 1;
    }
}
