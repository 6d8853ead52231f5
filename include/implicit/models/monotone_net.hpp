#pragma once
// The monotone network of docs/reference-systems.md section 2 and its
// differentiable inverse.
//
// With H hidden units and parameters theta = (w, v, b), each of length H,
//
//     reloid(a) = (sigmoid(a_1), ..., sigmoid(a_{H-1}), relu(a_H))
//     R(x; theta) = exp(v)^T reloid(exp(w) * x + b) - exp(v)^T reloid(b).
//
// R(0) = 0 and R is nondecreasing (every unit is), strictly increasing
// wherever a sigmoid unit exists (H >= 2), and grows like
// exp(v_H + w_H) x for large x, so R(x) = y has exactly one root x >= 0 for
// every y >= 0 when H >= 2. The inverse is found by bracketing
// (root/find_root.hpp), or fastest by safeguarded Newton from a knot table
// (ScalarRootMethod::kNewton, root/newton.hpp; inverse_newton runs many
// targets at once in SIMD lanes, src/precompiled/monotone_inverse.cpp), and
// differentiated by the implicit function theorem:
//
//     dx/dy     =  1 / R'(x*)
//     dx/dtheta = -(dR/dtheta)(x*) / R'(x*),        x* = Rinv(y; theta).
//
// How R is evaluated. The formula above subtracts two sums of size
// ~ sum(exp(v)), so R(x) for small x carries an absolute error of a few
// ulp of that sum (docs/peers.md: |R(x) - y| ~ 5e-15 for H = 10) and small
// targets y lose relative accuracy. Each sigmoid unit's difference is
// evaluated instead without cancellation. With p = sigmoid(b), q =
// sigmoid(-b), d = exp(w) x and t = tanh(d / 2),
//
//     sigmoid(b + d) - sigmoid(b) = p q t / (sigmoid(d) p + sigmoid(-d) q),
//
// which follows from sigmoid(s) = (1 + tanh(s/2)) / 2 and the addition
// theorem of tanh; every term is positive for d >= 0. The relu unit's
// difference is d itself when both b and b + d are positive. So R(x) is
// accurate to a few ulp of R(x) itself, for tiny x as well. The solvers use
// value_and_slope, the same accuracy from one exponential per unit (its
// comment has the identities).
//
// Measured (bench/README.md "Monotone inverse", H = 10, 10^5 targets):
// TOMS 748 on value() 2.7e5-5.3e5 inverses / s; kNewton in the SIMD batch
// ~1.2e7 / s forward, ~7e6 / s with dx/dy and dx/dtheta.
//
// The relu kink: relu'(0) is taken as 0 (as PyTorch does), in the analytic
// derivatives and, because the branch tests a > 0, in the automatic ones,
// so both agree everywhere. R' is then left-continuous at the kink.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/internal/random.hpp"
#include "implicit/internal/scalar.hpp"
#include "implicit/root/batched.hpp"
#include "implicit/root/find_root.hpp"
#include "implicit/root/newton.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class S>
using MonotoneVector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

namespace internal {

// sigmoid(a) = 1 / (1 + exp(-a)), with the exponential of a non-positive
// number only, so it never overflows. S may be an Eigen::AutoDiffScalar.
template <class S>
S sigmoid(const S& a) {
  using std::exp;
  if (internal::value(a) >= 0) {
    const S e = exp(-a);
    return S(1 / (1 + e));
  }
  const S e = exp(a);
  return S(e / (1 + e));
}

// sigmoid(b + d) - sigmoid(b) from p = sigmoid(b), q = sigmoid(-b) and d,
// without cancellation (identity in the file comment). P is the parameters'
// scalar, S the input's; S must be able to absorb P (S = P, or S an
// AutoDiffScalar over P).
template <class P, class S>
S sigmoid_difference(const P& p, const P& q, const S& d) {
  using std::tanh;
  const S half_d = d / 2;
  const S t = tanh(half_d);
  const S minus_d = -d;
  const S den = sigmoid<S>(d) * p + sigmoid<S>(minus_d) * q;
  const S num = t * (p * q);
  return S(num / den);
}

// relu(b + d) - relu(b), equal to d itself when both are active (the common
// case for b > 0), so no cancellation there either.
template <class P, class S>
S relu_difference(const P& b, const S& d) {
  const S a = d + b;
  const bool a_on = internal::value(a) > 0;
  const bool b_on = internal::value(b) > 0;
  if (a_on && b_on) return d;
  if (a_on) return a;
  if (b_on) return S(d * 0 - b);  // d * 0 keeps an AutoDiffScalar's derivative size
  return S(d * 0);
}

inline std::string shape_error(const char* name, Eigen::Index size, Eigen::Index expected) {
  return std::string("monotone network: '") + name + "' has length " + std::to_string(size) +
         ", expected " + std::to_string(expected) + " (the length of 'w', H >= 1)";
}

template <class S>
void check_monotone_shapes(const MonotoneVector<S>& w, const MonotoneVector<S>& v,
                           const MonotoneVector<S>& b) {
  if (w.size() < 1) throw std::invalid_argument("monotone network: 'w' is empty; H must be >= 1");
  if (v.size() != w.size()) throw std::invalid_argument(shape_error("v", v.size(), w.size()));
  if (b.size() != w.size()) throw std::invalid_argument(shape_error("b", b.size(), w.size()));
}

}  // namespace internal

