#include "implicit/linear/gmres.hpp"

#include <gtest/gtest.h>

#include "implicit/linear/dense_lu.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

TEST(Gmres, MatchesDenseSolveOnNonsymmetricSystem) {
  const int n = 60;
  Eigen::MatrixXd a =
      Eigen::MatrixXd::Identity(n, n) + 0.3 * Eigen::MatrixXd::Random(n, n) / std::sqrt(n);
  const Vec b = Vec::Random(n);
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  for (int restart : {5, 30, 100}) {
    GmresOptions o;
    o.restart = restart;
    auto r = gmres(apply, b, Vec(Vec::Zero(n)), o);
    ASSERT_TRUE(r.ok()) << r.brief_report();
    // Stopping rule: ||A x - b|| <= 1e-14 + 1e-10 ||b||, recomputed.
    EXPECT_LE(r.residual_norm, 1e-14 + 1e-10 * b.norm());
    EXPECT_LE((r.x - a.partialPivLu().solve(b)).norm(), 1e-9);
  }
}

TEST(Gmres, InconsistentSingularSystemFails) {
  // A = diag(1, 0): A x = (1, 1) has no solution.
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(2, 2);
  a(0, 0) = 1;
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  auto r = gmres(apply, Vec(Vec::Ones(2)), Vec(Vec::Zero(2)));
  EXPECT_FALSE(r.ok());
  EXPECT_NEAR(r.residual_norm, 1.0, 1e-12);
}

TEST(Gmres, MaxIterationsIsAStatus) {
  const int n = 50;
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(n, n) + 5 * Eigen::MatrixXd::Identity(n, n);
  auto apply = [&](const Vec& v) -> Vec { return a * v; };
  GmresOptions o;
  o.max_iter = 3;
  auto r = gmres(apply, Vec(Vec::Ones(n)), Vec(Vec::Zero(n)), o);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_LE(r.iterations, 5);
}

}  // namespace
}  // namespace implicit
