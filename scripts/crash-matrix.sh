#!/usr/bin/env bash
# The crash matrix's long runs (issue 22), on both backends, from a built tree: the churn cell
# for 60 s (CI runs 10 s), the multi-process stress run with 100,000 jobs (CI: 20,000), the
# kill points, then every other fault cell (as long as in CI).
# Prints each cell's counts (pushed, done, lost, run twice) for the README's table.
# Usage: scripts/crash-matrix.sh [build-dir]   (default build/release; run scripts/test.sh
# release first). PostgreSQL: uses GQS_TEST_POSTGRES, else starts a throwaway cluster.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
[ -x "$build/tests/gqs_tests_sqlite" ] || { echo "build $build first (scripts/test.sh release)"; exit 2; }
pg_dir=""
cleanup() { [ -z "$pg_dir" ] || scripts/pg-cluster.sh stop "$pg_dir" || true; }
trap cleanup EXIT
if [ -z "${GQS_TEST_POSTGRES:-}" ]; then
    pg_dir=$(mktemp -d /tmp/gqs-pg.XXXXXX)
    GQS_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$pg_dir")
    export GQS_TEST_POSTGRES
fi
export GQS_REQUIRE_POSTGRES=1
export GQS_CHURN_SECONDS=${GQS_CHURN_SECONDS:-60}
export GQS_STRESS_JOBS=${GQS_STRESS_JOBS:-100000}
echo "=== churn, ${GQS_CHURN_SECONDS} s; stress, ${GQS_STRESS_JOBS} jobs"
status=0
for suite in sqlite postgres; do
    echo "--- $suite"
    out=$("$build/tests/gqs_tests_$suite" "[stress]" 2>&1) || status=1
    grep -E "churn:|workers killed|kill point|test cases|FAILED" <<<"$out" || true
    [ "$status" = 0 ] || echo "$out" | tail -40
done
# The other fault cells (tests/*/faults_test.cpp, disk_clock_test.cpp, the worker suites'
# blocked lease keeper) are as long in CI.
for program in gqs_tests_sqlite gqs_tests_postgres gqs_tests_worker_sqlite gqs_tests_worker_postgres; do
    echo "--- $program [faults]"
    out=$("$build/tests/$program" "[faults]" 2>&1) || status=1
    grep -E "^  |test cases|FAILED" <<<"$out" || true
    [ "$status" = 0 ] || echo "$out" | tail -40
done
exit $status
