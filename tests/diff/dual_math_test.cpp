// Derivative rules of dual_math.hpp (and Eigen's own) against central
// finite differences, on fixed-size, dynamic-size and expression duals.
#include "implicit/diff/dual_math.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/finite_difference.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;
using D2 = Dual<double, 2>;
using DX = Eigen::AutoDiffScalar<Eigen::VectorXd>;

// ---- Finite-difference check of one derivative -----------------------------
//
// Central difference with h = 1e-6 max(1, |x|). Its error is truncation
// h^2 |f'''| / 6 plus rounding ~ eps |f| / h. Measured against the scale
//   max(1, |f'|, |f| / max(1, |x|)),
// truncation at the points below (>= 0.1 from any singularity) is at most
// 3.4e-11 (log1p at -0.9; f''' evaluated in 40-digit arithmetic) and
// rounding at most eps / 1e-6 = 2.2e-10, so a relative tolerance of 1e-8
// leaves a margin of 40x. The largest error seen is recorded as the test
// property max_fd_error (2.1e-10 when this was written).
constexpr double kFdRelTolerance = 1e-8;
double max_fd_error = 0;

std::string scientific(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%.2e", x);
  return text;
}

template <class Std>
double central_difference(const Std& f, double x) {
  const double h = 1e-6 * std::max(1.0, std::abs(x));
  return (f(x + h) - f(x - h)) / (2 * h);
}

void expect_derivative_close(double derivative, double fd, double value, double x,
                             const std::string& what) {
  const double scale =
      std::max({1.0, std::abs(derivative), std::abs(value) / std::max(1.0, std::abs(x))});
  const double error = std::abs(derivative - fd) / scale;
  max_fd_error = std::max(max_fd_error, error);
  EXPECT_LE(error, kFdRelTolerance)
      << what << " at x = " << x << ": dual " << derivative << ", finite difference " << fd;
}

// f(dual) for a fixed-size dual seeded (1, 0), a dynamic-size one seeded
// (0, 1, 0), and an expression dual (x * 1.0): the value must equal std's
// bit for bit, the seeded entry match the finite difference, the others be
// exactly zero.
template <class DualFn, class StdFn>
void check_unary(const std::string& name, const DualFn& f, const StdFn& std_f,
                 const std::vector<double>& points) {
  for (double x : points) {
    const double value = std_f(x);
    const double fd = central_difference(std_f, x);

    const D2 fixed = f(D2(x, Eigen::Vector2d(1, 0)));
    EXPECT_EQ(fixed.value(), value) << name << " at " << x;
    expect_derivative_close(fixed.derivatives()[0], fd, value, x, name);
    EXPECT_EQ(fixed.derivatives()[1], 0.0) << name << " at " << x;

    const DX dynamic = f(DX(x, Eigen::Vector3d(0, 1, 0)));
    ASSERT_EQ(dynamic.derivatives().size(), 3) << name;
    EXPECT_EQ(dynamic.value(), value) << name << " at " << x;
    expect_derivative_close(dynamic.derivatives()[1], fd, value, x, name + " (dynamic)");
    EXPECT_EQ(dynamic.derivatives()[0], 0.0) << name << " at " << x;

    const D2 seed(x, Eigen::Vector2d(0, 1));
    const D2 expr = f(seed * 1.0);
    EXPECT_EQ(expr.value(), value) << name << " at " << x;
    expect_derivative_close(expr.derivatives()[1], fd, value, x, name + " (expression)");
  }
}

// Each function as a generic lambda, called the way a user's functor calls
// it: unqualified, after a using-declaration.
#define IMPLICIT_CHECK_UNARY(FUNC, ...) \
  check_unary(                          \
      #FUNC,                            \
      [](const auto& x) {               \
        using std::FUNC;                \
        return FUNC(x);                 \
      },                                \
      [](double x) { return std::FUNC(x); }, std::vector<double>{__VA_ARGS__})

