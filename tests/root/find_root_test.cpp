#include "implicit/root/find_root.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace implicit {
namespace {

template <class T>
class FindRootTest : public ::testing::Test {};
using ScalarTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(FindRootTest, ScalarTypes);

TYPED_TEST(FindRootTest, MethodOptionChoosesTheAlgorithm) {
  using T = TypeParam;
  auto g = [](T x) { return x * x * x - T(3); };
  ScalarRootOptions options;
  auto fast = find_root(g, T(0), T(3), options);
  options.method = ScalarRootMethod::kBisection;
  auto slow = find_root(g, T(0), T(3), options);
  ASSERT_TRUE(fast.ok()) << fast.brief_report();
  ASSERT_TRUE(slow.ok()) << slow.brief_report();
  EXPECT_EQ(fast.method, ScalarRootMethod::kToms748);
  EXPECT_EQ(slow.method, ScalarRootMethod::kBisection);
  const T root = std::cbrt(T(3));
  EXPECT_LE(std::abs(fast.x - root), 8 * std::numeric_limits<T>::epsilon());
  EXPECT_LE(std::abs(slow.x - root), 8 * std::numeric_limits<T>::epsilon());
  EXPECT_LT(fast.function_evaluations, slow.function_evaluations);
}

TYPED_TEST(FindRootTest, IncreasingGrowsTheBracketGeometrically) {
  using T = TypeParam;
  // Trial right ends 1, 2, 4, ..., 1024: 11 trials, the last one brackets
  // 1000, and the left end has moved up to 512.
  for (ScalarRootMethod method : {ScalarRootMethod::kToms748, ScalarRootMethod::kBisection}) {
    ScalarRootOptions options;
    options.method = method;
    auto r = find_root_increasing([](T x) { return x - T(1000); }, T(0), options);
    ASSERT_TRUE(r.ok()) << r.brief_report();
    EXPECT_EQ(r.x, T(1000));
    EXPECT_EQ(r.bracket_expansions, 11);
    EXPECT_EQ(r.function_evaluations, 1 + 11 + r.iterations);
  }
}

TEST(FindRoot, IncreasingHonoursStepAndGrowthFactor) {
  ScalarRootOptions options;
  options.bracket.initial_step = 10;
  options.bracket.growth_factor = 10;
  auto r = find_root_increasing([](double x) { return x - 505; }, 5.0, options);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.bracket_expansions, 3);  // 15, 105, 1005
  EXPECT_NEAR(r.x, 505, 4 * std::numeric_limits<double>::epsilon() * 505);
}

TEST(FindRoot, IncreasingWithExactZeroAtLowerOrATrial) {
  auto at_lower = find_root_increasing([](double x) { return x - 2; }, 2.0);
  ASSERT_TRUE(at_lower.ok());
  EXPECT_EQ(at_lower.x, 2.0);
  EXPECT_EQ(at_lower.function_evaluations, 1);
  auto at_trial = find_root_increasing([](double x) { return x - 4; }, 0.0);
  ASSERT_TRUE(at_trial.ok());
  EXPECT_EQ(at_trial.x, 4.0);
  EXPECT_EQ(at_trial.iterations, 0);
}

TEST(FindRoot, IncreasingFailsWhenGStartsPositive) {
  auto r = find_root_increasing([](double x) { return x + 0.5; }, 0.0);
  EXPECT_EQ(r.status, Status::kInvalidBracket);
  EXPECT_NE(r.message.find("g(lower) = 0.5 > 0"), std::string::npos) << r.message;
}

