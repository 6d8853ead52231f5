#include "implicit/root/batched.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstddef>
#include <limits>
#include <stdexcept>
#include <vector>

namespace implicit {
namespace {

void expect_same(const ScalarRootResult<double>& a, const ScalarRootResult<double>& b) {
  EXPECT_EQ(a.status, b.status);
  EXPECT_EQ(a.x, b.x);
  EXPECT_EQ(a.lower, b.lower);
  EXPECT_EQ(a.upper, b.upper);
  EXPECT_EQ(a.iterations, b.iterations);
  EXPECT_EQ(a.function_evaluations, b.function_evaluations);
  EXPECT_EQ(a.message, b.message);
}

TEST(FindRootsIncreasing, BatchedEqualsOneAtATime) {
  // x^3 = target_i; target -1 has no root >= 0, target NaN makes g NaN.
  const std::vector<double> targets = {
      0.0, 1e-9, 0.5, 8.0, -1.0, 1e6, std::numeric_limits<double>::quiet_NaN(), 27.0};
  auto g = [&](std::size_t i, double x) { return x * x * x - targets[i]; };
  for (ScalarRootMethod method : {ScalarRootMethod::kToms748, ScalarRootMethod::kBisection}) {
    ScalarRootOptions options;
    options.method = method;
    auto batch = find_roots_increasing(g, 0.0, targets.size(), options);
    ASSERT_EQ(batch.size(), targets.size());
    for (std::size_t i = 0; i < targets.size(); ++i) {
      SCOPED_TRACE(i);
      auto one = find_root_increasing([&](double x) { return g(i, x); }, 0.0, options);
      expect_same(batch[i], one);
    }
    EXPECT_FALSE(all_converged(batch));
    EXPECT_EQ(batch[4].status, Status::kInvalidBracket);
    EXPECT_EQ(batch[6].status, Status::kInvalidBracket);
    // Each element converges on its own, the others are unaffected.
    for (std::size_t i : {0, 1, 2, 3, 5, 7}) {
      ASSERT_TRUE(batch[i].ok()) << i << ": " << batch[i].brief_report();
      EXPECT_NEAR(batch[i].x, std::cbrt(targets[i]),
                  8 * std::numeric_limits<double>::epsilon() * std::cbrt(targets[i]));
    }
  }
}

TEST(FindRootsIncreasing, EmptyBatchAndAllConverged) {
  auto g = [](std::size_t i, double x) { return x - static_cast<double>(i); };
  EXPECT_TRUE(find_roots_increasing(g, 0.0, 0).empty());
  auto batch = find_roots_increasing(g, 0.0, 5);
  EXPECT_TRUE(all_converged(batch));
  for (std::size_t i = 0; i < 5; ++i) EXPECT_EQ(batch[i].x, static_cast<double>(i));
}

TEST(FindRootsIncreasing, NanLowerThrowsBeforeAnyEvaluation) {
  int calls = 0;
  auto g = [&](std::size_t, double x) {
    ++calls;
    return x;
  };
  EXPECT_THROW((void)find_roots_increasing(g, std::nan(""), 3), std::invalid_argument);
  EXPECT_EQ(calls, 0);
}

}  // namespace
}  // namespace implicit