namespace internal {

// e = exp(-d) and 1 - e for d >= 0, both to full relative accuracy from one
// exponential: expm1 where 1 - e would cancel (d < ln 2, e > 1/2), exp
// where e itself would lose digits as 1 + expm1 (e <= 1/2).
template <class T>
void exp_and_complement(T d, T& e, T& one_minus_e) {
  if (d < T(0.693147180559945309)) {
    const T em = std::expm1(-d);
    e = 1 + em;
    one_minus_e = -em;
  } else {
    e = std::exp(-d);
    one_minus_e = 1 - e;
  }
}

// What the SIMD kernel (src/precompiled/monotone_inverse.cpp) reads: the
// theta-only terms over the H - 1 sigmoid units as arrays, the relu unit,
// the Newton start table and the stopping rule. Double only.
struct MonotoneKernelData {
  int sigmoids = 0;                                             // H - 1
  const double* ew = nullptr;                                   // exp(w_i)
  const double* p = nullptr;                                    // sigmoid(b_i)
  const double* q = nullptr;                                    // sigmoid(-b_i)
  const double* ev = nullptr;                                   // exp(v_i)
  const double* value_coef = nullptr;                           // exp(v_i) p_i q_i
  const double* slope_coef = nullptr;                           // exp(v_i + w_i) p_i q_i
  double relu_ew = 0, relu_b = 0, relu_ev = 0, relu_slope = 0;  // exp(w_H), b_H, exp(v_H), product
  int knots = 0;  // K; knot i at y_i = y_half i / (K - i)
  double y_half = 0;
  const double* knot_x = nullptr;     // x_i (knot_x[0] = 0)
  const double* knot_y = nullptr;     // R(x_i) as value_and_slope computes it
  const double* knot_dxdy = nullptr;  // 1 / R'(x_i) (inf where R' = 0)
  double abs_tol = 0, rel_tol = 0;    // BracketTolerance
  int max_iter = 0;
};

// Per-target outcome codes of the kernel; anything but the first three is
// redone by the scalar path, which writes the status and its message.
enum MonotoneLaneCode : int {
  kLaneConverged = 0,  // the bracket-width rule held
  kLaneExactZero = 1,  // g(x) == 0 at an evaluated point
  kLaneAtKnot = 2,     // R(knot) == y exactly: no evaluation
  kLaneScalar = 3,     // bad target, non-finite g, max_iter, or a tail bound that overflows
};

#ifdef IMPLICIT_MONOTONE_SIMD
// Batched safeguarded Newton (root/newton.hpp's rule, lane by lane) for
// targets y[0 .. n), writing x, the final bracket, g(x), the evaluation
// count and a MonotoneLaneCode per target. Runtime dispatch to the best
// instruction set of the machine (Highway).
void monotone_newton_simd(const MonotoneKernelData& k, const double* y, std::size_t n, double* x,
                          double* lower, double* upper, double* residual, int* evaluations,
                          int* code);
// dx/dy = 1 / R'(x_i) and row i of dx/dtheta = -dR/dtheta(x_i) / R'(x_i)
// into a column-major n x 3H array with leading dimension n.
void monotone_gradients_simd(const MonotoneKernelData& k, const double* x, std::size_t n,
                             double* dx_dy, double* dx_dtheta);
// The instruction set the dispatch chose ("AVX3" is AVX-512, "AVX2", ...).
const char* monotone_simd_target();
// For benchmarks and tests: dispatch as if the machine had no AVX-512
// (kAvx2: 4 lanes), nor AVX2 (kSse4: 2 lanes, the width Eigen's arrays get
// under generic x86-64 flags), or to the best target again. Not
// thread-safe.
enum class MonotoneSimdLimit { kBest, kAvx2, kSse4 };
void monotone_simd_limit(MonotoneSimdLimit limit);
#endif

}  // namespace internal

// R(x; w, v, b), generic in one scalar type S for parameters and input, so
// that forward-mode AD (Eigen::AutoDiffScalar) can seed any of them.
// Cost: O(H): per unit about 6 exp and 1 tanh.
// Throws std::invalid_argument when w, v, b differ in length or are empty.
template <class S>
S monotone_forward(const MonotoneVector<S>& w, const MonotoneVector<S>& v,
                   const MonotoneVector<S>& b, const S& x) {
  using std::exp;
  internal::check_monotone_shapes(w, v, b);
  const Eigen::Index h = w.size();
  S sum = x * 0;
  for (Eigen::Index i = 0; i + 1 < h; ++i) {
    const S d = exp(w[i]) * x;
    const S minus_b = -b[i];
    const S p = internal::sigmoid<S>(b[i]);
    const S q = internal::sigmoid<S>(minus_b);
    sum += exp(v[i]) * internal::sigmoid_difference<S, S>(p, q, d);
  }
  const S d = exp(w[h - 1]) * x;
  sum += exp(v[h - 1]) * internal::relu_difference<S, S>(b[h - 1], d);
  return sum;
}

// Outcome of MonotoneNet::inverse_batched: one root solve per target.
template <class T>
struct [[nodiscard]] MonotoneInverseBatch {
  MonotoneVector<T> x;                       // x[i] = results[i].x
  std::vector<ScalarRootResult<T>> results;  // per target: status, counts, message

