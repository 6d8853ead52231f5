#!/usr/bin/env bash
# Configures and builds into build/ (Release, ccache when present).
# Extra arguments go to `cmake --build`, e.g. `--target implicit`.
set -euo pipefail
cd "$(dirname "$0")/.."
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" "$@"
