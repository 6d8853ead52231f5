// Reverse mode (Sacado's Rad) against forward mode and central finite
// differences: every math function, functions of 10 to 10^6 inputs, the IFT
// entry points with the tape, threads, nesting and bad functors.
#include "implicit/diff/reverse.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <thread>

#include "implicit.hpp"
#include "implicit/diff/finite_difference.hpp"
#include "implicit/problems/nonlinear_systems.hpp"
#include "support.hpp"

#if IMPLICIT_HAVE_REVERSE

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;

// Central differences at h ~ 1e-6 on O(1) smooth functions: truncation
// ~h^2 f''' ~ 1e-12, rounding ~eps / h ~ 1e-10; 1e-7 leaves a wide margin
// yet fails on any wrong partial (those are O(1) errors).
constexpr double kFdTolerance = 1e-7;
// Reverse and forward mode compute the same partials in another order:
// they agree to rounding, a few hundred eps for these sums.
constexpr double kModeTolerance = 1e-12;

// Every function both modes support, each on its own output so that a
// wrong partial shows in one row. Arguments are kept inside each domain.
struct EveryFunction {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    using std::abs, std::acos, std::acosh, std::asin, std::asinh, std::atan, std::atan2, std::atanh,
        std::cbrt, std::ceil, std::cos, std::cosh, std::erf, std::erfc, std::exp, std::exp2,
        std::expm1, std::fabs, std::floor, std::fmax, std::fmin, std::hypot, std::log, std::log10,
        std::log1p, std::log2, std::pow, std::round, std::sin, std::sinh, std::sqrt, std::tan,
        std::tanh, std::trunc;
    const T a = x[0], b = x[1], c = x[2];  // a, b, c in (0.2, 0.8)
    VectorX<T> y(31);
    y << sin(a) * b, cos(a * b), tan(c), asin(a), acos(b), atan(a * c), sinh(b), cosh(c),
        tanh(a + b), asinh(c), acosh(T(1) + a), atanh(b), exp(c), log(a), log10(b), sqrt(c),
        cbrt(a), pow(a, b), pow(b, 2.5), atan2(a, c), abs(a - b) + fabs(c - a), expm1(b), log1p(c),
        exp2(a), log2(b), erf(c), erfc(a), hypot(a, b), fmin(a, b) + fmax(b, c),
        // piecewise constant parts contribute slope 0
        a * (floor(T(2.5)) + ceil(T(0.5)) + trunc(T(1.5)) + round(T(0.4))),
        (std::max)(a, b) * (std::min)(b, c);
    return y;
  }
};

TEST(Reverse, EveryMathFunctionMatchesForwardModeAndFiniteDifferences) {
  const Vec x = (Vec(3) << 0.3, 0.55, 0.7).finished();
  const Mat fd = central_difference_jacobian(EveryFunction{}, x);
  const Mat forward = jacobian(EveryFunction{}, x, DerivativeMode::kForward);
  const Mat reverse = jacobian(EveryFunction{}, x, DerivativeMode::kReverse);
  ASSERT_EQ(reverse.rows(), 31);
  ASSERT_EQ(reverse.cols(), 3);
  EXPECT_LE((reverse - forward).cwiseAbs().maxCoeff(), kModeTolerance);
  EXPECT_LE((reverse - fd).cwiseAbs().maxCoeff(), kFdTolerance);
  const Vec u = Vec::LinSpaced(31, -1, 1);
  EXPECT_LE((vjp(EveryFunction{}, x, u, DerivativeMode::kReverse) - forward.transpose() * u)
                .cwiseAbs()
                .maxCoeff(),
            kModeTolerance);
}

// y_k = sum_i sin(c_k x_i) x_{(i+1) mod p} + x_i^2 / (k + 1): every output
// touches every input, so a VJP by forward mode needs p / 8 passes.
struct Coupled {
  int outputs = 3;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    using std::sin;
    const Eigen::Index p = x.size();
    VectorX<T> y(outputs);
    for (int k = 0; k < outputs; ++k) {
      T sum = T(0);
      const double c = 0.5 + 0.25 * k;
      for (Eigen::Index i = 0; i < p; ++i)
        sum = sum + sin(c * x[i]) * x[(i + 1) % p] + x[i] * x[i] / double(k + 1);
      y[k] = sum;
    }
    return y;
  }
};

