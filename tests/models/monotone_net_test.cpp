#include "implicit/models/monotone_net.hpp"

#include <gtest/gtest.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>
#include <unsupported/Eigen/AutoDiff>
#include <vector>

#include "implicit/adjoint/root_ift.hpp"
#include "models/monotone_cases.hpp"

namespace implicit {
namespace {

using Vec = MonotoneVector<double>;
using AD = Eigen::AutoDiffScalar<Eigen::VectorXd>;

// The formula of docs/reference-systems.md section 2, literally (two sums
// subtracted), as an independent check of the cancellation-free evaluation
// in monotone_net.hpp.
double spec_formula(const MonotoneNet<double>& net, double x) {
  const Eigen::Index h = net.hidden();
  auto reloid_sum = [&](const Vec& a) {
    double s = 0;
    for (Eigen::Index i = 0; i < h; ++i) {
      const double r = i + 1 < h ? 1 / (1 + std::exp(-a[i])) : std::max(a[i], 0.0);
      s += std::exp(net.v()[i]) * r;
    }
    return s;
  };
  const Vec a = (net.w().array().exp() * x + net.b().array()).matrix();
  return reloid_sum(a) - reloid_sum(net.b());
}

// Where the relu unit switches on: exp(w_H) x + b_H = 0.
double kink(const MonotoneNet<double>& net) {
  const Eigen::Index last = net.hidden() - 1;
  return -net.b()[last] / std::exp(net.w()[last]);
}

// x on a log grid over [1e-6, 100], skipping 1e-3 around the relu kink where
// finite differences straddle the jump of R'.
std::vector<double> x_grid(const MonotoneNet<double>& net, int count) {
  std::vector<double> xs;
  for (int k = 0; k < count; ++k) {
    const double x = std::pow(10.0, -6.0 + 8.0 * k / (count - 1));
    if (std::abs(x - kink(net)) > 1e-3) xs.push_back(x);
  }
  return xs;
}

TEST(MonotoneNet, ReferenceNetIsReproducible) {
  // Pinned draws of internal::NormalSampler (Box-Muller over mt19937_64);
  // only std::log / sin / cos may move the last ulp between math libraries.
  auto net = make_reference_monotone_net();
  ASSERT_EQ(net.hidden(), 10);
  EXPECT_NEAR(net.w()[0], 1.9128045292843205, 1e-14);
  EXPECT_NEAR(net.v()[9], 1.0509618123163018, 1e-14);
  EXPECT_NEAR(net.b()[4], 1.9320612626336016, 1e-14);
  auto again = make_reference_monotone_net(10, kReferenceMonotoneSeed);
  EXPECT_EQ(net.theta(), again.theta());
  EXPECT_NE(net.theta(), make_reference_monotone_net(10, 1).theta());
  // float and double nets share their parameters (rounded).
  auto net_f = make_reference_monotone_net<float>();
  EXPECT_EQ(net_f.theta(), net.theta().cast<float>());
  EXPECT_THROW((void)make_reference_monotone_net(0), std::invalid_argument);
}

TEST(MonotoneNet, MatchesTheSpecFormulaAndIsIncreasing) {
  auto net = make_reference_monotone_net();
  EXPECT_EQ(net.value(0.0), 0.0);
  double previous = 0;
  for (double x : x_grid(net, 200)) {
    const double r = net.value(x);
    // The spec formula subtracts two sums of size sum(exp(v)) ~ 20, so it
    // is only good to ~ a few ulp of 20 (docs/peers.md: ~5e-15) in absolute terms.
    EXPECT_NEAR(r, spec_formula(net, x), 1e-14 * (1 + r)) << x;
    EXPECT_GT(r, previous) << x;
    previous = r;
  }
}

TEST(MonotoneNet, SmallXKeepsFullRelativeAccuracy) {
  // R(x) = R'(0) x + R''(0) x^2 / 2 + ...: at x = 1e-10 the quadratic term is
  // ~1e-10 relative. The cancellation-free evaluation matches that to ~1e-9;
  // the spec formula's absolute 5e-15 error would be ~5e-5 relative here.
  auto net = make_reference_monotone_net();
  const double x = 1e-10;
  EXPECT_NEAR(net.value(x) / x, net.derivative(0.0), 1e-9 * net.derivative(0.0));
}

TEST(MonotoneNet, DerivativeMatchesForwardModeAndFiniteDifferences) {
  auto net = make_reference_monotone_net();
  for (double x : x_grid(net, 60)) {
    const AD r = net.value(AD(x, 1, 0));
    // Same function, different rounding: agree to a few ulp.
    EXPECT_NEAR(net.derivative(x), r.derivatives()[0], 1e-14 * std::abs(r.derivatives()[0])) << x;
    EXPECT_NEAR(net.value(x), r.value(), 4e-16 * std::abs(r.value())) << x;
    // Central difference, h = 1e-6 max(x, 1e-3): truncation h^2 |R'''| / 6
    // <~ 1e-12 (|R'''| <~ 10 away from the kink) plus rounding eps |R| / h
    // <~ 1e-9 for R <~ 200, so 1e-7 leaves two orders of margin.
    const double h = 1e-6 * std::max(x, 1e-3);
    if (x - h < 0) continue;
    const double fd = (net.value(x + h) - net.value(x - h)) / (2 * h);
    EXPECT_NEAR(net.derivative(x), fd, 1e-7 * std::max(1.0, std::abs(fd))) << x;
  }
}

TEST(MonotoneNet, ReluKinkUsesZeroSlopeInBothDerivatives) {
  // w_H = 0, b_H = -1: the relu unit switches on at x = 1 exactly.
  Vec w(2), v(2), b(2);
  w << 0.3, 0.0;
  v << -0.2, 0.5;
  b << 0.1, -1.0;
  MonotoneNet<double> net(w, v, b);
  const AD at_kink = net.value(AD(1.0, 1, 0));
  // Both take relu'(0) = 0: the sigmoid unit's slope only (equal up to
  // rounding), which is R' just left of the kink; just right of it the relu
  // unit adds exp(v_H + w_H) = exp(0.5).
  const double sigmoid_part = net.derivative(1.0);
  EXPECT_NEAR(at_kink.derivatives()[0], sigmoid_part, 1e-15);
  EXPECT_NEAR(net.derivative(std::nextafter(1.0, 0.0)), sigmoid_part, 1e-15);
  EXPECT_NEAR(net.derivative(std::nextafter(1.0, 2.0)) - sigmoid_part, std::exp(0.5), 1e-12);
}

TEST(MonotoneNet, GradThetaMatchesForwardModeAndFiniteDifferences) {
  auto net = make_reference_monotone_net();
  const Eigen::Index h = net.hidden();
  const Vec theta = net.theta();
  // Seed all 3H parameters at once.
  MonotoneVector<AD> w(h), v(h), b(h);
  for (Eigen::Index i = 0; i < h; ++i) {
    w[i] = AD(theta[i], 3 * h, i);
    v[i] = AD(theta[h + i], 3 * h, h + i);
    b[i] = AD(theta[2 * h + i], 3 * h, 2 * h + i);
  }
  for (double x : x_grid(net, 25)) {
    const AD r = monotone_forward<AD>(w, v, b, AD(x));
    const Vec g = net.grad_theta(x);
    EXPECT_NEAR(r.value(), net.value(x), 4e-16 * std::abs(r.value())) << x;
    // Same math, different rounding order: a few ulp of the largest entry
    // (dR/db is a difference of two sigmoid slopes, absolute accuracy only).
    EXPECT_LE((g - r.derivatives()).cwiseAbs().maxCoeff(), 1e-14 * (1 + g.cwiseAbs().maxCoeff()))
        << x;
    // Central differences in each parameter, step 1e-6: truncation ~1e-12 x
    // |d^3R/dtheta^3|, rounding eps |R| / 1e-6 <~ 1e-9; 1e-7 has margin.
    for (Eigen::Index j = 0; j < 3 * h; ++j) {
      const double step = 1e-6;
      Vec plus = theta, minus = theta;
      plus[j] += step;
      minus[j] -= step;
      auto net_at = [&](const Vec& t) {
        return MonotoneNet<double>(t.head(h), t.segment(h, h), t.tail(h));
      };
      const double fd = (net_at(plus).value(x) - net_at(minus).value(x)) / (2 * step);
      EXPECT_NEAR(g[j], fd, 1e-7 * std::max(1.0, std::abs(fd))) << "x = " << x << ", j = " << j;
    }
  }
}

template <class T>
class MonotoneNetTyped : public ::testing::Test {};
using ScalarTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(MonotoneNetTyped, ScalarTypes);

TYPED_TEST(MonotoneNetTyped, RoundTripRecoversX) {
  using T = TypeParam;
  auto net = make_reference_monotone_net<T>();
  const double eps = std::numeric_limits<T>::epsilon();
  for (ScalarRootMethod method : {ScalarRootMethod::kToms748, ScalarRootMethod::kBisection}) {
    ScalarRootOptions options;
    options.method = method;
    for (int k = 0; k <= 200; ++k) {
      const T x = static_cast<T>(std::pow(10.0, -8.0 + 10.0 * k / 200));
      const T y = net.value(x);
      auto r = net.inverse(y, options);
      ASSERT_TRUE(r.ok()) << r.brief_report();
      // The solver stops on a bracket of width <= 4 eps |x| (x is one end of
      // it), and R(x) itself is computed to a few eps relative (no
      // cancellation), which moves the root by ~ eps R / R'. Measured worst:
      // 1.4 eps (|x| + R/R') for bisection, 1.0 for TOMS 748, both types.
      // (With the spec formula's 5e-15 absolute floor this would fail for
      // x < 1e-6.)
      const double scale = std::abs(static_cast<double>(x)) +
                           static_cast<double>(y) / static_cast<double>(net.derivative(x));
      EXPECT_LE(std::abs(static_cast<double>(r.x) - static_cast<double>(x)), 4 * eps * scale)
          << to_string(method) << " x = " << x << ": " << r.brief_report();
      EXPECT_GE(r.x, T(0));
    }
  }
}

TYPED_TEST(MonotoneNetTyped, FailureStatuses) {
  using T = TypeParam;
  auto net = make_reference_monotone_net<T>();
  auto negative = net.inverse(T(-0.5));
  EXPECT_EQ(negative.status, Status::kInvalidBracket);
  EXPECT_NE(negative.message.find("y = -0.5"), std::string::npos) << negative.message;
  EXPECT_EQ(negative.function_evaluations, 0);
  auto infinite = net.inverse(std::numeric_limits<T>::infinity());
  EXPECT_EQ(infinite.status, Status::kInvalidBracket);
  EXPECT_THROW((void)net.inverse(std::numeric_limits<T>::quiet_NaN()), std::invalid_argument);
  auto zero = net.inverse(T(0));
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(zero.x, T(0));
  // An impossible bracket budget surfaces as kInvalidBracket with the numbers.
  ScalarRootOptions tight;
  tight.bracket.max_expansions = 2;  // right ends 1 and 2 only
  auto far = net.inverse(T(1000), tight);
  EXPECT_EQ(far.status, Status::kInvalidBracket);
  EXPECT_NE(far.message.find("y = 1000"), std::string::npos) << far.message;
  EXPECT_NE(far.message.find("last right end 2"), std::string::npos) << far.message;
}

TYPED_TEST(MonotoneNetTyped, FloatAndDoubleAgree) {
  using T = TypeParam;
  auto net = make_reference_monotone_net<T>();
  auto net_d = make_reference_monotone_net<double>();
  for (double y : {1e-4, 0.3, 2.0, 9.0, 50.0}) {
    auto r = net.inverse(static_cast<T>(y));
    auto rd = net_d.inverse(y);
    ASSERT_TRUE(r.ok() && rd.ok());
    // Parameters rounded to T (relative eps_T) move x by ~ eps_T times the
    // condition numbers, which are O(1) here (R/(xR') <= 1.6 on this net).
    const double eps = std::numeric_limits<T>::epsilon();
    EXPECT_NEAR(static_cast<double>(r.x), rd.x, 64 * eps * rd.x) << y;
  }
}

TEST(MonotoneNet, Toms748NeedsFarFewerEvaluationsThanBisection) {
  // 1000 targets y in (0, 10), the docs/peers.md setting. Measured: TOMS 748
  // 8.4 evaluations per inverse (max 14), bisection 53.5 (max 61) with the
  // default tolerance (adjacent doubles); docs/peers.md has 8.5 and 56 for Boost.
  auto net = make_reference_monotone_net();
  Vec y(1000);
  for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = 10.0 * (static_cast<double>(i) + 0.5) / 1000;
  ScalarRootOptions options;
  auto fast = net.inverse_batched(y, options);
  options.method = ScalarRootMethod::kBisection;
  auto slow = net.inverse_batched(y, options);
  ASSERT_TRUE(fast.ok());
  ASSERT_TRUE(slow.ok());
  EXPECT_LE(fast.mean_evaluations(), 10.0);
  EXPECT_GE(slow.mean_evaluations(), 45.0);
  int worst = 0;
  for (const auto& r : fast.results) worst = std::max(worst, r.function_evaluations);
  EXPECT_LE(worst, 18);
  EXPECT_LE((fast.x - slow.x).cwiseAbs().maxCoeff(), 8e-16 * fast.x.cwiseAbs().maxCoeff());
}

TEST(MonotoneNet, BatchedEqualsOneAtATime) {
  auto net = make_reference_monotone_net();
  Vec y(6);
  y << 0.0, 1e-6, 0.7, -2.0, 3.0, 40.0;
  ScalarRootOptions toms;  // the bracketing path: bit for bit one at a time
  auto batch = net.inverse_batched(y, toms);
  EXPECT_FALSE(batch.ok());
  ASSERT_EQ(batch.results.size(), 6u);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    auto one = net.inverse(y[i], toms);
    EXPECT_EQ(batch.results[static_cast<std::size_t>(i)].status, one.status) << i;
    EXPECT_EQ(batch.x[i], one.x) << i;
    EXPECT_EQ(batch.results[static_cast<std::size_t>(i)].function_evaluations,
              one.function_evaluations);
  }
  EXPECT_EQ(batch.results[3].status, Status::kInvalidBracket);
}

// The default inverse_batched is the safeguarded Newton (batched_options()),
// and every converged status it reports is true of the returned x; a NaN
// target is its own sample's kNonFinite, on both methods, without throwing
// and without touching its neighbours.
TEST(MonotoneNet, DefaultBatchIsNewtonAndIsolatesNanTargets) {
  auto net = make_reference_monotone_net();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Vec y(6), clean(6);
  y << 0.0, 1e-6, nan, -2.0, 3.0, 40.0;
  clean << 0.0, 1e-6, 0.7, 1.0, 3.0, 40.0;
  const auto batch = net.inverse_batched(y);
  ASSERT_EQ(batch.results.size(), 6u);
  const auto reference = net.inverse_batched(clean);
  const double eps = std::numeric_limits<double>::epsilon();
  for (Eigen::Index i : {0, 1, 4, 5}) {
    const auto& r = batch.results[static_cast<std::size_t>(i)];
    EXPECT_EQ(r.method, ScalarRootMethod::kNewton) << i;
    ASSERT_EQ(r.status, Status::kConverged) << i << ": " << r.brief_report();
    EXPECT_EQ(batch.x[i], reference.x[i]) << i;  // lanes are independent
    // Converged means a bracket of width <= 4 eps x around the root: R(x)
    // is then within R'(x) (upper - lower) of y, plus R's rounding (~4 eps y).
    const auto v = net.value_and_slope(batch.x[i]);
    EXPECT_LE(std::abs(v.value - y[i]), 1.01 * v.slope * (r.upper - r.lower) + 8 * eps * y[i]) << i;
  }
  EXPECT_EQ(batch.results[2].status, Status::kNonFinite);
  EXPECT_NE(batch.results[2].message.find("NaN"), std::string::npos) << batch.results[2].message;
  EXPECT_EQ(batch.results[3].status, Status::kInvalidBracket);
  const auto grads = net.inverse_gradients(batch);
  EXPECT_EQ(grads.status[2], Status::kNonFinite);
  EXPECT_TRUE(std::isnan(grads.dx_dy[2]));
  EXPECT_EQ(grads.status[4], Status::kConverged);

  ScalarRootOptions toms;
  const auto bracketing = net.inverse_batched(y, toms);
  EXPECT_EQ(bracketing.results[2].status, Status::kNonFinite);
  EXPECT_EQ(bracketing.results[2].method, ScalarRootMethod::kToms748);
  EXPECT_EQ(bracketing.results[4].status, Status::kConverged);
  EXPECT_EQ(bracketing.x[4], net.inverse(3.0, toms).x);
  // One target is the caller's own argument: a NaN there still throws.
  EXPECT_THROW((void)net.inverse(nan), std::invalid_argument);
}

// L(y, theta) = Rinv(y; theta)^3 and its IFT gradient against central
// differences of re-solved inverses.
TEST(MonotoneNet, IftGradientsOfCubeMatchFiniteDifferences) {
  auto net = make_reference_monotone_net();
  const Eigen::Index h = net.hidden();
  const Vec theta = net.theta();
  Vec y(4);
  y << 0.05, 0.6, 2.5, 7.0;  // x* = 0.03, 0.32, 1.25, 2.9: away from the kink at 0.82
  auto forward = net.inverse_batched(y);
  ASSERT_TRUE(forward.ok());
  auto grads = net.inverse_gradients(forward);
  ASSERT_TRUE(grads.ok()) << grads.message;
  auto inverse_cube = [](const MonotoneNet<double>& n, double target) {
    auto r = n.inverse(target);
    EXPECT_TRUE(r.ok()) << r.brief_report();
    return r.x * r.x * r.x;
  };
  auto net_at = [&](const Vec& t) {
    return MonotoneNet<double>(t.head(h), t.segment(h, h), t.tail(h));
  };
  // Step 1e-6. Error of a central difference: truncation h^2 |L'''| / 6 ~
  // 1e-12 x O(10), plus rounding: each solve returns x to ~1-2 eps (|x| +
  // R/R') (see RoundTripRecoversX), so L moves by ~3 x^2 * 2 eps * 2.6 x and
  // the quotient by that / h ~ 1e-7 at x = 2.9 (measured 5e-8 at x = 4.4).
  // Tolerance 1e-6 relative to max(1, |gradient|) is 10x above that.
  const double step = 1e-6;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const double x = forward.x[i];
    const double dl_dx = 3 * x * x;
    const double fd_y =
        (inverse_cube(net, y[i] + step) - inverse_cube(net, y[i] - step)) / (2 * step);
    EXPECT_NEAR(dl_dx * grads.dx_dy[i], fd_y, 1e-6 * std::max(1.0, std::abs(fd_y))) << i;
    for (Eigen::Index j = 0; j < 3 * h; ++j) {
      Vec plus = theta, minus = theta;
      plus[j] += step;
      minus[j] -= step;
      const double fd =
          (inverse_cube(net_at(plus), y[i]) - inverse_cube(net_at(minus), y[i])) / (2 * step);
      EXPECT_NEAR(dl_dx * grads.dx_dtheta(i, j), fd, 1e-6 * std::max(1.0, std::abs(fd)))
          << "y = " << y[i] << ", theta index " << j;
    }
  }
  // The w / v / b blocks are the column blocks of dx_dtheta.
  EXPECT_EQ(grads.dx_dw(), grads.dx_dtheta.leftCols(h));
  EXPECT_EQ(grads.dx_dv(), grads.dx_dtheta.middleCols(h, h));
  EXPECT_EQ(grads.dx_db(), grads.dx_dtheta.rightCols(h));
}

