// SPDX-License-Identifier: Apache-2.0
// The library's version, in one place (CMake reads it from here).
#pragma once

#define GQS_VERSION_MAJOR 0
#define GQS_VERSION_MINOR 2
#define GQS_VERSION_PATCH 0

namespace gqs {

/// The version of the gqs headers in use, as "MAJOR.MINOR.PATCH".
inline constexpr const char* version_string = "0.2.0";

} // namespace gqs
