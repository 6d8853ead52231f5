#include "implicit/root/bisection.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace implicit {
namespace {

template <class T>
class BisectionTest : public ::testing::Test {};
using ScalarTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(BisectionTest, ScalarTypes);

TYPED_TEST(BisectionTest, FindsSqrtTwoToAFewUlps) {
  using T = TypeParam;
  const T root = std::sqrt(T(2));
  auto r = find_root_bisection([](T x) { return x * x - T(2); }, T(0), T(2));
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, ScalarRootMethod::kBisection);
  // Default stop: bracket width <= 4 eps max(|lower|, |upper|), and x is an
  // end of that bracket, so |x - root| <= 4 eps * 1.5.
  const T eps = std::numeric_limits<T>::epsilon();
  EXPECT_LE(std::abs(r.x - root), 6 * eps);
  EXPECT_LE(r.lower, r.x);
  EXPECT_GE(r.upper, r.x);
  EXPECT_EQ(r.residual, r.x * r.x - T(2));
  // Halvings from width 2 to 4 eps * sqrt(2): log2(2 / (5.6 eps)) ~ digits - 1.5.
  EXPECT_LE(r.iterations, std::numeric_limits<T>::digits);
  EXPECT_EQ(r.function_evaluations, r.iterations + 2);
}

TYPED_TEST(BisectionTest, DecreasingFunctionWorksToo) {
  using T = TypeParam;
  auto r = find_root_bisection([](T x) { return T(2) - x * x; }, T(0), T(2));
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_NEAR(r.x, std::sqrt(T(2)), 6 * std::numeric_limits<T>::epsilon());
}

TEST(Bisection, ExactZeroAtAnEndCostsNoIteration) {
  auto r = find_root_bisection([](double x) { return x; }, 0.0, 1.0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.x, 0.0);
  EXPECT_EQ(r.iterations, 0);
  EXPECT_EQ(r.function_evaluations, 2);
}

TEST(Bisection, ExactZeroAtTheMidpointStops) {
  auto r = find_root_bisection([](double x) { return x - 1; }, 0.0, 2.0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.x, 1.0);
  EXPECT_EQ(r.lower, 1.0);
  EXPECT_EQ(r.upper, 1.0);
  EXPECT_EQ(r.iterations, 1);
}

TEST(Bisection, AbsoluteToleranceStopsEarly) {
  ScalarRootOptions options;
  options.x_abs_tol = 1e-3;
  auto r = find_root_bisection([](double x) { return x * x - 2; }, 0.0, 2.0, options);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r.upper - r.lower, 1e-3 + options.effective_x_rel_tol<double>() * 2);
  EXPECT_EQ(r.iterations, 11);  // 2 / 2^11 < 1e-3 < 2 / 2^10
}

TEST(Bisection, MaxIterationsIsAStatusWithTheBracket) {
  ScalarRootOptions options;
  options.max_iter = 5;
  auto r = find_root_bisection([](double x) { return x * x - 2; }, 0.0, 2.0, options);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.iterations, 5);
  EXPECT_DOUBLE_EQ(r.upper - r.lower, 2.0 / 32);
  EXPECT_LE(r.lower, std::sqrt(2.0));
  EXPECT_GE(r.upper, std::sqrt(2.0));
  EXPECT_NE(r.message.find("max_iter = 5"), std::string::npos) << r.message;
}

TEST(Bisection, NanInsideIsNonFinite) {
  // g is NaN around 1, where the first midpoint lands.
  auto g = [](double x) {
    return (x > 0.9 && x < 1.1) ? std::numeric_limits<double>::quiet_NaN() : x - 1.5;
  };
  auto r = find_root_bisection(g, 0.0, 2.0);
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_EQ(r.lower, 0.0);
  EXPECT_EQ(r.upper, 2.0);
  EXPECT_NE(r.message.find("nan"), std::string::npos) << r.message;
}

TEST(Bisection, RootAtZeroNeedsAnAbsoluteTolerance) {
  // The relative test can never hold on a bracket straddling 0.
  auto g = [](double x) { return x; };
  auto r = find_root_bisection(g, -1.0, 2.0);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  ScalarRootOptions options;
  options.x_abs_tol = 1e-12;
  auto r2 = find_root_bisection(g, -1.0, 2.0, options);
  ASSERT_TRUE(r2.ok()) << r2.brief_report();
  EXPECT_LE(std::abs(r2.x), 1e-12);
}

TEST(Bisection, InvalidBracketsAreStatusesWithTheNumbers) {
  auto g = [](double x) { return x * x - 2; };
  auto same_sign = find_root_bisection(g, 2.0, 3.0);
  EXPECT_EQ(same_sign.status, Status::kInvalidBracket);
  EXPECT_NE(same_sign.message.find("same sign"), std::string::npos) << same_sign.message;
  EXPECT_NE(same_sign.message.find("g(upper) = 7"), std::string::npos) << same_sign.message;

  auto reversed = find_root_bisection(g, 2.0, 0.0);
  EXPECT_EQ(reversed.status, Status::kInvalidBracket);
  EXPECT_NE(reversed.message.find("lower < upper"), std::string::npos) << reversed.message;

  auto infinite = find_root_bisection(g, 0.0, std::numeric_limits<double>::infinity());
  EXPECT_EQ(infinite.status, Status::kInvalidBracket);
  EXPECT_NE(infinite.message.find("inf"), std::string::npos) << infinite.message;

  auto nan_end = find_root_bisection(
      [](double x) { return x > 1 ? std::numeric_limits<double>::quiet_NaN() : -1.0; }, 0.0, 2.0);
  EXPECT_EQ(nan_end.status, Status::kInvalidBracket);
  EXPECT_NE(nan_end.message.find("not finite"), std::string::npos) << nan_end.message;
}

TEST(Bisection, NanEndsAndBadOptionsThrow) {
  auto g = [](double x) { return x; };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW((void)find_root_bisection(g, nan, 1.0), std::invalid_argument);
  EXPECT_THROW((void)find_root_bisection(g, -1.0, nan), std::invalid_argument);
  ScalarRootOptions options;
  options.max_iter = 0;
  try {
    (void)find_root_bisection(g, -1.0, 1.0, options);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("max_iter"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace implicit
