#pragma once
// The one driver loop behind every method for square systems g(x) = 0.
//
// A method is a small value type holding its options, with
//
//   const char* name() const;
//   void validate() const;                               // throws on bad options
//   template <class G, class T> State<T> init(const G& g, const SystemPoint<T>& p) const;
//   template <class G, class T> StepReport step(const G& g, State<T>& state,
//                                               SystemPoint<T>& p,
//                                               const SystemOptions& options) const;
//
// where `step` makes one trial step from p: it evaluates g where it needs to
// and, when it accepts a point, replaces p by it (x, g(x), ||g(x)||, always
// evaluated together). The driver owns the rest: the tolerance test on the
// point it returns, budgets, statuses, counts and history (the same split of
// solver state and driver as fixed_point/solve.hpp).

#include <Eigen/Core>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/internal/progress.hpp"
#include "implicit/status.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"
#include "implicit/system/result.hpp"

namespace implicit {

namespace internal {
// Whether a method can turn its final state into solves with the Jacobian
// (SystemResult::jacobian_solves).
template <class Method, class State, class = void>
struct keeps_jacobian_solves : std::false_type {};
template <class Method, class State>
struct keeps_jacobian_solves<Method, State,
                             std::void_t<decltype(std::declval<const Method&>().jacobian_solves(
                                 std::declval<State&&>()))>> : std::true_type {};
}  // namespace internal

// Solves g(x) = 0 for a square system g: R^n -> R^n from x0 with `method`
// (system/newton.hpp, dogleg.hpp, levenberg_marquardt.hpp, broyden.hpp, or
// the default polyalgorithm of system/polyalgorithm.hpp).
//
// g: a callable VectorX<T> -> VectorX<T>, templated on the scalar type when
// the method needs an automatic Jacobian (SystemOptions::jacobian), or with a
// `jacobian(x)` member. x0 may be any Eigen vector expression.
// Returns x with status kConverged only when ||g(x)||_2 <= abs_tol + rel_tol
// ||g(x0)||_2 at that x (see SystemOptions); otherwise the best point seen.
// Cost: the method's (each step reports its g and Jacobian evaluations).
// Fails: throws std::invalid_argument on invalid options, NaN/Inf in x0, or
// a g whose output (or Jacobian) has the wrong size; every numerical
// outcome (NaN from g, max_iter, a stalled method, a singular Jacobian that
// stops a method) is a status.
template <class G, class Derived, class Method>
SystemResult<VectorX<typename Derived::Scalar>> solve_root(const G& g,
                                                           const Eigen::MatrixBase<Derived>& x0,
                                                           const Method& method,
                                                           const SystemOptions& options = {}) {
  using T = typename Derived::Scalar;
  static_assert(std::is_floating_point_v<T>, "solve_root: x0 must hold float or double values");
  options.validate();
  method.validate();
  if (x0.cols() != 1)
    throw std::invalid_argument("solve_root: x0 must be a column vector, got " +
                                std::to_string(x0.rows()) + " x " + std::to_string(x0.cols()));
  if (!x0.allFinite()) throw std::invalid_argument("solve_root: x0 has a NaN or Inf entry");

  SystemResult<VectorX<T>> result;
  result.method = method.name();
  // ||g|| within this factor of g's rounding spread is at its floor
  // (internal::rounding_spread): Newton's stalls on the Brusselator at
  // N = 23-64 end at 0.3-0.5 times the spread; a local minimum of ||g|| that
  // is no root sits orders of magnitude above it.
  constexpr double kFloorFactor = 4;
  double threshold = 0;  // set once g(x0) is known
  SystemPoint<T> p;
  p.x = x0;
  internal::evaluate_at(g, p);
  result.function_evaluations = 1;
  if (options.record_history) result.residual_history.push_back(p.norm);

  auto finish = [&](Status status, std::string message, SystemPoint<T>& at) {
    // A stall at g's own rounding level says so (Status::kRoundingFloor):
    // no method can do better there, only a looser tolerance can help.
    if (status == Status::kStalled && std::isfinite(at.norm)) {
      const double spread = internal::rounding_spread(g, at);
      result.function_evaluations += 3;
      if (at.norm <= kFloorFactor * spread) {
        char floor[300];
        std::snprintf(floor, sizeof floor,
                      "||g|| = %.3e is at the rounding level of g (its spread under 1-ulp "
                      "changes of x: %.3e), above the tolerance %.3e: g cannot resolve a "
                      "smaller residual here; ask for abs_tol >= %.1e",
                      at.norm, spread, threshold, kFloorFactor * spread);
        message = floor + (message.empty() ? std::string() : " (" + message + ")");
        status = Status::kRoundingFloor;
      }
    }
    result.status = status;
    result.message = std::move(message);
    result.residual_norm = at.norm;
    result.x = std::move(at.x);
    return std::move(result);
  };
  if (!std::isfinite(p.norm)) return finish(Status::kNonFinite, "g(x0) has a NaN or Inf entry", p);
  threshold = options.abs_tol + options.rel_tol * p.norm;

  auto state = method.init(g, p);
  SystemPoint<T> best = p;  // methods may accept a worse point; the best is returned on failure
  // best.norm progress_window steps ago (SystemOptions::progress_window).
  internal::ProgressWindow progress(options.progress_window);
  char buf[240];
  for (int k = 0;; ++k) {
    result.iterations = k;
    if (p.norm <= threshold) {
      if constexpr (internal::keeps_jacobian_solves<Method, decltype(state)>::value)
        result.jacobian_solves = method.jacobian_solves(std::move(state));
      return finish(Status::kConverged, "", p);
    }
    if (k >= options.max_iter) {
      std::snprintf(buf, sizeof buf,
                    "||g|| = %.3e still above the tolerance %.3e after max_iter = %d", best.norm,
                    threshold, options.max_iter);
      return finish(Status::kMaxIterations, buf, best);
    }
    if (result.function_evaluations >= options.max_function_evaluations) {
      std::snprintf(buf, sizeof buf,
                    "||g|| = %.3e still above the tolerance %.3e after %d g evaluations "
                    "(max_function_evaluations)",
                    best.norm, threshold, result.function_evaluations);
      return finish(Status::kMaxIterations, buf, best);
    }
    if (internal::no_progress(best.norm, progress.exchange(best.norm), options.progress_factor))
      return finish(Status::kStalled,
                    internal::no_progress_message("SystemOptions", "||g||", best.norm,
                                                  options.progress_factor, options.progress_window),
                    best);
    const double before = p.norm;
    StepReport step = method.step(g, state, p, options);
    result.function_evaluations += step.function_evaluations;
    result.jacobian_evaluations += step.jacobian_evaluations;
    result.jacobian_products += step.jacobian_products;
    if (step.status != Status::kConverged) {
      // The point a failed step leaves in p is a real, evaluated point too.
      if (p.norm < best.norm) best = p;
      return finish(step.status, std::move(step.message), best);
    }
    if (p.norm != before && options.record_history) result.residual_history.push_back(p.norm);
    if (p.norm < best.norm) best = p;
    if (p.norm > options.divergence_ratio * best.norm) {
      std::snprintf(buf, sizeof buf,
                    "||g|| = %.3e at step %d is more than divergence_ratio = %.1e times the best "
                    "(%.3e)",
                    p.norm, k + 1, options.divergence_ratio, best.norm);
      return finish(Status::kDiverged, buf, best);
    }
  }
}

}  // namespace implicit
