#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# What including a gqs header costs a user's file: preprocessed lines, median front-end time
# (g++ -fsyntax-only) and peak memory of the compiler, per public header and against
# baselines; then the full compile of a small user file, scaled to a project of many files.
# Builds nothing of gqs and needs no build directory: only the compiler and the headers
# gqs includes (Debian bookworm: g++ nlohmann-json3-dev libsqlitecpp-dev).
#
# usage: bench/header_weight.sh [-I DIR] [-r RUNS] [-n FILES] [PROBE...]
#   -I DIR    the include root to measure (default: the repository's include/); given
#             again, adds more -I directories after it
#   -r RUNS   timed runs per probe (default 5); the median is printed
#   -n FILES  the project size the last lines scale to (default 300 files)
#   PROBE     instead of the default list: a header as included (gqs/gqs.hpp or
#             nlohmann/json.hpp) or the path of a .cpp file (measured as it is)
# environment: CXX (default g++), CXXFLAGS_USER (flags of the user-file compile, default -O2)
#
# Columns: pp_lines (g++ -E -P), syntax_s (median wall time of -fsyntax-only), cpu_s (its
# user + system time, steadier than wall time on a busy machine), rss_mib (its peak memory),
# compile_s and compile_cpu_s (.cpp probes only: a real compile, CXXFLAGS_USER -c).
# Runs one compiler at a time, so run it on a quiet machine and read the times next to the
# load averages it prints before and after.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
CXX=${CXX:-g++}
CXXFLAGS_USER=${CXXFLAGS_USER:--O2}
runs=5
files=300
includes=()
while getopts "I:r:n:h" opt; do
    case $opt in
    I) includes+=("-I" "$(cd "$OPTARG" && pwd)") ;;
    r) runs=$OPTARG ;;
    n) files=$OPTARG ;;
    *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[[ ${#includes[@]} -gt 0 ]] || includes=(-I "$root/include")

work=$(mktemp -d "${TMPDIR:-/tmp}/gqs-header-weight.XXXXXX")
trap 'rm -rf "$work"' EXIT

have_time=0
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%e %M %U %S' -o "$work/t" true 2>/dev/null; then
    have_time=1
fi

# median of the numbers on stdin
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# One timed compiler run: prints "wall_s max_rss_kib cpu_s" (user + system; "-" for the last
# two when /usr/bin/time is missing).
timed() {
    if [[ $have_time == 1 ]]; then
        /usr/bin/time -f '%e %M %U %S' -o "$work/t" "$@" >/dev/null
        awk '{ printf "%s %s %.2f\n", $1, $2, $3 + $4 }' "$work/t"
    else
        local t0 t1
        t0=$(date +%s.%N)
        "$@" >/dev/null
        t1=$(date +%s.%N)
        echo "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') - -"
    fi
}

# The probe file of a header name or .cpp path.
probe_file() {
    local p=$1
    if [[ $p == *.cpp ]]; then
        echo "$p"
        return
    fi
    local f="$work/probe_${p//[^A-Za-z0-9]/_}.cpp"
    case $p in
    empty) : >"$f" ;;
    std) printf '#include <chrono>\n#include <optional>\n#include <string>\n#include <vector>\n' >"$f" ;;
    *) printf '#include <%s>\n' "$p" >"$f" ;;
    esac
    echo "$f"
}

# The median wall time of RUNS compiler runs of "$@" (medians of max RSS, MiB, and of CPU
# time in $work/rss and $work/cpu).
median_of() {
    : >"$work/runs"
    for ((i = 0; i < runs; ++i)); do
        timed "$@" >>"$work/runs"
    done
    awk '$2 != "-" { printf "%.0f\n", $2 / 1024 }' "$work/runs" | median >"$work/rss"
    awk '$3 != "-" { print $3 }' "$work/runs" | median >"$work/cpu"
    awk '{ print $1 }' "$work/runs" | median
}

# probe  preprocessed-lines  syntax-only median (s)  its max RSS median (MiB)  and, for a
# .cpp probe, the median of a real compile (CXXFLAGS_USER -c, code generated)
measure() {
    local f lines secs rss cpu compile=- compile_cpu=-
    f=$(probe_file "$1")
    lines=$("$CXX" -std=c++20 -E -P "${includes[@]}" "$f" | wc -l)
    secs=$(median_of "$CXX" -std=c++20 -fsyntax-only "${includes[@]}" "$f")
    rss=$(cat "$work/rss")
    cpu=$(cat "$work/cpu")
    if [[ $1 == *.cpp ]]; then
        # shellcheck disable=SC2086
        compile=$(median_of "$CXX" -std=c++20 $CXXFLAGS_USER -c "${includes[@]}" "$f" -o "$work/o.o")
        compile_cpu=$(cat "$work/cpu")
    fi
    printf '%-28s %9s %8s %6s %7s %9s %11s\n' "${2:-$1}" "$lines" "$secs" "$cpu" "$rss" "$compile" "$compile_cpu"
    last_compile=$compile_cpu
    [[ $last_compile != - ]] || last_compile=$compile
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC')  $("$CXX" --version | head -n 1)  $(nproc) cpu"
echo "# load before: $(uptime | sed 's/.*load average: //')"
echo "# include: ${includes[*]}  runs: $runs (median)"
printf '%-28s %9s %8s %6s %7s %9s %11s\n' probe pp_lines syntax_s cpu_s rss_mib compile_s compile_cpu_s

if [[ $# -gt 0 ]]; then
    for p in "$@"; do measure "$p"; done
else
    for p in empty std nlohmann/json_fwd.hpp nlohmann/json.hpp; do measure "$p"; done
    inc=${includes[1]}
    for h in "$inc"/gqs/*.hpp "$inc"/gqs/sqlite/*.hpp "$inc"/gqs/postgres/*.hpp; do
        [[ -e $h ]] || continue
        measure "${h#"$inc"/}"
    done

    # A user's file: the umbrella header, a handler that reads metadata, a producer that sets
    # it. Compiled for real (code generated), against the same file without gqs.
    user="$work/user_tu.cpp"
    cat >"$user" <<'EOF'
#include <gqs/gqs.hpp>
#include <string>
#include <vector>

void enqueue(gqs::Pusher& pusher, const std::string& tenant) {
    gqs::Message m;
    m.set("tenant", tenant).set("attempt_limit", 3);
    m.payload = "hello";
    pusher.push(m);
}

void handle(const gqs::Job& job, std::stop_token) {
    auto tenant = job.get<std::string>("tenant");
    if (!tenant) throw gqs::Kill("no tenant");
}
EOF
    base="$work/user_base.cpp"
    printf '#include <chrono>\n#include <optional>\n#include <string>\n#include <vector>\n#include <stop_token>\nint f(const std::string& s) { return static_cast<int>(s.size()); }\n' >"$base"
    measure "$base" "user file without gqs"
    b=$last_compile
    measure "$user" "user file with gqs.hpp"
    u=$last_compile
    if [[ $u != - ]]; then
        awk -v u="$u" -v b="$b" -v n="$files" -v fl="$CXXFLAGS_USER" 'BEGIN {
            printf "# user file (gqs.hpp, Message::set/get; %s -c): %.2f s CPU, without gqs %.2f s: %d such files take %.1f min of one core, %.1f min of it for gqs (%.2f s a file)\n", fl, u, b, n, u * n / 60, (u - b) * n / 60, u - b
        }'
    fi
fi
echo "# load after: $(uptime | sed 's/.*load average: //')"