TEST(DualMath, AddedUnaryFunctionsMatchFiniteDifferences) {
  max_fd_error = 0;
  IMPLICIT_CHECK_UNARY(atan, -3.0, -0.5, 0.0, 0.7, 10.0);
  IMPLICIT_CHECK_UNARY(atanh, -0.9, -0.3, 0.0, 0.5, 0.9);
  IMPLICIT_CHECK_UNARY(asinh, -5.0, -0.4, 0.0, 1.3, 20.0);
  IMPLICIT_CHECK_UNARY(acosh, 1.1, 1.5, 3.0, 50.0);
  IMPLICIT_CHECK_UNARY(expm1, -2.0, -1e-3, 0.0, 0.5, 3.0);
  IMPLICIT_CHECK_UNARY(log1p, -0.9, -1e-3, 0.0, 0.8, 10.0);
  IMPLICIT_CHECK_UNARY(exp2, -3.0, 0.0, 0.5, 10.0);
  IMPLICIT_CHECK_UNARY(log2, 0.1, 1.0, 3.0, 1000.0);
  IMPLICIT_CHECK_UNARY(log10, 0.1, 0.5, 1.0, 1000.0);
  IMPLICIT_CHECK_UNARY(cbrt, -8.0, -0.3, 0.1, 1.0, 27.0);
  IMPLICIT_CHECK_UNARY(erf, -2.0, -0.5, 0.0, 0.3, 1.5);
  IMPLICIT_CHECK_UNARY(erfc, -1.5, 0.0, 0.4, 2.0, 4.0);
  IMPLICIT_CHECK_UNARY(fabs, -2.0, -0.1, 0.3, 5.0);
  // Steps: off the jumps, the finite difference is exactly 0.
  IMPLICIT_CHECK_UNARY(floor, -1.3, 0.4, 2.7);
  IMPLICIT_CHECK_UNARY(ceil, -1.3, 0.4, 2.7);
  IMPLICIT_CHECK_UNARY(trunc, -1.3, 0.4, 2.7);
  IMPLICIT_CHECK_UNARY(round, -1.3, 0.4, 2.7);
  RecordProperty("max_fd_error", scientific(max_fd_error));
}

// The same check for the rules Eigen ships, so the suite covers every
// function a functor may call.
TEST(DualMath, EigenUnaryFunctionsMatchFiniteDifferences) {
  max_fd_error = 0;
  IMPLICIT_CHECK_UNARY(abs, -2.0, -0.1, 0.3, 5.0);
  IMPLICIT_CHECK_UNARY(sqrt, 0.1, 1.0, 7.0);
  IMPLICIT_CHECK_UNARY(exp, -3.0, 0.0, 2.5);
  IMPLICIT_CHECK_UNARY(log, 0.1, 1.0, 100.0);
  IMPLICIT_CHECK_UNARY(sin, -2.0, 0.0, 1.0);
  IMPLICIT_CHECK_UNARY(cos, -2.0, 0.0, 1.0);
  IMPLICIT_CHECK_UNARY(tan, -1.0, 0.0, 1.2);
  IMPLICIT_CHECK_UNARY(asin, -0.9, 0.0, 0.6);
  IMPLICIT_CHECK_UNARY(acos, -0.9, 0.0, 0.6);
  IMPLICIT_CHECK_UNARY(sinh, -2.0, 0.0, 3.0);
  IMPLICIT_CHECK_UNARY(cosh, -2.0, 0.0, 3.0);
  IMPLICIT_CHECK_UNARY(tanh, -2.0, 0.0, 3.0);
  check_unary(
      "abs2",
      [](const auto& x) {
        using Eigen::numext::abs2;
        return abs2(x);
      },
      [](double x) { return x * x; }, {-1.5, 0.0, 2.0});
  RecordProperty("max_fd_error", scientific(max_fd_error));
}

#undef IMPLICIT_CHECK_UNARY

