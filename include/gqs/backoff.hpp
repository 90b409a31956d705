// SPDX-License-Identifier: Apache-2.0
// The retry policy of Worker: capped exponential backoff with jitter and a retry limit.
#pragma once

#include <gqs/time.hpp>

#include <cstdint>

namespace gqs {

/// How Worker retries a job whose handler failed. Value type. The defaults allow 5 retries
/// after waits of about 1 s, 2 s, 4 s, 8 s and 16 s (each ±20%), capped at 60 s.
struct BackoffConfig {
    /// Retries after the first run: a job that keeps failing is Dead after exactly
    /// max_retries + 1 runs. 0 means no limit.
    std::uint32_t max_retries = 5;
    /// Wait before the first retry; >= 0.
    Duration initial_interval{1000};
    /// Cap of the wait before jitter is applied; >= 0.
    Duration max_interval{60000};
    /// Growth of the wait from one attempt to the next; finite and >= 1 (1: constant waits).
    double multiplier = 2.0;
    /// Jitter: each wait is drawn uniformly within ±factor of itself; in [0, 1]. 0 makes
    /// the waits deterministic.
    double randomization_factor = 0.2;
};

/// Throws std::invalid_argument unless the intervals are >= 0, multiplier is finite and >= 1,
/// and randomization_factor is in [0, 1]. Thread-safety: pure function.
void validate(const BackoffConfig& config);

/// True when a job whose handler failed on its `attempts`-th run has no retry left, i.e.
/// max_retries != 0 and attempts > max_retries. Thread-safety: pure function.
[[nodiscard]] constexpr bool retries_spent(const BackoffConfig& config,
                                           std::uint32_t attempts) noexcept {
    return config.max_retries != 0 && attempts > config.max_retries;
}

/// The wait before retrying a job whose `attempt`-th run failed (attempt 0 counts as 1):
/// min(initial * multiplier^(attempt - 1), max), scaled by 1 + factor * (2 * unit - 1), where
/// `unit` in [0, 1] picks the jitter (0.5: none). Rounded to whole milliseconds, never
/// negative, saturating at Duration::max() instead of overflowing. Thread-safety: pure function.
[[nodiscard]] Duration backoff_interval(const BackoffConfig& config, std::uint32_t attempt,
                                        double unit) noexcept;

/// backoff_interval with a uniformly random jitter from a per-thread generator.
/// Thread-safety: safe from any thread.
[[nodiscard]] Duration backoff_interval(const BackoffConfig& config, std::uint32_t attempt);

} // namespace gqs