TEST(MonotoneNet, IftGradientsMatchForwardModeThroughTheFormula) {
  // dx/dy = 1/R', dx/dtheta = -dR/dtheta / R', with R' and dR/dtheta from AD.
  auto net = make_reference_monotone_net();
  Vec y(3);
  y << 0.01, 1.0, 20.0;
  auto forward = net.inverse_batched(y);
  auto grads = net.inverse_gradients(forward.x);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const AD r = net.value(AD(forward.x[i], 1, 0));
    const double slope = r.derivatives()[0];
    EXPECT_NEAR(grads.dx_dy[i], 1 / slope, 1e-14 / slope);
    const Vec expected = -net.grad_theta(forward.x[i]) / slope;
    EXPECT_LE((grads.dx_dtheta.row(i).transpose() - expected).cwiseAbs().maxCoeff(),
              1e-14 * (1 + expected.cwiseAbs().maxCoeff()));
  }
}

TEST(MonotoneNet, FlatRegionGivesLinearSolveFailedNotInf) {
  // H = 1 and b < 0: R = 0 on [0, 1] (relu off), so R'(x*) = 0 there.
  Vec w(1), v(1), b(1);
  w << 0.0;
  v << 0.0;
  b << -1.0;
  MonotoneNet<double> net(w, v, b);
  auto zero = net.inverse(0.0);
  ASSERT_TRUE(zero.ok());
  auto past_kink = net.inverse(0.5);
  ASSERT_TRUE(past_kink.ok()) << past_kink.brief_report();
  EXPECT_NEAR(past_kink.x, 1.5, 1e-15);
  Vec xs(3);
  xs << 0.0, 0.5, past_kink.x;
  auto grads = net.inverse_gradients(xs);
  EXPECT_FALSE(grads.ok());
  EXPECT_EQ(grads.status[0], Status::kLinearSolveFailed);
  EXPECT_EQ(grads.status[1], Status::kLinearSolveFailed);
  EXPECT_EQ(grads.status[2], Status::kConverged);
  EXPECT_TRUE(std::isnan(grads.dx_dy[0]));
  EXPECT_TRUE(grads.dx_dtheta.row(1).array().isNaN().all());
  EXPECT_DOUBLE_EQ(grads.dx_dy[2], 1.0);
  EXPECT_NE(grads.message.find("R'(x*) = 0"), std::string::npos) << grads.message;
}

