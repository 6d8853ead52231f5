#include "implicit/linear/dense_lu.hpp"

#include <gtest/gtest.h>

namespace implicit {
namespace {

TEST(DenseLU, SolvesWellConditionedSystem) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(20, 20) + 20 * Eigen::MatrixXd::Identity(20, 20);
  Eigen::VectorXd x = Eigen::VectorXd::Random(20);
  auto r = solve_dense_lu(a, Eigen::VectorXd(a * x));
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE((r.x - x).norm(), 1e-13);  // cond(a) ~ 2: error ~ n eps
  EXPECT_LE(r.residual_norm, 1e-12);
}

TEST(DenseLU, RefusesSingularMatrix) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Random(5, 5);
  a.col(3) = a.col(1);  // rank 4
  auto r = solve_dense_lu(a, Eigen::VectorXd(Eigen::VectorXd::Ones(5)));
  EXPECT_EQ(r.status, Status::kLinearSolveFailed);
  EXPECT_NE(r.message.find("rcond"), std::string::npos) << r.message;
}

TEST(DenseLU, ReportsNonFiniteMatrix) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(3, 3);
  a(1, 2) = std::numeric_limits<double>::infinity();
  auto r = solve_dense_lu(a, Eigen::VectorXd(Eigen::VectorXd::Ones(3)));
  EXPECT_EQ(r.status, Status::kNonFinite);
}

}  // namespace
}  // namespace implicit
