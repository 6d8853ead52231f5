#!/usr/bin/env bash
# Compile time and peak memory of one fixed_point_vjp translation unit
# (bench/compile_cost.cpp), with the headers alone and with
# IMPLICIT_PRECOMPILED (what linking implicit::precompiled defines), in
# alternating rounds so that a busy machine slows both alike. Needs GNU time
# (Debian's `time` package) and the compile flags of a Release build.
# Usage: bench/compile_cost.sh [ROUNDS]   (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
flags=(-std=c++17 -O3 -DNDEBUG -I include -isystem /usr/include/eigen3 -isystem /usr/include/trilinos)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for ((r = 1; r <= rounds; ++r)); do
  for mode in headers precompiled; do
    extra=()
    [[ $mode == precompiled ]] && extra=(-DIMPLICIT_PRECOMPILED)
    /usr/bin/time -f "$mode: %e s, %M KB peak" g++ "${flags[@]}" "${extra[@]}" \
      -c bench/compile_cost.cpp -o "$out/$mode.o" 2>&1 | tail -n 1
  done
done
