// SPDX-License-Identifier: Apache-2.0
// default_logger: compiled once here, so <iostream> stays out of every user's file.
#include <gqs/logger.hpp>

#include <iostream>
#include <string>

namespace gqs {

void default_logger(LogLevel level, std::string_view message) {
    if (level < LogLevel::Warning) return;
    std::string line = "gqs: ";
    line += to_string(level);
    line += ": ";
    line += message;
    line += '\n';
    std::clog << line << std::flush;
}

} // namespace gqs
