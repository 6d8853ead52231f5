#pragma once
// Options of the scalar root finders in root/: which method, when to stop,
// and how find_root_increasing grows a bracket it was not given.

#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace implicit {

namespace internal {
// x printed with enough digits to round-trip (max_digits10), for messages
// that must show the numbers that caused them.
template <class T>
std::string format_number(T x) {
  std::ostringstream os;
  os.precision(std::numeric_limits<T>::max_digits10);
  os << x;
  return os.str();
}
}  // namespace internal

// The bracketing method behind find_root. All keep a bracket [lower, upper]
// with g(lower) and g(upper) of opposite signs, so all always converge on a
// continuous g; they differ only in how many g evaluations that takes, and
// kNewton also needs g'.
enum class ScalarRootMethod {
  // Alefeld, Potra & Shi, "Algorithm 748: enclosing zeros of continuous
  // functions", ACM TOMS 21 (1995), via boost::math::tools::toms748_solve:
  // cubic / quadratic inverse interpolation safeguarded by bisection,
  // superlinear on smooth g (about 8 evaluations per inverse on the reference
  // monotone network, see docs/peers.md).
  kToms748,
  // Halve the bracket each step: one bit of x per evaluation (about 55-60 per
  // inverse to adjacent doubles), insensitive to how g looks inside.
  kBisection,
  // Oliveira & Takahashi, "An enhancement of the bisection method average
  // performance preserving minmax optimality", ACM TOMS 47(1) 2020
  // (root/itp.hpp): regula falsi, truncated toward the midpoint and projected
  // so that it never needs more than ItpOptions::n0 evaluations beyond
  // bisection's, superlinear on smooth g.
  kItp,
  // Safeguarded Newton (root/newton.hpp): the Newton point x - g/g' when it
  // lies inside the bracket and the step shrank, else the midpoint; same
  // stopping rule and statuses. Needs g and g' together, so only
  // find_root_newton and callers that own g' (MonotoneNet) accept it;
  // find_root / find_root_increasing throw std::invalid_argument for it.
  // About 2.6 evaluations per inverse on the reference monotone network
  // from its knot-table start (MonotoneNet::newton_start).
  kNewton,
};

inline const char* to_string(ScalarRootMethod method) {
  switch (method) {
    case ScalarRootMethod::kToms748:
      return "toms748";
    case ScalarRootMethod::kBisection:
      return "bisection";
    case ScalarRootMethod::kItp:
      return "itp";
    case ScalarRootMethod::kNewton:
      return "newton";
  }
  return "unknown";
}

// How find_root_increasing finds a right end for [lower, right] with
// g(right) > 0. The k-th trial right end (k = 1, 2, ...) is
//
//     right_k = lower + initial_step * growth_factor^(k-1),
//
// so the bracket grows geometrically and a root at distance D is enclosed
// after about log(D / initial_step) / log(growth_factor) + 1 evaluations.
struct BracketOptions {
  // Distance from lower to the first trial right end. Must be finite, > 0.
  double initial_step = 1.0;
  // Each failed trial multiplies the distance by this. Must be finite, > 1.
  double growth_factor = 2.0;
  // Most trial right ends (= g evaluations) before giving up with status
  // kInvalidBracket. Must be >= 1. With the defaults, 200 reaches 2^199 ~ 8e59
  // (float overflows first, at about 2^127, and stops earlier).
  int max_expansions = 200;

  // Throws std::invalid_argument naming the first field that makes no sense.
  void validate() const {
    if (!(initial_step > 0) || !std::isfinite(initial_step))
      throw std::invalid_argument("BracketOptions::initial_step must be finite and > 0, got " +
                                  internal::format_number(initial_step));
    if (!(growth_factor > 1) || !std::isfinite(growth_factor))
      throw std::invalid_argument("BracketOptions::growth_factor must be finite and > 1, got " +
                                  internal::format_number(growth_factor));
    if (max_expansions < 1)
      throw std::invalid_argument("BracketOptions::max_expansions must be >= 1, got " +
                                  std::to_string(max_expansions));
  }
};

