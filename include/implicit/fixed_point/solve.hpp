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
#include <type_traits>
#include <utility>

#include "implicit/backend/eigen.hpp"
#include "implicit/fixed_point/options.hpp"
#include "implicit/fixed_point/result.hpp"
#include "implicit/fixed_point/stopping.hpp"
#include "implicit/internal/progress.hpp"
#include "implicit/status.hpp"
#include "implicit/step_report.hpp"

namespace implicit {

namespace internal {

// Eigen expressions to their plain vector type; every other vector as is.
template <class V, class = void>
struct PlainVectorOf {
  using type = V;
};
template <class V>
struct PlainVectorOf<V, std::enable_if_t<std::is_base_of_v<Eigen::EigenBase<V>, V>>> {
  using type = typename V::PlainObject;
};
template <class V>
using PlainVector = typename PlainVectorOf<V>::type;

// Whether a solver can turn its final state into solves with an estimate of
// I - df/dz (FixedPointResult::inverse_estimate).
template <class Solver, class State, class = void>
struct keeps_inverse_estimate : std::false_type {};
template <class Solver, class State>
struct keeps_inverse_estimate<Solver, State,
                              std::void_t<decltype(std::declval<const Solver&>().inverse_estimate(
                                  std::declval<State&&>()))>> : std::true_type {};

template <class F, class Vector, class Solver>
FixedPointResult<Vector> solve_fixed_point_plain(const F& f, const Vector& z0, const Solver& solver,
                                                 const FixedPointOptions& options) {
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
  Vector best_z = z0;  // the iterate with the smallest residual: returned on failure
  auto state = solver.init(f, z);
  internal::StoppingInput in;
  in.best_residual = std::numeric_limits<double>::infinity();
  internal::ProgressWindow progress(options.progress_window);

  // Ends the solve at iterate `x` with the residual measured there.
  auto finish = [&](Status status, std::string message, Vector& x, double residual) {
    result.status = status;
    result.message = std::move(message);
    result.residual_norm = residual;
    result.x = std::move(x);
    return std::move(result);
  };

  for (int k = 0;; ++k) {
    fz = f(z);
    ++result.function_evaluations;
    if (Ops::size(fz) != Ops::size(z))
      throw std::invalid_argument("solve_fixed_point: f returned a vector of size " +
                                  std::to_string(Ops::size(fz)) + " for an input of size " +
                                  std::to_string(Ops::size(z)));
    Ops::lincomb(1.0, fz, -1.0, z, g);
    in.iteration = k;
    in.residual = Ops::norm(g);
    in.values_finite = Ops::all_finite(fz);
    const double fz_norm = Ops::norm(fz);
    in.threshold = options.abs_tol + rel_tol * fz_norm;
    in.iterate_norm = Ops::norm(z);
    if (k == 0 && std::isfinite(fz_norm))
      in.start_scale = std::max({1.0, in.iterate_norm, fz_norm});
    result.iterations = k;
    if (options.record_history) result.residual_history.push_back(in.residual);
    in.best_window_ago = progress.exchange(
        in.values_finite ? std::fmin(in.best_residual, in.residual) : in.best_residual);

    internal::StoppingVerdict verdict = internal::stopping_verdict(in, options);
    if (verdict.stop) {
      if (verdict.status == Status::kConverged) {
        if constexpr (keeps_inverse_estimate<Solver, decltype(state)>::value)
          result.inverse_estimate = solver.inverse_estimate(std::move(state));
        return finish(verdict.status, "", z, in.residual);
      }
      if (in.values_finite && in.residual < in.best_residual) {
        in.best_residual = in.residual;
        best_z = z;
      }
      return finish(verdict.status, std::move(verdict.message), best_z, in.best_residual);
    }
    if (in.residual < in.best_residual) {
      in.best_residual = in.residual;
      best_z = z;
    }
    StepReport step = solver.step(f, state, z, fz, g);
    result.function_evaluations += step.function_evaluations;
    result.jacobian_evaluations += step.jacobian_evaluations;
    result.jacobian_products += step.jacobian_products;
    if (step.status != Status::kConverged)
      return finish(step.status, std::move(step.message), best_z, in.best_residual);
  }
}

}  // namespace internal

// Finds z* = f(z*) from z0 with `solver`.
//
// Returns z_k, the iterate whose residual passed the test, when converged
// (so the caller's own ||f(x) - x|| check gives exactly residual_norm), and
// the iterate with the smallest residual seen, with that residual, on any
// failure. The exact rule is in fixed_point/stopping.hpp and options.hpp.
//
// Cost: one f evaluation per iteration plus the solver's own work (see each
// solver). Memory: the solver's workspace, sized once in init(); nothing
// grows with the iteration count except the optional residual history.
// z0 may be any Eigen vector expression (it is evaluated once).
// Fails: throws std::invalid_argument if z0 has NaN/Inf, the options are
// invalid, or f changes the vector's size; every numerical failure
// (max_iter, divergence, NaN from f, singular Newton system) is a status.
template <class F, class Vector, class Solver>
FixedPointResult<internal::PlainVector<Vector>> solve_fixed_point(
    const F& f, const Vector& z0, const Solver& solver, const FixedPointOptions& options = {}) {
  // An Eigen expression (Eigen::VectorXd::Zero(n), a + b) is evaluated once
  // into its plain vector, which the solvers then iterate on.
  if constexpr (!std::is_same_v<internal::PlainVector<Vector>, Vector>)
    return solve_fixed_point(f, internal::PlainVector<Vector>(z0), solver, options);
  else
    return internal::solve_fixed_point_plain(f, z0, solver, options);
}

}  // namespace implicit