TEST(FindRoot, IncreasingFailsWhenGNeverTurnsPositive) {
  ScalarRootOptions options;
  options.bracket.max_expansions = 10;
  auto r = find_root_increasing([](double x) { return -1 / (1 + x); }, 0.0, options);
  EXPECT_EQ(r.status, Status::kInvalidBracket);
  EXPECT_EQ(r.function_evaluations, 11);
  // The message names the start, the last right end 2^9 = 512 and g there.
  EXPECT_NE(r.message.find("lower = 0"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("last right end 512"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("g = -0.00194"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("max_expansions"), std::string::npos) << r.message;
}

TEST(FindRoot, IncreasingFailsWhenGTurnsNan) {
  auto g = [](double x) { return x < 10 ? x - 100 : std::numeric_limits<double>::quiet_NaN(); };
  auto r = find_root_increasing(g, 0.0);
  EXPECT_EQ(r.status, Status::kInvalidBracket);
  EXPECT_EQ(r.x, 8.0);  // the last trial with g <= 0
  EXPECT_NE(r.message.find("trial right end 16 (g = nan"), std::string::npos) << r.message;
}

TEST(FindRoot, IncreasingFloatRightEndOverflowIsReported) {
  auto r = find_root_increasing([](float) { return -1.0f; }, 0.0f);
  EXPECT_EQ(r.status, Status::kInvalidBracket);
  EXPECT_NE(r.message.find("overflowed"), std::string::npos) << r.message;
}

TEST(FindRoot, GivenBracketThatDoesNotBracket) {
  auto r = find_root([](double x) { return x * x + 1; }, -1.0, 1.0);
  EXPECT_EQ(r.status, Status::kInvalidBracket);
  EXPECT_NE(r.message.find("[lower, upper] = [-1, 1], g(lower) = 2, g(upper) = 2"),
            std::string::npos)
      << r.message;
}

TEST(FindRoot, MaxIterationsAndNonFiniteAreStatuses) {
  ScalarRootOptions options;
  options.max_iter = 3;
  options.method = ScalarRootMethod::kBisection;
  auto capped = find_root_increasing([](double x) { return x * x - 10; }, 0.0, options);
  EXPECT_EQ(capped.status, Status::kMaxIterations);
  EXPECT_EQ(capped.iterations, 3);
  EXPECT_LE(capped.lower, std::sqrt(10.0));
  EXPECT_GE(capped.upper, std::sqrt(10.0));

  auto g = [](double x) { return x > 2.5 && x < 3.5 ? std::nan("") : x - 3.2; };
  auto nan_inside = find_root(g, 2.0, 4.0, options);
  EXPECT_EQ(nan_inside.status, Status::kNonFinite);
}

TEST(FindRoot, NanInputsAndInvalidOptionsThrowNamingTheField) {
  auto g = [](double x) { return x - 1; };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THROW((void)find_root(g, nan, 2.0), std::invalid_argument);
  EXPECT_THROW((void)find_root_increasing(g, nan), std::invalid_argument);

  auto expect_field = [&](ScalarRootOptions options, const std::string& field) {
    try {
      (void)find_root_increasing(g, 0.0, options);
      ADD_FAILURE() << "expected std::invalid_argument naming " << field;
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(field), std::string::npos) << e.what();
    }
  };
  ScalarRootOptions o;
  o.x_abs_tol = -1;
  expect_field(o, "x_abs_tol");
  o = {};
  o.x_rel_tol = std::numeric_limits<double>::infinity();
  expect_field(o, "x_rel_tol");
  o = {};
  o.max_iter = 0;
  expect_field(o, "max_iter");
  o = {};
  o.bracket.initial_step = 0;
  expect_field(o, "initial_step");
  o = {};
  o.bracket.growth_factor = 1;
  expect_field(o, "growth_factor");
  o = {};
  o.bracket.max_expansions = 0;
  expect_field(o, "max_expansions");
}

TEST(FindRoot, RelativeToleranceDefaultFollowsTheScalarType) {
  ScalarRootOptions options;
  EXPECT_EQ(options.effective_x_rel_tol<double>(), 4 * std::numeric_limits<double>::epsilon());
  EXPECT_EQ(options.effective_x_rel_tol<float>(), 4 * std::numeric_limits<float>::epsilon());
  options.x_rel_tol = 1e-6;
  EXPECT_EQ(options.effective_x_rel_tol<double>(), 1e-6);
  auto r = find_root([](double x) { return x - std::sqrt(2.0); }, 1.0, 2.0, options);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r.upper - r.lower, 1e-6 * 2);
}

TEST(FindRoot, BriefReportSaysWhatHappened) {
  auto r = find_root([](double x) { return x * x + 1; }, -1.0, 1.0);
  const std::string report = r.brief_report();
  EXPECT_NE(report.find("toms748: invalid_bracket"), std::string::npos) << report;
  EXPECT_NE(report.find("same sign"), std::string::npos) << report;
}

}  // namespace
}  // namespace implicit
