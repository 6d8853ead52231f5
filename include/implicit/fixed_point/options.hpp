#pragma once
// Stopping rules shared by every fixed-point solver (the driver owns them).

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "implicit/internal/progress.hpp"

namespace implicit {

// Options of the fixed-point driver loop, common to all solvers.
//
// With the residual r_k = ||f(z_k) - z_k||_2 the solve has converged when
//
//     r_k <= abs_tol + rel_tol * ||f(z_k)||_2 ,
//
// and then returns x = z_k itself, so `converged` is a promise the caller
// can check: ||f(x) - x|| <= abs_tol + rel_tol ||f(x)|| at result.x, and
// result.residual_norm is exactly that left-hand side. Before that test,
// an iterate with ||z_k|| > divergence_ratio * max(1, ||z_0||, ||f(z_0)||)
// stops as kDiverged: the relative term grows with ||f(z)||, and iterates
// running away to infinity must never pass for converged. On every other
// outcome the result holds the iterate with the smallest residual seen and
// that residual. (fixed_point/stopping.hpp implements this, once, for the
// dense and the batched drivers.)
//
// This one rule covers the two of the project's original specification
// (docs/stopping-rules.md): forward iteration's ||z_prev - z|| <= tol is
// abs_tol = tol, rel_tol = 0 (since z_{k+1} = f(z_k)), and the DEQ rule
// r_k / (1e-5 + ||f(z_k)||) < tol is `spec_relative(tol)`.
struct FixedPointOptions {
  // Most solver steps; each step costs at least one f evaluation.
  int max_iter = 500;
  // Absolute part of the stopping rule above.
  double abs_tol = 1e-10;
  // Relative part of the stopping rule above. Values below 8 machine epsilons
  // of the vector's scalar type (about 1e-6 for float) cannot be met and are
  // raised to that floor.
  double rel_tol = 1e-8;
  // Status kDiverged when r_k > divergence_ratio * min_{j<k} r_j (a map that
  // is not a contraction, e.g. forward iteration on ||df/dz|| > 1, stops
  // early instead of running to max_iter or overflowing), or when
  // ||z_k|| > divergence_ratio * max(1, ||z_0||, ||f(z_0)||) (runaway iterates).
  double divergence_ratio = 1e8;
  // Status kStalled when the best residual min_{j<=k} r_j is not below
  // progress_factor times its value progress_window iterations earlier (the
  // stall rule every driver shares, internal/progress.hpp). A map without a
  // fixed point (Newton wanders for ever) then stops after ~progress_window
  // steps instead of at max_iter. A convergent solve is never stopped unless
  // it gains less than a factor 1 / 0.9 in 100 steps, i.e. contracts slower
  // than 0.999 per step: it would need ~18,000 steps for 8 digits. 0 turns
  // the rule off.
  int progress_window = 100;
  double progress_factor = 0.9;
  // Keep r_0, r_1, ... in the result (one double per iteration).
  bool record_history = true;

  // The specification's relative residual r_k / (1e-5 + ||f(z_k)||) < tol, as
  // abs_tol = 1e-5 tol, rel_tol = tol (docs/stopping-rules.md, "spec_relative").
  static FixedPointOptions spec_relative(double tol, int max_iter = 500) {
    FixedPointOptions o;
    o.max_iter = max_iter;
    o.abs_tol = 1e-5 * tol;
    o.rel_tol = tol;
    return o;
  }

  // Throws std::invalid_argument naming the first field that makes no sense.
  void validate() const {
    if (max_iter < 0)
      throw std::invalid_argument("FixedPointOptions::max_iter must be >= 0, got " +
                                  std::to_string(max_iter));
    if (!(abs_tol >= 0) || !std::isfinite(abs_tol))
      throw std::invalid_argument("FixedPointOptions::abs_tol must be finite and >= 0, got " +
                                  std::to_string(abs_tol));
    if (!(rel_tol >= 0) || !std::isfinite(rel_tol))
      throw std::invalid_argument("FixedPointOptions::rel_tol must be finite and >= 0, got " +
                                  std::to_string(rel_tol));
    if (abs_tol == 0 && rel_tol == 0)
      throw std::invalid_argument(
          "FixedPointOptions: abs_tol and rel_tol are both 0; the solve could never stop");
    if (!(divergence_ratio > 1))
      throw std::invalid_argument("FixedPointOptions::divergence_ratio must be > 1, got " +
                                  std::to_string(divergence_ratio));
    internal::validate_progress_rule("FixedPointOptions", progress_window, progress_factor);
  }
};

namespace internal {
// The relative tolerance actually used for scalar type T (see rel_tol).
template <class T>
double effective_rel_tol(double rel_tol) {
  return std::fmax(rel_tol, 8 * static_cast<double>(std::numeric_limits<T>::epsilon()));
}
}  // namespace internal

}  // namespace implicit