TEST(MonotoneNet, GradientRowsOfFailedSolvesCarryTheForwardStatus) {
  auto net = make_reference_monotone_net();
  Vec y(3);
  y << 1.0, -1.0, 2.0;
  auto forward = net.inverse_batched(y);
  auto grads = net.inverse_gradients(forward);
  EXPECT_EQ(grads.status[0], Status::kConverged);
  EXPECT_EQ(grads.status[1], Status::kInvalidBracket);
  EXPECT_EQ(grads.status[2], Status::kConverged);
  EXPECT_TRUE(std::isnan(grads.dx_dy[1]));
  EXPECT_FALSE(std::isnan(grads.dx_dy[2]));
  EXPECT_NE(grads.message.find("row 1"), std::string::npos) << grads.message;
}

TEST(MonotoneNet, InvalidParametersThrowNamingTheField) {
  auto expect_field = [](const Vec& w, const Vec& v, const Vec& b, const std::string& field) {
    try {
      MonotoneNet<double> net(w, v, b);
      ADD_FAILURE() << "expected std::invalid_argument naming " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  const Vec three = Vec::Zero(3), two = Vec::Zero(2), none(0);
  expect_field(three, two, three, "'v' has length 2, expected 3");
  expect_field(three, three, two, "'b' has length 2");
  expect_field(none, none, none, "'w' is empty");
  Vec bad = three;
  bad[1] = std::numeric_limits<double>::infinity();
  expect_field(three, three, bad, "'b'[1]");
  EXPECT_THROW((void)monotone_forward<double>(three, two, three, 1.0), std::invalid_argument);
}

// The same inverse seen as a generic root g(theta', x) = R(x; w, v, b) - y
// with theta' = (w, v, b, y): the library's generic root IFT (forward-mode
// AD, dense LU) must reproduce the model's closed-form gradients.
struct MonotoneResidual {
  Eigen::Index hidden;
  template <class S>
  VectorX<S> operator()(const VectorX<S>& theta, const VectorX<S>& x) const {
    const MonotoneVector<S> w = theta.head(hidden), v = theta.segment(hidden, hidden),
                            b = theta.segment(2 * hidden, hidden);
    VectorX<S> out(1);
    out[0] = monotone_forward<S>(w, v, b, x[0]) - theta[3 * hidden];
    return out;
  }
};

TEST(MonotoneNetGenericIft, ClosedFormMatchesGenericRootIft) {
  const auto net = make_reference_monotone_net<double>(10);
  const Vec y = (Vec(3) << 0.3, 2.0, 7.5).finished();
  const auto forward = net.inverse_batched(y);
  ASSERT_TRUE(forward.ok());
  const auto closed = net.inverse_gradients(forward);
  ASSERT_TRUE(closed.ok());
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    Vec theta(31);
    theta << net.theta(), y[i];
    const auto generic =
        root_jacobian(MonotoneResidual{10}, theta, Vec(Vec::Constant(1, forward.x[i])));
    ASSERT_TRUE(generic.ok()) << generic.brief_report();
    // Same formula, different arithmetic (AD + LU of a 1x1): ~ulps relative.
    const double scale = 1 + closed.dx_dtheta.row(i).cwiseAbs().maxCoeff();
    EXPECT_LE((generic.value.leftCols(30) - closed.dx_dtheta.row(i)).cwiseAbs().maxCoeff(),
              1e-12 * scale);
    EXPECT_NEAR(generic.value(0, 30), closed.dx_dy[i], 1e-12 * (1 + std::abs(closed.dx_dy[i])));
  }
}

// ---- safeguarded Newton and the SIMD batch (inverse_newton) -------------

ScalarRootOptions newton_options() {
  ScalarRootOptions o;
  o.method = ScalarRootMethod::kNewton;
  return o;
}

// Targets that exercise every branch of the start and the kernel: tiny
// (down to 1e-300), exactly 0, near the relu kink (y = R(kink) and a few
// ulp around it), at and between table knots, in the tail beyond the last
// knot, and huge.
Vec hard_targets(const MonotoneNet<double>& net) {
  std::vector<double> ys = {0.0, 1e-300, 1e-200, 1e-100, 1e-30, 1e-12, 1e-9, 1e-6, 1e-3, 0.5,
                            1.0, 3.0,    9.99,   50.0,   1e3,   1e4,   1e6,  1e9,  1e12, 1e15};
  const double y_kink = net.value(std::max(kink(net), 0.0));
  for (double f : {1 - 1e-15, 1 - 1e-9, 1.0, 1 + 1e-12, 1 + 1e-6}) ys.push_back(y_kink * f);
  for (int k = 0; k < 400; ++k) ys.push_back(std::pow(10.0, -14.0 + 18.0 * k / 399.0));
  for (int k = 0; k < 1000; ++k) ys.push_back(10.0 * (k + 0.5) / 1000);
  Vec y(static_cast<Eigen::Index>(ys.size()));
  for (std::size_t i = 0; i < ys.size(); ++i) y[static_cast<Eigen::Index>(i)] = ys[i];
  return y;
}

TEST(MonotoneNetNewton, ValueAndSlopeMatchValueAndDerivative) {
  // value_and_slope uses 1 - e = -expm1(-d) and p + q e; value() uses the
  // tanh identity: two cancellation-free formulas, so they agree to a few
  // ulp of R itself, also for tiny x (relative, not absolute).
  auto net = make_reference_monotone_net();
  for (double x : {1e-300, 1e-100, 1e-12, 1e-6, 0.01, 0.5, 0.82, 1.0, 3.0, 40.0, 1e3, 1e8}) {
    const auto v = net.value_and_slope(x);
    EXPECT_NEAR(v.value, net.value(x), 8e-16 * net.value(x)) << x;
    const AD r = net.value(AD(x, 1, 0));
    EXPECT_NEAR(v.slope, r.derivatives()[0], 1e-14 * r.derivatives()[0]) << x;
  }
  // b << 0: p = sigmoid(b) ~ 1e-13, where p + q (1 + expm1(-d)) would lose
  // ~13 digits once e << 1; exp_and_complement takes e from exp there.
  Vec w(3), v(3), b(3);
  w << 0.0, 1.0, 0.0;
  v << 0.0, 0.0, 0.0;
  b << -30.0, -2.0, 0.5;
  MonotoneNet<double> steep(w, v, b);
  for (double x : {1e-8, 0.5, 2.0, 20.0, 31.0, 40.0}) {
    EXPECT_NEAR(steep.value_and_slope(x).value, steep.value(x), 8e-16 * steep.value(x)) << x;
    const AD r = steep.value(AD(x, 1, 0));
    EXPECT_NEAR(steep.value_and_slope(x).slope, r.derivatives()[0], 1e-14 * r.derivatives()[0])
        << x;
  }
}

// What kConverged promises, recomputed from the returned numbers only: x is
// an end of [lower, upper], the bracket meets the ScalarRootOptions rule
// (width <= 4 eps max|end|, or adjacent doubles), and |R(x) - y| is what a
// root inside it allows: R' (upper - lower) for the distance to the root
// plus the rounding of R and of R - y, ~4 eps R (value_and_slope and the
// SIMD kernel each round to ~2 eps), so the bound is
// 1.01 R'(x) (upper - lower) + 8 eps y.
void expect_converged_claim_holds(const MonotoneNet<double>& net, double y, double x, double lower,
                                  double upper, double residual, const char* who) {
  const double eps = std::numeric_limits<double>::epsilon();
  EXPECT_TRUE(x == lower || x == upper) << who << " y = " << y;
  EXPECT_LE(lower, upper) << who << " y = " << y;
  const bool width_ok = upper - lower <= 4 * eps * std::max(std::abs(lower), std::abs(upper)) ||
                        std::nextafter(lower, upper) == upper;
  EXPECT_TRUE(width_ok) << who << " y = " << y << " bracket [" << lower << ", " << upper << "]";
  const auto v = net.value_and_slope(x);
  const double r_minus_y = v.value - y;
  EXPECT_LE(std::abs(r_minus_y), 1.01 * v.slope * (upper - lower) + 8 * eps * y)
      << who << " y = " << y << " x = " << x;
  // The residual the solver reports is R(x) - y with its own rounding.
  EXPECT_NEAR(residual, r_minus_y, 8 * eps * y) << who << " y = " << y;
}

TEST(MonotoneNetNewton, ConvergedStatusesAreTrueOfTheReturnedX) {
  auto net = make_reference_monotone_net();
  const Vec y = hard_targets(net);
  const auto batch = net.inverse_newton(y);
  ASSERT_TRUE(batch.ok()) << batch.failures.front().second;
  const auto reference = net.inverse_batched(y, ScalarRootOptions{});  // TOMS 748
  ASSERT_TRUE(reference.ok());
  const double eps = std::numeric_limits<double>::epsilon();
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const std::size_t k = static_cast<std::size_t>(i);
    ASSERT_EQ(batch.status[k], Status::kConverged) << y[i];
    expect_converged_claim_holds(net, y[i], batch.x[i], batch.lower[i], batch.upper[i],
                                 batch.residual[i], "batch");
    auto one = net.inverse(y[i], newton_options());
    ASSERT_TRUE(one.ok()) << one.brief_report();
    expect_converged_claim_holds(net, y[i], one.x, one.lower, one.upper, one.residual, "scalar");
    // Both brackets have width <= 4 eps x around the root (RoundTripRecoversX
    // adds the ~eps R/R' that rounding of R moves the root by).
    if (y[i] > 0) {
      const double scale = batch.x[i] + y[i] / net.derivative(batch.x[i]);
      EXPECT_LE(std::abs(batch.x[i] - reference.x[i]), 8 * eps * scale) << y[i];
    } else {
      EXPECT_EQ(batch.x[i], 0.0);
    }
  }
}

