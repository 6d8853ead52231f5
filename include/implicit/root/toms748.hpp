#pragma once
// TOMS 748 (Alefeld, Potra & Shi 1995) through Boost.Math's
// boost::math::tools::toms748_solve: inverse cubic / quadratic interpolation
// and double-length secant steps, with a bisection whenever the bracket fails
// to halve, so it never does worse than a constant factor of bisection and
// converges superlinearly on smooth g. The wrapper adds what Boost leaves to
// the caller: our stopping rule, a NaN check on every g value (Boost's sign
// tests would silently mis-bracket on NaN), evaluation counts, and g at the
// final bracket ends (Boost returns only the ends).

#include <boost/math/tools/toms748_solve.hpp>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "implicit/root/bracket.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

namespace internal {

// What the g wrapper below records. Boost passes the function object by
// value into its helpers, so the record lives outside the (copied) wrapper.
template <class T>
struct Toms748Record {
  // Every point Boost evaluates lands inside its bracket and replaces the end
  // whose g has the same sign (boost::math::tools::detail::bracket), so the
  // latest point of each sign is the current end on that side.
  T a, ga, b, gb;
  bool a_negative;
  int evaluations = 0;
};

// Thrown by the wrapper on a NaN or infinite g value and caught in
// toms748_bracket; never escapes to the caller.
template <class T>
struct NonFiniteValue {
  T x, gx;
};

template <class T, class G>
struct Toms748Function {
  G* g;
  Toms748Record<T>* record;
  T operator()(T x) const {
    const T gx = static_cast<T>((*g)(x));
    ++record->evaluations;
    if (!std::isfinite(gx)) throw NonFiniteValue<T>{x, gx};
    if (gx != 0) {
      if ((gx < 0) == record->a_negative) {
        record->a = x;
        record->ga = gx;
      } else {
        record->b = x;
        record->gb = gx;
      }
    }
    return gx;
  }
};

// TOMS 748 on a checked bracket (see bisect_bracket for the contract).
template <class T, class G>
ScalarRootResult<T> toms748_bracket(G& g, T a, T b, T ga, T gb, const ScalarRootOptions& options,
                                    ScalarRootResult<T> r) {
  using internal::format_number;
  r.method = ScalarRootMethod::kToms748;
  if (finish_if_root_at_an_end(r, a, b, ga, gb)) return r;
  const BracketTolerance<T> converged(options);
  Toms748Record<T> record{a, ga, b, gb, ga < 0};
  using Gd = std::remove_reference_t<G>;
  const Toms748Function<T, Gd> f{&g, &record};
  std::uintmax_t steps = static_cast<std::uintmax_t>(options.max_iter);
  std::pair<T, T> ends;
  try {
    ends = boost::math::tools::toms748_solve(f, a, b, ga, gb, converged, steps);
  } catch (const NonFiniteValue<T>& bad) {
    r.iterations += record.evaluations;
    r.function_evaluations += record.evaluations;
    finish_from_bracket(r, record.a, record.b, record.ga, record.gb);
    if (r.lower > r.upper) std::swap(r.lower, r.upper);
    r.status = Status::kNonFinite;
    r.message = "g(" + format_number(bad.x) + ") = " + format_number(bad.gx) + " inside [" +
                format_number(r.lower) + ", " + format_number(r.upper) + "]";
    return r;
  }
  r.iterations += record.evaluations;
  r.function_evaluations += record.evaluations;
  if (ends.first == ends.second) {  // Boost hit g == 0 exactly
    r.x = r.lower = r.upper = ends.first;
    r.residual = T(0);
    r.status = Status::kConverged;
    r.message = "g is exactly 0 at x";
    return r;
  }
  // With a < b given, Boost keeps its a on the left, so the record's a-side
  // is the left end.
  T g_first = record.ga, g_second = record.gb;
  if (ends.first != record.a || ends.second != record.b) {
    // Not reached with Boost 1.74's algorithm (see Toms748Record); if another
    // version breaks that invariant, pay two evaluations instead of
    // returning a wrong residual.
    g_first = static_cast<T>(g(ends.first));
    g_second = static_cast<T>(g(ends.second));
    r.function_evaluations += 2;
  }
  finish_from_bracket(r, ends.first, ends.second, g_first, g_second);
  if (converged(ends.first, ends.second)) {
    r.status = Status::kConverged;
  } else {
    r.status = Status::kMaxIterations;
    r.message = "max_iter = " + std::to_string(options.max_iter) + " reached with bracket width " +
                format_number(ends.second - ends.first);
  }
  return r;
}

}  // namespace internal

// Root of g in [lower, upper] by TOMS 748 (options.method is ignored).
// g: callable T -> T (or convertible to T), continuous on [lower, upper].
// Cost: 2 evaluations for the ends plus about 2-4 per digit-tripling step:
// ~6-10 in all to adjacent doubles on smooth g, and at most 4 per halving of
// the bracket on rough g (each pass of up to three interpolation steps ends
// with a bisection when the bracket did not halve), so never worse than
// about 4x bisection.
// Fails with a status: kInvalidBracket (the ends do not bracket a root or
// are not finite, message with the numbers), kNonFinite (g NaN or infinite
// inside), kMaxIterations. Throws std::invalid_argument for invalid options
// or a NaN lower / upper.
template <class T, class G>
ScalarRootResult<T> find_root_toms748(G&& g, T lower, T upper,
                                      const ScalarRootOptions& options = {}) {
  return internal::solve_given_bracket(
      g, lower, upper, options, ScalarRootMethod::kToms748, [&](auto&&... args) {
        return internal::toms748_bracket(std::forward<decltype(args)>(args)...);
      });
}

}  // namespace implicit
