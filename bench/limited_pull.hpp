// SPDX-License-Identifier: Apache-2.0
// The limited_pull line of both benchmark programs (issue 24): what a queue limit costs a
// pull. The same pull(100) + complete_batch cycles on a queue without limits, on one with
// max_running and a rate that never bind (so both take full batches), on a keyed one
// (1,000 keys, max_running_per_key = 1: every pull takes 100 distinct keys), and on two fair
// ones (fair share over 10 groups, and over 10,000), interleaved.
// Backend-neutral: each program brings a Pusher, Puller and Queues of one Connection.
#pragma once

#include "support.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/queues.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace gqs_bench {

/// How big the limited_pull line is.
struct LimitedPullSizes {
    std::size_t blocks = 20;       // interleaved rounds per run
    std::size_t per_block = 1'000; // jobs each setup drains per round
    std::size_t batch = 100;
};

/// The queues of the line: "open" has no limits; "capped" has limits that never bind; "keyed"
/// caps each of its 1,000 concurrency keys at one running job; "fair10" and "fair10k" share
/// the queue fairly between 10 and 10,000 groups (pushed round-robin).
inline constexpr std::array<const char*, 5> limited_pull_queues = {"open", "capped", "keyed",
                                                                   "fair10", "fair10k"};
inline constexpr std::size_t limited_pull_keys = 1'000;
/// Jobs per second on each of limited_pull_queues.
using LimitedPullRates = std::array<double, limited_pull_queues.size()>;

/// Pushes the jobs of one run through `pusher` and sets the limits through `queues`.
inline void prepare_limited_pull(gqs::Pusher& pusher, gqs::Queues& queues,
                                 const LimitedPullSizes& z) {
    gqs::QueueLimits limits;
    limits.max_running = 1'000'000'000;
    limits.rate = 1e9;
    limits.burst = 1'000'000'000;
    queues.set_limits(limited_pull_queues[1], limits);
    gqs::QueueLimits keyed;
    keyed.max_running_per_key = 1;
    queues.set_limits(limited_pull_queues[2], keyed);
    gqs::QueueLimits fair;
    fair.fair_share = true;
    queues.set_limits(limited_pull_queues[3], fair);
    queues.set_limits(limited_pull_queues[4], fair);
    const std::string payload(100, 'x');
    for (std::size_t q = 0; q < limited_pull_queues.size(); ++q) {
        std::vector<gqs::Message> batch;
        for (std::size_t i = 0; i < z.blocks * z.per_block; ++i) {
            gqs::Message m;
            m.queue = limited_pull_queues.at(q);
            if (q == 2) m.concurrency_key = numbered("key-", i % limited_pull_keys);
            if (q == 3) m.group = numbered("tenant-", i % 10);
            if (q == 4) m.group = numbered("tenant-", i % 10'000);
            m.payload = payload;
            m.metadata = metadata_text;
            batch.push_back(std::move(m));
            if (batch.size() == 1'000) {
                (void)pusher.push_batch(batch);
                batch.clear();
            }
        }
        if (!batch.empty()) (void)pusher.push_batch(batch);
    }
}

/// One run: jobs per second on each queue, in limited_pull_queues' order. Each round drains
/// `per_block` jobs of each queue in turn (which goes first rotates).
inline LimitedPullRates measure_limited_pull(gqs::Puller& puller, const LimitedPullSizes& z) {
    LimitedPullRates seconds{};
    for (std::size_t block = 0; block < z.blocks; ++block) {
        for (std::size_t k = 0; k < seconds.size(); ++k) {
            const std::size_t i = (block + k) % seconds.size();
            const std::vector<std::string> queue = {limited_pull_queues[i]};
            const auto start = Clock::now();
            std::size_t done = 0;
            while (done < z.per_block) {
                auto jobs = puller.pull(static_cast<int>(z.batch), std::chrono::minutes(5), queue);
                if (jobs.size() != z.batch)
                    throw std::runtime_error("limited_pull: a pull took less than a full batch");
                (void)puller.complete_batch(jobs);
                done += jobs.size();
            }
            seconds[i] += std::chrono::duration<double>(Clock::now() - start).count();
        }
    }
    const auto jobs = static_cast<double>(z.blocks * z.per_block);
    LimitedPullRates rates{};
    for (std::size_t i = 0; i < rates.size(); ++i)
        rates.at(i) = jobs / seconds.at(i);
    return rates;
}

/// The sizes of the line, smaller with --quick.
inline LimitedPullSizes limited_pull_sizes(bool quick) {
    LimitedPullSizes z;
    if (quick) {
        z.blocks = 4;
        z.per_block = 200;
    }
    return z;
}

/// The line: `runs` runs of `one_run` (a fresh queue each), medians and their ratio.
inline std::string limited_pull_line(int runs, const LimitedPullSizes& z,
                                     const std::function<LimitedPullRates()>& one_run) {
    std::array<std::vector<double>, limited_pull_queues.size()> rates;
    for (int run = 0; run < runs; ++run) {
        const auto r = one_run();
        for (std::size_t i = 0; i < r.size(); ++i)
            rates.at(i).push_back(r.at(i));
    }
    const double open = median(rates[0]);
    const double capped = median(rates[1]);
    const double keyed = median(rates[2]);
    const double fair10 = median(rates[3]);
    const double fair10k = median(rates[4]);
    return fmt("limited_pull gqs_jobs_per_s=%.0f", capped) + fmt(" open_jobs_per_s=%.0f", open) +
           fmt(" ratio=%.3f", open > 0 ? capped / open : 0) + fmt(" keyed_jobs_per_s=%.0f", keyed) +
           fmt(" keyed_ratio=%.3f", open > 0 ? keyed / open : 0) +
           fmt(" fair10_jobs_per_s=%.0f", fair10) +
           fmt(" fair_ratio=%.3f", open > 0 ? fair10 / open : 0) +
           fmt(" fair10k_jobs_per_s=%.0f", fair10k) +
           fmt(" fair10k_vs_10=%.3f", fair10 > 0 ? fair10k / fair10 : 0) +
           " batch=" + std::to_string(z.batch);
}

} // namespace gqs_bench
