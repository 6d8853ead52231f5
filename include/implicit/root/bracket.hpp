#pragma once
// Brackets for the scalar root finders: checking a given [lower, upper],
// growing one to the right for an increasing g, and the bracket-width
// stopping rule shared by bisection and TOMS 748.

#include <cmath>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

// Why [lower, upper] with g(lower) = g_lower, g(upper) = g_upper cannot be
// solved on, or an empty string when it can. Usable means: lower < upper,
// both ends and both g values finite, and g_lower, g_upper of opposite signs
// or one of them exactly 0. The message names the offending numbers.
// Cost: O(1), no g evaluations. Never throws (beyond std::bad_alloc).
template <class T>
std::string bracket_error(T lower, T upper, T g_lower, T g_upper) {
  using internal::format_number;
  const std::string where = "[lower, upper] = [" + format_number(lower) + ", " +
                            format_number(upper) + "], g(lower) = " + format_number(g_lower) +
                            ", g(upper) = " + format_number(g_upper);
  if (!std::isfinite(lower) || !std::isfinite(upper))
    return "the bracket ends must be finite: " + where;
  if (!(lower < upper)) return "the bracket must have lower < upper: " + where;
  if (!std::isfinite(g_lower) || !std::isfinite(g_upper))
    return "g is not finite at a bracket end: " + where;
  if (g_lower != 0 && g_upper != 0 && (g_lower > 0) == (g_upper > 0))
    return "g has the same sign at both ends, so they do not bracket a root: " + where;
  return {};
}

// The outcome of grow_bracket_right.
template <class T>
struct [[nodiscard]] BracketSearch {
  bool found = false;  // a bracket (or an exact zero) was found
  // When found: g(left) <= 0 < g(right), left the last trial with g <= 0 (or
  // the start), so [left, right] is as tight as the trials allow; after an
  // exact zero, left == right and g_left == g_right == 0.
  T left = T(0);
  T right = T(0);
  T g_left = T(0);
  T g_right = T(0);
  int evaluations = 0;  // g calls made here (= trial right ends)
  std::string message;  // when !found: why, with the numbers
};

// grow_bracket_right one trial at a time: the same trials, the same
// outcome and messages, for a caller that evaluates g itself, e.g. on
// many brackets at once (implicit::torch::root grows one per tensor entry
// and evaluates all their trial ends in one call of g). While running(),
// evaluate g at trial() and pass the value to take(); then result() is
// what grow_bracket_right returns. The preconditions are grow_bracket_right's
// (checked there, not here): valid options, finite lower, g_lower <= 0.
template <class T>
class BracketGrowth {
 public:
  BracketGrowth(T lower, T g_lower, const BracketOptions& options)
      : options_(options), lower_(lower), g_lower_(g_lower), last_g_(g_lower) {
    out_.left = lower;
    out_.g_left = g_lower;
    // The distance is kept in double: growth_factor^k for k up to 200 stays
    // far from double overflow, and a float right end that overflows shows
    // up as an infinite right end.
    step_ = options.initial_step;
    next_trial();
  }

  bool running() const { return running_; }
  // The next trial right end, > every earlier one; valid while running().
  T trial() const { return right_; }

  // g at trial(): stops on a sign change, an exact zero (both ends at it)
  // or a non-finite g; otherwise the left end moves up to the trial, which
  // is valid because g is increasing, and the distance grows.
  void take(T g_right) {
    using internal::format_number;
    ++out_.evaluations;
    last_g_ = g_right;
    if (!std::isfinite(g_right)) {
      out_.message = "g is not finite at trial right end " + format_number(right_) +
                     " (g = " + format_number(g_right) + ", expansion " + std::to_string(k_) +
                     ", lower = " + format_number(lower_) +
                     ", g(lower) = " + format_number(g_lower_) + ")";
      running_ = false;
      return;
    }
    if (g_right > 0) {
      out_.found = true;
      out_.right = right_;
      out_.g_right = g_right;
      running_ = false;
      return;
    }
    out_.left = right_;
    out_.g_left = g_right;
    if (g_right == 0) {  // an exact zero: nothing left to bracket
      out_.found = true;
      out_.right = right_;
      running_ = false;
      return;
    }
    ++k_;
    step_ *= options_.growth_factor;
    next_trial();
  }

