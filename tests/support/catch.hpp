// SPDX-License-Identifier: Apache-2.0
// Includes Catch2, v3 or v2, so tests compile with either.
#pragma once

#if defined(GQS_CATCH_V3) || __has_include(<catch2/catch_all.hpp>)
#include <catch2/catch_all.hpp>
#else
#include <catch2/catch.hpp>
#endif