// Parameters of the ITP method (ScalarRootMethod::kItp, root/itp.hpp). A step
// on the bracket [a, b] of width w = b - a, started from a bracket of width
// w0 and with j steps done since, evaluates g at
//
//     x_f   = a + w g(a) / (g(a) - g(b))                    regula falsi
//     delta = kappa1 * w0 * (w / w0)^kappa2
//     x_t   = x_f moved by delta toward the midpoint m      (m when delta >= |m - x_f|)
//     r     = w0 * 2^(n0 - j - 1) - w / 2
//     x     = x_t clipped to [m - r, m + r]                 (m when r <= 0)
//
// The paper writes delta = k1 * w^kappa2 with an absolute k1 and recommends
// k1 = 0.2 / w0, kappa2 = 2, n0 = 1; kappa1 here is k1 * w0^(kappa2 - 1), the
// same thing made independent of the units of x (kappa1 = 0.2 is the paper's
// recommendation). The projection keeps every bracket no wider than
// w0 * 2^(n0 - j), bisection's after j - n0 steps, whatever kappa1, kappa2.
//
// The defaults were picked on the 154 problems of Alefeld, Potra & Shi
// (problems/scalar_roots.hpp) at the default tolerance (x_abs_tol = DBL_MIN
// for the three roots at 0): 3662 evaluations in all, where the paper's
// (0.2, 2, 1) needs 7437, TOMS 748 2921 and bisection 12577. With kappa1 = 12
// the first 6 steps on a fresh bracket are bisections (delta >= w / 2 while
// w / w0 > 1/34), which costs ~6 evaluations on a tight bracket of a smooth g
// (17 instead of 11 for x^2 - 2 on [0, 2]) and saves tens on wide ones
// (20 instead of 63 for x^3 - 3 on [0, 1024]). On a wide bracket regula
// falsi creeps along the convex end, which spends the n0 slack early and
// leaves plain bisection (r = 0) for the rest of the solve. Larger n0 buys
// fewer evaluations on that set (3456 with n0 = 8, kappa1 = 8, kappa2 = 2)
// at n0 more in the worst case; n0 = 1 keeps the paper's guarantee.
struct ItpOptions {
  // Truncation size, relative to the initial bracket (see above). Finite, > 0.
  double kappa1 = 12.0;
  // Truncation exponent: delta shrinks like w^kappa2 (kappa2 = 1: a fixed
  // fraction of w, no superlinear convergence). In [1, 1 + golden ratio) =
  // [1, 2.618...), the range of the paper's analysis.
  double kappa2 = 1.9;
  // Slack over bisection: at most n0 more evaluations than bisection needs for
  // the same bracket and tolerance (root/itp.hpp states the bound). >= 0;
  // with 0 every step is the midpoint (up to rounding): plain bisection.
  int n0 = 1;

  // Throws std::invalid_argument naming the first field that makes no sense.
  void validate() const {
    const double kappa2_end = 1.5 + std::sqrt(5.0) / 2;  // 1 + (1 + sqrt 5) / 2
    if (!(kappa1 > 0) || !std::isfinite(kappa1))
      throw std::invalid_argument("ItpOptions::kappa1 must be finite and > 0, got " +
                                  internal::format_number(kappa1));
    if (!(kappa2 >= 1 && kappa2 < kappa2_end))
      throw std::invalid_argument("ItpOptions::kappa2 must lie in [1, 1 + golden ratio = " +
                                  internal::format_number(kappa2_end) + "), got " +
                                  internal::format_number(kappa2));
    if (n0 < 0)
      throw std::invalid_argument("ItpOptions::n0 must be >= 0, got " + std::to_string(n0));
  }
};

// Options of find_root / find_root_increasing and the methods behind them.
//
// A solve has converged when g(x) == 0 exactly at an evaluated point, or when
// the bracket [lower, upper] satisfies
//
//     upper - lower <= x_abs_tol + x_rel_tol * max(|lower|, |upper|),
//
// or when no number of the scalar type lies strictly between lower and upper
// (the bracket cannot shrink any further), so every tolerance is met after
// finitely many steps. A root at exactly 0 inside the bracket is the one case
// where the relative test cannot hold: it then ends only in the subnormals
// (~1100 halvings in double) unless x_abs_tol > 0.
struct ScalarRootOptions {
  // Which bracketing method runs once a bracket is known.
  ScalarRootMethod method = ScalarRootMethod::kToms748;
  // Absolute part of the bracket-width test above. Finite, >= 0.
  double x_abs_tol = 0.0;
  // Relative part of the bracket-width test above. Finite, >= 0; the default
  // 0 means 4 * epsilon of the solve's scalar type (4.4e-16 for double,
  // 4.8e-7 for float): a bracket of a few adjacent floating-point numbers.
  double x_rel_tol = 0.0;
  // Most steps inside the bracket, each one g evaluation (TOMS 748 counts
  // each of its interpolation and bisection sub-steps). Status kMaxIterations
  // when it is reached first. 200 covers bisection from a bracket of width 1
  // down to adjacent doubles near 1e-40 (about 130 + 53 halvings), and ITP,
  // which needs at most itp.n0 steps more. Must be >= 1.
  int max_iter = 200;
  // Bracket growth for find_root_increasing (unused by find_root).
  BracketOptions bracket;
  // Parameters of method kItp (unused by the other methods).
  ItpOptions itp;

  // Throws std::invalid_argument naming the first field that makes no sense.
  void validate() const {
    if (method != ScalarRootMethod::kToms748 && method != ScalarRootMethod::kBisection &&
        method != ScalarRootMethod::kItp && method != ScalarRootMethod::kNewton)
      throw std::invalid_argument("ScalarRootOptions::method is not a ScalarRootMethod, got " +
                                  std::to_string(static_cast<int>(method)));
    if (!(x_abs_tol >= 0) || !std::isfinite(x_abs_tol))
      throw std::invalid_argument("ScalarRootOptions::x_abs_tol must be finite and >= 0, got " +
                                  internal::format_number(x_abs_tol));
    if (!(x_rel_tol >= 0) || !std::isfinite(x_rel_tol))
      throw std::invalid_argument("ScalarRootOptions::x_rel_tol must be finite and >= 0, got " +
                                  internal::format_number(x_rel_tol));
    if (max_iter < 1)
      throw std::invalid_argument("ScalarRootOptions::max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    bracket.validate();
    itp.validate();
  }

  // The relative tolerance used for scalar type T (0 -> 4 * epsilon<T>).
  template <class T>
  T effective_x_rel_tol() const {
    return x_rel_tol == 0 ? T(4) * std::numeric_limits<T>::epsilon() : static_cast<T>(x_rel_tol);
  }
};

}  // namespace implicit
