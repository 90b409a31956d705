#!/usr/bin/env bash
# The README's test command (and CI's): a format check (clang-format) and a lint
# (clang-tidy; GQS_SKIP_TIDY=1 skips it), then a
# warnings-as-errors Release build with every test,
# then the tests again under AddressSanitizer + UndefinedBehaviorSanitizer, then under
# ThreadSanitizer, then the libFuzzer targets for a bounded time (clang).
# PostgreSQL: if its server is installed, a throwaway cluster (scripts/pg-cluster.sh) serves
# the PostgreSQL tests of this run through GQS_TEST_POSTGRES (a libpq conninfo); without one
# those tests are reported as skipped. GQS_REQUIRE_POSTGRES=1 (CI sets it) installs
# postgresql, libpq-dev and pgbouncer if missing and makes a skipped PostgreSQL test a
# failure. PgBouncer (transaction mode) in front of the cluster serves the suites run through a
# pooler (GQS_TEST_PGBOUNCER). A GQS_TEST_POSTGRES already set is used as is (no cluster or
# pooler is started; set GQS_TEST_PGBOUNCER too, or those suites are skipped).
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
[ "${GQS_REQUIRE_POSTGRES:-0}" = 1 ] && pg_packages=(postgresql libpq-dev pgbouncer)
# faketime: the PostgreSQL clock cell of the crash matrix runs worker processes under it.
scripts/deps.sh "${pg_packages[@]}" clang-format clang-tidy faketime prometheus

# The hygiene gate: every C++ file as .clang-format lays it out (a few seconds).
echo "=== gqs: format: clang-format --dry-run -Werror"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    mapfile -t sources < <(git ls-files '*.cpp' '*.hpp')
else
    mapfile -t sources < <(find include src tools tests examples bench -name '*.[ch]pp')
fi
clang-format --dry-run -Werror "${sources[@]}"

# The second gate: clang-tidy (.clang-tidy) over the library and the tool, src/ and tools/,
# from a configure-only build/tidy (its compile_commands.json); any finding fails. About
# 3 to 4 minutes on 2 cores (6.5 CPU-minutes). GQS_SKIP_TIDY=1 skips it (locally; CI runs it).
if [ "${GQS_SKIP_TIDY:-0}" = 1 ]; then
    echo "=== gqs: tidy: skipped (GQS_SKIP_TIDY=1)"
else
    echo "=== gqs: tidy: clang-tidy over src/ and tools/"
    tidy_postgres=AUTO
    [ "${GQS_REQUIRE_POSTGRES:-0}" = 1 ] && tidy_postgres=ON
    cmake -S . -B build/tidy -DCMAKE_EXPORT_COMPILE_COMMANDS=ON -DGQS_POSTGRES="$tidy_postgres" \
        -DGQS_BUILD_TESTS=OFF -DGQS_BUILD_EXAMPLES=OFF -DGQS_BUILD_BENCH=OFF -DGQS_INSTALL=OFF \
        >/dev/null
    # The files git knows (or all) that this build compiles (src/postgres/ needs libpq), as
    # run-clang-tidy's path patterns. It prints each file's findings together.
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t tidy_sources < <(git ls-files 'src/*.cpp' 'tools/*.cpp')
    else
        mapfile -t tidy_sources < <(find src tools -name '*.cpp')
    fi
    tidy_patterns=()
    for f in "${tidy_sources[@]}"; do
        path="$PWD/$f"
        tidy_patterns+=("^${path//./\\.}\$")
    done
    run-clang-tidy -quiet -j 2 -p build/tidy "${tidy_patterns[@]}"
fi

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
        # PgBouncer in transaction mode in front of it, for the suites run through a pooler.
        if [ "${GQS_REQUIRE_POSTGRES:-0}" = 1 ] || command -v pgbouncer >/dev/null ||
            [ -x /usr/sbin/pgbouncer ]; then
            GQS_TEST_PGBOUNCER=$(scripts/pg-cluster.sh pooler "$pg_dir")
            export GQS_TEST_PGBOUNCER
            echo "=== gqs: PgBouncer (transaction mode): $GQS_TEST_PGBOUNCER"
        else
            echo "=== gqs: no pgbouncer installed: the tests through a pooler will be skipped"
        fi
    else
        echo "=== gqs: no PostgreSQL server installed: the PostgreSQL tests will be skipped"
    fi
fi

for preset in "${presets[@]}"; do
    echo "=== gqs: $preset: configure, build, test"
    cmake --workflow --preset "$preset"
done
echo "=== gqs: all test runs passed (${presets[*]})"