// f(a, b) in every mix of dual and scalar. Fixed duals are seeded
// a: (1, 0), b: (0, 1), so the derivative vector is (df/da, df/db); the
// expression pair has a an Eigen expression and b plain; the dynamic pairs
// have one argument a constant with no derivative entries.
template <class DualFn, class StdFn>
void check_binary(const std::string& name, const DualFn& f, const StdFn& std_f,
                  const std::vector<std::pair<double, double>>& points) {
  for (const auto& point : points) {
    const double a = point.first;
    const double b = point.second;
    const double value = std_f(a, b);
    const double dfda = central_difference([&](double t) { return std_f(t, b); }, a);
    const double dfdb = central_difference([&](double t) { return std_f(a, t); }, b);
    const std::string at = name + " at (" + std::to_string(a) + ", " + std::to_string(b) + ")";
    const D2 da(a, Eigen::Vector2d(1, 0));
    const D2 db(b, Eigen::Vector2d(0, 1));

    const D2 y = f(da, db);
    EXPECT_EQ(y.value(), value) << at;
    expect_derivative_close(y.derivatives()[0], dfda, value, a, at + " d/da");
    expect_derivative_close(y.derivatives()[1], dfdb, value, b, at + " d/db");

    const D2 mixed = f(da * 1.0, db);
    EXPECT_EQ(mixed.value(), value) << at;
    expect_derivative_close(mixed.derivatives()[0], dfda, value, a, at + " (expression) d/da");
    expect_derivative_close(mixed.derivatives()[1], dfdb, value, b, at + " (expression) d/db");

    const D2 dual_scalar = f(da, b);
    EXPECT_EQ(dual_scalar.value(), value) << at;
    expect_derivative_close(dual_scalar.derivatives()[0], dfda, value, a, at + " (dual, scalar)");
    EXPECT_EQ(dual_scalar.derivatives()[1], 0.0) << at;

    const D2 scalar_dual = f(a, db);
    EXPECT_EQ(scalar_dual.value(), value) << at;
    expect_derivative_close(scalar_dual.derivatives()[1], dfdb, value, b, at + " (scalar, dual)");
    EXPECT_EQ(scalar_dual.derivatives()[0], 0.0) << at;
  }
}

// Two dynamic-size duals, one a constant (empty derivative vector): the
// result has the other's size and only its direction.
template <class DualFn, class StdFn>
void check_dynamic_constant(const std::string& name, const DualFn& f, const StdFn& std_f, double a,
                            double b) {
  const double value = std_f(a, b);
  const std::string at = name + " at (" + std::to_string(a) + ", " + std::to_string(b) + ")";
  const DX moving_a = f(DX(a, Eigen::Vector2d(1, 0)), DX(b));
  ASSERT_EQ(moving_a.derivatives().size(), 2) << at;
  EXPECT_EQ(moving_a.value(), value) << at;
  expect_derivative_close(moving_a.derivatives()[0],
                          central_difference([&](double t) { return std_f(t, b); }, a), value, a,
                          at + " (dynamic) d/da");
  EXPECT_EQ(moving_a.derivatives()[1], 0.0) << at;
  const DX moving_b = f(DX(a), DX(b, Eigen::Vector2d(0, 1)));
  ASSERT_EQ(moving_b.derivatives().size(), 2) << at;
  expect_derivative_close(moving_b.derivatives()[1],
                          central_difference([&](double t) { return std_f(a, t); }, b), value, b,
                          at + " (dynamic) d/db");
  EXPECT_EQ(moving_b.derivatives()[0], 0.0) << at;
}

