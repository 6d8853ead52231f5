#!/usr/bin/env bash
# The README's demo command: install dependencies, fetch the two real
# datasets, build the `implicit` program, and run both reference systems
# (docs/reference-systems.md sections 1 and 2), the two LibTorch demos on real data, and the
# Python quickstart (docs/python.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/fetch-data.sh
bash scripts/build.sh --target implicit --target implicit_python
export OMP_NUM_THREADS=1  # one thread pool (docs/peers.md: OpenMP and OpenBLAS fight on 2 cores)
echo "=== implicit deq (differentiable fixed point, n = 10) ==="
build/apps/implicit/implicit deq
echo
echo "=== implicit monotone-inverse (differentiable inverse of a monotone network, H = 10) ==="
build/apps/implicit/implicit monotone-inverse
echo
echo "=== implicit digits (DEQ classifier on scikit-learn's handwritten digits, LibTorch) ==="
build/apps/implicit/implicit digits --save build/digits-deq.pt
echo
echo "=== implicit digits --eval (reload the saved model) ==="
build/apps/implicit/implicit digits --eval build/digits-deq.pt
echo
echo "=== implicit flow-1d (monotone network fitted through its inverse, diabetes targets) ==="
build/apps/implicit/implicit flow-1d --plot build/flow-1d.png
echo
echo "=== Python: import implicit, a DEQ in 20 lines (examples/python/deq_quickstart.py) ==="
if [ -f build/python/implicit/__init__.py ]; then
  PYTHONPATH=build/python /usr/bin/python3 examples/python/deq_quickstart.py
else
  echo "(the Python package was not built: see the cmake output for why)"
fi