TEST(Reverse, VjpMatchesForwardModeAndFiniteDifferencesFrom10To1000Inputs) {
  for (int p : {10, 100, 1000}) {
    const Vec x = Vec::LinSpaced(p, -1, 1);
    const Vec u = (Vec(3) << 0.5, -1, 2).finished();
    const Vec reverse = vjp(Coupled{}, x, u, DerivativeMode::kReverse);
    const Vec forward = vjp(Coupled{}, x, u, DerivativeMode::kForward);
    const Vec automatic = vjp(Coupled{}, x, u);
    EXPECT_LE((reverse - forward).cwiseAbs().maxCoeff(), kModeTolerance * p) << "p = " << p;
    EXPECT_EQ(automatic, p > 32 ? reverse : forward) << "kAuto picks by the cost model, p = " << p;
    if (p <= 100) {
      const Mat fd = central_difference_jacobian(Coupled{}, x);
      EXPECT_LE((reverse - fd.transpose() * u).cwiseAbs().maxCoeff(), kFdTolerance * p);
    }
  }
}

TEST(Reverse, VjpOfAMillionInputsPassesTheDirectionalCheck) {
  // (J^T u) . v = u . (J v), J v by one forward pass (an independent code
  // path) and by central differences: all p partials at three passes' cost.
  for (int p : {10'000, 1'000'000}) {
    const Coupled f{1};
    const Vec x = Vec::LinSpaced(p, -1, 1);
    const Vec u = Vec::Constant(1, 0.7);
    Vec v(p);
    for (int i = 0; i < p; ++i) v[i] = std::sin(0.37 * i);
    const Vec grad = vjp(f, x, u);  // kAuto: reverse for p > 32
    ASSERT_EQ(grad.size(), p);
    const double reverse = grad.dot(v);
    const double forward = u.dot(jvp(f, x, v));
    // Both sum p terms of size ~1 in another order: rounding ~sqrt(p) eps
    // per unit, far below 1e-9.
    EXPECT_NEAR(reverse, forward, 1e-9 * std::max(1.0, std::abs(forward))) << "p = " << p;
    // f itself sums p terms, so its rounding (random walk, ~sqrt(p) p eps)
    // divided by h bounds what a difference quotient resolves: 1e-4 at
    // p = 10^4, but ~0.2 at 10^6, where only the forward check above holds.
    const double h = 1e-6;
    const double fd_noise = 4 * std::sqrt(double(p)) * p * 2.2e-16 / h;
    if (fd_noise < 1e-3) {
      const double fd = u.dot((f(Vec(x + h * v)) - f(Vec(x - h * v))) / (2 * h));
      EXPECT_NEAR(reverse, fd, fd_noise + 1e-6 * std::abs(fd)) << "p = " << p;
    }
  }
}

TEST(Reverse, WideJacobianByRowsEqualsColumns) {
  // 2 x 2000: kAuto takes rows (one recording, two sweeps).
  const Coupled f{2};
  const Vec x = Vec::LinSpaced(2000, -1, 1);
  const Mat rows = jacobian(f, x);
  const Mat columns = jacobian(f, x, DerivativeMode::kForward);
  EXPECT_LE((rows - columns).cwiseAbs().maxCoeff(), 1e-12);
}

// The reference layer tanh(W z + x) written as a user would: no derivative
// members, W and x unpacked from theta.
struct PlainLayer {
  int n;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::tanh;
    const Eigen::Map<const MatrixX<T>> w(theta.data(), n, n);
    const VectorX<T> pre = w * z + theta.tail(n);
    return pre.array().tanh().matrix();
  }
};

// Entries like uniform draws in [-scale, scale] / sqrt(n): the spectral
// radius of df/dz is then about scale / sqrt(3) < 1, so every adjoint
// method, the plain iteration included, converges.
Vec plain_layer_theta(int n, double scale) {
  Vec theta(n * n + n);
  for (Eigen::Index i = 0; i < theta.size(); ++i)
    theta[i] = scale * std::sin(0.7 * double(i) * double(i) + 0.2) / std::sqrt(double(n));
  return theta;
}

Vec solve_plain_layer(const PlainLayer& f, const Vec& theta) {
  auto r = solve_fixed_point(bind_theta(f, theta), Vec(Vec::Zero(f.n)), Anderson(),
                             testing::tight_options());
  EXPECT_TRUE(r.ok()) << r.brief_report();
  return r.x;
}

TEST(Reverse, FixedPointVjpWithTheTapeMatchesForwardModeForEveryMethod) {
  const PlainLayer f{30};
  const Vec theta = plain_layer_theta(30, 0.8);
  const Vec z = solve_plain_layer(f, theta);
  const Vec zbar = Vec::LinSpaced(30, -1, 1);
  AdjointOptions forward;
  forward.derivatives = DerivativeMode::kForward;
  forward.method = AdjointMethod::kDenseLU;
  const auto reference = fixed_point_vjp(f, theta, z, zbar, forward);
  ASSERT_TRUE(reference.ok()) << reference.brief_report();
  for (auto method : {AdjointMethod::kDenseLU, AdjointMethod::kGmres,
                      AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson}) {
    for (auto mode : {DerivativeMode::kAuto, DerivativeMode::kReverse}) {
      AdjointOptions o;
      o.method = method;
      o.derivatives = mode;
      o.fallback = false;
      const auto g = fixed_point_vjp(f, theta, z, zbar, o);
      ASSERT_TRUE(g.ok()) << to_string(method) << ": " << g.brief_report();
      // The iterative solves stop at 1e-10 relative residual; with
      // ||(I - J)^{-1}|| ~ 5 here that leaves ~1e-9 in thetabar.
      EXPECT_LE((g.value - reference.value).cwiseAbs().maxCoeff(),
                1e-8 * reference.value.cwiseAbs().maxCoeff())
          << to_string(method) << " / " << to_string(mode);
    }
  }
}