#define IMPLICIT_CHECK_BINARY(FUNC, ...)                                                         \
  do {                                                                                           \
    const auto dual_fn = [](const auto& a, const auto& b) {                                      \
      using std::FUNC;                                                                           \
      return FUNC(a, b);                                                                         \
    };                                                                                           \
    const auto std_fn = [](double a, double b) { return std::FUNC(a, b); };                      \
    const std::vector<std::pair<double, double>> points{__VA_ARGS__};                            \
    check_binary(#FUNC, dual_fn, std_fn, points);                                                \
    check_dynamic_constant(#FUNC, dual_fn, std_fn, points.front().first, points.front().second); \
  } while (false)

TEST(DualMath, BinaryFunctionsMatchFiniteDifferences) {
  max_fd_error = 0;
  IMPLICIT_CHECK_BINARY(hypot, {3.0, 4.0}, {-0.5, 2.0}, {1e-3, -7.0}, {0.0, 1.0});
  IMPLICIT_CHECK_BINARY(pow, {2.0, 3.0}, {0.5, -1.5}, {7.0, 0.3}, {1.3, 0.0});
  IMPLICIT_CHECK_BINARY(atan2, {1.0, 2.0}, {-0.5, -3.0}, {2.0, -0.1}, {0.0, 1.0});
  // Off ties, fmin/fmax/min/max are one argument or the other.
  IMPLICIT_CHECK_BINARY(fmin, {1.0, 2.0}, {2.0, -1.0});
  IMPLICIT_CHECK_BINARY(fmax, {1.0, 2.0}, {2.0, -1.0});
  RecordProperty("max_fd_error", scientific(max_fd_error));
}

#undef IMPLICIT_CHECK_BINARY

// Eigen's min/max: dual/dual of one type, dual/scalar, scalar/dual; and
// (added here) two duals of different derivative types.
TEST(DualMath, MinMaxTakeTheChosenArgumentsDerivatives) {
  using std::max;
  using std::min;
  const D2 a(1.0, Eigen::Vector2d(1, 0));
  const D2 b(2.0, Eigen::Vector2d(0, 1));
  EXPECT_EQ(min(a, b).derivatives(), a.derivatives());
  EXPECT_EQ(max(a, b).derivatives(), b.derivatives());
  EXPECT_EQ(D2(min(a * 3.0, b)).derivatives(), b.derivatives());
  EXPECT_EQ(D2(max(a * 3.0, b)).derivatives(), Eigen::Vector2d(3, 0));
  EXPECT_EQ(D2(min(b, a * 3.0)).value(), 2.0);
  EXPECT_EQ(D2(max(a, 0.5)).derivatives(), a.derivatives());
  EXPECT_EQ(D2(min(0.5, a)).value(), 0.5);
}

// ---- Properties of the rules, not only values ------------------------------

TEST(DualMath, ResultsArePlainDualsOfTheArgumentsKind) {
  const D2 x(0.5, Eigen::Vector2d(1, 0));
  static_assert(std::is_same_v<decltype(atan(x * 2.0)), D2>);
  static_assert(std::is_same_v<decltype(hypot(x * 2.0, x)), D2>);
  static_assert(std::is_same_v<decltype(pow(2.0, x)), D2>);
  // Eigen's own atan2 of two duals would give dynamic-size derivatives.
  static_assert(std::is_same_v<decltype(atan2(x, x * 2.0)), D2>);
  static_assert(std::is_same_v<decltype(erf(DX(0.5))), DX>);
  // Expression arguments in the dual/scalar mixes.
  static_assert(std::is_same_v<decltype(fmin(x * 2.0, 1.0)), D2>);
  static_assert(std::is_same_v<decltype(fmax(1.0, x * 2.0)), D2>);
  static_assert(std::is_same_v<decltype(hypot(1.0, x * 2.0)), D2>);
  static_assert(std::is_same_v<decltype(atan2(x * 2.0, 1.0)), D2>);
  EXPECT_EQ(fmax(1.0, x * 4.0).derivatives(), Eigen::Vector2d(4, 0));
  EXPECT_EQ(pow(2.0, x * 2.0).derivatives()[0], 2.0 * 2.0 * std::log(2.0));
  // Holding the result with auto keeps no reference into the temporary.
  const auto y = log1p(D2(0.5, Eigen::Vector2d(0, 3)) * 2.0);
  EXPECT_EQ(y.value(), std::log1p(1.0));
  EXPECT_DOUBLE_EQ(y.derivatives()[1], 6.0 / 2.0);
}

TEST(DualMath, UnqualifiedCallsFindTheDualOverloads) {
  // No using-declaration: argument-dependent lookup alone, on Eigen.
  const D2 x(0.5, Eigen::Vector2d(1, 0));
  EXPECT_EQ(atan(x).value(), std::atan(0.5));
  EXPECT_EQ(cbrt(x).value(), std::cbrt(0.5));
  EXPECT_EQ(hypot(x, 1.0).value(), std::hypot(0.5, 1.0));
  EXPECT_EQ(expm1(log1p(x)).value(), std::expm1(std::log1p(0.5)));
}

TEST(DualMath, NestedExpressionsFollowTheChainRule) {
  const D2 a(0.4, Eigen::Vector2d(1, 0));
  const D2 b(-0.7, Eigen::Vector2d(0, 1));
  // y = atan(a b + 1) + erf(sin(a)) + log10(hypot(a, b)).
  const D2 y = atan(a * b + 1.0) + erf(sin(a)) + log10(hypot(a, b));
  const double u = 0.4 * -0.7 + 1.0;
  const double r2 = 0.4 * 0.4 + 0.7 * 0.7;
  const double pi = std::acos(-1.0);
  const double g = 2 / std::sqrt(pi) * std::exp(-std::pow(std::sin(0.4), 2));
  const double dyda = -0.7 / (1 + u * u) + g * std::cos(0.4) + 0.4 / (r2 * std::log(10.0));
  const double dydb = 0.4 / (1 + u * u) + -0.7 / (r2 * std::log(10.0));
  // A few roundings of O(1) terms apart.
  EXPECT_NEAR(y.derivatives()[0], dyda, 1e-15);
  EXPECT_NEAR(y.derivatives()[1], dydb, 1e-15);
}

TEST(DualMath, EigenArrayMethodsUseTheDualRules) {
  VectorX<D2> x(3);
  x << D2(0.2, Eigen::Vector2d(1, 0)), D2(0.5, Eigen::Vector2d(0, 1)),
      D2(0.8, Eigen::Vector2d(1, 1));
  const VectorX<D2> atan_x = x.array().atan().matrix();
  const VectorX<D2> log1p_x = x.array().log1p().matrix();
  const VectorX<D2> expm1_x = x.array().expm1().matrix();
  const VectorX<D2> log10_x = x.array().log10().matrix();
  const VectorX<D2> asinh_x = x.array().asinh().matrix();
  const VectorX<D2> atanh_x = x.array().atanh().matrix();
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    EXPECT_EQ(atan_x[i].derivatives(), atan(x[i]).derivatives());
    EXPECT_EQ(log1p_x[i].derivatives(), log1p(x[i]).derivatives());
    EXPECT_EQ(expm1_x[i].derivatives(), expm1(x[i]).derivatives());
    EXPECT_EQ(log10_x[i].derivatives(), log10(x[i]).derivatives());
    EXPECT_EQ(asinh_x[i].derivatives(), asinh(x[i]).derivatives());
    EXPECT_EQ(atanh_x[i].derivatives(), atanh(x[i]).derivatives());
  }
}

TEST(DualMath, DirectionsTheInputDoesNotMoveAlongStayZero) {
  const double inf = std::numeric_limits<double>::infinity();
  // cbrt'(0) is infinite, but only along the seeded direction.
  const D2 c = cbrt(D2(0.0, Eigen::Vector2d(1, 0)));
  EXPECT_EQ(c.derivatives()[0], inf);
  EXPECT_EQ(c.derivatives()[1], 0.0);
  // A constant exponent written T(2): d/db = a^b ln(a) is NaN at a < 0,
  // but b does not move, so d(a^2) = 2 a da.
  const D2 p = pow(D2(-3.0, Eigen::Vector2d(1, 0)), D2(2.0));
  EXPECT_EQ(p.value(), 9.0);
  EXPECT_EQ(p.derivatives()[0], -6.0);
  EXPECT_EQ(p.derivatives()[1], 0.0);
  // 0^b = 0 for every b > 0, so d/db = 0 (not 0 * log 0 = NaN).
  const D2 z = pow(D2(0.0), D2(1.5, Eigen::Vector2d(0, 1)));
  EXPECT_EQ(z.derivatives()[1], 0.0);
  EXPECT_EQ(pow(0.0, D2(1.5, Eigen::Vector2d(0, 1))).derivatives()[1], 0.0);
}

TEST(DualMath, UndefinedDerivativesAreNaN) {
  const D2 h = hypot(D2(0.0, Eigen::Vector2d(1, 0)), D2(0.0, Eigen::Vector2d(0, 1)));
  EXPECT_EQ(h.value(), 0.0);
  EXPECT_TRUE(std::isnan(h.derivatives()[0]));
  const D2 p = pow(-2.0, D2(2.0, Eigen::Vector2d(0, 1)));
  EXPECT_EQ(p.value(), 4.0);
  EXPECT_TRUE(std::isnan(p.derivatives()[1]));
}

TEST(DualMath, FminFmaxPreferANumberToNaN) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const D2 a(nan, Eigen::Vector2d(1, 0));
  const D2 b(2.0, Eigen::Vector2d(0, 1));
  EXPECT_EQ(fmin(a, b).value(), 2.0);
  EXPECT_EQ(fmin(a, b).derivatives(), b.derivatives());
  EXPECT_EQ(fmax(b, a).derivatives(), b.derivatives());
  EXPECT_EQ(fmin(a, 3.0).value(), 3.0);
  EXPECT_EQ(fmin(a, 3.0).derivatives(), Eigen::Vector2d::Zero());
  EXPECT_EQ(fmax(3.0, a).value(), 3.0);
  EXPECT_TRUE(std::isnan(fmin(a, nan).value()));
}

