// SPDX-License-Identifier: Apache-2.0
// Catch2 v2's main (v3 links Catch2WithMain instead).
#if !defined(GQS_CATCH_V3)
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
#endif
