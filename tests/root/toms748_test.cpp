#include "implicit/root/toms748.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "implicit/root/bisection.hpp"

namespace implicit {
namespace {

template <class T>
class Toms748Test : public ::testing::Test {};
using ScalarTypes = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Toms748Test, ScalarTypes);

TYPED_TEST(Toms748Test, FindsSqrtTwoInFewEvaluations) {
  using T = TypeParam;
  auto g = [](T x) { return x * x - T(2); };
  auto r = find_root_toms748(g, T(0), T(2));
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, ScalarRootMethod::kToms748);
  // Same stopping rule as bisection: x within 4 eps * 1.5 of the root.
  EXPECT_LE(std::abs(r.x - std::sqrt(T(2))), 6 * std::numeric_limits<T>::epsilon());
  EXPECT_EQ(r.residual, g(r.x));
  EXPECT_LE(r.lower, r.x);
  EXPECT_GE(r.upper, r.x);
  // Superlinear: about 3 digits per step; a regression to bisection-like
  // behaviour (~digits evaluations) fails this.
  EXPECT_LE(r.function_evaluations, 12);
  EXPECT_EQ(r.function_evaluations, r.iterations + 2);
}

struct Case {
  const char* name;
  std::function<double(double)> g;
  double lower, upper;
};

TEST(Toms748, AgreesWithBisectionAndIsFasterOnSmoothFunctions) {
  const std::vector<Case> cases = {
      {"x^3 - 2x - 5", [](double x) { return x * x * x - 2 * x - 5; }, 2, 3},
      {"exp(x) - 2", [](double x) { return std::exp(x) - 2; }, 0, 2},
      {"cos(x) - x", [](double x) { return std::cos(x) - x; }, 0, 1},
      {"atan(x - 0.3)", [](double x) { return std::atan(x - 0.3); }, -10, 40},
      {"x^5 - 1e-3", [](double x) { return std::pow(x, 5) - 1e-3; }, 0, 4},
  };
  for (const auto& c : cases) {
    auto fast = find_root_toms748(c.g, c.lower, c.upper);
    auto slow = find_root_bisection(c.g, c.lower, c.upper);
    ASSERT_TRUE(fast.ok()) << c.name << ": " << fast.brief_report();
    ASSERT_TRUE(slow.ok()) << c.name << ": " << slow.brief_report();
    // Both stop on a bracket of width <= 4 eps |x|, so they agree to 8 eps |x|.
    EXPECT_NEAR(fast.x, slow.x, 8 * std::numeric_limits<double>::epsilon() * std::abs(slow.x))
        << c.name;
    EXPECT_LT(fast.function_evaluations, slow.function_evaluations / 2)
        << c.name << ": " << fast.brief_report();
  }
}

TEST(Toms748, TripleRootAndJumpStayWithinFourTimesBisection) {
  // A triple root (no sign of superlinear convergence) and a jump (not even
  // continuous): the safeguarding bisection bounds the cost at about four
  // evaluations per halving.
  auto triple = [](double x) { return (x - 1) * (x - 1) * (x - 1); };
  auto jump = [](double x) { return x < 0.3 ? -1.0 : 1.0; };
  for (auto* g : {+triple, +jump}) {
    auto fast = find_root_toms748(g, 0.0, 3.0);
    auto slow = find_root_bisection(g, 0.0, 3.0);
    ASSERT_TRUE(fast.ok()) << fast.brief_report();
    EXPECT_LE(fast.function_evaluations, 4 * slow.function_evaluations);
    EXPECT_LE(fast.lower, slow.upper);
    EXPECT_GE(fast.upper, slow.lower);
  }
}

TEST(Toms748, ExactZeroAtAnEnd) {
  auto r = find_root_toms748([](double x) { return x - 2; }, 0.0, 2.0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.x, 2.0);
  EXPECT_EQ(r.iterations, 0);
}

TEST(Toms748, MaxIterationsIsAStatusWithAValidBracket) {
  ScalarRootOptions options;
  options.max_iter = 2;
  auto g = [](double x) { return std::exp(x) - 2; };
  auto r = find_root_toms748(g, 0.0, 2.0, options);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_LT(r.lower, r.upper);
  EXPECT_LT(g(r.lower) * g(r.upper), 0);
  EXPECT_EQ(r.residual, g(r.x));
  EXPECT_NE(r.message.find("max_iter = 2"), std::string::npos) << r.message;
}

TEST(Toms748, NanInsideIsNonFiniteAndKeepsTheBracket) {
  // NaN on (0.5, 0.8) around the root 0.693: the secant step lands there.
  auto g = [](double x) {
    return (x > 0.5 && x < 0.8) ? std::numeric_limits<double>::quiet_NaN() : std::exp(x) - 2;
  };
  auto r = find_root_toms748(g, 0.0, 2.0);
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_NE(r.message.find("nan"), std::string::npos) << r.message;
  EXPECT_LT(r.lower, r.upper);
  EXPECT_LT(g(r.lower) * g(r.upper), 0);
}

TEST(Toms748, InvalidBracketsAreStatusesNotBoostExceptions) {
  auto g = [](double x) { return x * x - 2; };
  auto same_sign = find_root_toms748(g, -1.0, 1.0);
  EXPECT_EQ(same_sign.status, Status::kInvalidBracket);
  EXPECT_NE(same_sign.message.find("g(lower) = -1"), std::string::npos) << same_sign.message;
  auto reversed = find_root_toms748(g, 2.0, 0.0);
  EXPECT_EQ(reversed.status, Status::kInvalidBracket);
  auto empty = find_root_toms748(g, 1.0, 1.0);
  EXPECT_EQ(empty.status, Status::kInvalidBracket);
  EXPECT_THROW((void)find_root_toms748(g, std::numeric_limits<double>::quiet_NaN(), 1.0),
               std::invalid_argument);
}

}  // namespace
}  // namespace implicit
