#!/usr/bin/env bash
# Configures and builds into build/ (Release, ccache when present).
# Extra arguments go to `cmake --build`, e.g. `--target implicit`.
set -euo pipefail
cd "$(dirname "$0")/.."
# One compiler cache per user, shared by every checkout (a fresh clone on
# the same machine reuses it): paths are hashed relative to the checkout.
export CCACHE_DIR="${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/implicit-ccache}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR=1
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j "$(nproc)" "$@"
