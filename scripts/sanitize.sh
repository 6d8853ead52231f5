#!/usr/bin/env bash
# AddressSanitizer + UndefinedBehaviorSanitizer build of the parts that
# take bad input and do the certified arithmetic: the fixed-point driver,
# the systems driver, the IFT entry points (size checks, through them the
# certified chain of linear solvers), the chain itself, GMRES and BiCGStab,
# the AD glue (forward and reverse mode, the sparse Jacobian with its
# ColPack colouring and sparse LU) and bracketed roots; plus the CLI end to end (about
# 9 minutes on 2 cores). The LibTorch translation
# units are left out, and so are the other test files: under the
# sanitizers each costs one to two minutes of compile time on 2 cores. The
# fuzzer (scripts/fuzz.sh) runs the CLI and its solvers under the same
# sanitizers. Part of the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
# One compiler cache per user, shared by every checkout (a fresh clone on
# the same machine reuses it): paths are hashed relative to the checkout.
export CCACHE_DIR="${CCACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/implicit-ccache}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$PWD}"
export CCACHE_NOHASHDIR=1
# -O1: a sanitizer build at -O3 of these Eigen-heavy files takes twice as long.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS=-O1 -DIMPLICIT_SANITIZE=ON \
  -DIMPLICIT_WITH_TORCH=OFF -DIMPLICIT_BUILD_BENCHMARKS=OFF -DIMPLICIT_BUILD_EXAMPLES=OFF \
  -DIMPLICIT_TEST_FILTER="fixed_point/(solve|anderson)_test|system/solve_test|adjoint/(fixed_point_ift|fixed_point_ift_reuse|root_ift)_test|diff/(linearization|autodiff|reverse|parametric|sparse_jacobian|sparsity_detection)_test|linear/(gmres|bicgstab|certified_solve)_test|root/(find_root|newton)_test|models/monotone_net_test" \
  >/dev/null
cmake --build build-asan -j "$(nproc)"
# halt_on_error: the first report fails the run; detect_leaks: LeakSanitizer too.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
ctest --test-dir build-asan --output-on-failure -j "$(nproc)"
