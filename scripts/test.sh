#!/usr/bin/env bash
# The README's test command (and CI's): a warnings-as-errors Release build with every test,
# then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then under
# ThreadSanitizer. Usage: scripts/test.sh [preset ...]   (default: release asan tsan)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan)
for preset in "${presets[@]}"; do
    echo "=== gqs: $preset: configure, build, test"
    cmake --workflow --preset "$preset"
done
echo "=== gqs: all test runs passed (${presets[*]})"