  bool ok() const { return all_converged(results); }
  // Mean g evaluations per target (0 for an empty batch).
  double mean_evaluations() const {
    if (results.empty()) return 0;
    double total = 0;
    for (const auto& r : results) total += r.function_evaluations;
    return total / static_cast<double>(results.size());
  }
};

// Outcome of MonotoneNet::inverse_newton, the fast batched inverse: one
// entry per target in flat arrays (a vector of ScalarRootResult, with its
// string per target, costs ~50 ns per target to construct: half the time of
// an inverse), and the message of every target that failed.
template <class T>
struct [[nodiscard]] MonotoneNewtonBatch {
  MonotoneVector<T> x;           // the end of the final bracket with the smaller |R - y|
  MonotoneVector<T> residual;    // R(x) - y as the solver computed it
  MonotoneVector<T> lower;       // final bracket [lower, upper]: the root lies inside
  MonotoneVector<T> upper;       //   when status is kConverged
  std::vector<Status> status;    // per target, as ScalarRootResult::status
  std::vector<int> evaluations;  // evaluations of R and R' per target (table starts are free)
  // (index, message) for every target whose status is not kConverged, in
  // index order; the message has y and the numbers that stopped it.
  std::vector<std::pair<Eigen::Index, std::string>> failures;

  bool ok() const { return failures.empty(); }
  Eigen::Index size() const { return x.size(); }
  // Mean evaluations per target (0 for an empty batch).
  double mean_evaluations() const {
    if (evaluations.empty()) return 0;
    double total = 0;
    for (int e : evaluations) total += e;
    return total / static_cast<double>(evaluations.size());
  }
  // Target i as a ScalarRootResult (iterations = evaluations: every Newton
  // step is one evaluation inside the bracket). O(1) plus its message.
  ScalarRootResult<T> result(Eigen::Index i) const {
    const std::size_t k = static_cast<std::size_t>(i);
    ScalarRootResult<T> r;
    r.method = ScalarRootMethod::kNewton;
    r.x = x[i];
    r.residual = residual[i];
    r.lower = lower[i];
    r.upper = upper[i];
    r.status = status[k];
    r.iterations = r.function_evaluations = evaluations[k];
    if (status[k] != Status::kConverged)
      for (const auto& f : failures)
        if (f.first == i) r.message = f.second;
    return r;
  }
};

// IFT derivatives of x* = Rinv(y; theta) for a batch of targets.
template <class T>
struct [[nodiscard]] MonotoneInverseGradients {
  using Vector = MonotoneVector<T>;
  using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

  Vector dx_dy;      // dx_dy[i] = 1 / R'(x_i)
  Matrix dx_dtheta;  // row i = -(dR/dtheta)(x_i) / R'(x_i), columns w | v | b
  // Per row: kConverged; kLinearSolveFailed where R'(x_i) is 0 or not
  // finite (the 1 x 1 IFT system is singular); or the forward solve's
  // status where that failed. Rows that are not kConverged are NaN.
  std::vector<Status> status;
  std::string message;  // the first failed row, with its numbers; else empty

  bool ok() const {
    for (Status s : status)
      if (s != Status::kConverged) return false;
    return true;
  }
  Eigen::Index hidden() const { return dx_dtheta.cols() / 3; }
  Matrix dx_dw() const { return dx_dtheta.leftCols(hidden()); }
  Matrix dx_dv() const { return dx_dtheta.middleCols(hidden(), hidden()); }
  Matrix dx_db() const { return dx_dtheta.rightCols(hidden()); }
};

// The network with fixed parameters of scalar type T (float or double).
// Parameter-only quantities (exp(w), exp(v), sigmoid(+-b) and their
// products) are computed once at construction; evaluation is O(H) with no
// allocation. The knot table that starts ScalarRootMethod::kNewton is built
// on its first use (K = 256 inverses by TOMS 748, ~0.3 ms for H = 10) and
// shared by copies of the net.
template <class T>
class MonotoneNet {
 public:
  static_assert(std::is_floating_point_v<T>, "MonotoneNet<T>: T is float or double");
  using Vector = MonotoneVector<T>;

  // Knots of the Newton start table (see newton_start).
  static constexpr int kKnots = 256;

  // Throws std::invalid_argument naming the field when w, v, b differ in
  // length, are empty, or hold a NaN / infinity.
  MonotoneNet(Vector w, Vector v, Vector b) : w_(std::move(w)), v_(std::move(v)), b_(std::move(b)) {
    internal::check_monotone_shapes(w_, v_, b_);
    check_finite(w_, "w");
    check_finite(v_, "v");
    check_finite(b_, "b");
    exp_w_ = w_.array().exp();
    exp_v_ = v_.array().exp();
    p_.resize(hidden());
    q_.resize(hidden());
    for (Eigen::Index i = 0; i < hidden(); ++i) {
      p_[i] = internal::sigmoid<T>(b_[i]);
      q_[i] = internal::sigmoid<T>(-b_[i]);
    }
    value_coef_ = (exp_v_.array() * p_.array() * q_.array()).matrix();
    slope_coef_ = (value_coef_.array() * exp_w_.array()).matrix();
    table_ = std::make_shared<Table>();
  }

  Eigen::Index hidden() const { return w_.size(); }
  const Vector& w() const { return w_; }
  const Vector& v() const { return v_; }
  const Vector& b() const { return b_; }
  // (w, v, b) stacked, the order of grad_theta and dx_dtheta's columns.
  Vector theta() const {
    Vector t(3 * hidden());
    t << w_, v_, b_;
    return t;
  }