TEST(Reverse, FixedPointGradientMatchesFiniteDifferencesOfTheSolve) {
  // L(theta) = w . z*(theta); dL/dtheta . v against central differences of
  // re-solved fixed points, for the 9,900 parameters at once.
  const PlainLayer f{99};
  const Vec theta = plain_layer_theta(99, 0.9);
  const Vec w = Vec::LinSpaced(99, -1, 2);
  Vec v(theta.size());
  for (Eigen::Index i = 0; i < v.size(); ++i) v[i] = std::cos(0.71 * i);
  AdjointOptions o;
  o.method = AdjointMethod::kGmres;  // matrix-free: every product from the tape
  o.abs_tol = 1e-14;
  o.rel_tol = 1e-13;
  const auto g = fixed_point_vjp(f, theta, solve_plain_layer(f, theta), w, o);
  ASSERT_TRUE(g.ok()) << g.brief_report();
  const double h = 1e-6;
  const double fd =
      (w.dot(solve_plain_layer(f, theta + h * v)) - w.dot(solve_plain_layer(f, theta - h * v))) /
      (2 * h);
  EXPECT_NEAR(g.value.dot(v), fd, 1e-7 * std::max(1.0, std::abs(fd)));
}

// g(theta, x) = x^3 + theta_head .* x - theta_tail: a root per component.
struct CubicRoots {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    const Eigen::Index n = x.size();
    return (x.array().cube() + theta.head(n).array() * x.array() - theta.tail(n).array()).matrix();
  }
};

TEST(Reverse, RootVjpWithTheTapeMatchesForwardModeAndFiniteDifferences) {
  const int n = 40;
  Vec theta(2 * n);
  theta << Vec::LinSpaced(n, 0.5, 2), Vec::LinSpaced(n, -1, 3);
  auto solve = [&](const Vec& th) {
    auto r = solve_root(bind_theta(CubicRoots{}, th), Vec(Vec::Zero(n)));
    EXPECT_TRUE(r.ok()) << r.brief_report();
    return r.x;
  };
  const Vec x = solve(theta);
  const Vec xbar = Vec::LinSpaced(n, 1, -1);
  AdjointOptions forward, reverse;
  forward.derivatives = DerivativeMode::kForward;
  reverse.derivatives = DerivativeMode::kReverse;
  reverse.method = AdjointMethod::kGmres;
  const auto a = root_vjp(CubicRoots{}, theta, x, xbar, forward);
  const auto b = root_vjp(CubicRoots{}, theta, x, xbar, reverse);
  ASSERT_TRUE(a.ok() && b.ok()) << a.brief_report() << " / " << b.brief_report();
  EXPECT_LE((a.value - b.value).cwiseAbs().maxCoeff(), 1e-9);
  const Vec v = Vec::LinSpaced(2 * n, -1, 1);
  const double h = 1e-6;
  const double fd = (xbar.dot(solve(theta + h * v)) - xbar.dot(solve(theta - h * v))) / (2 * h);
  EXPECT_NEAR(b.value.dot(v), fd, 1e-6 * std::max(1.0, std::abs(fd)));
}

TEST(Reverse, FixedPointJacobianByRowsEqualsColumns) {
  // n = 12, p = 156: B (12 x 156) by 12 reverse sweeps, forced, against
  // 20 forward passes of 8 columns.
  const PlainLayer f{12};
  const Vec theta = plain_layer_theta(12, 0.7);
  const Vec z = solve_plain_layer(f, theta);
  const auto rows = fixed_point_jacobian(f, theta, z, DerivativeMode::kReverse);
  const auto columns = fixed_point_jacobian(f, theta, z, DerivativeMode::kForward);
  ASSERT_TRUE(rows.ok() && columns.ok());
  EXPECT_LE((rows.value - columns.value).cwiseAbs().maxCoeff(), 1e-12);
}

