// SPDX-License-Identifier: Apache-2.0
// backoff_interval's random jitter: compiled once here, so <random> stays out of every
// user's file.
#include <gqs/backoff.hpp>

#include <random>

namespace gqs {

Duration backoff_interval(const BackoffConfig& config, std::uint32_t attempt) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return backoff_interval(config, attempt, unit(generator));
}

} // namespace gqs
