#include "implicit/linear/bicgstab.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "implicit/linear/dense_lu.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// -u'' + beta u' = 1 on (0, 1), u(0) = u(1) = 0, by central differences on
// n interior points: the nonsymmetric model problem of van der Vorst's
// BiCGStab paper (1992, section 5, in one dimension). Cell Peclet number
// beta h / 2 = 0.5 at beta = 100, n = 99: nonsymmetric, cond ~ 4e3.
Eigen::MatrixXd convection_diffusion(int n, double beta) {
  const double h = 1.0 / (n + 1);
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  for (int i = 0; i < n; ++i) {
    a(i, i) = 2 / (h * h);
    if (i > 0) a(i, i - 1) = (-1 - beta * h / 2) / (h * h);
    if (i + 1 < n) a(i, i + 1) = (-1 + beta * h / 2) / (h * h);
  }
  return a;
}

TEST(BiCGStab, SolvesTheConvectionDiffusionModelProblem) {
  const int n = 99;
  const Eigen::MatrixXd a = convection_diffusion(n, 100);
  const Vec b = Vec::Ones(n);
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  auto r = bicgstab(apply, b, Vec(Vec::Zero(n)));
  ASSERT_TRUE(r.ok()) << r.brief_report();
  // The status is the recomputed residual's verdict: check it here too.
  EXPECT_LE((a * r.x - b).norm(), 1e-14 + 1e-10 * b.norm());
  EXPECT_DOUBLE_EQ(r.residual_norm, (a * r.x - b).norm());
  // cond(A) ~ 4e3 times the 1e-10 relative residual bounds the error.
  const Vec exact = a.partialPivLu().solve(b);
  EXPECT_LE((r.x - exact).norm(), 1e-5 * exact.norm());
  // No products bound: BiCGStab has no finite termination. Measured: 346
  // products, with residual replacements; Eigen's BiCGSTAB stops after 121
  // steps on this system claiming 1e-10 while its true residual is 0.73
  // (the recurrence drifts), which is why the status here is decided by
  // the recomputed residual.
}

TEST(BiCGStab, AnInconsistentSingularSystemIsNoSuccess) {
  // A = diag(1, 0): A x = (1, 1) has no solution.
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2, 2);
  a(0, 0) = 1;
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  auto r = bicgstab(apply, Vec(Vec::Ones(2)), Vec(Vec::Zero(2)));
  EXPECT_FALSE(r.ok()) << r.brief_report();
  EXPECT_NEAR(r.residual_norm, (a * r.x - Vec::Ones(2)).norm(), 1e-15);
  EXPECT_GE(r.residual_norm, 1.0 - 1e-12);  // no x does better than 1
}

TEST(BiCGStab, NanAndMaxIterationsAreStatuses) {
  const int n = 40;
  const Eigen::MatrixXd a = convection_diffusion(n, 10);
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  Vec bad = Vec::Ones(n);
  bad[3] = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(bicgstab(apply, bad, Vec(Vec::Zero(n))).status, Status::kNonFinite);
  BiCGStabOptions o;
  o.max_iter = 4;
  auto r = bicgstab(apply, Vec(Vec::Ones(n)), Vec(Vec::Zero(n)), o);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_GT(r.residual_norm, 1e-10 * std::sqrt(n));
  EXPECT_LE(r.iterations, 6);
}

TEST(BiCGStab, AsAValueItSolvesALinearSystem) {
  const int n = 30;
  const Eigen::MatrixXd a = convection_diffusion(n, 50);
  LinearSystem<Vec> system;
  system.apply_a = [&](const Vec& v) -> Vec { return a * v; };
  const Vec b = Vec::LinSpaced(n, -1, 1);
  LinearTarget target;
  auto r = BiCGStab{}.solve(system, b, target);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, "bicgstab");
  EXPECT_LE((a * r.x - b).norm(), target.abs_tol + target.rel_tol * b.norm());
}

}  // namespace
}  // namespace implicit
