#pragma once
// Backtracking line search on phi(t) = 1/2 ||g(x + t d)||^2 for a descent
// direction d, shared by the line-search methods (Newton, Broyden).
//
// Dennis & Schnabel, "Numerical Methods for Unconstrained Optimization and
// Nonlinear Equations" (1983), Algorithm A6.3.1: try t = 1; while the Armijo
// condition phi(t) <= phi(0) + armijo * t * phi'(0) fails, minimise the
// quadratic (first backtrack) or cubic (later ones) that interpolates the
// values seen, safeguarded to [min_shrink t, max_shrink t]. A trial point
// where g is NaN/Inf counts as phi = inf and shrinks t by min_shrink.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "implicit/step_report.hpp"
#include "implicit/system/point.hpp"

namespace implicit {

struct LineSearchOptions {
  // Sufficient decrease constant c1 of the Armijo condition, in (0, 1/2).
  double armijo = 1e-4;
  // Each backtrack keeps t_new within [min_shrink t, max_shrink t].
  double min_shrink = 0.1;
  double max_shrink = 0.5;
  // Most trial points per search (each one g evaluation).
  int max_trials = 40;

  void validate(const char* owner) const {
    if (!(armijo > 0 && armijo < 0.5))
      throw std::invalid_argument(std::string(owner) +
                                  "::line_search.armijo must be in (0, 0.5), got " +
                                  std::to_string(armijo));
    if (!(min_shrink > 0 && min_shrink <= max_shrink && max_shrink < 1))
      throw std::invalid_argument(std::string(owner) +
                                  "::line_search needs 0 < min_shrink <= max_shrink < 1, got " +
                                  std::to_string(min_shrink) + ", " + std::to_string(max_shrink));
    if (max_trials < 1)
      throw std::invalid_argument(std::string(owner) +
                                  "::line_search.max_trials must be >= 1, got " +
                                  std::to_string(max_trials));
  }
};

namespace internal {

// Searches along d from p; `slope` is phi'(0) = (J^T g(x)) . d, which must be
// negative. On success (status kConverged) `trial` holds the accepted point.
// kStalled when the step t ||d|| falls below x_tol (||x|| + x_tol) or the
// trials run out: no representable point along d decreases ||g||.
template <class G, class T>
Status backtracking_line_search(const G& g, const SystemPoint<T>& p, const VectorX<T>& d,
                                double slope, double x_tol, const LineSearchOptions& options,
                                SystemPoint<T>& trial, StepReport& report) {
  const double phi0 = 0.5 * p.norm * p.norm;
  const double d_norm = internal::value(d.norm());
  const double x_norm = internal::value(p.x.norm());
  double t = 1, t_prev = 0, phi_prev = 0;
  char buf[200];
  if (!(slope < 0) || !std::isfinite(d_norm)) {
    std::snprintf(buf, sizeof buf, "the search direction is not a descent direction (slope %.3e)",
                  slope);
    report.message = buf;
    return Status::kStalled;
  }
  for (int trial_count = 0; trial_count < options.max_trials; ++trial_count) {
    trial.x = p.x + static_cast<T>(t) * d;
    internal::evaluate_at(g, trial);
    ++report.function_evaluations;
    const double phi = 0.5 * trial.norm * trial.norm;
    if (phi <= phi0 + options.armijo * t * slope) return Status::kConverged;
    if (t * d_norm <= x_tol * (x_norm + x_tol)) break;
    double t_new;
    if (!std::isfinite(phi)) {
      t_new = options.min_shrink * t;
    } else if (trial_count == 0) {
      t_new = -slope / (2 * (phi - phi0 - slope));  // minimiser of the quadratic
    } else {
      // Minimiser of the cubic through phi0, slope, (t, phi), (t_prev, phi_prev).
      const double r1 = phi - phi0 - t * slope;
      const double r2 = phi_prev - phi0 - t_prev * slope;
      const double a = (r1 / (t * t) - r2 / (t_prev * t_prev)) / (t - t_prev);
      const double b = (-t_prev * r1 / (t * t) + t * r2 / (t_prev * t_prev)) / (t - t_prev);
      if (a == 0) {
        t_new = -slope / (2 * b);
      } else {
        const double disc = b * b - 3 * a * slope;
        t_new = disc >= 0 ? (-b + std::sqrt(disc)) / (3 * a) : options.max_shrink * t;
      }
    }
    if (!std::isfinite(t_new)) t_new = options.max_shrink * t;
    t_prev = t;
    phi_prev = phi;
    t = std::clamp(t_new, options.min_shrink * t, options.max_shrink * t);
  }
  std::snprintf(buf, sizeof buf,
                "the line search found no decrease of ||g|| = %.3e along the step (last t %.2e, "
                "||d|| %.3e): a local minimum of ||g|| that is not a root, or ||g|| at its "
                "rounding floor",
                p.norm, t, d_norm);
  report.message = buf;
  return Status::kStalled;
}

// Scales d so that ||d|| <= max_step * max(||x||, 1): a nearly singular
// Jacobian cannot fling the iterate to 1e16 (Dennis & Schnabel's maxstep).
template <class T>
void limit_step(VectorX<T>& d, const VectorX<T>& x, double max_step) {
  const double bound = max_step * std::fmax(internal::value(x.norm()), 1.0);
  const double norm = internal::value(d.norm());
  if (norm > bound) d *= static_cast<T>(bound / norm);
}

}  // namespace internal
}  // namespace implicit
