// The 2-D Bratu problem (PETSc's SNES tutorial ex5, problems/bratu.hpp):
// its stencil, the default solve on the traced sparse path, the
// discretisation's second-order convergence under grid refinement, the
// root's derivative with respect to lambda against central differences,
// and no solution past the fold (lambda > 6.81) ending in a failure status.
#include "implicit/problems/bratu.hpp"

#include <gtest/gtest.h>

#include <cmath>

#include "implicit.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

double centre(const Bratu2D& p, const Vec& u) { return u[(p.N / 2) + p.N * (p.N / 2)]; }

TEST(Bratu2D, ItsStencilIsTheTracedPatternAndTheJacobianLiesInIt) {
  const Bratu2D p{8};
  const Vec theta = Bratu2D::default_theta();
  const Vec u0 = p.initial_state();
  const auto g = bind_theta(p, theta);
  const auto traced = trace_sparsity(g, u0);
  ASSERT_TRUE(traced.has_value());
  const SparsityPattern pattern = p.sparsity();
  EXPECT_EQ(traced->nonZeros(), pattern.nonZeros());
  EXPECT_EQ(pattern.nonZeros(), 5 * 6 * 6 + (64 - 36));  // interior stencils + boundary diagonal
  const Eigen::MatrixXd dense = jacobian(g, u0);
  for (Eigen::Index r = 0; r < dense.rows(); ++r)
    for (Eigen::Index c = 0; c < dense.cols(); ++c)
      if (dense(r, c) != 0) {
        EXPECT_NE(Eigen::MatrixXd(pattern)(r, c), 0) << r << ", " << c;
        EXPECT_NE(Eigen::MatrixXd(*traced)(r, c), 0) << r << ", " << c;
      }
}

TEST(Bratu2D, TheDefaultSolveConvergesToASymmetricSolutionOnTheSparsePath) {
  const Bratu2D p{33};  // 1,089 unknowns
  const Vec theta = Bratu2D::default_theta();
  const auto g = bind_theta(p, theta);
  const auto root = solve_root(g, p.initial_state());
  ASSERT_TRUE(root.ok()) << root.brief_report() << "\n" << root.message;
  EXPECT_LE(g(root.x).norm(), 1e-10);  // the default abs_tol, recomputed
#ifdef IMPLICIT_SPARSE
  EXPECT_NE(root.message.find("sparse Jacobian: pattern traced from g at n = 1089"),
            std::string::npos)
      << root.message;
#endif
  // The square's symmetries: u(i, j) = u(j, i) = u(N - 1 - i, j); the
  // entries are O(1), the residual 1e-10 with ||J^-1|| ~ 1 / h^2 ~ 1e3.
  for (int j = 0; j < p.N; ++j)
    for (int i = 0; i < p.N; ++i) {
      EXPECT_NEAR(root.x[i + p.N * j], root.x[j + p.N * i], 1e-7);
      EXPECT_NEAR(root.x[i + p.N * j], root.x[(p.N - 1 - i) + p.N * j], 1e-7);
    }
  EXPECT_NEAR(root.x.maxCoeff(), centre(p, root.x), 1e-12);
  EXPECT_GT(centre(p, root.x), 0.5);  // a heated interior, not the trivial u = 0 of lambda = 0
}

TEST(Bratu2D, TheCentreValueConvergesAtSecondOrderUnderGridRefinement) {
  // The 5-point Laplacian is O(h^2): halving h divides the change of u at
  // the centre by about 4 (3 to 5 allows for the O(h^4) terms).
  const Vec theta = Bratu2D::default_theta();
  double previous = 0, previous_change = 0;
  for (int N : {9, 17, 33, 65}) {
    const Bratu2D p{N};
    SystemOptions options;
    options.abs_tol = 1e-11;
    const auto root = solve_root(bind_theta(p, theta), p.initial_state(), options);
    ASSERT_TRUE(root.ok()) << "N = " << N << ": " << root.brief_report();
    const double value = centre(p, root.x);
    if (N > 9) {
      const double change = std::fabs(value - previous);
      if (N > 17) {
        EXPECT_GT(previous_change / change, 3.0) << "N = " << N;
        EXPECT_LT(previous_change / change, 5.0) << "N = " << N;
      }
      previous_change = change;
    }
    previous = value;
  }
}

TEST(Bratu2D, TheCentresDerivativeInLambdaMatchesCentralDifferences) {
  const Bratu2D p{33};
  const Vec theta = Bratu2D::default_theta();
  SystemOptions options;
  options.abs_tol = 1e-12;
  auto solve_at = [&](const Vec& t) { return solve_root(bind_theta(p, t), p.initial_state(), options); };
  const auto root = solve_at(theta);
  ASSERT_TRUE(root.ok()) << root.brief_report();
  Vec xbar = Vec::Zero(p.size());
  xbar[(p.N / 2) + p.N * (p.N / 2)] = 1;
  const auto gradient = root_vjp(p, theta, root, xbar);
  ASSERT_TRUE(gradient.ok()) << gradient.brief_report() << "\n" << gradient.message;
  // h = 1e-4 on lambda = 6: truncation ~h^2 u''' ~ 1e-8; roots to 1e-12
  // with ||J^-1|| ~ 1e3 add 1e-9 / (2h) = 5e-6 at worst.
  const double h = 1e-4;
  const double fd = (centre(p, solve_at(Vec::Constant(1, 6 + h)).x) -
                     centre(p, solve_at(Vec::Constant(1, 6 - h)).x)) /
                    (2 * h);
  EXPECT_GT(fd, 0);  // more heat release, a hotter centre
  EXPECT_NEAR(gradient.value[0], fd, 1e-5 * std::fabs(fd) + 5e-6);
}

TEST(Bratu2D, PastTheFoldThereIsNoSolutionAndNoConvergedStatus) {
  // lambda = 8 > 6.81: the continuous problem has no solution, nor has the
  // discretised one at this h. Every method must fail, with a status.
  const Bratu2D p{17};  // 289 unknowns: the dense fallbacks run too
  const Vec theta = Vec::Constant(1, 8.0);
  const auto g = bind_theta(p, theta);
  const auto root = solve_root(g, p.initial_state(8.0));
  EXPECT_FALSE(root.ok()) << root.brief_report();
  EXPECT_NE(root.status, Status::kRoundingFloor);
  EXPECT_GT(g(root.x).norm(), 1e-3);
}

}  // namespace
}  // namespace implicit