// The SIMD lanes against the scalar rule, on AVX-512, forced AVX2 and SSE4
// where the kernel is compiled in (the scalar loop against itself otherwise).
void expect_batch_equals_scalar(const MonotoneNet<double>& net, const Vec& y) {
  const auto batch = net.inverse_newton(y);
  const double eps = std::numeric_limits<double>::epsilon();
  Eigen::Index evaluations_differ = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const std::size_t k = static_cast<std::size_t>(i);
    const auto one = net.inverse(y[i], newton_options());
    ASSERT_EQ(batch.status[k], one.status) << y[i] << ": " << one.brief_report();
    if (!one.ok()) continue;
    // Same start, same rule; the exponentials differ in the last bit, which
    // can flip the sign test at a point within ~eps R / R' of the root and
    // so end on the other adjacent bracket: each x is within its bracket
    // (<= 4 eps x) of the root, so they differ by at most 8 eps x plus that
    // rounding shift. Measured: <= 6 ulp on these targets.
    const double scale = one.x + (y[i] > 0 ? y[i] / net.derivative(one.x) : 0.0);
    EXPECT_LE(std::abs(batch.x[i] - one.x), 8 * eps * scale) << y[i];
    evaluations_differ += batch.evaluations[k] != one.function_evaluations;
    EXPECT_LE(std::abs(batch.evaluations[k] - one.function_evaluations), 2) << y[i];
  }
  // The sign flips above are the only source of different counts.
  EXPECT_LE(evaluations_differ, y.size() / 2);
}

