#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the header-only
# core's tests, the examples and the CLI (dense backend; the LibTorch
# translation units are left out: under the sanitizers they alone would
# take most of CI's time), then runs them. Part of the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Release -DIMPLICIT_SANITIZE=ON -DIMPLICIT_WITH_TORCH=OFF \
  -DIMPLICIT_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build build-asan -j "$(nproc)"
# halt_on_error: the first report fails the run; detect_leaks: LeakSanitizer too.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
