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
// every y >= 0 when H >= 2. The inverse is found by safeguarded Newton
// from a knot table (ScalarRootMethod::kNewton, root/newton.hpp), the
// default of inverse_batched (inverse_newton runs many targets at once in
// SIMD lanes, src/models/monotone_inverse.cpp), or by bracketing
// (root/find_root.hpp; TOMS 748, the default of the one-target inverse),
// and differentiated by the implicit function theorem:
//
//     dx/dy     =  1 / R'(x*)
//     dx/dtheta = -(dR/dtheta)(x*) / R'(x*),        x* = Rinv(y; theta).
//
// How R is evaluated. The formula above subtracts two sums of size
// ~ sum(exp(v)), so R(x) for small x carries an absolute error of a few
// ulp of that sum (docs/peers.md: |R(x) - y| ~ 5e-15 for H = 10) and small
// targets y lose relative accuracy; its parameter derivatives subtract per
// unit and lose everything on flat, saturated or huge-bias networks. R, R'
// and dR/dtheta are instead evaluated by one cancellation-free closed form,
// models/monotone_formula-inl.hpp (the identities are in its comments and
// in monotone_formula.hpp), which this class, the SIMD kernel and the
// tensor layer all run. For forward-mode AD in x, value<AutoDiffScalar>
// uses the tanh form of the same difference: with p = sigmoid(b), q =
// sigmoid(-b), d = exp(w) x and t = tanh(d / 2),
//
//     sigmoid(b + d) - sigmoid(b) = p q t / (sigmoid(d) p + sigmoid(-d) q),
//
// which follows from sigmoid(s) = (1 + tanh(s/2)) / 2 and the addition
// theorem of tanh; every term is positive for d >= 0. The relu unit's
// difference is d itself when both b and b + d are positive.
//
// Measured (bench/README.md "Monotone inverse", H = 10, 10^5 targets):
// TOMS 748 2.7e5-5.3e5 inverses / s (then on the tanh form); kNewton in the
// SIMD batch ~1.2e7 / s forward, ~7e6 / s with dx/dy and dx/dtheta.
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
#include "implicit/models/monotone_formula.hpp"
#include "implicit/models/monotone_forward.hpp"
#include "implicit/models/monotone_kernel.hpp"
#include "implicit/models/monotone_net_batch.hpp"
#include "implicit/root/batched.hpp"
#include "implicit/root/find_root.hpp"
#include "implicit/root/newton.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

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
  // for AD in the parameters use monotone_forward. For S = T this is
  // value_and_slope(x).value (the one closed form, monotone_formula.hpp;
  // x >= 0). An AutoDiffScalar evaluates the same function through the
  // tanh identity of the file comment (2 exp and 1 tanh per unit), which
  // forward-mode AD can differentiate. NaN in, NaN out.
  template <class S>
  S value(const S& x) const {
    if constexpr (std::is_same_v<S, T>) {
      return value_and_slope(x).value;
    } else {
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
  // and none for b << 0. The relu unit as in value(). The formula is
  // internal::monotone_value_and_slope (monotone_formula-inl.hpp), which
  // the SIMD kernel runs too. Cost O(H): one exp or expm1 and one division
  // per sigmoid unit. NaN in, NaN out.
  ValueAndSlope<T> value_and_slope(T x) const {
    T r, s;
    internal::monotone_value_and_slope(internal::ScalarArithmetic<T>{}, coefficients(), x, r, s);
    return {r, s};
  }

  // R'(x) = sum_{i<H} exp(v_i + w_i) sigmoid'(a_i) + exp(v_H + w_H) [a_H > 0],
  // a = exp(w) x + b (relu'(0) = 0), for x >= 0 by value_and_slope.
  // Cost O(H). Never fails; NaN in, NaN out.
  T derivative(T x) const { return value_and_slope(x).slope; }

  // dR/dtheta at x >= 0, length 3H in the order w, v, b:
  //   dR/dw_i = exp(v_i) reloid_i'(a_i) exp(w_i) x
  //   dR/dv_i = exp(v_i) (reloid_i(a_i) - reloid_i(b_i))
  //   dR/db_i = exp(v_i) (reloid_i'(a_i) - reloid_i'(b_i))
  // each evaluated as a product, without the differences
  // (internal::monotone_grad_theta, monotone_formula-inl.hpp), so every
  // entry has full relative accuracy. Cost O(H) and one allocation (the
  // result). NaN in, NaN out.
  Vector grad_theta(T x) const {
    const Eigen::Index h = hidden();
    Vector g(3 * h);
    (void)grad_theta_into(x, g.data(), 1);
    return g;
  }

  // grad_theta(x) into g[0], g[stride], ... (3H entries, no allocation);
  // returns R'(x), equal to value_and_slope(x).slope. The entry point of
  // the tensor layer's autograd function (src/torch/monotone_net.cpp).
  T grad_theta_into(T x, T* g, Eigen::Index stride) const {
    return internal::monotone_grad_theta(internal::ScalarArithmetic<T>{}, coefficients(), x,
                                         [g, stride](int j, T value) { g[j * stride] = value; });
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

  // What inverse_batched runs when given no options: ScalarRootOptions'
  // defaults with method kNewton, the safeguarded Newton from the knot table
  // (inverse_newton), ~7x TOMS 748's rate on the reference net
  // (bench/README.md, "Monotone inverse"). inverse() keeps TOMS 748 as its
  // default: a single target does not repay the 256-knot table (~0.3 ms).
  // Start from this, not from ScalarRootOptions{}, to change a field and
  // keep the fast method.
  static ScalarRootOptions batched_options() {
    ScalarRootOptions options;
    options.method = ScalarRootMethod::kNewton;
    return options;
  }

  // inverse(y[i], options) for every i, each with its own bracket,
  // iterations and status: exactly the one-at-a-time results, and for
  // kNewton (the default, batched_options()) inverse_newton's, which equal
  // one-at-a-time to a few ulp, as ScalarRootResults. Every target is
  // isolated: a NaN y[i] fails its own entry with kNonFinite, a negative or
  // infinite one with kInvalidBracket (message with its value), and the
  // others are unaffected.
  // Cost: size(y) inverses. Throws std::invalid_argument for invalid
  // options only.
  MonotoneInverseBatch<T> inverse_batched(
      const Vector& y, const ScalarRootOptions& options = batched_options()) const {
    options.validate();
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
      // inverse() throws for a NaN y (one target is the caller's own
      // argument); in a batch it is one sample's status.
      out.results.push_back(std::isnan(y[i]) ? bad_target(y[i], options.method)
                                             : inverse(y[i], options));
      out.x[i] = out.results.back().x;
    }
    return out;
  }

  // The fast batched inverse: safeguarded Newton (options.method is
  // ignored; the stopping rule, max_iter and the statuses are those of
  // ScalarRootOptions) from the table start, every target isolated: a NaN
  // y[i] fails its own entry with kNonFinite, a negative or infinite one with
  // kInvalidBracket (message with its value), the others are unaffected. For T = double linked with
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
    // NaN is no number to bracket: non-finite input, as a NaN g is for find_root.
    r.status = std::isnan(y) ? Status::kNonFinite : Status::kInvalidBracket;
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
    k.net = coefficients();
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

  // The view of this net that the formulas of monotone_formula-inl.hpp
  // read. O(1).
  internal::MonotoneCoefficients<T> coefficients() const {
    internal::MonotoneCoefficients<T> k;
    const Eigen::Index last = hidden() - 1;
    k.sigmoids = static_cast<int>(last);
    k.ew = exp_w_.data();
    k.ev = exp_v_.data();
    k.b = b_.data();
    k.p = p_.data();
    k.q = q_.data();
    k.value_coef = value_coef_.data();
    k.slope_coef = slope_coef_.data();
    k.relu_ew = exp_w_[last];
    k.relu_b = b_[last];
    k.relu_ev = exp_v_[last];
    k.relu_slope = relu_slope();
    return k;
  }

  static void check_finite(const Vector& p, const char* name) {
    for (Eigen::Index i = 0; i < p.size(); ++i)
      if (!std::isfinite(p[i]))
        throw std::invalid_argument(std::string("MonotoneNet: '") + name + "'[" +
                                    std::to_string(i) + "] = " + internal::format_number(p[i]) +
                                    " is not finite");
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