TEST(MonotoneNetNewton, SimdBatchEqualsTheScalarRule) {
  auto net = make_reference_monotone_net();
  const Vec y = hard_targets(net);
  {
    SCOPED_TRACE(MonotoneNet<double>::batch_backend());
    expect_batch_equals_scalar(net, y);
  }
#ifdef IMPLICIT_MONOTONE_SIMD
  for (auto limit : {internal::MonotoneSimdLimit::kAvx2, internal::MonotoneSimdLimit::kSse4}) {
    internal::monotone_simd_limit(limit);
    SCOPED_TRACE(MonotoneNet<double>::batch_backend());
    expect_batch_equals_scalar(net, y);
  }
  internal::monotone_simd_limit(internal::MonotoneSimdLimit::kBest);
#endif
  // A net with b << 0 units, an inactive-at-0 relu (b_H < 0) and H = 2.
  Vec w(2), v(2), b(2);
  w << -1.0, 0.5;
  v << 0.3, -0.7;
  b << -25.0, -3.0;
  MonotoneNet<double> odd(w, v, b);
  expect_batch_equals_scalar(odd, hard_targets(odd));
}

TEST(MonotoneNetNewton, FewEvaluationsPerInverse) {
  // 10^4 targets in (0, 10): measured 2.63 evaluations of R and R' per
  // inverse on average (max 6), against TOMS 748's 8.4 of R.
  auto net = make_reference_monotone_net();
  Vec y(10000);
  for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = 10.0 * (static_cast<double>(i) + 0.5) / 1e4;
  const auto batch = net.inverse_newton(y);
  ASSERT_TRUE(batch.ok());
  EXPECT_LE(batch.mean_evaluations(), 3.0);
  EXPECT_LE(*std::max_element(batch.evaluations.begin(), batch.evaluations.end()), 8);
}

