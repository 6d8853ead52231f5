#pragma once
// The user-facing scalar root finders: find_root on a given bracket, and
// find_root_increasing for an increasing g that only knows where to start.
//
//     implicit::ScalarRootOptions options;              // TOMS 748, ~adjacent doubles
//     auto r = implicit::find_root([](double x) { return x * x - 2; }, 0.0, 2.0, options);
//     if (!r.ok()) std::cerr << r.brief_report() << '\n';

#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "implicit/root/bisection.hpp"
#include "implicit/root/bracket.hpp"
#include "implicit/root/itp.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/root/toms748.hpp"
#include "implicit/status.hpp"

namespace implicit {

namespace internal {

// kNewton needs g' and these drivers see g only: a programming error.
inline void require_value_only_method(const ScalarRootOptions& options, const char* who) {
  if (options.method == ScalarRootMethod::kNewton)
    throw std::invalid_argument(std::string(who) +
                                ": ScalarRootMethod::kNewton needs g'(x); call find_root_newton "
                                "(root/newton.hpp) with a g that returns value and slope");
}

// The method options.method names, on a checked bracket.
template <class T, class G>
ScalarRootResult<T> solve_bracket(G& g, T a, T b, T ga, T gb, const ScalarRootOptions& options,
                                  ScalarRootResult<T> seed) {
  if (options.method == ScalarRootMethod::kBisection)
    return bisect_bracket(g, a, b, ga, gb, options, std::move(seed));
  if (options.method == ScalarRootMethod::kItp)
    return itp_bracket(g, a, b, ga, gb, options, std::move(seed));
  return toms748_bracket(g, a, b, ga, gb, options, std::move(seed));
}

}  // namespace internal

// Root of g in [lower, upper] by options.method (TOMS 748 by default).
// g: callable T -> T (or convertible to T), continuous on [lower, upper];
// T is float, double or long double.
// Cost: 2 evaluations for the ends plus the method's steps (see
// find_root_toms748 and find_root_bisection).
// Fails with a status: kInvalidBracket when lower >= upper, an end is
// infinite, g is not finite at an end, or g has the same sign at both ends
// (the message prints the ends and g there); kNonFinite when g is NaN or
// infinite inside; kMaxIterations. Throws std::invalid_argument for invalid
// options, method kNewton (g' unknown here: see find_root_newton) or a NaN
// lower / upper.
template <class T, class G>
ScalarRootResult<T> find_root(G&& g, T lower, T upper, const ScalarRootOptions& options = {}) {
  internal::require_value_only_method(options, "find_root");
  return internal::solve_given_bracket(
      g, lower, upper, options, options.method, [&](auto&&... args) {
        return internal::solve_bracket(std::forward<decltype(args)>(args)...);
      });
}

// Root x >= lower of an increasing g with g(lower) <= 0, without a right
// end: grows one by grow_bracket_right (lower + initial_step, then the
// distance times growth_factor, at most max_expansions trials; every trial
// with g <= 0 also moves the left end up), then runs options.method on the
// bracket found.
// Cost: 1 evaluation at lower, one per trial right end (about
// log2(root - lower) + 1 with the defaults), then the method's steps.
// Fails with status kInvalidBracket when g(lower) > 0 (an increasing g has
// no root at or right of lower), when g(lower) is not finite, or when no
// right end with g > 0 is found (g stays <= 0, turns NaN / infinite, or the
// right end overflows); the message prints lower, the last right end and g
// there. Inside the bracket as find_root. Throws std::invalid_argument for
// invalid options, method kNewton, or a NaN lower.
template <class T, class G>
ScalarRootResult<T> find_root_increasing(G&& g, T lower, const ScalarRootOptions& options = {}) {
  static_assert(std::is_floating_point_v<T>,
                "find_root_increasing works on float, double, long double");
  using internal::format_number;
  options.validate();
  internal::require_value_only_method(options, "find_root_increasing");
  internal::require_not_nan(lower, "lower");
  ScalarRootResult<T> r;
  r.method = options.method;
  r.x = r.lower = r.upper = lower;
  const T g_lower = std::isfinite(lower) ? static_cast<T>(g(lower)) : lower;
  r.function_evaluations = std::isfinite(lower) ? 1 : 0;
  r.residual = g_lower;
  if (!std::isfinite(lower) || !std::isfinite(g_lower) || g_lower > 0) {
    r.status = Status::kInvalidBracket;
    r.message = !std::isfinite(lower) ? "lower = " + format_number(lower) + " is not finite"
                : !std::isfinite(g_lower)
                    ? "g(lower) = " + format_number(g_lower) +
                          " at lower = " + format_number(lower) + " is not finite"
                    : "g(lower) = " + format_number(g_lower) +
                          " > 0 at lower = " + format_number(lower) +
                          ": an increasing g has no root at or right of lower";
    return r;
  }
  if (g_lower == 0) {
    r.status = Status::kConverged;
    r.message = "g is exactly 0 at lower";
    return r;
  }
  BracketSearch<T> found = grow_bracket_right(g, lower, g_lower, options.bracket);
  r.function_evaluations += found.evaluations;
  r.bracket_expansions = found.evaluations;
  if (!found.found) {
    r.status = Status::kInvalidBracket;
    r.x = r.lower = r.upper = found.left;
    r.residual = found.g_left;
    r.message = std::move(found.message);
    return r;
  }
  return internal::solve_bracket(g, found.left, found.right, found.g_left, found.g_right, options,
                                 std::move(r));
}

}  // namespace implicit
