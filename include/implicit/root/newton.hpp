#pragma once
// Safeguarded Newton on a bracket (ScalarRootMethod::kNewton), for a g whose
// slope g' comes at little extra cost with g (MonotoneNet evaluates both
// from one exponential per unit). The bracket [a, b] with g(a) < 0 < g(b) is
// kept as in bisection; each step evaluates g and g' at one point x, moves
// the end of g's sign to x, stops on the ScalarRootOptions bracket-width
// rule (internal::BracketTolerance, the rule every method here shares), and
// otherwise chooses the next point by newton_next_point below: the Newton
// point x - g/g' when it lies strictly inside (a, b) and the step is at most
// half the step before the previous one (Numerical Recipes' rtsafe rule,
// which rules out slow creeping), else the midpoint of [a, b].
//
// Newton converges to the root from one side on a locally convex or concave
// g, so its iterates alone never close the bracket. When the Newton step is
// below half the tolerance t = x_abs_tol + x_rel_tol |x|, the root is that
// close, and the step is lengthened by t / 4 (at least to the adjacent
// number) so that the next point lands just past the root: the bracket then
// has width <= 3t/4 and the solve ends one evaluation later. From a start
// within ~1e-7 relative of the root this takes 2-3 evaluations in all.
//
// The same rule, lane by lane, is the SIMD kernel of the monotone network
// (src/models/monotone_inverse.cpp); its tests compare the two.

#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>

#include "implicit/root/bracket.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

// g and g' at one point, what find_root_newton's g returns.
template <class T>
struct ValueAndSlope {
  T value;
  T slope;
};

namespace internal {

// The next point of the safeguarded Newton iteration, after (x, g, slope)
// has replaced the end of its sign in [a, b]. dx_old2 is the step taken two
// steps ago (infinity at first) and is updated: on return dx_old2 holds the
// previous step and dx_old1 this one. Cost O(1); never fails (the midpoint
// is the fallback for every non-finite or out-of-range Newton point).
template <class T>
T newton_next_point(T x, T g, T slope, T a, T b, T abs_tol, T rel_tol, T& dx_old1, T& dx_old2) {
  using std::fabs;
  T dx = -g / slope;
  const T t = abs_tol + rel_tol * fabs(x);
  // Root within t/2: aim t/4 past it (see the file comment).
  if (fabs(dx) <= t / 2) dx += std::copysign(t / 4, dx);
  T next = x + dx;
  if (next == x) next = std::nextafter(x, dx > 0 ? b : a);
  const bool inside = next > a && next < b;  // false for NaN
  // The halving test is skipped for steps below the tolerance: those are the
  // closing steps, whose length is set by t, not by convergence.
  const bool shrinking = fabs(dx) <= t || fabs(dx) <= fabs(dx_old2) / 2;
  if (!inside || !shrinking) {
    next = a + (b - a) / 2;
    dx = next - x;
  }
  dx_old2 = dx_old1;
  dx_old1 = dx;
  return next;
}

// Safeguarded Newton on a checked bracket [a, b] (a < b finite, ga < 0 < gb,
// or gb = +infinity for an end known to lie right of the root but never
// evaluated), starting at x0 (moved to the midpoint when not strictly
// inside). gd: T -> ValueAndSlope<T>. `r` carries the counts so far.
template <class T, class GD>
ScalarRootResult<T> newton_bracket(GD& gd, T a, T b, T ga, T gb, T x0,
                                   const ScalarRootOptions& options, ScalarRootResult<T> r) {
  r.method = ScalarRootMethod::kNewton;
  if (finish_if_root_at_an_end(r, a, b, ga, gb)) return r;
  const BracketTolerance<T> converged(options);
  T x = x0 > a && x0 < b ? x0 : a + (b - a) / 2;
  T dx_old1 = std::numeric_limits<T>::infinity(), dx_old2 = dx_old1;
  while (true) {
    if (r.iterations >= options.max_iter)
      return stop_at_max_iter(r, a, b, ga, gb, options.max_iter);
    const ValueAndSlope<T> v = gd(x);
    ++r.iterations;
    ++r.function_evaluations;
    if (!std::isfinite(v.value)) return stop_at_non_finite(r, a, b, ga, gb, x, v.value);
    if (v.value == 0) return stop_at_zero(r, x);
    if (v.value < 0) {
      a = x;
      ga = v.value;
    } else {
      b = x;
      gb = v.value;
    }
    if (converged(a, b)) {
      finish_from_bracket(r, a, b, ga, gb);
      r.status = Status::kConverged;
      return r;
    }
    x = newton_next_point(x, v.value, v.slope, a, b, converged.abs_tol, converged.rel_tol, dx_old1,
                          dx_old2);
  }
}

}  // namespace internal

// Root of g in [lower, upper] by safeguarded Newton (options.method is
// ignored), starting at x0 (the midpoint when x0 is NaN or not strictly
// inside). gd: callable T -> ValueAndSlope<T> with g continuous and g' its
// derivative (a wrong g' costs evaluations, never the bracket guarantee).
// Cost: 2 evaluations for the ends plus one per step: quadratic convergence
// near a simple root, then one closing step; never worse than bisection by
// more than a factor 2 (each rejected Newton step is a bisection).
// Fails with a status: kInvalidBracket (the ends do not bracket a root or
// are not finite, message with the numbers), kNonFinite (g NaN or infinite
// inside), kMaxIterations. Throws std::invalid_argument for invalid options
// or a NaN lower / upper.
template <class T, class GD>
ScalarRootResult<T> find_root_newton(GD&& gd, T lower, T upper,
                                     const ScalarRootOptions& options = {},
                                     T x0 = std::numeric_limits<T>::quiet_NaN()) {
  auto g = [&gd](T x) { return static_cast<T>(gd(x).value); };
  return internal::solve_given_bracket(
      g, lower, upper, options, ScalarRootMethod::kNewton,
      [&](auto& /*g*/, T a, T b, T ga, T gb, const ScalarRootOptions& o, ScalarRootResult<T> seed) {
        return internal::newton_bracket(gd, a, b, ga, gb, x0, o, std::move(seed));
      });
}

}  // namespace implicit
