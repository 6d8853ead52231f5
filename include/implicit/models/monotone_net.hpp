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
// (root/find_root.hpp) and differentiated by the implicit function theorem:
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
// accurate to a few ulp of R(x) itself, for tiny x as well.
//
// The relu kink: relu'(0) is taken as 0 (as PyTorch does), in the analytic
// derivatives and, because the branch tests a > 0, in the automatic ones,
// so both agree everywhere. R' is then left-continuous at the kink.

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/internal/random.hpp"
#include "implicit/internal/scalar.hpp"
#include "implicit/root/batched.hpp"
#include "implicit/root/find_root.hpp"
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
// Parameter-only quantities (exp(w), exp(v), sigmoid(+-b)) are computed
// once at construction; evaluation is O(H) with no allocation.
template <class T>
class MonotoneNet {
 public:
  static_assert(std::is_floating_point_v<T>, "MonotoneNet<T>: T is float or double");
  using Vector = MonotoneVector<T>;

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
  // 1 tanh per unit, no allocation for S = T. NaN in, NaN out.
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

  // R'(x) = sum_{i<H} exp(v_i + w_i) sigmoid'(a_i) + exp(v_H + w_H) [a_H > 0],
  // a = exp(w) x + b (relu'(0) = 0). Cost O(H). Never fails; NaN in, NaN out.
  T derivative(T x) const {
    T sum = 0;
    const Eigen::Index last = hidden() - 1;
    for (Eigen::Index i = 0; i < last; ++i)
      sum += exp_v_[i] * exp_w_[i] * sigmoid_slope(exp_w_[i] * x + b_[i]);
    if (exp_w_[last] * x + b_[last] > 0) sum += exp_v_[last] * exp_w_[last];
    return sum;
  }

  // dR/dtheta at x, length 3H in the order w, v, b:
  //   dR/dw_i = exp(v_i) reloid_i'(a_i) exp(w_i) x
  //   dR/dv_i = exp(v_i) (reloid_i(a_i) - reloid_i(b_i))
  //   dR/db_i = exp(v_i) (reloid_i'(a_i) - reloid_i'(b_i))
  // Cost O(H) and one allocation (the result). NaN in, NaN out.
  Vector grad_theta(T x) const {
    const Eigen::Index h = hidden();
    Vector g(3 * h);
    grad_theta_into(x, g.data());
    return g;
  }

  // x >= 0 with R(x) = y, by find_root_increasing from 0 (options.method,
  // TOMS 748 by default). y == 0 gives x = 0 (R(0) = 0 exactly).
  // Cost: with the defaults on the H = 10 reference net and y in (0, 10),
  // 8.4 R evaluations per inverse on average (max 14) with TOMS 748, 53.5
  // (max 61) with bisection; about log2(x*) + 2 of them grow the bracket.
  // Fails with status kInvalidBracket when y < 0 or y = +inf (no x >= 0 has
  // R(x) = y; message with y) or when BracketOptions allow no right end
  // with R > y (message with y, the last right end and R - y there);
  // kMaxIterations, kNonFinite (R overflowing) as find_root.
  // Throws std::invalid_argument for a NaN y or invalid options.
  ScalarRootResult<T> inverse(T y, const ScalarRootOptions& options = {}) const {
    using internal::format_number;
    options.validate();
    if (std::isnan(y)) throw std::invalid_argument("MonotoneNet::inverse: y is NaN");
    if (!(y >= 0) || std::isinf(y)) {
      ScalarRootResult<T> r;
      r.method = options.method;
      r.status = Status::kInvalidBracket;
      r.residual = -y;
      r.message = y < 0 ? "y = " + format_number(y) +
                              " < 0 = R(0): R is increasing from R(0) = 0, so no x >= 0 has "
                              "R(x) = y"
                        : "y = " + format_number(y) + ": R(x) = y has no finite solution";
      return r;
    }
    ScalarRootResult<T> r =
        find_root_increasing([this, y](T x) { return value(x) - y; }, T(0), options);
    if (!r.ok()) r.message = "y = " + format_number(y) + ": " + r.message;
    return r;
  }

  // inverse(y[i]) for every i, each with its own bracket, iterations and
  // status (exactly the one-at-a-time results). Cost: size(y) inverses.
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
    out.x.resize(y.size());
    out.results.reserve(static_cast<std::size_t>(y.size()));
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      out.results.push_back(inverse(y[i], options));
      out.x[i] = out.results.back().x;
    }
    return out;
  }

  // IFT derivatives at the roots x_star[i] (taken as exact: the error of a
  // converged x* enters the derivatives only to first order, ~ its
  // relative tolerance times R''/R'). Cost O(H) per row, one allocation.
  // Rows where R'(x_i) is 0 or not finite get status kLinearSolveFailed and
  // NaN values (not a silent inf); see MonotoneInverseGradients.
  MonotoneInverseGradients<T> inverse_gradients(const Vector& x_star) const {
    MonotoneInverseGradients<T> out;
    const Eigen::Index n = x_star.size();
    const Eigen::Index h = hidden();
    out.dx_dy.resize(n);
    out.dx_dtheta.resize(n, 3 * h);
    out.status.assign(static_cast<std::size_t>(n), Status::kConverged);
    Vector g(3 * h);
    for (Eigen::Index i = 0; i < n; ++i) {
      const T slope = derivative(x_star[i]);
      if (!(slope > 0) || !std::isfinite(slope)) {
        fail_row(out, i, Status::kLinearSolveFailed,
                 "R'(x*) = " + internal::format_number(slope) +
                     " at x* = " + internal::format_number(x_star[i]) +
                     ": dx/dy = 1/R'(x*) is undefined (R is flat or overflows there)");
        continue;
      }
      grad_theta_into(x_star[i], g.data());
      out.dx_dy[i] = 1 / slope;
      // + 0 turns the -0 of zero entries (an inactive relu unit) into +0.
      out.dx_dtheta.row(i) = (-g.transpose() / slope).array() + T(0);
    }
    return out;
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

 private:
  static void check_finite(const Vector& p, const char* name) {
    for (Eigen::Index i = 0; i < p.size(); ++i)
      if (!std::isfinite(p[i]))
        throw std::invalid_argument(std::string("MonotoneNet: '") + name + "'[" +
                                    std::to_string(i) + "] = " + internal::format_number(p[i]) +
                                    " is not finite");
  }

  // sigmoid'(a) = sigmoid(a) sigmoid(-a), each factor overflow-free.
  static T sigmoid_slope(T a) { return internal::sigmoid<T>(a) * internal::sigmoid<T>(-a); }

  void grad_theta_into(T x, T* g) const {
    const Eigen::Index h = hidden();
    const Eigen::Index last = h - 1;
    for (Eigen::Index i = 0; i < last; ++i) {
      const T d = exp_w_[i] * x;
      const T slope_a = sigmoid_slope(d + b_[i]);
      g[i] = exp_v_[i] * slope_a * d;
      g[h + i] = exp_v_[i] * internal::sigmoid_difference<T, T>(p_[i], q_[i], d);
      g[2 * h + i] = exp_v_[i] * (slope_a - p_[i] * q_[i]);
    }
    const T d = exp_w_[last] * x;
    const T on_a = d + b_[last] > 0 ? T(1) : T(0);
    const T on_b = b_[last] > 0 ? T(1) : T(0);
    g[last] = exp_v_[last] * on_a * d;
    g[h + last] = exp_v_[last] * internal::relu_difference<T, T>(b_[last], d);
    g[2 * h + last] = exp_v_[last] * (on_a - on_b);
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
  Vector p_, q_;  // sigmoid(b), sigmoid(-b)
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
