#!/bin/bash
# usage: run.sh label script clients sync [extra pgbench args...]
# The scripts name their schema (gqs_t, or gqs_s for the NOTIFY ones; made with ../schema.sql); the server comes from the
# PG* environment (e.g. PGHOST=<cluster dir> PGUSER=postgres PGDATABASE=gqs). During the
# research, copies of the scripts with other schema names ran several pgbench at once.
cd "$(dirname "$0")"
label=$1; script=$2; c=$3; sync=$4; shift 4
res=()
for i in 1 2 3; do
  t=$(PGOPTIONS="-c synchronous_commit=$sync" nice -n 19 pgbench -n -M prepared -f $script -c $c -j $c -T 5 "$@" 2>&1 | grep -E '^tps' | awk '{print $3}')
  res+=(${t%.*})
done
sorted=$(printf '%s\n' "${res[@]}" | sort -n | tr '\n' ' ')
echo "$label | c=$c sync=$sync | runs: $sorted" | tee -a results.txt
