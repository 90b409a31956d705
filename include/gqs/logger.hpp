// SPDX-License-Identifier: Apache-2.0
// The logging callback of Worker and CleanWorker.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace gqs {

/// Severity of a log message.
enum class LogLevel : std::uint8_t { Debug, Info, Warning, Error };

/// The lowercase name of a level ("debug", "info", "warning", "error").
[[nodiscard]] constexpr std::string_view to_string(LogLevel level) noexcept {
    switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warning: return "warning";
    case LogLevel::Error: return "error";
    }
    return "unknown";
}

/// A log sink: called with a level and a message, possibly from several threads at once
/// (the callee synchronises if it needs to). It must not throw.
using Logger = std::function<void(LogLevel, std::string_view)>;

/// The default sink: writes warnings and errors to std::clog as "gqs: <level>: <message>".
/// Thread-safety: safe from any thread (one write per line).
void default_logger(LogLevel level, std::string_view message);

} // namespace gqs
