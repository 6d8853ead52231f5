#include "implicit/root/newton.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "implicit/root/find_root.hpp"

namespace implicit {
namespace {

// The bracket-width rule of ScalarRootOptions, recomputed on a result.
template <class T>
bool bracket_meets_tolerance(const ScalarRootResult<T>& r, const ScalarRootOptions& o) {
  const T tol = static_cast<T>(o.x_abs_tol) +
                o.effective_x_rel_tol<T>() * std::fmax(std::fabs(r.lower), std::fabs(r.upper));
  return r.upper - r.lower <= tol || std::nextafter(r.lower, r.upper) == r.upper;
}

TEST(FindRootNewton, ConvergesInAFewStepsOnASmoothFunction) {
  auto gd = [](double x) { return ValueAndSlope<double>{x * x - 2, 2 * x}; };
  ScalarRootOptions o;
  auto r = find_root_newton(gd, 0.0, 2.0, o, 1.0);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, ScalarRootMethod::kNewton);
  EXPECT_TRUE(bracket_meets_tolerance(r, o)) << r.brief_report();
  // The root lies in the returned bracket, x is one of its ends.
  EXPECT_LE(r.lower, std::sqrt(2.0));
  EXPECT_GE(r.upper, std::sqrt(2.0));
  EXPECT_TRUE(r.x == r.lower || r.x == r.upper);
  EXPECT_EQ(r.residual, r.x * r.x - 2);
  // From 1: Newton doubles its digits per step (1.5, 1.4167, 1.414216,
  // 1.41421356237469, then adjacent doubles) plus one closing step, and the
  // two ends: measured 8. Bisection needs ~54.
  EXPECT_LE(r.function_evaluations, 9) << r.brief_report();
}

TEST(FindRootNewton, AWrongSlopeCostsEvaluationsNotTheBracket) {
  // g' off by a factor 50 and of the wrong sign: the safeguard bisects.
  auto wrong = [](double x) { return ValueAndSlope<double>{std::cbrt(x - 0.3), -0.02}; };
  ScalarRootOptions o;
  auto r = find_root_newton(wrong, -1.0, 2.0, o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_TRUE(bracket_meets_tolerance(r, o));
  EXPECT_NEAR(r.x, 0.3, 1e-15);
  // Never worse than bisection by more than a factor 2 (each rejected
  // Newton step is one bisection, and a Newton step is rejected when it
  // did not halve the step before the previous one).
  auto bisect = find_root_bisection([](double x) { return std::cbrt(x - 0.3); }, -1.0, 2.0, o);
  EXPECT_LE(r.function_evaluations, 2 * bisect.function_evaluations) << r.brief_report();
}

TEST(FindRootNewton, ZeroSlopeFallsBackToTheMidpoint) {
  // g' = 0 everywhere: every Newton point is infinite, so every step bisects.
  auto flat = [](double x) { return ValueAndSlope<double>{x - 0.25, 0.0}; };
  auto r = find_root_newton(flat, 0.0, 1.0);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.x, 0.25);  // a midpoint hits it exactly
}

TEST(FindRootNewton, Statuses) {
  auto gd = [](double x) { return ValueAndSlope<double>{x - 0.5, 1.0}; };
  auto same_sign = find_root_newton(gd, 1.0, 2.0);
  EXPECT_EQ(same_sign.status, Status::kInvalidBracket);
  EXPECT_NE(same_sign.message.find("same sign"), std::string::npos) << same_sign.message;
  auto at_end = find_root_newton(gd, 0.5, 2.0);
  EXPECT_TRUE(at_end.ok());
  EXPECT_EQ(at_end.x, 0.5);
  EXPECT_EQ(at_end.iterations, 0);
  auto exact = find_root_newton(gd, 0.0, 2.0, {}, 0.25);  // Newton lands on 0.5 exactly
  EXPECT_TRUE(exact.ok());
  EXPECT_EQ(exact.x, 0.5);
  EXPECT_EQ(exact.message, "g is exactly 0 at x");

  auto nan_inside = [](double x) {
    const bool hole = x > 0.4 && x < 0.8;
    return ValueAndSlope<double>{hole ? std::numeric_limits<double>::quiet_NaN() : x - 0.9, 1.0};
  };
  auto r = find_root_newton(nan_inside, 0.0, 1.0, {}, 0.6);
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_NE(r.message.find("g(0.59999999999999998) = nan"), std::string::npos) << r.message;
  EXPECT_LE(r.lower, r.upper);

  ScalarRootOptions one_step;
  one_step.max_iter = 1;
  auto slow = find_root_newton(
      [](double x) {
        return ValueAndSlope<double>{std::cbrt(x), 1.0};
      },
      -1.0, 2.0, one_step);
  EXPECT_EQ(slow.status, Status::kMaxIterations);
  EXPECT_EQ(slow.iterations, 1);
  EXPECT_LE(slow.lower, 0.0);
  EXPECT_GE(slow.upper, 0.0);
  EXPECT_THROW((void)find_root_newton(gd, std::nan(""), 1.0), std::invalid_argument);
}

TEST(FindRootNewton, FloatToo) {
  auto gd = [](float x) { return ValueAndSlope<float>{x * x * x - 3, 3 * x * x}; };
  ScalarRootOptions o;
  auto r = find_root_newton(gd, 0.0f, 4.0f, o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_TRUE(bracket_meets_tolerance(r, o));
  EXPECT_NEAR(r.x, std::cbrt(3.0f), 4 * std::numeric_limits<float>::epsilon() * 1.5f);
}

TEST(FindRootNewton, ValueOnlyDriversRefuseNewton) {
  ScalarRootOptions o;
  o.method = ScalarRootMethod::kNewton;
  EXPECT_NO_THROW(o.validate());
  EXPECT_STREQ(to_string(ScalarRootMethod::kNewton), "newton");
  auto g = [](double x) { return x - 0.5; };
  try {
    (void)find_root(g, 0.0, 1.0, o);
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("find_root_newton"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)find_root_increasing(g, 0.0, o), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
