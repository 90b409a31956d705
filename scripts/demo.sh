#!/usr/bin/env bash
# The README's demo: builds gqs and runs a producer and a 4-thread worker on a real SQLite
# file, with a progress line and a summary by status. Usage: scripts/demo.sh [database-file]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target gqs_example_worker
exec build/release/examples/worker "${1:-build/demo.db}"