TEST(Reverse, JacobiansOfTheLiteratureSystemsMatchForwardMode) {
  // The MGH and test_nonlin systems (problems/nonlinear_systems.hpp), each
  // at its standard start and at 10x it: every row by a reverse sweep
  // against every column by forward mode. Both are exact derivatives, so
  // they agree to rounding relative to the Jacobian's size.
  auto instances = more_garbow_hillstrom_instances();
  for (auto& extra : test_nonlin_instances()) instances.push_back(extra);
  int checked = 0;
  for (const auto& instance : instances) {
    for (double factor : {1.0, 10.0}) {
      const Vec x = scaled_start(instance, factor);
      const Mat forward = jacobian(instance.g, x, DerivativeMode::kForward);
      if (!forward.allFinite()) continue;  // a start outside the domain
      const Mat reverse = jacobian(instance.g, x, DerivativeMode::kReverse);
      EXPECT_LE((reverse - forward).cwiseAbs().maxCoeff(),
                1e-13 * std::max(1.0, forward.cwiseAbs().maxCoeff()))
          << instance.name << " at " << factor << " x0";
      ++checked;
    }
  }
  EXPECT_GE(checked, 70);
}

TEST(Reverse, TwoThreadsDifferentiatingAtOnceGetTheirOwnAnswers) {
  const Vec x1 = Vec::LinSpaced(500, -1, 1), x2 = Vec::LinSpaced(700, 0, 2);
  const Vec u1 = Vec::Constant(3, 1.0), u2 = (Vec(2) << -1, 0.5).finished();
  const Coupled f1{3}, f2{2};
  const Vec expect1 = vjp(f1, x1, u1), expect2 = vjp(f2, x2, u2);
  std::atomic<int> wrong{0};
  auto work = [&](const Coupled& f, const Vec& x, const Vec& u, const Vec& expect) {
    for (int i = 0; i < 40; ++i)
      if (vjp(f, x, u, DerivativeMode::kReverse) != expect) ++wrong;
  };
  std::thread a(work, std::cref(f1), std::cref(x1), std::cref(u1), std::cref(expect1));
  std::thread b(work, std::cref(f2), std::cref(x2), std::cref(u2), std::cref(expect2));
  a.join();
  b.join();
  EXPECT_EQ(wrong.load(), 0);
}

// Takes a reverse-mode derivative of something else while being recorded.
struct Nested {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    if constexpr (!std::is_same_v<T, double>) {
      const Vec inner = Vec::LinSpaced(40, 0, 1);
      (void)vjp(Coupled{1}, inner, Vec(Vec::Ones(1)), DerivativeMode::kReverse);
    }
    return x;
  }
};

TEST(Reverse, NestingIsRefusedAndLeavesTheTapeUsable) {
  const Vec x = Vec::LinSpaced(40, 0, 1);
  EXPECT_THROW((void)vjp(Nested{}, x, x, DerivativeMode::kReverse), std::logic_error);
  // The abandoned recording is cleared: the next derivative is right.
  const Vec u = Vec::Constant(3, 0.5);
  EXPECT_LE((vjp(Coupled{}, x, u, DerivativeMode::kReverse) -
             vjp(Coupled{}, x, u, DerivativeMode::kForward))
                .cwiseAbs()
                .maxCoeff(),
            kModeTolerance);
}

// Returns one more entry on the tape than in double.
struct WrongSizeWhenRecorded {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    VectorX<T> out = theta.head(z.size()).cwiseProduct(z) * 0.5;
    if constexpr (std::is_same_v<T, double>) return out;
    VectorX<T> longer(out.size() + 1);
    longer << out, T(0);
    return longer;
  }
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    return (*this)(x, VectorX<T>(x.head(3)));
  }
};

TEST(Reverse, AFunctorOfAnotherSizeOnTheTapeIsAClearError) {
  // z = 0 is a fixed point (f = theta .* z / 2), so the point check passes
  // and the size of f on the tape is what fails.
  const Vec theta = Vec::LinSpaced(40, 0, 1), z = Vec::Zero(3);
  AdjointOptions o;
  o.derivatives = DerivativeMode::kReverse;
  o.method = AdjointMethod::kGmres;
  EXPECT_THROW((void)fixed_point_vjp(WrongSizeWhenRecorded{}, theta, z, Vec(Vec::Ones(3)), o),
               std::invalid_argument);
  EXPECT_THROW((void)vjp(WrongSizeWhenRecorded{}, theta, Vec(Vec::Ones(3))), std::invalid_argument);
}

TEST(Reverse, ForcingReverseModeOnAnUnsupportedScalarIsAClearError) {
  using LVec = VectorX<long double>;
  auto f = [](const auto& x) { return x; };
  const LVec x = LVec::Ones(3);
  EXPECT_THROW((void)vjp(f, x, x, DerivativeMode::kReverse), std::invalid_argument);
  EXPECT_EQ(vjp(f, x, x, DerivativeMode::kAuto), x);  // forward mode serves it
}

}  // namespace
}  // namespace implicit

#endif  // IMPLICIT_HAVE_REVERSE
