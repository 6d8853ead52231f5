#!/usr/bin/env bash
# The README's test command: install dependencies, build everything
# (library, CLI, tests, benchmarks), run every test, then the sanitizer job
# (ASan + UBSan over the core tests and the CLI) and 60 s of fuzzing the CLI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-data.sh  # digits / diabetes files for the dataset tests and demos
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "$(nproc)"
bash scripts/docs.sh  # API reference (Doxygen): fails on any warning or broken docs/ link
bash scripts/sanitize.sh
bash scripts/fuzz.sh 60