TEST(DualMath, ClassificationLooksAtTheValue) {
  const double inf = std::numeric_limits<double>::infinity();
  const D2 finite(1.0, Eigen::Vector2d(inf, 0));
  const D2 infinite(-inf, Eigen::Vector2d(1, 0));
  const D2 not_a_number(std::nan(""), Eigen::Vector2d(1, 0));
  using std::isfinite;
  using std::isinf;
  using std::isnan;
  EXPECT_TRUE(isfinite(finite));
  EXPECT_FALSE(isfinite(infinite));
  EXPECT_TRUE(isinf(infinite));
  EXPECT_TRUE(isnan(not_a_number));
  EXPECT_FALSE(isnan(finite));
  // Eigen's own dispatch now reaches them too.
  EXPECT_TRUE(Eigen::numext::isfinite(finite));
  EXPECT_TRUE(Eigen::numext::isnan(not_a_number));
  EXPECT_TRUE(Eigen::numext::isinf(infinite));
}

// ---- A functor using every supported function ------------------------------

// R^8 -> R^6, each output mixing several functions; the point below keeps
// every argument inside its domain and away from kinks and jumps.
struct EveryFunction {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    using std::abs, std::acos, std::acosh, std::asin, std::asinh, std::atan, std::atan2;
    using std::atanh, std::cbrt, std::ceil, std::cos, std::cosh, std::erf, std::erfc;
    using std::exp, std::exp2, std::expm1, std::fabs, std::floor, std::fmax, std::fmin;
    using std::hypot, std::log, std::log10, std::log1p, std::log2, std::max, std::min;
    using std::pow, std::round, std::sin, std::sinh, std::sqrt, std::tan, std::tanh;
    using std::trunc;
    VectorX<T> y(6);
    y[0] = sin(x[0]) * cos(x[1]) + tan(x[2]) + atan2(x[6], x[7]) + atan2(x[5], T(0.3)) +
           atan2(T(0.4), x[4]);
    y[1] = asin(x[3]) + acos(x[4]) + atan(x[5] * x[0]) + sinh(x[0]) + cosh(x[1]) + tanh(x[2]) +
           asinh(x[3]) + acosh(T(1.5) + x[4] * x[4]) + atanh(x[5]);
    y[2] =
        exp(x[6]) + log(x[7]) + expm1(x[0]) + log1p(x[1]) + exp2(x[2]) + log2(x[3]) + log10(x[4]);
    y[3] = sqrt(x[5]) + cbrt(x[6] - T(1)) + pow(x[7], T(2.5)) + pow(x[0], x[1]) +
           pow(T(1.7), x[2]) + erf(x[3]) + erfc(x[4]);
    y[4] = hypot(x[5], x[6]) + hypot(x[7], T(0.5)) + hypot(T(0.3), x[0]) + abs(x[1] - T(0.9)) +
           fabs(x[2] - T(0.9)) + Eigen::numext::abs2(x[3]);
    y[5] =
        fmin(x[0], x[1]) + fmax(x[2], T(0.4)) + fmin(T(0.1), x[3]) + min(x[3], x[4] * T(2)) +
        max(x[5] * T(2), x[6]) + max(x[7], T(0.2)) +
        (floor(x[6] * T(4)) + ceil(x[7] * T(3)) + trunc(x[0] * T(5)) + round(x[1] * T(3))) * x[2];
    return y;
  }
};

