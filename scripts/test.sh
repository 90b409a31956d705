#!/usr/bin/env bash
# The README's test command (and CI's): a warnings-as-errors Release build with every test,
# then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then under
# ThreadSanitizer, then the libFuzzer targets for a bounded time (clang).
# Usage: scripts/test.sh [preset ...]   (default: release asan tsan fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan fuzz)
for p in "${presets[@]}"; do
    if [ "$p" = fuzz ]; then export GQS_DEPS_FUZZ=1; fi
done
scripts/deps.sh
for preset in "${presets[@]}"; do
    echo "=== gqs: $preset: configure, build, test"
    cmake --workflow --preset "$preset"
done
echo "=== gqs: all test runs passed (${presets[*]})"
