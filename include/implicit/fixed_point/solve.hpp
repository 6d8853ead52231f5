#pragma once
// The one driver loop behind every fixed-point solver.
//
// A solver is a small value type holding its options, with
//
//   const char* name() const;
//   void validate() const;                                   // throws on bad options
//   template <class F, class V> State<V> init(const F& f, const V& z0) const;
//   template <class F, class V> StepReport step(const F& f, State<V>& state, V& z,
//                                               const V& fz, const V& g) const;
//
// where `step` overwrites z with the next iterate given fz = f(z) and the
// residual g = fz - z. The driver owns everything else: evaluating f, the
// stopping rule, divergence and NaN detection, iteration counts and the
// residual history (the optimistix split of solver state and driver).

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <utility>

#include "implicit/backend/eigen.hpp"
#include "implicit/fixed_point/options.hpp"
#include "implicit/fixed_point/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

// What one solver step reports back to the driver.
struct StepReport {
  Status status = Status::kConverged;  // kConverged: the step went fine
  std::string message;                 // why it failed, when it did
  int function_evaluations = 0;        // extra f calls made inside the step
  int jacobian_evaluations = 0;        // Jacobians / JVP batches made inside the step
};

// Finds z* = f(z*) from z0 with `solver`.
//
// Cost: one f evaluation per iteration plus the solver's own work (see each
// solver). Memory: the solver's workspace, sized once in init(); nothing
// grows with the iteration count except the optional residual history.
// Fails: throws std::invalid_argument if z0 has NaN/Inf, the options are
// invalid, or f changes the vector's size; every numerical failure
// (max_iter, divergence, NaN from f, singular Newton system) is a status.
template <class F, class Vector, class Solver>
FixedPointResult<Vector> solve_fixed_point(const F& f, const Vector& z0, const Solver& solver,
                                           const FixedPointOptions& options = {}) {
  using Ops = VectorOps<Vector>;
  options.validate();
  solver.validate();
  if (!Ops::all_finite(z0))
    throw std::invalid_argument("solve_fixed_point: z0 has a NaN or Inf entry");

  FixedPointResult<Vector> result;
  result.solver = solver.name();
  const double rel_tol = internal::effective_rel_tol<typename Ops::Scalar>(options.rel_tol);

  Vector z = z0;
  Vector fz;
  Vector g = Ops::zeros_like(z0);
  auto state = solver.init(f, z);
  double best_residual = std::numeric_limits<double>::infinity();

  for (int k = 0;; ++k) {
    fz = f(z);
    ++result.function_evaluations;
    if (Ops::size(fz) != Ops::size(z))
      throw std::invalid_argument("solve_fixed_point: f returned a vector of size " +
                                  std::to_string(Ops::size(fz)) + " for an input of size " +
                                  std::to_string(Ops::size(z)));
    Ops::lincomb(1.0, fz, -1.0, z, g);
    const double residual = Ops::norm(g);
    const double threshold = options.abs_tol + rel_tol * Ops::norm(fz);
    result.iterations = k;
    result.residual_norm = residual;
    if (options.record_history) result.residual_history.push_back(residual);

    char buf[200];
    if (!std::isfinite(residual) || !Ops::all_finite(fz)) {
      result.status = Status::kNonFinite;
      std::snprintf(buf, sizeof buf, "f(z) has a NaN or Inf entry at iteration %d", k);
      result.message = buf;
      result.x = std::move(z);
      return result;
    }
    if (residual <= threshold) {
      result.status = Status::kConverged;
      result.x = std::move(fz);
      return result;
    }
    if (residual > options.divergence_ratio * best_residual) {
      result.status = Status::kDiverged;
      std::snprintf(buf, sizeof buf,
                    "residual %.3e at iteration %d is %.1e times the best so far (%.3e); "
                    "is f a contraction near z0?",
                    residual, k, residual / best_residual, best_residual);
      result.message = buf;
      result.x = std::move(z);
      return result;
    }
    best_residual = std::min(best_residual, residual);
    if (k >= options.max_iter) {
      result.status = Status::kMaxIterations;
      std::snprintf(buf, sizeof buf,
                    "residual %.3e still above the tolerance %.3e after max_iter = %d", residual,
                    threshold, options.max_iter);
      result.message = buf;
      result.x = std::move(fz);
      return result;
    }
    StepReport step = solver.step(f, state, z, fz, g);
    result.function_evaluations += step.function_evaluations;
    result.jacobian_evaluations += step.jacobian_evaluations;
    if (step.status != Status::kConverged) {
      result.status = step.status;
      result.message = step.message;
      result.x = std::move(fz);
      return result;
    }
  }
}

}  // namespace implicit