const Vec kPoint = (Vec(8) << 0.3, 0.45, 0.6, 0.25, 0.35, 0.55, 0.7, 0.8).finished();

// Central differences at h = 1e-6 on outputs |y_i| <= 10 built from ~8
// terms: rounding ~ 8 eps * 10 / h ~ 2e-8, truncation h^2 |f'''| / 6
// ~ 1e-12, so 1e-7 absolute on these O(1) entries.
constexpr double kFunctorFdTolerance = 1e-7;

TEST(DualMath, EveryFunctionJacobianMatchesFiniteDifferences) {
  const Eigen::MatrixXd fd = central_difference_jacobian(EveryFunction{}, kPoint);
  const Eigen::MatrixXd jac = jacobian(EveryFunction{}, kPoint);  // Dual<double, 8>
  ASSERT_EQ(jac.rows(), 6);
  ASSERT_EQ(jac.cols(), 8);
  EXPECT_LE((jac - fd).cwiseAbs().maxCoeff(), kFunctorFdTolerance) << "J\n"
                                                                   << jac << "\nFD\n"
                                                                   << fd;
  RecordProperty("functor_fd_error", scientific((jac - fd).cwiseAbs().maxCoeff()));
}

TEST(DualMath, EveryFunctionJvpMatchesTheJacobian) {
  const Eigen::MatrixXd fd = central_difference_jacobian(EveryFunction{}, kPoint);
  const Vec v = (Vec(8) << 1.0, -0.5, 0.25, 2.0, -1.0, 0.5, 0.75, -0.25).finished();
  const Vec jv = jvp(EveryFunction{}, kPoint, v);  // Dual<double, 1>
  // The finite-difference error of each column, summed with weights |v_j|
  // (|v|_1 = 6.25).
  EXPECT_LE((jv - fd * v).cwiseAbs().maxCoeff(), 6.25 * kFunctorFdTolerance);
  // Against the Jacobian: the same rules, only summed in another order.
  const Eigen::MatrixXd jac = jacobian(EveryFunction{}, kPoint);
  EXPECT_LE((jv - jac * v).cwiseAbs().maxCoeff(), 1e-13);
}

