// SPDX-License-Identifier: Apache-2.0
// The keyed_drain line of both benchmark programs (issue 24): a Worker of 4 threads (default
// settings otherwise) drains 50 keys x 20 jobs of a queue with max_running_per_key = 1, and the
// same 1,000 jobs without keys on a queue without limits, rounds interleaved in one run. The
// handlers do nothing, so the line is the cost of the keyed pulls. Backend-neutral: each
// program brings a Pusher, Puller and Queues of one Connection.
#pragma once

#include "support.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/queues.hpp>
#include <gqs/worker.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace gqs_bench {

/// How big the keyed_drain line is.
struct KeyedDrainSizes {
    std::size_t rounds = 10; // interleaved rounds per run, each draining both queues once
    std::size_t keys = 50;
    std::size_t per_key = 20;
};

/// The sizes of the line, smaller with --quick.
inline KeyedDrainSizes keyed_drain_sizes(bool quick) {
    KeyedDrainSizes z;
    if (quick) z.rounds = 2;
    return z;
}

namespace keyed_drain_detail {

/// Pushes one round's jobs to `queue`: key after key (20 of "key-0", then 20 of "key-1", ...)
/// when `keyed`, else the same number without keys.
inline void push_round(gqs::Pusher& pusher, const std::string& queue, bool keyed,
                       const KeyedDrainSizes& z) {
    std::vector<gqs::Message> batch;
    for (std::size_t k = 0; k < z.keys; ++k) {
        for (std::size_t i = 0; i < z.per_key; ++i) {
            gqs::Message m;
            m.queue = queue;
            m.payload = std::string(100, 'x');
            m.metadata = metadata_text;
            if (keyed) m.concurrency_key = numbered("key-", k);
            batch.push_back(std::move(m));
        }
    }
    (void)pusher.push_batch(batch);
}

/// Seconds a Worker of 4 threads takes to drain the round's jobs of `queue`.
inline double drain(gqs::Puller& puller, const std::string& queue, std::size_t n) {
    std::atomic<std::size_t> handled{0};
    std::mutex mutex;
    std::condition_variable all;
    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.queues = {queue};
    config.schedules = false;
    gqs::Worker worker(
        puller,
        [&](const gqs::Job&, std::stop_token) {
            if (handled.fetch_add(1) + 1 == n) {
                std::lock_guard lock(mutex);
                all.notify_all();
            }
        },
        config);
    const auto start = Clock::now();
    worker.start();
    {
        std::unique_lock lock(mutex);
        if (!all.wait_for(lock, std::chrono::minutes(5), [&] { return handled.load() >= n; }))
            throw std::runtime_error("keyed_drain: the jobs were not drained in 5 minutes");
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    worker.stop(std::chrono::seconds(60));
    return seconds;
}

} // namespace keyed_drain_detail

/// One run: jobs per second without keys and with them, in that order.
inline std::array<double, 2> measure_keyed_drain(gqs::Pusher& pusher, gqs::Puller& puller,
                                                 gqs::Queues& queues, const KeyedDrainSizes& z) {
    gqs::QueueLimits limits;
    limits.max_running_per_key = 1;
    queues.set_limits("keyed", limits);
    const std::array<const char*, 2> names = {"plain", "keyed"};
    const std::size_t n = z.keys * z.per_key;
    std::array<double, 2> seconds = {0, 0};
    for (std::size_t round = 0; round < z.rounds; ++round) {
        for (std::size_t k = 0; k < 2; ++k) {
            const std::size_t i = (round + k) % 2;
            keyed_drain_detail::push_round(pusher, names.at(i), i == 1, z);
            seconds.at(i) += keyed_drain_detail::drain(puller, names.at(i), n);
        }
    }
    const auto jobs = static_cast<double>(z.rounds * n);
    return {jobs / seconds[0], jobs / seconds[1]};
}

/// The line: `runs` runs of `one_run` (a fresh queue each), medians and their ratio.
inline std::string keyed_drain_line(int runs, const KeyedDrainSizes& z,
                                    const std::function<std::array<double, 2>()>& one_run) {
    std::array<std::vector<double>, 2> rates;
    for (int run = 0; run < runs; ++run) {
        const auto r = one_run();
        rates[0].push_back(r[0]);
        rates[1].push_back(r[1]);
    }
    const double plain = median(rates[0]);
    const double keyed = median(rates[1]);
    return fmt("keyed_drain gqs_jobs_per_s=%.0f", keyed) + fmt(" plain_jobs_per_s=%.0f", plain) +
           fmt(" ratio=%.3f", plain > 0 ? keyed / plain : 0) + " keys=" + std::to_string(z.keys) +
           " per_key=" + std::to_string(z.per_key) + " concurrency=4";
}

} // namespace gqs_bench
