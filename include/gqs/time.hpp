// SPDX-License-Identifier: Apache-2.0
// The time types every gqs interface speaks.
#pragma once

#include <chrono>

namespace gqs {

/// A span of time: delays, leases, backoffs and intervals. Millisecond resolution.
using Duration = std::chrono::milliseconds;

/// A wall-clock instant (UTC). Storage keeps microseconds since the Unix epoch.
using TimePoint = std::chrono::system_clock::time_point;

} // namespace gqs