  const BracketSearch<T>& result() const { return out_; }

 private:
  // The k-th trial right_k = lower + initial_step * growth_factor^(k-1),
  // from the current k on, skipping those not above the left end (the step
  // vanished below lower's ulp: keep growing, no evaluation); stops the
  // search when a trial overflows or max_expansions are used up.
  void next_trial() {
    using internal::format_number;
    for (; k_ <= options_.max_expansions; ++k_, step_ *= options_.growth_factor) {
      right_ = static_cast<T>(static_cast<double>(lower_) + step_);
      if (!std::isfinite(right_)) {
        out_.message = "the trial right end overflowed after " + std::to_string(k_ - 1) +
                       " expansions from lower = " + format_number(lower_) +
                       " (g(lower) = " + format_number(g_lower_) + "); last finite right end " +
                       format_number(out_.left) + " with g = " + format_number(out_.g_left) +
                       " <= 0";
        running_ = false;
        return;
      }
      if (right_ > out_.left) return;
    }
    out_.right = right_;
    out_.g_right = last_g_;
    out_.message = "g stayed <= 0 over " + std::to_string(options_.max_expansions) +
                   " trial right ends from lower = " + format_number(lower_) +
                   " (g(lower) = " + format_number(g_lower_) + "); last right end " +
                   format_number(right_) + " with g = " + format_number(last_g_) +
                   " (raise BracketOptions::max_expansions or growth_factor)";
    running_ = false;
  }

  BracketOptions options_;
  T lower_, g_lower_;
  T right_ = T(0);
  T last_g_;  // g at the last trial evaluated (g_lower before any)
  double step_ = 0;
  int k_ = 1;
  bool running_ = true;
  BracketSearch<T> out_;
};

// For an increasing g with g(lower) = g_lower <= 0, finds right > lower with
// g(right) > 0 by trying right_k = lower + initial_step * growth_factor^(k-1),
// k = 1 .. max_expansions (see BracketOptions). Each trial with g <= 0 moves
// the left end up to it, which is valid because g is increasing; a trial
// where g is exactly 0 ends the search there (left == right == that root).
// Cost: one g evaluation per trial, about log2(root distance / initial_step)
// + 1 with the defaults. Fails (found = false, message with the start, the
// last right end and g there) when g stays <= 0 over all trials, when g is
// NaN or infinite at a trial, or when the trial right end overflows.
// Throws std::invalid_argument for invalid options, a NaN or infinite lower,
// or g_lower > 0 / NaN (a precondition, checked here).
template <class T, class G>
BracketSearch<T> grow_bracket_right(G&& g, T lower, T g_lower, const BracketOptions& options) {
  static_assert(std::is_floating_point_v<T>,
                "grow_bracket_right works on float, double, long double");
  using internal::format_number;
  options.validate();
  if (!std::isfinite(lower))
    throw std::invalid_argument("grow_bracket_right: lower must be finite, got " +
                                format_number(lower));
  if (!(g_lower <= 0))
    throw std::invalid_argument("grow_bracket_right: needs g(lower) <= 0, got g(" +
                                format_number(lower) + ") = " + format_number(g_lower));
  BracketGrowth<T> growth(lower, g_lower, options);
  while (growth.running()) growth.take(static_cast<T>(g(growth.trial())));
  return growth.result();
}

namespace internal {

// The bracket-width stopping rule of ScalarRootOptions:
//     b - a <= x_abs_tol + x_rel_tol * max(|a|, |b|)
// or no number of type T lies strictly between a and b (then bisection and
// TOMS 748's safeguard step would evaluate an end again and make no progress).
template <class T>
struct BracketTolerance {
  T abs_tol;
  T rel_tol;

  explicit BracketTolerance(const ScalarRootOptions& options)
      : abs_tol(static_cast<T>(options.x_abs_tol)), rel_tol(options.effective_x_rel_tol<T>()) {}