TEST(MonotoneNetNewton, BadTargetsFailOnlyTheirOwnEntry) {
  auto net = make_reference_monotone_net();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  Vec y(9), clean(9);
  y << 1.0, nan, -1.0, inf, 2.0, 0.0, 1e-300, -inf, 7.5;
  clean << 1.0, 0.5, 0.5, 0.5, 2.0, 0.0, 1e-300, 0.5, 7.5;
  const auto batch = net.inverse_newton(y);
  const auto good = net.inverse_newton(clean);
  EXPECT_FALSE(batch.ok());
  ASSERT_EQ(batch.failures.size(), 4u);
  const std::vector<Eigen::Index> bad = {1, 2, 3, 7};
  for (std::size_t f = 0; f < bad.size(); ++f) {
    EXPECT_EQ(batch.failures[f].first, bad[f]);
    EXPECT_EQ(batch.status[static_cast<std::size_t>(bad[f])],
              bad[f] == 1 ? Status::kNonFinite : Status::kInvalidBracket);
  }
  EXPECT_NE(batch.failures[0].second.find("NaN"), std::string::npos) << batch.failures[0].second;
  EXPECT_NE(batch.failures[1].second.find("y = -1 < 0"), std::string::npos);
  EXPECT_NE(batch.failures[2].second.find("no finite solution"), std::string::npos);
  for (Eigen::Index i : {0, 4, 5, 6, 8}) {
    EXPECT_EQ(batch.status[static_cast<std::size_t>(i)], Status::kConverged) << i;
    // Lanes are independent: the same x, bit for bit, as without neighbours.
    EXPECT_EQ(batch.x[i], good.x[i]) << i;
    EXPECT_EQ(batch.evaluations[static_cast<std::size_t>(i)],
              good.evaluations[static_cast<std::size_t>(i)]);
  }
  EXPECT_EQ(batch.result(2).message, batch.failures[1].second);
  // The gradients of that batch: NaN rows with the forward status there.
  const auto grads = net.inverse_gradients(batch);
  EXPECT_EQ(grads.status[1], Status::kNonFinite);
  EXPECT_TRUE(std::isnan(grads.dx_dy[3]));
  EXPECT_EQ(grads.status[4], Status::kConverged);
  EXPECT_NE(grads.message.find("row 1"), std::string::npos) << grads.message;
  // inverse_batched gives the same statuses, as ScalarRootResults.
  const auto isolated = net.inverse_batched(y, newton_options());
  for (Eigen::Index i = 0; i < y.size(); ++i)
    EXPECT_EQ(isolated.results[static_cast<std::size_t>(i)].status,
              batch.status[static_cast<std::size_t>(i)])
        << i;
  const auto detailed = net.inverse_batched(clean, newton_options());
  ASSERT_TRUE(detailed.ok());
  for (Eigen::Index i = 0; i < clean.size(); ++i) {
    EXPECT_EQ(detailed.x[i], good.x[i]);
    EXPECT_EQ(detailed.results[static_cast<std::size_t>(i)].method, ScalarRootMethod::kNewton);
  }
  EXPECT_THROW((void)net.inverse(nan, newton_options()), std::invalid_argument);
}

