#!/usr/bin/env bash
# The README's test command (and CI's): a format check (clang-format), then a
# warnings-as-errors Release build with every test,
# then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then under
# ThreadSanitizer, then the libFuzzer targets for a bounded time (clang).
# PostgreSQL: if its server is installed, a throwaway cluster (scripts/pg-cluster.sh) serves
# the PostgreSQL tests of this run through GQS_TEST_POSTGRES (a libpq conninfo); without one
# those tests are reported as skipped. GQS_REQUIRE_POSTGRES=1 (CI sets it) installs
# postgresql and libpq-dev if missing and makes a skipped PostgreSQL test a failure. A
# GQS_TEST_POSTGRES already set is used as is (no cluster is started).
# Usage: scripts/test.sh [preset ...]   (default: release asan tsan fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release asan tsan fuzz)
need_pg=0
for p in "${presets[@]}"; do
    if [ "$p" = fuzz ]; then export GQS_DEPS_FUZZ=1; else need_pg=1; fi
done
pg_packages=()
[ "${GQS_REQUIRE_POSTGRES:-0}" = 1 ] && pg_packages=(postgresql libpq-dev)
scripts/deps.sh "${pg_packages[@]}" clang-format

# The hygiene gate: every C++ file as .clang-format lays it out (a few seconds).
echo "=== gqs: format: clang-format --dry-run -Werror"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t sources < <(git ls-files '*.cpp' '*.hpp')
else
    mapfile -t sources < <(find include src tools tests examples bench -name '*.[ch]pp')
fi
clang-format --dry-run -Werror "${sources[@]}"

pg_dir=""
stop_postgres() {
    [ -z "$pg_dir" ] || scripts/pg-cluster.sh stop "$pg_dir" || true
}
trap stop_postgres EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
if [ "$need_pg" = 1 ] && [ -z "${GQS_TEST_POSTGRES:-}" ]; then
    if [ "${GQS_REQUIRE_POSTGRES:-0}" = 1 ] || scripts/pg-cluster.sh available 2>/dev/null; then
        # /tmp, not $TMPDIR: the postgres user must reach it, and a socket path has 107 bytes.
        pg_dir=$(mktemp -d /tmp/gqs-pg.XXXXXX)
        GQS_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$pg_dir")
        export GQS_TEST_POSTGRES
        echo "=== gqs: PostgreSQL test cluster: $GQS_TEST_POSTGRES"
    else
        echo "=== gqs: no PostgreSQL server installed: the PostgreSQL tests will be skipped"
    fi
fi

for preset in "${presets[@]}"; do
    echo "=== gqs: $preset: configure, build, test"
    cmake --workflow --preset "$preset"
done
echo "=== gqs: all test runs passed (${presets[*]})"
