#pragma once
// Bisection: halve a sign-changing bracket until the ScalarRootOptions
// bracket-width rule holds. One bit of the root per g evaluation, whatever
// g looks like between the ends; the slow but unconditional reference that
// TOMS 748 (root/toms748.hpp) is measured against.

#include <cmath>
#include <type_traits>

#include "implicit/root/bracket.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

namespace internal {

// Bisection on a checked bracket [a, b] (a < b, finite, g(a) = ga and
// g(b) = gb finite with opposite signs or one of them 0). `r` carries the
// counts so far (evaluations spent finding the bracket); the rest is filled in.
template <class T, class G>
ScalarRootResult<T> bisect_bracket(G& g, T a, T b, T ga, T gb, const ScalarRootOptions& options,
                                   ScalarRootResult<T> r) {
  r.method = ScalarRootMethod::kBisection;
  if (finish_if_root_at_an_end(r, a, b, ga, gb)) return r;
  const BracketTolerance<T> converged(options);
  const bool a_negative = ga < 0;  // the side of the bracket each new point replaces
  while (!converged(a, b)) {
    if (r.iterations >= options.max_iter)
      return stop_at_max_iter(r, a, b, ga, gb, options.max_iter);
    // a + (b - a) / 2 stays inside [a, b] in floating point; when b - a
    // overflows (ends near -max and +max) the halves are added instead.
    T m = a + (b - a) / 2;
    if (!std::isfinite(m)) m = a / 2 + b / 2;
    const T gm = static_cast<T>(g(m));
    ++r.iterations;
    ++r.function_evaluations;
    if (!std::isfinite(gm)) return stop_at_non_finite(r, a, b, ga, gb, m, gm);
    if (gm == 0) return stop_at_zero(r, m);
    if ((gm < 0) == a_negative) {
      a = m;
      ga = gm;
    } else {
      b = m;
      gb = gm;
    }
  }
  finish_from_bracket(r, a, b, ga, gb);
  r.status = Status::kConverged;
  return r;
}

}  // namespace internal

// Root of g in [lower, upper] by bisection (options.method is ignored).
// g: callable T -> T (or convertible to T), continuous on [lower, upper].
// Cost: 2 evaluations for the ends plus one per halving, about
// log2((upper - lower) / tolerance) in all: ~53 + log2(width / |x|) to
// adjacent doubles with the default tolerance.
// Fails with a status: kInvalidBracket (the ends do not bracket a root or
// are not finite, message with the numbers), kNonFinite (g NaN or infinite
// inside), kMaxIterations. Throws std::invalid_argument for invalid options
// or a NaN lower / upper.
template <class T, class G>
ScalarRootResult<T> find_root_bisection(G&& g, T lower, T upper,
                                        const ScalarRootOptions& options = {}) {
  return internal::solve_given_bracket(
      g, lower, upper, options, ScalarRootMethod::kBisection, [&](auto&&... args) {
        return internal::bisect_bracket(std::forward<decltype(args)>(args)...);
      });
}

}  // namespace implicit