  // R(x). S is T or an Eigen::AutoDiffScalar over T (forward-mode AD in x);
  // for AD in the parameters use monotone_forward. Cost O(H): 2 exp and
  // 1 tanh per unit, no allocation for S = T. NaN in, NaN out. The solvers
  // use value_and_slope, the same function at a third of the cost.
  template <class S>
  S value(const S& x) const {
    S sum = x * 0;
    const Eigen::Index last = hidden() - 1;
    for (Eigen::Index i = 0; i < last; ++i) {
      const S d = x * exp_w_[i];
      sum += internal::sigmoid_difference<T, S>(p_[i], q_[i], d) * exp_v_[i];
    }
    const S d = x * exp_w_[last];
    sum += internal::relu_difference<T, S>(b_[last], d) * exp_v_[last];
    return sum;
  }

  // R(x) and R'(x) together, for x >= 0, from one exponential per sigmoid
  // unit. With d = exp(w_i) x, e = exp(-d), p = sigmoid(b_i), q = sigmoid(-b_i):
  //
  //     sigmoid(b + d) - sigmoid(b) = p q (1 - e) / (p + q e)
  //     sigmoid'(b + d)             = p q e / (p + q e)^2
  //
  // (sigmoid(b + d) = p / (p + q e) since exp(-b) = q / p), with e and 1 - e
  // from internal::exp_and_complement, so every term is a product of
  // positive factors with full relative accuracy: no cancellation for tiny x
  // and none for b << 0. The relu unit as in value(). Cost O(H): one exp or
  // expm1 and one division per sigmoid unit. NaN in, NaN out.
  ValueAndSlope<T> value_and_slope(T x) const {
    T r = 0, s = 0;
    const Eigen::Index last = hidden() - 1;
    for (Eigen::Index i = 0; i < last; ++i) {
      T e, one_minus_e;
      internal::exp_and_complement(exp_w_[i] * x, e, one_minus_e);
      const T inv = 1 / (p_[i] + q_[i] * e);
      r += value_coef_[i] * one_minus_e * inv;
      s += slope_coef_[i] * e * inv * inv;
    }
    const T d = exp_w_[last] * x;
    r += internal::relu_difference<T, T>(b_[last], d) * exp_v_[last];
    if (d + b_[last] > 0) s += exp_v_[last] * exp_w_[last];
    return {r, s};
  }

  // R'(x) = sum_{i<H} exp(v_i + w_i) sigmoid'(a_i) + exp(v_H + w_H) [a_H > 0],
  // a = exp(w) x + b (relu'(0) = 0), for x >= 0 by value_and_slope.
  // Cost O(H). Never fails; NaN in, NaN out.
  T derivative(T x) const { return value_and_slope(x).slope; }

  // dR/dtheta at x, length 3H in the order w, v, b:
  //   dR/dw_i = exp(v_i) reloid_i'(a_i) exp(w_i) x
  //   dR/dv_i = exp(v_i) (reloid_i(a_i) - reloid_i(b_i))
  //   dR/db_i = exp(v_i) (reloid_i'(a_i) - reloid_i'(b_i))
  // Cost O(H) and one allocation (the result). NaN in, NaN out.
  Vector grad_theta(T x) const {
    const Eigen::Index h = hidden();
    Vector g(3 * h);
    (void)grad_theta_into(x, g.data(), 1);
    return g;
  }

  // x >= 0 with R(x) = y, by find_root_increasing from 0 (options.method,
  // TOMS 748 by default), or for kNewton by safeguarded Newton
  // (root/newton.hpp) from the knot table's start (newton_start).
  // y == 0 gives x = 0 (R(0) = 0 exactly).
  // Cost: with the defaults on the H = 10 reference net and y in (0, 10),
  // 8.4 R evaluations per inverse on average (max 14) with TOMS 748, 53.5
  // (max 61) with bisection; about log2(x*) + 2 of them grow the bracket.
  // kNewton: 2.7 evaluations of R and R' together (value_and_slope) from
  // the table (2 for 46% of targets, 3 for 47%, at most 6), none spent on
  // the bracket.
  // Fails with status kInvalidBracket when y < 0 or y = +inf (no x >= 0 has
  // R(x) = y; message with y) or when BracketOptions allow no right end
  // with R > y (message with y, the last right end and R - y there; kNewton
  // needs no growth: its right end beyond the table is the bound of
  // newton_start); kMaxIterations, kNonFinite (R overflowing) as find_root.
  // Throws std::invalid_argument for a NaN y or invalid options.
  ScalarRootResult<T> inverse(T y, const ScalarRootOptions& options = {}) const {
    options.validate();
    if (std::isnan(y)) throw std::invalid_argument("MonotoneNet::inverse: y is NaN");
    if (options.method == ScalarRootMethod::kNewton) return inverse_newton_one(y, options);
    if (!(y >= 0) || std::isinf(y)) return bad_target(y, options.method);
    ScalarRootResult<T> r =
        find_root_increasing([this, y](T x) { return value(x) - y; }, T(0), options);
    if (!r.ok()) r.message = "y = " + internal::format_number(y) + ": " + r.message;
    return r;
  }

