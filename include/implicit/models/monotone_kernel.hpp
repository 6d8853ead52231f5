#pragma once
// The interface of the SIMD kernels behind MonotoneNet<double>::inverse_newton
// and inverse_gradients (src/models/monotone_inverse.cpp): the data they
// read, their per-target codes, and their entry points. Internal.

#include <cstddef>

#include "implicit/models/monotone_formula.hpp"

namespace implicit::internal {

// What the SIMD kernel (src/models/monotone_inverse.cpp) reads: the
// network's coefficients (the formulas of monotone_formula-inl.hpp run on
// them lane by lane), the Newton start table and the stopping rule. Double
// only.
struct MonotoneKernelData {
  MonotoneCoefficients<double> net;
  int knots = 0;  // K; knot i at y_i = y_half i / (K - i)
  double y_half = 0;
  const double* knot_x = nullptr;     // x_i (knot_x[0] = 0)
  const double* knot_y = nullptr;     // R(x_i) as value_and_slope computes it
  const double* knot_dxdy = nullptr;  // 1 / R'(x_i) (inf where R' = 0)
  double abs_tol = 0, rel_tol = 0;    // BracketTolerance
  int max_iter = 0;
};

// Per-target outcome codes of the kernel; anything but the first three is
// redone by the scalar path, which writes the status and its message.
enum MonotoneLaneCode : int {
  kLaneConverged = 0,  // the bracket-width rule held
  kLaneExactZero = 1,  // g(x) == 0 at an evaluated point
  kLaneAtKnot = 2,     // R(knot) == y exactly: no evaluation
  kLaneScalar = 3,     // bad target, non-finite g, max_iter, or a tail bound that overflows
};

#ifdef IMPLICIT_MONOTONE_SIMD
// Batched safeguarded Newton (root/newton.hpp's rule, lane by lane) for
// targets y[0 .. n), writing x, the final bracket, g(x), the evaluation
// count and a MonotoneLaneCode per target. Runtime dispatch to the best
// instruction set of the machine (Highway).
void monotone_newton_simd(const MonotoneKernelData& k, const double* y, std::size_t n, double* x,
                          double* lower, double* upper, double* residual, int* evaluations,
                          int* code);
// dx/dy = 1 / R'(x_i) and row i of dx/dtheta = -dR/dtheta(x_i) / R'(x_i)
// into a column-major n x 3H array with leading dimension n.
void monotone_gradients_simd(const MonotoneKernelData& k, const double* x, std::size_t n,
                             double* dx_dy, double* dx_dtheta);
// The instruction set the dispatch chose ("AVX3" is AVX-512, "AVX2", ...).
const char* monotone_simd_target();
// For benchmarks and tests: dispatch as if the machine had no AVX-512
// (kAvx2: 4 lanes), nor AVX2 (kSse4: 2 lanes, the width Eigen's arrays get
// under generic x86-64 flags), or to the best target again. Not
// thread-safe.
enum class MonotoneSimdLimit { kBest, kAvx2, kSse4 };
void monotone_simd_limit(MonotoneSimdLimit limit);
#endif

}  // namespace implicit::internal
