#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# Draws gqs_bench output as grouped bars, gqs vs raw SQLite jobs/s per workload (log scale).
# usage: bench/plot.sh [RESULTS.txt] [OUT.png]
#   defaults: bench/results.txt -> bench/results.png (next to this script)
#   e.g. ./build/release/bench/gqs_bench | tee bench/results.txt && bench/plot.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
input=${1:-"$here/results.txt"}
output=${2:-"$here/results.png"}
command -v gnuplot >/dev/null 2>&1 || { echo "plot.sh: gnuplot not found (apt-get install gnuplot-nox)" >&2; exit 1; }
[ -r "$input" ] || { echo "plot.sh: cannot read $input" >&2; exit 1; }

data=$(mktemp)
trap 'rm -f "$data"' EXIT

# One row per workload line: name, gqs jobs/s, raw jobs/s, ratio, the worker's raw ceiling
# (or NaN). Fields are key=value.
awk '
  /^#/ { next }
  / gqs_jobs_per_s=/ {
    g = r = q = ""; c = "NaN"
    for (i = 2; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[1] == "gqs_jobs_per_s") g = kv[2]
      if (kv[1] == "raw_jobs_per_s") r = kv[2]
      if (kv[1] == "ratio") q = kv[2]
      if (kv[1] == "raw_ceiling_jobs_per_s") c = kv[2]
    }
    if (g > 0 && r > 0) printf "%s %s %s %s %s\n", $1, g, r, q, c
  }' "$input" >"$data"
[ -s "$data" ] || { echo "plot.sh: no workload lines in $input" >&2; exit 1; }

# The y axis starts at the power of ten below the smallest bar.
ymin=$(awk '{ for (i = 2; i <= 3; i++) if (m == "" || $i < m) m = $i }
            END { p = 1; while (p * 10 <= m) p *= 10; print p }' "$data")
header=$(grep -m1 '^# gqs_bench' "$input" | sed 's/^# gqs_bench //' || true)
latency=$(awk '$1 == "latency" { sub(/^latency /, ""); print; exit }' "$input")

gnuplot <<EOF
set terminal pngcairo size 1200,650 font "sans,10" noenhanced
set output "$output"
set title "gqs vs raw SQLite (same SQL), jobs/s, median of runs; labels: gqs/raw\n$header"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 10
set yrange [$ymin:*]
set ylabel "jobs per second (log scale)"
set format y "%.0s%c"
set grid ytics mytics
set xtics rotate by -30 nomirror
set key top right
set label 1 "latency (push to handler start): $latency" at graph 0.01, graph 0.96 left
set label 2 "worker_drain: raw = raw pull_complete_100; ceiling = raw SQLite with one transaction per c jobs" at graph 0.01, graph 0.91 left
set datafile missing "NaN"
plot "$data" using 2:xtic(1) title "gqs" linecolor rgb "#3b75af", \
     "" using 3 title "raw SQLite" linecolor rgb "#d0883a", \
     "" using 5 title "raw ceiling (worker_drain)" linecolor rgb "#9aa5b1", \
     "" using (\$0 - 0.27):(\$2 * 1.15):(sprintf("%.2f", \$4)) with labels notitle font ",8"
EOF
echo "plot.sh: wrote $output"
