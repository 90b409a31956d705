// SPDX-License-Identifier: Apache-2.0
// The retry policy's arithmetic, compiled once here so that <cmath> and <random> stay out of
// every user's file.
#include <gqs/backoff.hpp>

#include <cmath>
#include <random>
#include <stdexcept>

namespace gqs {

void validate(const BackoffConfig& config) {
    if (config.initial_interval < Duration::zero())
        throw std::invalid_argument("gqs::BackoffConfig: initial_interval must be >= 0");
    if (config.max_interval < Duration::zero())
        throw std::invalid_argument("gqs::BackoffConfig: max_interval must be >= 0");
    if (!std::isfinite(config.multiplier) || config.multiplier < 1.0)
        throw std::invalid_argument("gqs::BackoffConfig: multiplier must be finite and >= 1");
    if (!(config.randomization_factor >= 0.0 && config.randomization_factor <= 1.0))
        throw std::invalid_argument("gqs::BackoffConfig: randomization_factor must be in [0, 1]");
}

Duration backoff_interval(const BackoffConfig& config, std::uint32_t attempt,
                          double unit) noexcept {
    const double initial = static_cast<double>(config.initial_interval.count());
    const double cap = static_cast<double>(config.max_interval.count());
    double wait = 0.0;
    if (initial > 0.0 && cap > 0.0) {
        const double exponent = attempt > 1 ? static_cast<double>(attempt - 1) : 0.0;
        wait = initial * std::pow(config.multiplier, exponent);
        // Also catches inf (huge attempts) and NaN (a multiplier validate() would refuse).
        if (!(wait <= cap)) wait = cap;
    }
    double factor = config.randomization_factor;
    if (!(factor > 0.0)) factor = 0.0;
    if (factor > 1.0) factor = 1.0;
    if (!(unit >= 0.0)) unit = 0.0;
    if (unit > 1.0) unit = 1.0;
    wait = std::round(wait * (1.0 + factor * (2.0 * unit - 1.0)));
    // 2^63 is the first double above every Duration; converting it or more would be undefined.
    constexpr double limit = 9223372036854775808.0;
    if (wait >= limit) return Duration::max();
    if (!(wait > 0.0)) return Duration::zero();
    return Duration(static_cast<Duration::rep>(wait));
}

Duration backoff_interval(const BackoffConfig& config, std::uint32_t attempt) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    return backoff_interval(config, attempt, unit(generator));
}

} // namespace gqs
