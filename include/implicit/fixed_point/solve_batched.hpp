#pragma once
// The driver loop for a batch of B independent fixed-point problems held in
// one batched vector (a tensor of shape (B, ...)): the same solvers as
// solve_fixed_point (their reductions are per sample, internal/per_sample.hpp)
// with the stopping rule, status, iteration count and residual kept per
// sample.
//
// A sample stops on its own: once it converges (or fails) its output is
// frozen and its iterate is pinned to that value, so it stops changing while
// the others go on and a NaN in one sample never reaches another. f is still
// evaluated on the whole batch each step (f may couple rows only through its
// parameters, which is what batched layers do), so the cost is
// (steps of the slowest sample) x (one batched f).
//
// The batched backend's VectorOps must provide, besides what the solvers use:
//   Scalars = Eigen::ArrayXd, batch_size(v), same_shape(a, b), epsilon(v),
//   where(mask, a, b) -> a where mask (one bool per sample) else b.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/fixed_point/batched_stopping.hpp"
#include "implicit/fixed_point/options.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class Vector>
struct [[nodiscard]] BatchedFixedPointResult {
  // Per sample: the iterate z_k that passed the stopping test where it
  // converged, its best iterate (smallest residual) on every failure; the
  // rule is fixed_point/stopping.hpp's, shared with solve_fixed_point.
  Vector x;
  std::vector<Status> status;                    // per sample
  std::vector<int> iterations;                   // per sample: the step at which it stopped
  Eigen::ArrayXd residual_norm;                  // per sample: ||f(x) - x|| at the returned x
  std::vector<Eigen::ArrayXd> residual_history;  // per step, every sample's residual
  int steps = 0;                                 // driver steps (the slowest sample's iterations)
  int function_evaluations = 0;                  // batched calls of f
  int jacobian_evaluations = 0;                  // batched linearisations (Newton: one per step)
  int jacobian_products = 0;                     // batched products (df/dz) v (Newton's GMRES)
  std::string solver;
  std::string message;  // the first failure of each kind, with its sample index

  bool ok() const {
    return std::all_of(status.begin(), status.end(),
                       [](Status s) { return s == Status::kConverged; });
  }
  int count(Status s) const {
    return static_cast<int>(std::count(status.begin(), status.end(), s));
  }

  std::string brief_report() const {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "%s: %d of %zu samples converged in %d steps (%d f evaluations), worst "
                  "residual %.3e",
                  solver.c_str(), count(Status::kConverged), status.size(), steps,
                  function_evaluations, residual_norm.size() ? residual_norm.maxCoeff() : 0.0);
    return message.empty() ? std::string(buf) : std::string(buf) + "; " + message;
  }
};

// Finds z*_b = f(z*)_b for every sample b of z0 with `solver`.
//
// relative_to (optional, one entry per sample): the relative part of the
// stopping threshold becomes rel_tol * relative_to[b] instead of
// rel_tol * ||f(z)_b|| (the adjoint iteration u <- K u + b stops by ||b||,
// the rule its certificate checks).
//
// Fails: throws std::invalid_argument if z0 has NaN/Inf, the options are
// invalid, relative_to has the wrong size, or f changes the shape; every
// numerical failure is a per-sample status (a failed inner solve of Newton
// stops every sample still running).
template <class F, class Vector, class Solver>
BatchedFixedPointResult<Vector> solve_fixed_point_batched(
    const F& f, const Vector& z0, const Solver& solver, const FixedPointOptions& options = {},
    const Eigen::ArrayXd* relative_to = nullptr) {
  using Ops = VectorOps<Vector>;
  using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;
  options.validate();
  solver.validate();
  if (!Ops::all_finite(z0))
    throw std::invalid_argument("solve_fixed_point_batched: z0 has a NaN or Inf entry");

  const Eigen::Index batch = Ops::batch_size(z0);
  BatchedFixedPointResult<Vector> result;
  result.solver = solver.name();
  // rel_tol is floored at 8 epsilons of the batch's runtime scalar type.
  const double rel_tol = std::fmax(options.rel_tol, 8 * Ops::epsilon(z0));
  internal::BatchedStopping<BatchedFixedPointResult<Vector>> books(result, batch, options, rel_tol,
                                                                   relative_to);

  Vector z = z0;
  Vector fz;
  Vector g;
  Vector frozen = z0;  // the outputs of stopped samples
  Vector best_z = z0;  // per sample, the iterate with the smallest residual so far
  auto state = solver.init(f, z);

  for (int k = 0;; ++k) {
    fz = f(z);
    ++result.function_evaluations;
    if (!Ops::same_shape(fz, z))
      throw std::invalid_argument("solve_fixed_point_batched: f changed the shape of its input");
    Ops::lincomb(1.0, fz, -1.0, z, g);
    const Eigen::ArrayXd residual = Ops::norm(g);
    const Eigen::ArrayXd fz_norm = Ops::norm(fz);
    const Eigen::ArrayXd z_norm = Ops::norm(z);
    result.steps = k;
    if (options.record_history) result.residual_history.push_back(residual);

    // Newly stopped samples output z_k (converged: the point that passed the
    // test) or their best iterate (every failure), with that point's residual.
    Mask keep_z = Mask::Constant(batch, false);
    Mask keep_best = Mask::Constant(batch, false);
    Mask improved = Mask::Constant(batch, false);
    for (Eigen::Index b = 0; b < batch; ++b) {
      if (!books.running(b)) continue;
      const internal::SampleJudgement j = books.judge(b, k, residual[b], fz_norm[b], z_norm[b]);
      improved[b] = j.improved;
      keep_z[b] = j.output == internal::SampleOutput::kIterate;
      keep_best[b] = j.output == internal::SampleOutput::kBest;
    }
    if (improved.any()) best_z = Ops::where(improved, z, best_z);
    if (keep_z.any()) frozen = Ops::where(keep_z, z, frozen);
    if (keep_best.any()) frozen = Ops::where(keep_best, best_z, frozen);
    if (books.running_count() == 0) break;

    StepReport step = solver.step(f, state, z, fz, g);
    result.function_evaluations += step.function_evaluations;
    result.jacobian_evaluations += step.jacobian_evaluations;
    result.jacobian_products += step.jacobian_products;
    if (step.status != Status::kConverged) {
      // A failure of some samples stops those alone; one without a sample
      // list stops every sample still running.
      Mask failing = Mask::Constant(batch, step.failed_samples.empty());
      for (long b : step.failed_samples) failing[b] = true;
      failing = failing && books.running_mask();
      for (Eigen::Index b = 0; b < batch; ++b)
        if (failing[b]) books.fail(b, step.status, step.message);
      frozen = Ops::where(failing, best_z, frozen);
      if (books.running_count() == 0) break;
    }
    // Stopped samples stay pinned to their output, whatever the step did.
    if (books.running_count() < batch) z = Ops::where(books.running_mask(), z, frozen);
  }
  result.x = std::move(frozen);
  return result;
}

}  // namespace implicit