  bool operator()(T a, T b) const {
    using std::fabs;
    using std::fmax;
    if (b - a <= abs_tol + rel_tol * fmax(fabs(a), fabs(b))) return true;
    return std::nextafter(a, b) == b;
  }
};

template <class T>
void require_not_nan(T x, const char* name) {
  if (std::isnan(x))
    throw std::invalid_argument(std::string(name) + " is NaN; a root solve needs a number");
}

// Evaluates g at both ends of a given bracket. Returns the failed result
// (status kInvalidBracket, message from bracket_error) when the ends do not
// bracket a root, else nothing and sets g_lower, g_upper.
template <class T, class G>
std::optional<ScalarRootResult<T>> evaluate_bracket(G& g, T lower, T upper, ScalarRootMethod method,
                                                    T& g_lower, T& g_upper) {
  g_lower = static_cast<T>(g(lower));
  g_upper = static_cast<T>(g(upper));
  std::string error = bracket_error(lower, upper, g_lower, g_upper);
  if (error.empty()) return std::nullopt;
  ScalarRootResult<T> r;
  r.method = method;
  r.status = Status::kInvalidBracket;
  r.function_evaluations = 2;
  r.x = lower;
  r.lower = lower;
  r.upper = upper;
  r.residual = g_lower;
  r.message = std::move(error);
  return r;
}

// The common front of every solve on a given bracket: validate, refuse NaN
// ends, evaluate g at both ends, return the kInvalidBracket result when they
// do not bracket, else hand over to `solve(g, lower, upper, g_lower,
// g_upper, options, seed)` with the two evaluations already counted.
template <class T, class G, class Solve>
ScalarRootResult<T> solve_given_bracket(G& g, T lower, T upper, const ScalarRootOptions& options,
                                        ScalarRootMethod method, Solve&& solve) {
  static_assert(std::is_floating_point_v<T>, "root finding works on float, double, long double");
  options.validate();
  require_not_nan(lower, "lower");
  require_not_nan(upper, "upper");
  T g_lower, g_upper;
  if (auto failed = evaluate_bracket(g, lower, upper, method, g_lower, g_upper)) return *failed;
  ScalarRootResult<T> seed;
  seed.function_evaluations = 2;
  return solve(g, lower, upper, g_lower, g_upper, options, std::move(seed));
}

// Fills x, residual and the bracket of r from the final bracket [a, b]
// (either order of signs): x is the end with the smaller |g|.
template <class T>
void finish_from_bracket(ScalarRootResult<T>& r, T a, T b, T ga, T gb) {
  using std::fabs;
  r.lower = a;
  r.upper = b;
  const bool take_a = fabs(ga) <= fabs(gb);
  r.x = take_a ? a : b;
  r.residual = take_a ? ga : gb;
}

// When g is exactly 0 at an end of the checked bracket, fills r with that
// root (converged, nothing more to evaluate) and returns true: the first
// step of every bracketed method.
template <class T>
bool finish_if_root_at_an_end(ScalarRootResult<T>& r, T a, T b, T ga, T gb) {
  if (ga != 0 && gb != 0) return false;
  const T root = ga == 0 ? a : b;
  r.x = r.lower = r.upper = root;
  r.residual = T(0);
  r.status = Status::kConverged;
  r.message = "g is exactly 0 at a bracket end";
  return true;
}

// The three other ends of a step loop on the bracket [a, b], shared by
// bisection, ITP and Newton: max_iter reached, g not finite at a step's
// point x, g exactly 0 there. Each fills r (bracket, x, residual, status,
// message with the numbers) and returns it.
template <class T>
ScalarRootResult<T> stop_at_max_iter(ScalarRootResult<T>& r, T a, T b, T ga, T gb, int max_iter) {
  finish_from_bracket(r, a, b, ga, gb);
  r.status = Status::kMaxIterations;
  r.message = "max_iter = " + std::to_string(max_iter) + " reached with bracket width " +
              format_number(b - a);
  return r;
}

template <class T>
ScalarRootResult<T> stop_at_non_finite(ScalarRootResult<T>& r, T a, T b, T ga, T gb, T x, T gx) {
  finish_from_bracket(r, a, b, ga, gb);
  r.status = Status::kNonFinite;
  r.message = "g(" + format_number(x) + ") = " + format_number(gx) + " inside [" +
              format_number(a) + ", " + format_number(b) + "]";
  return r;
}

template <class T>
ScalarRootResult<T> stop_at_zero(ScalarRootResult<T>& r, T x) {
  r.x = r.lower = r.upper = x;
  r.residual = T(0);
  r.status = Status::kConverged;
  r.message = "g is exactly 0 at x";
  return r;
}

}  // namespace internal

}  // namespace implicit
