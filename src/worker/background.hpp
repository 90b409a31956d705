// SPDX-License-Identifier: Apache-2.0
// Private helpers of the background threads of Worker and CleanWorker: deadlines, log text.
#pragma once

#include <gqs/logger.hpp>
#include <gqs/time.hpp>

#include <chrono>
#include <concepts>
#include <string>
#include <string_view>

namespace gqs::detail {

using SteadyClock = std::chrono::steady_clock;

/// The steady-clock instant `timeout` from now: now itself for timeout <= 0, and at most a
/// century ahead, so that Duration::max() means "wait forever" instead of overflowing.
inline SteadyClock::time_point deadline_after(Duration timeout) {
    constexpr auto forever = std::chrono::hours(24 * 365 * 100);
    const auto now = SteadyClock::now();
    if (timeout <= Duration::zero()) return now;
    if (timeout >= forever) return now + forever;
    return now + timeout;
}

inline void append(std::string& out, std::string_view text) { out += text; }
inline void append(std::string& out, Duration duration) {
    out += std::to_string(duration.count());
    out += " ms";
}
template <std::integral T>
void append(std::string& out, T number) {
    out += std::to_string(number);
}

/// Joins `parts` (text, integers, durations) into one message and passes it to `logger`.
/// Never throws: a message that cannot be built, or a logger that throws, is dropped.
template <class... Parts>
void log(const Logger& logger, LogLevel level, const Parts&... parts) noexcept {
    try {
        std::string message;
        (append(message, parts), ...);
        logger(level, message);
    } catch (...) {
        // logger.hpp asks sinks not to throw; a background thread must survive one that does.
    }
}

} // namespace gqs::detail
