#pragma once
// The stopping rule of the fixed-point drivers, for one sample: the dense
// driver (solve.hpp) and the batched one (solve_batched.hpp) both call it,
// so a vector and a row of a tensor stop for exactly the same reasons.
//
// What a status promises (the rule above all rules): `converged` means the
// returned point x satisfies, evaluated once more by the caller,
//
//     ||f(x) - x||_2 <= abs_tol + rel_tol * ||f(x)||_2 ,
//
// because the drivers return the iterate z_k whose residual was tested (not
// f(z_k), whose own residual nobody measured).
//
// The relative part of that test grows with ||f(z)||, so iterates running
// away to infinity would eventually pass it (Broyden on z - atan(z) from
// z0 = 10 reached x = 3.6e15 with atan(x) = 1.57 and "converged"). The
// rule therefore first stops any iterate with
//
//     ||z_k|| > divergence_ratio * max(1, ||z_0||, ||f(z_0)||)
//
// as kDiverged, before the convergence test can see it.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "implicit/fixed_point/options.hpp"
#include "implicit/internal/progress.hpp"
#include "implicit/status.hpp"

namespace implicit::internal {

// Everything the rule needs to know about one sample at iteration k.
struct StoppingInput {
  int iteration = 0;
  double residual = 0;       // ||f(z_k) - z_k||
  double threshold = 0;      // abs_tol + rel_tol ||f(z_k)||
  double best_residual = 0;  // min_{j<k} ||f(z_j) - z_j|| (inf at k = 0)
  // min_{j<=k-w} ||f(z_j) - z_j|| for w = progress_window (inf while k < w):
  // internal::ProgressWindow keeps it.
  double best_window_ago = 0;
  double iterate_norm = 0;    // ||z_k||
  double start_scale = 1;     // max(1, ||z_0||, ||f(z_0)||)
  bool values_finite = true;  // f(z_k) has no NaN/Inf
};

// The verdict: `stop` false means take another step. When the solve stops
// for a failure, `message` says why with the numbers.
struct StoppingVerdict {
  bool stop = false;
  Status status = Status::kMaxIterations;
  std::string message;
};

inline StoppingVerdict stopping_verdict(const StoppingInput& in, const FixedPointOptions& options) {
  StoppingVerdict v;
  char buf[240];
  if (!std::isfinite(in.residual) || !in.values_finite) {
    v.stop = true;
    v.status = Status::kNonFinite;
    std::snprintf(buf, sizeof buf, "f(z) has a NaN or Inf entry at iteration %d", in.iteration);
    v.message = buf;
  } else if (!(in.iterate_norm <= options.divergence_ratio * in.start_scale)) {
    v.stop = true;
    v.status = Status::kDiverged;
    std::snprintf(buf, sizeof buf,
                  "iterates ran away: ||z|| = %.3e at iteration %d is more than divergence_ratio "
                  "= %.1e times the start's scale %.3e (residual %.3e); is f a contraction near "
                  "z0?",
                  in.iterate_norm, in.iteration, options.divergence_ratio, in.start_scale,
                  in.residual);
    v.message = buf;
  } else if (in.residual <= in.threshold) {
    v.stop = true;
    v.status = Status::kConverged;
  } else if (in.residual > options.divergence_ratio * in.best_residual) {
    v.stop = true;
    v.status = Status::kDiverged;
    std::snprintf(buf, sizeof buf,
                  "residual %.3e at iteration %d is %.1e times the best so far (%.3e); "
                  "is f a contraction near z0?",
                  in.residual, in.iteration, in.residual / in.best_residual, in.best_residual);
    v.message = buf;
  } else if (no_progress(std::fmin(in.best_residual, in.residual), in.best_window_ago,
                         options.progress_factor)) {
    v.stop = true;
    v.status = Status::kStalled;
    v.message = no_progress_message("FixedPointOptions", "residual",
                                    std::fmin(in.best_residual, in.residual),
                                    options.progress_factor, options.progress_window) +
                "; has f a fixed point near z0?";
  } else if (in.iteration >= options.max_iter) {
    v.stop = true;
    v.status = Status::kMaxIterations;
    std::snprintf(buf, sizeof buf,
                  "residual %.3e still above the tolerance %.3e after max_iter = %d", in.residual,
                  in.threshold, options.max_iter);
    v.message = buf;
  }
  return v;
}

}  // namespace implicit::internal
