#!/usr/bin/env bash
# Builds the libFuzzer target tests/fuzz/cli_fuzz.cpp with clang-14 (ASan +
# UBSan + libFuzzer) and runs it for a bounded time on a copy of the seed
# corpus; exits non-zero on any crash, leak, timeout or dishonest result.
# Usage: scripts/fuzz.sh [SECONDS]   (default 60)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
out=build-fuzz
mkdir -p "$out"
clang++-14 -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I include -I apps/implicit -I /usr/include/eigen3 \
  tests/fuzz/cli_fuzz.cpp apps/implicit/cli.cpp apps/implicit/deq_command.cpp \
  apps/implicit/monotone_inverse_command.cpp -o "$out/cli_fuzz"
rm -rf "$out/corpus" && cp -r tests/fuzz/corpus "$out/corpus"
# -timeout: a single input running past 10 s is a hang; -rss_limit_mb: 2 GB.
"$out/cli_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -print_final_stats=1 "$out/corpus" 2>&1 | tail -n 25