TEST(DualMath, EveryFunctionWithDynamicSizeDerivatives) {
  const Eigen::Index n = kPoint.size();
  VectorX<DX> x(n);
  for (Eigen::Index i = 0; i < n; ++i) x[i] = DX(kPoint[i], Eigen::VectorXd::Unit(n, i));
  const VectorX<DX> y = EveryFunction{}(x);
  const Eigen::MatrixXd jac = jacobian(EveryFunction{}, kPoint);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    ASSERT_EQ(y[i].derivatives().size(), n);
    EXPECT_LE((y[i].derivatives().transpose() - jac.row(i)).cwiseAbs().maxCoeff(), 1e-13);
  }
}

// float: the same functor instantiates, and agrees with double to float
// precision (values and derivatives O(1) to O(10); eps_float = 1.2e-7).
TEST(DualMath, FloatInstantiationAgreesWithDouble) {
  const VectorX<float> xf = kPoint.cast<float>();
  const MatrixX<float> jf = jacobian(EveryFunction{}, xf);
  const Eigen::MatrixXd jd = jacobian(EveryFunction{}, kPoint);
  EXPECT_LE((jf.cast<double>() - jd).cwiseAbs().maxCoeff(), 1e-4);
  const Dual<float, 1> a = atan(Dual<float, 1>(0.5f, Eigen::Matrix<float, 1, 1>(1.0f)));
  EXPECT_EQ(a.value(), std::atan(0.5f));
  EXPECT_NEAR(a.derivatives()[0], 1.0f / 1.25f, 1e-7f);
}

}  // namespace
}  // namespace implicit
