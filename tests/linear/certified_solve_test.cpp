#include "implicit/linear/certified_solve.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

struct Fixture {
  Eigen::MatrixXd a;
  LinearSystem<Vec> system;
  int products = 0;
  explicit Fixture(Eigen::MatrixXd matrix) : a(std::move(matrix)) {
    system.apply_a = [this](const Vec& v) -> Vec {
      ++products;
      return a * v;
    };
    system.dense_a = [this] { return a; };
  }
};

ChainAttempt<Vec> claims(const char* name, Vec x, Status status = Status::kConverged) {
  return {name, [x, status, name](const LinearTarget&) {
            LinearSolveResult<Vec> r;
            r.x = x;
            r.status = status;
            r.method = name;
            return r;
          }};
}

TEST(CertifiedSolve, AnAttemptThatClaimsTooMuchIsRefusedAndTheNextOneIsTaken) {
  Fixture f(Eigen::MatrixXd::Identity(3, 3) * 2);
  const Vec b = Vec::Ones(3);
  std::vector<ChainAttempt<Vec>> chain{
      claims("liar", Vec::Zero(3)),
      {"dense_lu", [&](const LinearTarget& t) { return DenseLU{}.solve(f.system, b, t); }}};
  auto r = certified_solve(f.system, b, chain, CertificateOptions{}, LinearTarget{});
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, "dense_lu");
  EXPECT_EQ(r.accepted_attempt, 1);
  EXPECT_LE((r.x - Vec::Constant(3, 0.5)).norm(), 1e-15);
  // Every attempt is in the message, the refused one with the numbers.
  EXPECT_NE(r.message.find("liar: linear_solve_failed (recomputed residual"), std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("then dense_lu: converged"), std::string::npos) << r.message;
  // Two answers measured, plus one probe of ||A||.
  EXPECT_EQ(r.certificate_products, 3);
}

TEST(CertifiedSolve, ANanAnswerIsNonFiniteWithoutAProduct) {
  Fixture f(Eigen::MatrixXd::Identity(2, 2));
  const Vec nan_x = Vec::Constant(2, std::numeric_limits<double>::quiet_NaN());
  auto r = certified_solve(f.system, Vec(Vec::Ones(2)), {claims("nan", nan_x)},
                           CertificateOptions{}, LinearTarget{});
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_EQ(f.products, 0);
  EXPECT_TRUE(r.x.array().isNaN().all());
  EXPECT_NE(r.message.find("solution has NaN or Inf"), std::string::npos) << r.message;
}

TEST(CertifiedSolve, AnIllConditionedSystemIsRefusedEvenWithASmallResidual) {
  // cond(A) = 1e14: the exact solve has a tiny residual and no digits.
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(2, 2);
  a(1, 1) = 1e-14;
  Fixture f(a);
  const Vec b = Vec::Ones(2);
  const Vec exact(Vec(Vec::Ones(2)).cwiseQuotient(a.diagonal()));
  auto r = certified_solve(f.system, b, {claims("exact", exact)}, CertificateOptions{},
                           LinearTarget{});
  EXPECT_EQ(r.status, Status::kLinearSolveFailed);
  EXPECT_NE(r.message.find("ill-conditioned"), std::string::npos) << r.message;
  EXPECT_TRUE(r.x.array().isNaN().all());  // no plausible number leaks out
}

TEST(CertifiedSolve, AFailedAttemptKeepsItsOwnStatusAndMessage) {
  Fixture f(Eigen::MatrixXd::Zero(2, 2));  // singular: the LU refuses it
  const Vec b = Vec::Ones(2);
  std::vector<ChainAttempt<Vec>> chain{
      {"dense_lu", [&](const LinearTarget& t) { return DenseLU{}.solve(f.system, b, t); }},
      {"gmres", [&](const LinearTarget& t) { return Gmres{}.solve(f.system, b, t); }}};
  auto r = certified_solve(f.system, b, chain, CertificateOptions{}, LinearTarget{});
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message.find("dense_lu: linear_solve_failed (matrix is singular"),
            std::string::npos)
      << r.message;
  EXPECT_NE(r.message.find("then gmres:"), std::string::npos) << r.message;
}

// A = alpha L + I with L the periodic 1-D Laplacian and b = ones: L b = 0,
// so the probe ||A b|| / ||b|| = 1 sees none of ||A|| ~ 4 alpha. An answer
// off the exact u = b by rounding (4 eps relative, random signs) has a
// residual ~ 10 eps alpha ||u||, inside the rounding allowance
// 16 eps ||A|| ||u|| but 20x above the one the probe alone gives. The
// sharpened bound (along the residual) accepts it; an answer 100x further
// off is still refused.
Eigen::MatrixXd stiff_diffusion(int n, double alpha) {
  Eigen::MatrixXd a = Eigen::MatrixXd::Identity(n, n);
  for (int i = 0; i < n; ++i) {
    a(i, i) += 2 * alpha;
    a(i, (i + 1) % n) -= alpha;
    a(i, (i + n - 1) % n) -= alpha;
  }
  return a;
}

Vec rounding_noise(int n, double size) {
  Vec d(n);
  unsigned state = 12345;
  for (int i = 0; i < n; ++i) {
    state = state * 1103515245u + 12345u;
    d[i] = (state >> 16) & 1 ? size : -size;
  }
  return d;
}

TEST(CertifiedSolve, ARoundingLevelResidualIsAcceptedWhenAMapsBToNearlyNothing) {
  const int n = 400;
  Fixture f(stiff_diffusion(n, 1e6));
  const Vec b = Vec::Ones(n);
  const double eps = std::numeric_limits<double>::epsilon();
  const Vec off_by_rounding = b + rounding_noise(n, 4 * eps);
  const double residual = (f.a * off_by_rounding - b).norm();
  // The allowance from the probe ||A b|| / ||b|| = 1 alone:
  const double probe_only = 1e-12 + 1e-10 * b.norm() + 16 * eps * (b.norm() + b.norm());
  ASSERT_GT(residual, 10 * probe_only);
  auto r = certified_solve(f.system, b, {claims("sparse_lu", off_by_rounding)},
                           CertificateOptions{}, LinearTarget{});
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_DOUBLE_EQ(r.residual_norm, residual);
  EXPECT_EQ(r.certificate_products, 3);  // residual, ||A b||, ||A r||

  const Vec off_by_more = b + rounding_noise(n, 400 * eps);
  auto refused = certified_solve(f.system, b, {claims("sparse_lu", off_by_more)},
                                 CertificateOptions{}, LinearTarget{});
  EXPECT_EQ(refused.status, Status::kLinearSolveFailed);
  EXPECT_NE(refused.message.find("above tolerance"), std::string::npos) << refused.message;
}

TEST(CertifiedSolve, AResidualNoRoundingCouldExplainCostsNoExtraProduct) {
  // residual = ||b||: past 16 eps max_condition ||b||, refused whatever ||A||.
  Fixture f(stiff_diffusion(50, 1e6));
  const Vec b = Vec::Ones(50);
  auto r = certified_solve(f.system, b, {claims("liar", Vec::Zero(50))}, CertificateOptions{},
                           LinearTarget{});
  EXPECT_EQ(r.status, Status::kLinearSolveFailed);
  EXPECT_EQ(r.certificate_products, 2);
}

}  // namespace
}  // namespace implicit