TEST(MonotoneNetNewton, MaxIterationsIsAStatus) {
  auto net = make_reference_monotone_net();
  ScalarRootOptions one = newton_options();
  one.max_iter = 1;
  Vec y(3);
  y << 0.3, 4.0, 9.0;  // (in the tail, R is linear and the first point can be exact)
  const auto batch = net.inverse_newton(y, one);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const auto single = net.inverse(y[i], one);
    EXPECT_EQ(batch.status[static_cast<std::size_t>(i)], Status::kMaxIterations);
    EXPECT_EQ(single.status, Status::kMaxIterations);
    EXPECT_LE(batch.lower[i], batch.upper[i]);
  }
  ASSERT_EQ(batch.failures.size(), 3u);
  EXPECT_NE(batch.failures[0].second.find("max_iter = 1"), std::string::npos)
      << batch.failures[0].second;
}

TEST(MonotoneNetNewton, FlatStartAndReluOnlyNet) {
  // H = 1, b < 0: R = 0 on [0, 1], then x - 1. R' = 0 at the first knots.
  Vec w(1), v(1), b(1);
  w << 0.0;
  v << 0.0;
  b << -1.0;
  MonotoneNet<double> net(w, v, b);
  Vec y(4);
  y << 0.0, 1e-300, 0.5, 1e6;
  const auto batch = net.inverse_newton(y);
  ASSERT_TRUE(batch.ok()) << batch.failures.front().second;
  EXPECT_EQ(batch.x[0], 0.0);
  EXPECT_NEAR(batch.x[1], 1.0, 1e-15);
  EXPECT_NEAR(batch.x[2], 1.5, 1e-15);
  EXPECT_NEAR(batch.x[3], 1e6 + 1, 1e-9);
  for (Eigen::Index i = 0; i < y.size(); ++i)
    EXPECT_EQ(net.inverse(y[i], newton_options()).x, batch.x[i]) << i;
}

TEST(MonotoneNetNewton, GradientsMatchFiniteDifferencesOfTheNewtonInverse) {
  auto net = make_reference_monotone_net();
  const Eigen::Index h = net.hidden();
  const Vec theta = net.theta();
  Vec y(4);
  y << 0.05, 0.6, 2.5, 7.0;  // x* = 0.03, 0.32, 1.25, 2.9: away from the kink at 0.82
  const auto forward = net.inverse_newton(y);
  ASSERT_TRUE(forward.ok());
  const auto grads = net.inverse_gradients(forward);
  ASSERT_TRUE(grads.ok()) << grads.message;
  auto newton_x = [](const MonotoneNet<double>& n, double target) {
    auto r = n.inverse(target, newton_options());
    EXPECT_TRUE(r.ok()) << r.brief_report();
    return r.x;
  };
  auto net_at = [&](const Vec& t) {
    return MonotoneNet<double>(t.head(h), t.segment(h, h), t.tail(h));
  };
  // Central differences with step 1e-6: truncation h^2 |x^(3)| / 6 ~ 1e-12,
  // rounding: each solve returns x within ~2 eps (x + R/R') <~ 3e-15 of its
  // root, so the quotient carries <~ 3e-15 / 1e-6 = 3e-9; 1e-7 relative to
  // max(1, |derivative|) leaves a factor 30.
  const double step = 1e-6;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const double fd_y = (newton_x(net, y[i] + step) - newton_x(net, y[i] - step)) / (2 * step);
    EXPECT_NEAR(grads.dx_dy[i], fd_y, 1e-7 * std::max(1.0, std::abs(fd_y))) << i;
    for (Eigen::Index j = 0; j < 3 * h; ++j) {
      Vec plus = theta, minus = theta;
      plus[j] += step;
      minus[j] -= step;
      const double fd = (newton_x(net_at(plus), y[i]) - newton_x(net_at(minus), y[i])) / (2 * step);
      EXPECT_NEAR(grads.dx_dtheta(i, j), fd, 1e-7 * std::max(1.0, std::abs(fd)))
          << "y = " << y[i] << ", theta index " << j;
    }
  }
}

TEST(MonotoneNetNewton, BatchGradientsEqualForwardModeThroughTheSpecFormula) {
  // dx/dy = 1/R' and dx/dtheta = -dR/dtheta / R' with R' and dR/dtheta by
  // forward-mode AD of monotone_forward (the spec's formula, no code shared
  // with the SIMD kernel), on many roots including tiny and huge x.
  auto net = make_reference_monotone_net();
  const Eigen::Index h = net.hidden();
  const Vec y = hard_targets(net);
  const auto forward = net.inverse_newton(y);
  ASSERT_TRUE(forward.ok());
  const auto grads = net.inverse_gradients(forward);
  const Vec theta = net.theta();
  MonotoneVector<AD> w(h), v(h), b(h);
  for (Eigen::Index i = 0; i < h; ++i) {
    w[i] = AD(theta[i], 3 * h + 1, i);
    v[i] = AD(theta[h + i], 3 * h + 1, h + i);
    b[i] = AD(theta[2 * h + i], 3 * h + 1, 2 * h + i);
  }
  for (Eigen::Index i = 0; i < y.size(); i += 3) {
    const double x = forward.x[i];
    const AD r = monotone_forward<AD>(w, v, b, AD(x, 3 * h + 1, 3 * h));
    const double slope = r.derivatives()[3 * h];
    ASSERT_EQ(grads.status[static_cast<std::size_t>(i)], Status::kConverged);
    // 1/R' to ~ulps; dR/dtheta: the spec formula's dR/db is a difference of
    // sigmoid slopes, accurate to ~eps absolute (see GradThetaMatches...),
    // so 1e-14 (1 + max |row|).
    EXPECT_NEAR(grads.dx_dy[i], 1 / slope, 1e-14 / slope) << x;
    const Vec expected = -r.derivatives().head(3 * h) / slope;
    EXPECT_LE((grads.dx_dtheta.row(i).transpose() - expected).cwiseAbs().maxCoeff(),
              1e-14 * (1 + expected.cwiseAbs().maxCoeff()))
        << x;
  }
  // The scalar rows (T = float has no SIMD path) against the double ones:
  // parameters rounded to float move 1/R' by ~eps_f times O(1) condition
  // numbers (FloatAndDoubleAgree).
  auto net_f = make_reference_monotone_net<float>();
  // The last 60 roots lie near x = 4, far from the relu kink (which a
  // rounded x could cross).
  const Eigen::Index tail = forward.x.size() - 60;
  const Eigen::VectorXf x_f = forward.x.tail(60).cast<float>();
  const auto grads_f = net_f.inverse_gradients(x_f);
  const double eps_f = std::numeric_limits<float>::epsilon();
  for (Eigen::Index i = 0; i < 60; ++i)
    EXPECT_NEAR(grads_f.dx_dy[i], grads.dx_dy[tail + i], 64 * eps_f * grads.dx_dy[tail + i]) << i;
}

