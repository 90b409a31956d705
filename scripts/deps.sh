#!/usr/bin/env bash
# Installs the Debian packages gqs needs to build, test and run its demo, if any is missing.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
packages=(g++ cmake make pkg-config libsqlite3-dev libsqlitecpp-dev nlohmann-json3-dev catch2
          libcli11-dev libhowardhinnant-date-dev tzdata "$@")
# The fuzz preset builds with clang and libFuzzer.
[ "${GQS_DEPS_FUZZ:-0}" = 1 ] && packages+=(clang libclang-rt-14-dev)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "gqs: installing missing Debian packages: ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
