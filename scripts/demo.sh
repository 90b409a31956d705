#!/usr/bin/env bash
# The README's demo: builds gqs and runs a producer and a worker on a real SQLite file.
# Usage: scripts/demo.sh [database-file]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target gqs_example_worker gqs_example_quickstart >/dev/null 2>&1 ||
    cmake --build --preset release --target gqs_example_quickstart
if [ -x build/release/examples/worker ]; then
    exec build/release/examples/worker "${1:-build/demo.db}"
fi
exec build/release/examples/quickstart "${1:-build/demo.db}"