  // inverse(y[i]) for every i, each with its own bracket, iterations and
  // status (exactly the one-at-a-time results; for kNewton inverse_newton's,
  // which equal one-at-a-time to a few ulp, as ScalarRootResults).
  // Cost: size(y) inverses.
  // Throws std::invalid_argument (before any solve) when some y[i] is NaN,
  // naming i, or for invalid options.
  MonotoneInverseBatch<T> inverse_batched(const Vector& y,
                                          const ScalarRootOptions& options = {}) const {
    options.validate();
    for (Eigen::Index i = 0; i < y.size(); ++i)
      if (std::isnan(y[i]))
        throw std::invalid_argument("MonotoneNet::inverse_batched: y[" + std::to_string(i) +
                                    "] is NaN");
    MonotoneInverseBatch<T> out;
    if (options.method == ScalarRootMethod::kNewton) {
      const MonotoneNewtonBatch<T> fast = inverse_newton(y, options);
      out.x = fast.x;
      out.results.reserve(static_cast<std::size_t>(y.size()));
      for (Eigen::Index i = 0; i < y.size(); ++i) out.results.push_back(fast.result(i));
      return out;
    }
    out.x.resize(y.size());
    out.results.reserve(static_cast<std::size_t>(y.size()));
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      out.results.push_back(inverse(y[i], options));
      out.x[i] = out.results.back().x;
    }
    return out;
  }

  // The fast batched inverse: safeguarded Newton (options.method is
  // ignored; the stopping rule, max_iter and the statuses are those of
  // ScalarRootOptions) from the table start, every target isolated: a NaN,
  // negative or infinite y[i] fails its own entry (kInvalidBracket, message
  // with its value), the others are unaffected. For T = double linked with
  // implicit::precompiled built with Highway (IMPLICIT_MONOTONE_SIMD), the
  // targets run 8 (AVX-512) or 4 (AVX2) at a time in SIMD lanes; otherwise,
  // and for the lanes the kernel hands back (bad targets, non-finite R,
  // max_iter), the scalar inverse(y, kNewton). Both stop on the same rule
  // with the same status; x agrees to a few ulp (the SIMD exponential is
  // not std::exp), and the evaluation count can differ by one where that
  // moves a sign test.
  // Cost: ~2.6 evaluations of R and R' per target on the reference net, no
  // allocation beyond the result's arrays. Throws std::invalid_argument for
  // invalid options only.
  MonotoneNewtonBatch<T> inverse_newton(const Vector& y,
                                        const ScalarRootOptions& options = {}) const {
    MonotoneNewtonBatch<T> out;
    inverse_newton_into(y, out, options);
    return out;
  }

  // inverse_newton into `out`, reusing its arrays when they already have
  // size(y) entries: a loop over batches of one size allocates once (a fresh
  // 10^5-target result costs ~10 ns per target in page faults alone). `out`
  // is overwritten entirely.
  void inverse_newton_into(const Vector& y, MonotoneNewtonBatch<T>& out,
                           const ScalarRootOptions& options = {}) const {
    options.validate();
    out.failures.clear();
    const Eigen::Index n = y.size();
    out.x.resize(n);
    out.residual.resize(n);
    out.lower.resize(n);
    out.upper.resize(n);
    out.status.resize(static_cast<std::size_t>(n));
    out.evaluations.resize(static_cast<std::size_t>(n));
    if (n == 0) return;
    const Table& table = knot_table();
#ifdef IMPLICIT_MONOTONE_SIMD
    if constexpr (std::is_same_v<T, double>) {
      const internal::MonotoneKernelData data = kernel_data(&table, options);
      constexpr Eigen::Index kChunk = 256;
      int code[kChunk];
      for (Eigen::Index start = 0; start < n; start += kChunk) {
        const Eigen::Index m = std::min(kChunk, n - start);
        internal::monotone_newton_simd(data, y.data() + start, static_cast<std::size_t>(m),
                                       out.x.data() + start, out.lower.data() + start,
                                       out.upper.data() + start, out.residual.data() + start,
                                       out.evaluations.data() + start, code);
        for (Eigen::Index j = 0; j < m; ++j) {
          const Eigen::Index i = start + j;
          if (code[j] == internal::kLaneScalar)
            store(out, i, inverse_newton_one(y[i], options));
          else
            out.status[static_cast<std::size_t>(i)] = Status::kConverged;
        }
      }
      return;
    }
#endif
    (void)table;
    for (Eigen::Index i = 0; i < n; ++i) store(out, i, inverse_newton_one(y[i], options));
  }

  // The Newton start for a target y > 0 (finite): a bracket [lower, upper]
  // with R(lower) <= y <= R(upper) and a first point x0 inside it. The knots
  // sit at y_i = y_half i / (K - i), i = 0 .. K-1 (dense near 0, spreading
  // out like a compressed axis; y_half = R(x_half), x_half the largest
  // (1 + |b_i|) / exp(w_i), past every unit's transition and the relu kink),
  // x_i their inverses, so the interval of y is found by one division and
  // one correction; x0 is the cubic Hermite interpolant of the inverse with
  // slopes 1 / R'(x_i) (linear where R' = 0). Beyond the last knot R grows
  // at least like the relu unit, R(x) >= R(x_K) + exp(v_H + w_H)(x - x_K),
  // which bounds the root from above (g_upper = +inf marks an end known but
  // not evaluated). Measured relative start error on the reference net, 10^4
  // targets in (0, 10): median 4.5e-10, 90% below 6.4e-7, worst 1.2e-2 (the
  // interval that holds the relu kink, where the inverse is not smooth).
  // Cost O(1), no R evaluation.
  struct NewtonStart {
    T lower, upper, g_lower, g_upper, x0;
  };
  NewtonStart newton_start(T y) const {
    const Table& t = knot_table();
    const int k = t.interval(y);
    NewtonStart s;
    s.lower = t.x[k];
    s.g_lower = t.y[k] - y;
    if (k + 1 < kKnots) {
      s.upper = t.x[k + 1];
      s.g_upper = t.y[k + 1] - y;
      s.x0 = hermite(t, k, y);
    } else {
      s.x0 = s.lower + (y - t.y[k]) * t.dxdy[k];
      s.upper =
          (s.lower + (y - t.y[k]) / relu_slope()) * (1 + 16 * std::numeric_limits<T>::epsilon());
      s.g_upper = std::numeric_limits<T>::infinity();
    }
    return s;
  }

  // IFT derivatives at the roots x_star[i] (taken as exact: the error of a
  // converged x* enters the derivatives only to first order, ~ its
  // relative tolerance times R''/R'). Cost O(H) per row (one exponential per
  // sigmoid unit, SIMD for double with IMPLICIT_MONOTONE_SIMD), one
  // allocation. Rows where R'(x_i) is 0 or not finite get status
  // kLinearSolveFailed and NaN values (not a silent inf); see
  // MonotoneInverseGradients.
  MonotoneInverseGradients<T> inverse_gradients(const Vector& x_star) const {
    MonotoneInverseGradients<T> out;
    inverse_gradients_into(x_star, out);
    return out;
  }

  // inverse_gradients into `out`, reusing its storage when the shapes match
  // (the n x 3H matrix is the largest array here: 24 MB for 10^5 targets,
  // whose fresh pages cost more than computing it). Overwrites `out`.
  void inverse_gradients_into(const Vector& x_star, MonotoneInverseGradients<T>& out) const {
    const Eigen::Index n = x_star.size();
    const Eigen::Index h = hidden();
    out.dx_dy.resize(n);
    out.dx_dtheta.resize(n, 3 * h);
    out.status.assign(static_cast<std::size_t>(n), Status::kConverged);
    out.message.clear();
    bool done = false;
#ifdef IMPLICIT_MONOTONE_SIMD
    if constexpr (std::is_same_v<T, double>) {
      if (n > 0) {
        internal::monotone_gradients_simd(kernel_data(nullptr, ScalarRootOptions{}), x_star.data(),
                                          static_cast<std::size_t>(n), out.dx_dy.data(),
                                          out.dx_dtheta.data());
      }
      done = true;
    }
#endif
    for (Eigen::Index i = 0; i < n; ++i) {
      if (!done) {
        const T slope = grad_theta_into(x_star[i], out.dx_dtheta.data() + i, n);
        out.dx_dy[i] = 1 / slope;
        // -g / slope, + 0 turning the -0 of zero entries (an inactive relu
        // unit) into +0.
        for (Eigen::Index j = 0; j < 3 * h; ++j)
          out.dx_dtheta(i, j) = -out.dx_dtheta(i, j) / slope + T(0);
      }
      if (!(out.dx_dy[i] > 0) || !std::isfinite(out.dx_dy[i])) {
        const T slope = derivative(x_star[i]);
        fail_row(out, i, Status::kLinearSolveFailed,
                 "R'(x*) = " + internal::format_number(slope) +
                     " at x* = " + internal::format_number(x_star[i]) +
                     ": dx/dy = 1/R'(x*) is undefined (R is flat or overflows there)");
      }
    }
  }

  // As above at the roots of a batched inverse; rows whose forward solve did
  // not converge carry the forward status and NaN values.
  MonotoneInverseGradients<T> inverse_gradients(const MonotoneInverseBatch<T>& forward) const {
    MonotoneInverseGradients<T> out = inverse_gradients(forward.x);
    for (std::size_t i = 0; i < forward.results.size(); ++i)
      if (!forward.results[i].ok())
        fail_row(out, static_cast<Eigen::Index>(i), forward.results[i].status,
                 "the forward solve did not converge: " + forward.results[i].message);
    return out;
  }

  // As above at the roots of inverse_newton; rows whose solve did not
  // converge carry its status and NaN values.
  MonotoneInverseGradients<T> inverse_gradients(const MonotoneNewtonBatch<T>& forward) const {
    MonotoneInverseGradients<T> out;
    inverse_gradients_into(forward, out);
    return out;
  }
  void inverse_gradients_into(const MonotoneNewtonBatch<T>& forward,
                              MonotoneInverseGradients<T>& out) const {
    inverse_gradients_into(forward.x, out);
    for (const auto& f : forward.failures)
      fail_row(out, f.first, forward.status[static_cast<std::size_t>(f.first)],
               "the forward solve did not converge: " + f.second);
  }

  // Which code runs inverse_newton and inverse_gradients for T: the SIMD
  // instruction set Highway chose at runtime ("AVX3" is AVX-512), or
  // "scalar".
  static const char* batch_backend() {
#ifdef IMPLICIT_MONOTONE_SIMD
    if constexpr (std::is_same_v<T, double>) return internal::monotone_simd_target();
#endif
    return "scalar";
  }

 private:
  // The knot table of newton_start, built once (std::call_once) on first use.
  struct Table {
    std::once_flag once;
    std::vector<T> x, y, dxdy;
    T y_half = 0;
    // The k with y[k] <= target < y[k + 1] (k = K - 1: the tail), for a
    // finite target >= 0: the index of the compressed axis, corrected.
    int interval(T target) const {
      const T u = target / (target + y_half);
      int k = static_cast<int>(u * T(kKnots));
      k = std::max(0, std::min(k, kKnots - 1));
      while (k > 0 && target < y[static_cast<std::size_t>(k)]) --k;
      while (k + 1 < kKnots && target >= y[static_cast<std::size_t>(k) + 1]) ++k;
      return k;
    }
  };

  const Table& knot_table() const {
    std::call_once(table_->once, [this] { build_table(*table_); });
    return *table_;
  }
  void build_table(Table& t) const {
    const Eigen::Index h = hidden();
    T x_half = 0;
    for (Eigen::Index i = 0; i < h; ++i)
      x_half = std::max(x_half, (1 + std::abs(b_[i])) / exp_w_[i]);
    t.y_half = value_and_slope(x_half).value;
    t.x.assign(kKnots, T(0));
    t.y.assign(kKnots, T(0));
    t.dxdy.assign(kKnots, T(0));
    const T slope0 = value_and_slope(T(0)).slope;
    t.dxdy[0] = 1 / slope0;
    ScalarRootOptions o;  // TOMS 748 to adjacent numbers
    for (int i = 1; i < kKnots; ++i) {
      const T target = t.y_half * T(i) / T(kKnots - i);
      const T from = t.x[static_cast<std::size_t>(i) - 1];
      auto r = find_root_increasing(
          [this, target](T x) { return value_and_slope(x).value - target; }, from, o);
      // R is continuous, increasing and unbounded and the knots lie inside
      // float / double range for finite parameters, so this converges; a
      // knot that did not (overflowing R) repeats the previous one, which
      // interval() steps over.
      const T xi = r.ok() ? r.x : from;
      const ValueAndSlope<T> v = value_and_slope(xi);
      t.x[static_cast<std::size_t>(i)] = xi;
      t.y[static_cast<std::size_t>(i)] = v.value;
      t.dxdy[static_cast<std::size_t>(i)] = 1 / v.slope;
    }
  }

  T hermite(const Table& t, int k, T y) const {
    const std::size_t i = static_cast<std::size_t>(k);
    const T h = t.y[i + 1] - t.y[i];
    const T s = (y - t.y[i]) / h;
    const T dx = t.x[i + 1] - t.x[i];
    const T m0 = t.dxdy[i] * h, m1 = t.dxdy[i + 1] * h;
    // x(s) = x0 + m0 s + (3 dx - 2 m0 - m1) s^2 + (m0 + m1 - 2 dx) s^3; NaN
    // (R' = 0 at a knot) falls back to the midpoint in newton_bracket.
    return t.x[i] + s * (m0 + s * ((3 * dx - 2 * m0 - m1) + s * (m0 + m1 - 2 * dx)));
  }

  T relu_slope() const { return exp_v_[hidden() - 1] * exp_w_[hidden() - 1]; }

  static ScalarRootResult<T> bad_target(T y, ScalarRootMethod method) {
    using internal::format_number;
    ScalarRootResult<T> r;
    r.method = method;
    r.status = Status::kInvalidBracket;
    r.residual = -y;
    r.message = std::isnan(y) ? std::string("y is NaN: no x has R(x) = y")
                : y < 0       ? "y = " + format_number(y) +
                              " < 0 = R(0): R is increasing from R(0) = 0, so no x >= 0 has "
                              "R(x) = y"
                        : "y = " + format_number(y) + ": R(x) = y has no finite solution";
    return r;
  }

  static void store(MonotoneNewtonBatch<T>& out, Eigen::Index i, ScalarRootResult<T> r) {
    const std::size_t k = static_cast<std::size_t>(i);
    out.x[i] = r.x;
    out.residual[i] = r.residual;
    out.lower[i] = r.lower;
    out.upper[i] = r.upper;
    out.status[k] = r.status;
    out.evaluations[k] = r.function_evaluations;
    if (!r.ok()) out.failures.emplace_back(i, std::move(r.message));
  }

  // One target by kNewton (scalar), any y (NaN included: its own status).
  ScalarRootResult<T> inverse_newton_one(T y, const ScalarRootOptions& options) const {
    if (!(y >= 0) || std::isinf(y)) return bad_target(y, ScalarRootMethod::kNewton);
    ScalarRootResult<T> seed;
    seed.method = ScalarRootMethod::kNewton;
    if (y == 0) {
      seed.status = Status::kConverged;
      seed.message = "g is exactly 0 at a bracket end";
      return seed;
    }
    const NewtonStart s = newton_start(y);
    if (!std::isfinite(s.upper)) {
      ScalarRootResult<T> r = bad_target(std::numeric_limits<T>::infinity(), seed.method);
      r.x = r.lower = r.upper = s.lower;
      r.residual = s.g_lower;
      r.message = "y = " + internal::format_number(y) +
                  ": the root lies beyond the largest finite number (bound " +
                  internal::format_number(s.upper) + ")";
      return r;
    }
    auto gd = [this, y](T x) {
      ValueAndSlope<T> v = value_and_slope(x);
      v.value -= y;
      return v;
    };
    ScalarRootResult<T> r = internal::newton_bracket(gd, s.lower, s.upper, s.g_lower, s.g_upper,
                                                     s.x0, options, std::move(seed));
    if (!r.ok()) r.message = "y = " + internal::format_number(y) + ": " + r.message;
    return r;
  }

  // The kernel's view of this net; t = nullptr for the gradients, which
  // read no table.
  internal::MonotoneKernelData kernel_data(const Table* t, const ScalarRootOptions& options) const {
    static_assert(std::is_same_v<T, double>, "the SIMD kernel is double only");
    internal::MonotoneKernelData k;
    const Eigen::Index last = hidden() - 1;
    k.sigmoids = static_cast<int>(last);
    k.ew = exp_w_.data();
    k.p = p_.data();
    k.q = q_.data();
    k.ev = exp_v_.data();
    k.value_coef = value_coef_.data();
    k.slope_coef = slope_coef_.data();
    k.relu_ew = exp_w_[last];
    k.relu_b = b_[last];
    k.relu_ev = exp_v_[last];
    k.relu_slope = relu_slope();
    if (t != nullptr) {
      k.knots = kKnots;
      k.y_half = t->y_half;
      k.knot_x = t->x.data();
      k.knot_y = t->y.data();
      k.knot_dxdy = t->dxdy.data();
    }
    const internal::BracketTolerance<double> tol(options);
    k.abs_tol = tol.abs_tol;
    k.rel_tol = tol.rel_tol;
    k.max_iter = options.max_iter;
    return k;
  }

  static void check_finite(const Vector& p, const char* name) {
    for (Eigen::Index i = 0; i < p.size(); ++i)
      if (!std::isfinite(p[i]))
        throw std::invalid_argument(std::string("MonotoneNet: '") + name + "'[" +
                                    std::to_string(i) + "] = " + internal::format_number(p[i]) +
                                    " is not finite");
  }

  // dR/dtheta at x into g[0], g[stride], ... (3H entries); returns R'(x).
  // One exponential per sigmoid unit (value_and_slope's identities), with
  // sigmoid'(a) = p q e / (p + q e)^2 and sigmoid'(b) = p q.
  T grad_theta_into(T x, T* g, Eigen::Index stride) const {
    const Eigen::Index h = hidden();
    const Eigen::Index last = h - 1;
    T slope = 0;
    for (Eigen::Index i = 0; i < last; ++i) {
      const T d = exp_w_[i] * x;
      T e, one_minus_e;
      internal::exp_and_complement(d, e, one_minus_e);
      const T inv = 1 / (p_[i] + q_[i] * e);
      const T pq = p_[i] * q_[i];
      const T slope_a = pq * e * inv * inv;
      g[i * stride] = exp_v_[i] * slope_a * d;
      g[(h + i) * stride] = exp_v_[i] * (pq * one_minus_e * inv);
      g[(2 * h + i) * stride] = exp_v_[i] * (slope_a - pq);
      slope += slope_coef_[i] * e * inv * inv;
    }
    const T d = exp_w_[last] * x;
    const T on_a = d + b_[last] > 0 ? T(1) : T(0);
    const T on_b = b_[last] > 0 ? T(1) : T(0);
    g[last * stride] = exp_v_[last] * on_a * d;
    g[(h + last) * stride] = exp_v_[last] * internal::relu_difference<T, T>(b_[last], d);
    g[(2 * h + last) * stride] = exp_v_[last] * (on_a - on_b);
    slope += on_a * relu_slope();
    return slope;
  }

  static void fail_row(MonotoneInverseGradients<T>& out, Eigen::Index i, Status status,
                       const std::string& why) {
    const T nan = std::numeric_limits<T>::quiet_NaN();
    out.status[static_cast<std::size_t>(i)] = status;
    out.dx_dy[i] = nan;
    out.dx_dtheta.row(i).setConstant(nan);
    if (out.message.empty()) out.message = "row " + std::to_string(i) + ": " + why;
  }

  Vector w_, v_, b_;
  Vector exp_w_, exp_v_;
  Vector p_, q_;                    // sigmoid(b), sigmoid(-b)
  Vector value_coef_, slope_coef_;  // exp(v) p q, exp(v + w) p q
  std::shared_ptr<Table> table_;    // built by knot_table(), shared by copies
};

// The seed of the reference example (docs/reference-systems.md section 2,
// docs/peers.md's H = 10).
inline constexpr std::uint64_t kReferenceMonotoneSeed = 0;

// A reproducible network: w, v, b ~ N(0, 1), drawn in that order (all of w,
// then v, then b) in double by internal::NormalSampler (Box-Muller over
// std::mt19937_64, identical on every standard library, unlike
// std::normal_distribution), then rounded to T, so float and double nets
// share their parameters. Cost O(H).
// Throws std::invalid_argument for hidden < 1.
template <class T = double>
MonotoneNet<T> make_reference_monotone_net(Eigen::Index hidden = 10,
                                           std::uint64_t seed = kReferenceMonotoneSeed) {
  if (hidden < 1)
    throw std::invalid_argument("make_reference_monotone_net: hidden must be >= 1, got " +
                                std::to_string(hidden));
  internal::NormalSampler normal(seed);
  MonotoneVector<T> w(hidden), v(hidden), b(hidden);
  for (auto* p : {&w, &v, &b})
    for (Eigen::Index i = 0; i < hidden; ++i) (*p)[i] = static_cast<T>(normal());
  return MonotoneNet<T>(std::move(w), std::move(v), std::move(b));
}

}  // namespace implicit