TEST(MonotoneNetNewton, IntoVariantsReuseAndOverwrite) {
  auto net = make_reference_monotone_net();
  Vec y(20);
  for (Eigen::Index i = 0; i < y.size(); ++i) y[i] = 0.4 * static_cast<double>(i);
  MonotoneNewtonBatch<double> out;
  Vec with_bad = y;
  with_bad[3] = -1;
  net.inverse_newton_into(with_bad, out);
  EXPECT_EQ(out.failures.size(), 1u);
  const double* storage = out.x.data();
  net.inverse_newton_into(y, out);
  EXPECT_TRUE(out.ok());  // the old failure is gone
  EXPECT_EQ(out.x.data(), storage);
  MonotoneInverseGradients<double> g;
  net.inverse_gradients_into(out, g);
  const double* g_storage = g.dx_dtheta.data();
  net.inverse_gradients_into(out, g);
  EXPECT_EQ(g.dx_dtheta.data(), g_storage);
  EXPECT_TRUE(g.ok());
  EXPECT_TRUE(g.message.empty());
}

// Regression (the "one formula" issue): on the networks of
// models/monotone_cases.hpp, where sigmoid(b + d) - sigmoid(b),
// sigmoid'(b + d) - sigmoid'(b) or relu(b + d) - relu(b) is below one ulp of
// its terms, dx*/dtheta of every dense path (the scalar closed form, the
// batch kernel behind inverse_gradients, the default inverse_batched and
// inverse_newton) must match
//   * the scalar closed form to 1e-12 relative per entry: the same formula
//     in double at roots that agree to a few ulp; each entry is a product
//     of O(1)-conditioned factors over R', a sum of positive terms, so the
//     paths differ by ~10 ulp (the SIMD exponential is not std::exp);
//     a formula that cancels is off by 1e-3 relative (saturated) to 100%;
//   * long double central differences (monotone_cases.hpp: error ~2e-11 of
//     the entry plus ~5e-14 |x*|) to 1e-6 relative plus 1e-10 |x*|.
TEST(MonotoneNetHardCases, EveryDensePathMatchesTheLongDoubleReference) {
  for (const auto& c : monotone_cases::hard_monotone_cases()) {
    SCOPED_TRACE(c.name);
    const MonotoneNet<double> net(c.w, c.v, c.b);
    const auto reference = monotone_cases::long_double_reference(c);
    ASSERT_TRUE(std::isfinite(static_cast<double>(reference.x)));
    const double fd_abs = 1e-10 * static_cast<double>(reference.x);
    ScalarRootOptions toms;
    const auto solved = net.inverse(c.y, toms);
    ASSERT_TRUE(solved.ok()) << solved.brief_report();
    const Vec scalar = monotone_cases::eigen_dx_dtheta(net, solved.x);
    Eigen::Index j = 0;
    EXPECT_LE(monotone_cases::worst_violation(scalar, reference.dx_dtheta, 1e-6, fd_abs, &j), 1)
        << "scalar closed form, entry " << j << ": " << scalar[j] << " vs long double "
        << static_cast<double>(reference.dx_dtheta[j]);

    Vec x(1), y(1);
    x << solved.x;
    y << c.y;
    const auto at_x = net.inverse_gradients(x);
    const auto batch = net.inverse_batched(y);
    ASSERT_TRUE(batch.ok()) << batch.results[0].brief_report();
    const auto newton = net.inverse_newton(y);
    ASSERT_TRUE(newton.ok()) << newton.result(0).brief_report();
    // Their converged statuses are true of the returned x: within the
    // bracket's 4 eps x of the root TOMS 748 found, plus the eps R / R'
    // that R's rounding moves the root by (MonotoneNetNewton's bound).
    const double eps = std::numeric_limits<double>::epsilon();
    const double scale = solved.x + c.y / net.derivative(solved.x);
    EXPECT_LE(std::abs(batch.x[0] - solved.x), 8 * eps * scale);
    EXPECT_LE(std::abs(newton.x[0] - solved.x), 8 * eps * scale);
    const std::pair<const char*, MonotoneInverseGradients<double>> paths[] = {
        {"inverse_gradients(x*)", at_x},
        {"inverse_batched", net.inverse_gradients(batch)},
        {"inverse_newton", net.inverse_gradients(newton)}};
    for (const auto& [name, grads] : paths) {
      ASSERT_TRUE(grads.ok()) << name << ": " << grads.message;
      const Vec row = grads.dx_dtheta.row(0).transpose();
      EXPECT_LE(monotone_cases::worst_violation(row, scalar, 1e-12, 0.0, &j), 1)
          << name << ", entry " << j << ": " << row[j] << " vs scalar " << scalar[j];
      EXPECT_LE(monotone_cases::worst_violation(row, reference.dx_dtheta, 1e-6, fd_abs, &j), 1)
          << name << ", entry " << j << ": " << row[j] << " vs long double "
          << static_cast<double>(reference.dx_dtheta[j]);
    }
  }
}

}  // namespace
}  // namespace implicit
