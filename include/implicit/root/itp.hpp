#pragma once
// ITP, "interpolate, truncate, project" (Oliveira & Takahashi, "An
// enhancement of the bisection method average performance preserving minmax
// optimality", ACM TOMS 47(1) 2020): each step takes the regula falsi point,
// moves it toward the midpoint by a truncation that shrinks like
// width^kappa2 (so it cannot creep along one end), and projects it onto a
// disk around the midpoint whose radius is what is left of a budget of
// bisection steps plus n0. Superlinear on smooth g, never more than n0
// evaluations beyond bisection.
//
// The paper's stopping rule is an absolute bracket width 2 eps, and its
// budget n_max = n_{1/2} + n0 with n_{1/2} = ceil(log2((b0 - a0) / (2 eps)))
// enters only through the projection radius r_j = eps 2^(n_max - j) -
// (b - a) / 2. Here the width tolerance is the ScalarRootOptions one, which
// varies along the bracket (relative part) and has no fixed eps, so the
// radius is anchored at the initial width instead:
//
//     r_j = (b0 - a0) 2^(n0 - j - 1) - (b - a) / 2,
//
// the paper's radius for the eps that makes (b0 - a0) / (2 eps) a power of
// two. By induction every bracket then satisfies
//
//     b_j - a_j <= (b0 - a0) 2^(n0 - j),
//
// no wider than bisection's after j - n0 steps, for any tolerance. So the
// solve stops after at most n0 + ceil(log2((b0 - a0) / tol)) steps, tol =
// x_abs_tol + x_rel_tol * max(|lower|, |upper|) on the returned bracket:
// bisection's worst case for that tolerance plus n0, plus one step for
// rounding: floating-point widths are whole numbers of ulps, not exactly
// (b0 - a0) 2^-k, and bisection itself takes that one step more on 42 of the
// 154 problems of problems/scalar_roots.hpp. The slack of the paper's
// ceiling (a radius up to twice as large) is given up for that statement.
//
// One addition for floating point: a point closer to an end than half that
// end's tolerance, (x_abs_tol + x_rel_tol * |end|) / 2, is moved to that
// distance, as Brent and TOMS 748 do. When the root lies that close the
// step then closes the bracket to within the tolerance, instead of
// re-evaluating next to the same end. The move is toward the midpoint, so
// the bound above still holds.

#include <cmath>
#include <string>
#include <type_traits>
#include <utility>

#include "implicit/root/bracket.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

namespace internal {

// ITP on a checked bracket (see bisect_bracket for the contract).
template <class T, class G>
ScalarRootResult<T> itp_bracket(G& g, T a, T b, T ga, T gb, const ScalarRootOptions& options,
                                ScalarRootResult<T> r) {
  using internal::format_number;
  using std::fabs;
  r.method = ScalarRootMethod::kItp;
  if (finish_if_root_at_an_end(r, a, b, ga, gb)) return r;
  const BracketTolerance<T> converged(options);
  const T kappa1 = static_cast<T>(options.itp.kappa1);
  const T kappa2_minus_1 = static_cast<T>(options.itp.kappa2 - 1);
  const int n0 = options.itp.n0;
  const bool a_negative = ga < 0;  // the side of the bracket each new point replaces
  // The budget is anchored at the first finite width: while b - a overflows
  // (ends near -max and +max) the steps are plain bisections, which cost
  // nothing against bisection's count.
  T w0 = T(0);
  int j0 = 0;
  while (!converged(a, b)) {
    if (r.iterations >= options.max_iter)
      return stop_at_max_iter(r, a, b, ga, gb, options.max_iter);
    const T w = b - a;
    T x;
    if (!std::isfinite(w)) {
      x = a / 2 + b / 2;
    } else {
      if (w0 == 0) {
        w0 = w;
        j0 = r.iterations;
      }
      const T m = a + w / 2;
      // Interpolate: ga / (ga - gb) lies in (0, 1) since ga, gb have
      // opposite signs, so x_f stays in [a, b] (an overflowing ga - gb
      // gives 0 and x_f = a).
      const T x_f = a + w * (ga / (ga - gb));
      // Truncate: move x_f toward m by delta, or take m when delta reaches it.
      const T sigma = m > x_f ? T(1) : (m < x_f ? T(-1) : T(0));
      const T delta = kappa1 * w * std::pow(w / w0, kappa2_minus_1);
      const T x_t = delta <= fabs(m - x_f) ? x_f + sigma * delta : m;
      // Project onto [m - radius, m + radius]; radius = 0 once the budget is
      // spent (it is then exactly bisection), and negative only by rounding.
      T radius = std::ldexp(w0 / 2, n0 - (r.iterations - j0)) - w / 2;
      if (!(radius > 0)) radius = T(0);
      x = fabs(x_t - m) <= radius ? x_t : m - sigma * radius;
      // Keep half an end's tolerance away from that end (see the header).
      const T near_a = std::fmin((converged.abs_tol + converged.rel_tol * fabs(a)) / 2, w / 2);
      const T near_b = std::fmin((converged.abs_tol + converged.rel_tol * fabs(b)) / 2, w / 2);
      if (x < a + near_a) x = a + near_a;
      if (x > b - near_b) x = b - near_b;
      if (!(x > a && x < b)) x = m;  // tolerances below the ulp of the ends
    }
    const T gx = static_cast<T>(g(x));
    ++r.iterations;
    ++r.function_evaluations;
    if (!std::isfinite(gx)) return stop_at_non_finite(r, a, b, ga, gb, x, gx);
    if (gx == 0) return stop_at_zero(r, x);
    if ((gx < 0) == a_negative) {
      a = x;
      ga = gx;
    } else {
      b = x;
      gb = gx;
    }
  }
  finish_from_bracket(r, a, b, ga, gb);
  r.status = Status::kConverged;
  return r;
}

}  // namespace internal

// Root of g in [lower, upper] by ITP (options.method is ignored; parameters
// in options.itp).
// g: callable T -> T (or convertible to T), continuous on [lower, upper].
// Cost: 2 evaluations for the ends plus one per step: at most options.itp.n0
// more steps than bisection needs on the same bracket and tolerance (see the
// header for the exact bound), and superlinear convergence on smooth g once
// the truncation has shrunk below the regula falsi error: ~15-20 in all to
// adjacent doubles on smooth g with the default ItpOptions.
// Fails with a status: kInvalidBracket (the ends do not bracket a root or
// are not finite, message with the numbers), kNonFinite (g NaN or infinite
// inside), kMaxIterations. Throws std::invalid_argument for invalid options
// or a NaN lower / upper.
template <class T, class G>
ScalarRootResult<T> find_root_itp(G&& g, T lower, T upper, const ScalarRootOptions& options = {}) {
  return internal::solve_given_bracket(
      g, lower, upper, options, ScalarRootMethod::kItp,
      [&](auto&&... args) { return internal::itp_bracket(std::forward<decltype(args)>(args)...); });
}

}  // namespace implicit
