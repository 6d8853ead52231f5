// g(x) = 0 with a sparse Jacobian (SystemOptions::sparsity): Newton with a
// colouring-compressed Jacobian and a sparse LU, and the root's gradient by
// the sparse adjoint, on NonlinearSolve.jl's 2-D Brusselator.
#include <gtest/gtest.h>

#include "implicit.hpp"
#include "implicit/problems/brusselator.hpp"

#ifdef IMPLICIT_SPARSE
namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// ||g|| cannot go below the rounding of its largest terms: alpha / dx^2 ~
// 10 (N - 1)^2 times |u| ~ 5, i.e. ~1e4 eps ~ 2e-12 per entry at N = 8.
// abs_tol 1e-9 sits well above that floor (1e-10, the default, is within
// 10x of it at N = 32, where the dense default stalled: issue 20).
SystemOptions brusselator_options(const Brusselator2D& problem) {
  SystemOptions o;
  o.abs_tol = 1e-9;
  o.sparsity = problem.sparsity();
  return o;
}

TEST(SparseNewton, SolvesTheBrusselatorAndAgreesWithDenseNewton) {
  const Brusselator2D problem{8};  // 128 unknowns
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  const auto sparse = solve_root(g, problem.initial_state(), brusselator_options(problem));
  ASSERT_TRUE(sparse.ok()) << sparse.brief_report() << "\n" << sparse.message;
  EXPECT_EQ(sparse.method, "polyalgorithm(newton)");
  EXPECT_NE(sparse.message.find("dogleg: skipped"), std::string::npos) << sparse.message;
  // The promise of `converged`, on the returned point.
  EXPECT_LE(g(sparse.x).norm(), 1e-9);
  EXPECT_DOUBLE_EQ(g(sparse.x).norm(), sparse.residual_norm);
  SystemOptions dense_options;
  dense_options.abs_tol = 1e-9;
  LineSearchNewtonOptions dense_newton;
  dense_newton.linear_solver = DenseLU{};
  const auto dense =
      solve_root(g, problem.initial_state(), LineSearchNewton(dense_newton), dense_options);
  ASSERT_TRUE(dense.ok()) << dense.brief_report();
  // Two roots within 1e-9 of ||g|| = 0 on a system with ||J^-1|| ~ 1: 1e-8.
  EXPECT_LE((sparse.x - dense.x).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_EQ(sparse.jacobian_evaluations, dense.jacobian_evaluations);
}

TEST(SparseNewton, APatternOfTheWrongSizeIsAnErrorNamingIt) {
  const Brusselator2D problem{6};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  SystemOptions o;
  o.sparsity = Brusselator2D{5}.sparsity();
  try {
    (void)solve_root(g, problem.initial_state(), o);
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("SystemOptions::sparsity is 50 x 50, expected 72 x 72"),
              std::string::npos)
        << e.what();
  }
}

// d(xbar . x*)/dtheta for theta = (A, B, alpha): the sparse adjoint
// (AdjointOptions::sparsity: SparseLU on (dg/dx)^T) against the dense one
// and against central differences of re-solved roots.
TEST(SparseNewton, TheRootsGradientBySparseLuMatchesDenseAndFiniteDifferences) {
  const Brusselator2D problem{5};  // 50 unknowns
  const Vec theta = Brusselator2D::default_theta();
  // Tight roots for the differences: the rounding floor of ||g|| at N = 5
  // is ~1e-13 (alpha / dx^2 = 160).
  SystemOptions tight = brusselator_options(problem);
  tight.abs_tol = 1e-11;
  auto solve_at = [&](const Vec& t) {
    const auto g = bind_theta(problem, t);
    auto r = solve_root(g, problem.initial_state(), tight);
    EXPECT_TRUE(r.ok()) << r.brief_report();
    return r;
  };
  const auto root = solve_at(theta);
  const Vec xbar = Vec::LinSpaced(problem.size(), -1, 1);
  AdjointOptions sparse;
  sparse.sparsity = problem.sparsity();
  const auto with_sparse = root_vjp(problem, theta, root.x, xbar, sparse);
  ASSERT_TRUE(with_sparse.ok()) << with_sparse.brief_report();
  EXPECT_EQ(with_sparse.method, "sparse_lu");
  AdjointOptions dense;
  dense.solvers = {DenseLU{}};
  const auto with_dense = root_vjp(problem, theta, root.x, xbar, dense);
  ASSERT_TRUE(with_dense.ok()) << with_dense.brief_report();
  // Both certified to 1e-10 relative on a system of condition ~1e3.
  EXPECT_LE((with_sparse.value - with_dense.value).norm(), 1e-8 * with_dense.value.norm());
  // Central differences, h = 1e-4 relative: truncation ~h^2 ~ 1e-8
  // relative; the roots' error ||xbar|| ||J^-1|| 1e-11 / (2h) ~ 1e-7
  // absolute.
  for (int k = 0; k < 3; ++k) {
    const double h = 1e-4 * theta[k];
    Vec up = theta, down = theta;
    up[k] += h;
    down[k] -= h;
    const double fd = (xbar.dot(solve_at(up).x) - xbar.dot(solve_at(down).x)) / (2 * h);
    EXPECT_NEAR(with_sparse.value[k], fd, 1e-6 * std::fabs(fd) + 1e-6) << "theta " << k;
  }
}

}  // namespace
}  // namespace implicit
#endif
