#include "implicit/problems/scalar_roots.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>

#include "implicit/root/bisection.hpp"

namespace implicit {
namespace {

TEST(AlefeldPotraShi, Has154InstancesInTheFifteenFamiliesOfTableOne) {
  const auto instances = alefeld_potra_shi_instances();
  ASSERT_EQ(instances.size(), 154u);
  std::map<int, int> per_family;
  std::set<std::string> names;
  for (const auto& p : instances) {
    ++per_family[p.family];
    names.insert(p.name);
  }
  const std::map<int, int> expected = {{1, 1},  {2, 10},  {3, 3},  {4, 14},  {5, 1},
                                       {6, 10}, {7, 3},   {8, 5},  {9, 7},   {10, 5},
                                       {11, 4}, {12, 19}, {13, 1}, {14, 40}, {15, 31}};
  EXPECT_EQ(per_family, expected);
  EXPECT_EQ(names.size(), instances.size()) << "instance names must be unique";
}

TEST(AlefeldPotraShi, EveryBracketBracketsASignChange) {
  for (const auto& p : alefeld_potra_shi_instances()) {
    SCOPED_TRACE(p.name);
    EXPECT_LT(p.lower, p.upper);
    const double g_lower = p.g(p.lower), g_upper = p.g(p.upper);
    ASSERT_TRUE(std::isfinite(g_lower) && std::isfinite(g_upper)) << g_lower << ", " << g_upper;
    EXPECT_NE(g_lower, 0);
    EXPECT_NE(g_upper, 0);
    EXPECT_NE(g_lower < 0, g_upper < 0) << "g(lower) = " << g_lower << ", g(upper) = " << g_upper;
  }
}

// The formulas are checked where the root is known in closed form: the
// bisection root (bracket width <= 4 eps |x|, or 1e-300 around 0) must match.
TEST(AlefeldPotraShi, RootsMatchTheClosedFormsWhereThereAreSome) {
  ScalarRootOptions options;
  options.x_abs_tol = 1e-300;
  options.max_iter = 2000;
  const double pi = std::acos(-1.0);
  const double eps = std::numeric_limits<double>::epsilon();
  int checked = 0;
  for (const auto& p : alefeld_potra_shi_instances()) {
    double root = std::numeric_limits<double>::quiet_NaN();
    double tol = 8 * eps;
    if (p.name == "aps05") root = pi / 6;
    if (p.family == 3 || p.family == 13) root = 0;
    if (p.family == 13) tol = 0.05;  // g underflows to 0 on |x| < 0.04
    if (p.name.rfind("aps04(a=0.2,n=", 0) == 0)
      root = std::pow(0.2, 1.0 / std::stoi(p.name.substr(14)));
    if (p.name.rfind("aps04(a=1,", 0) == 0) root = 1;
    if (p.family == 11) root = 1.0 / std::stoi(p.name.substr(8));
    if (p.family == 12) root = std::stoi(p.name.substr(8));
    if (p.name == "aps08(n=2)") root = 0.5;  // x^2 - (1 - x)^2 = 2x - 1
    if (std::isnan(root)) continue;
    SCOPED_TRACE(p.name);
    auto r = find_root_bisection(p.g, p.lower, p.upper, options);
    ASSERT_TRUE(r.ok()) << r.brief_report();
    // Family 12 is evaluated through pow(x, 1/n), a few ulp from exact.
    const double scale = p.family == 12 ? 64 : 1;
    EXPECT_NEAR(r.x, root, scale * tol * std::fmax(1.0, std::abs(root)));
    ++checked;
  }
  EXPECT_EQ(checked, 1 + 3 + 14 + 4 + 19 + 1 + 1);
}

}  // namespace
}  // namespace implicit
