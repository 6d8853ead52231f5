#!/usr/bin/env bash
# The README's demo command: install dependencies, build the `implicit`
# program, and run both reference systems (SPEC.md sections 1 and 2).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh --target implicit
echo "=== implicit deq (differentiable fixed point, n = 10) ==="
build/apps/implicit/implicit deq
echo
echo "=== implicit monotone-inverse (differentiable inverse of a monotone network, H = 10) ==="
build/apps/implicit/implicit monotone-inverse
