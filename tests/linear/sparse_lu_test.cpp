// The sparse LU's three libraries (SparseLU::backend: UMFPACK, KLU, Eigen's
// SparseLU): each solves with A and A^T, keeps its symbolic analysis across
// refactorisations, reports a singular matrix as a status naming itself,
// and serves Newton and the adjoint by one option; a library the build or
// the scalar type lacks is an error that says so.
#include <gtest/gtest.h>

#include <random>

#include "implicit.hpp"
#include "implicit/problems/bratu.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// A 2-D convection-diffusion operator on an m x m grid (5-point Laplacian
// plus an upwind convection term): unsymmetric, diagonally dominant, so
// A x = b and A^T x = b are well conditioned (cond ~ m^2 = 900).
Eigen::SparseMatrix<double> convection_diffusion(int m, double scale = 1) {
  std::vector<Eigen::Triplet<double>> e;
  auto at = [m](int i, int j) { return i + m * j; };
  for (int j = 0; j < m; ++j)
    for (int i = 0; i < m; ++i) {
      e.emplace_back(at(i, j), at(i, j), scale * 4.5);
      if (i > 0) e.emplace_back(at(i, j), at(i - 1, j), scale * -1.5);
      if (i + 1 < m) e.emplace_back(at(i, j), at(i + 1, j), scale * -0.5);
      if (j > 0) e.emplace_back(at(i, j), at(i, j - 1), scale * -1.0);
      if (j + 1 < m) e.emplace_back(at(i, j), at(i, j + 1), scale * -1.0);
    }
  Eigen::SparseMatrix<double> a(m * m, m * m);
  a.setFromTriplets(e.begin(), e.end());
  return a;
}

std::vector<SparseLUBackend> built_backends() {
  std::vector<SparseLUBackend> out = {SparseLUBackend::kEigen, SparseLUBackend::kAutomatic};
  if (internal::kHasKlu) out.push_back(SparseLUBackend::kKlu);
  if (internal::kHasUmfpack) out.push_back(SparseLUBackend::kUmfpack);
  return out;
}

// Each library solves both ways to backward-stable accuracy: a relative
// residual within 100 eps cond of zero would be 2e-11; partial pivoting on
// this dominant matrix does far better, 1e-14 is asserted at 1e-12. A
// refactorisation with new values on the same pattern keeps the analysis.
TEST(SparseLU, EveryBackendSolvesBothWaysAndRefactorises) {
  const Eigen::SparseMatrix<double> a = convection_diffusion(30);
  std::mt19937 rng(7);
  std::normal_distribution<double> normal;
  Vec b(a.rows());
  for (Eigen::Index k = 0; k < b.size(); ++k) b[k] = normal(rng);
  for (SparseLUBackend backend : built_backends()) {
    SparseLU solver;
    solver.backend = backend;
    auto f = solver.factorization<double>();
    f->factor(a);
    ASSERT_TRUE(f->ok()) << to_string(backend) << ": " << f->message;
    EXPECT_NE(f->used, SparseLUBackend::kAutomatic);
    if (backend != SparseLUBackend::kAutomatic) EXPECT_EQ(f->used, backend);
    const Vec x = f->solve(b), y = f->solve_transposed(b);
    EXPECT_LE((a * x - b).norm(), 1e-12 * b.norm()) << to_string(backend);
    EXPECT_LE((a.transpose() * y - b).norm(), 1e-12 * b.norm()) << to_string(backend);
    EXPECT_GT((x - y).norm(), 1e-3 * x.norm());  // A is unsymmetric: the two differ
    // New values, the same pattern: the analysis is kept (same rows and
    // nonzeros), the answer is the new matrix's.
    const Eigen::SparseMatrix<double> doubled = convection_diffusion(30, 2.0);
    f->factor(doubled);
    ASSERT_TRUE(f->ok()) << f->message;
    EXPECT_LE((doubled * f->solve(b) - b).norm(), 1e-12 * b.norm()) << to_string(backend);
  }
}

// A zero column: every library reports the singular matrix as a status and
// names itself; none returns numbers.
TEST(SparseLU, ASingularMatrixIsAStatusThatNamesTheLibrary) {
  Eigen::SparseMatrix<double> a = convection_diffusion(10);
  for (Eigen::SparseMatrix<double>::InnerIterator it(a, 37); it; ++it) it.valueRef() = 0;
  const Vec b = Vec::Ones(a.rows());
  for (SparseLUBackend backend : built_backends()) {
    SparseLU solver;
    solver.backend = backend;
    LinearSystem<Vec> system;
    system.sparse_a = [&a] { return a; };
    const auto result = solver.solve(system, b);
    EXPECT_FALSE(result.ok()) << to_string(backend);
    EXPECT_NE(result.message.find("sparse LU ("), std::string::npos) << result.message;
    if (backend == SparseLUBackend::kUmfpack)
      EXPECT_NE(result.message.find("UMFPACK"), std::string::npos) << result.message;
    if (backend == SparseLUBackend::kKlu)
      EXPECT_NE(result.message.find("KLU"), std::string::npos) << result.message;
  }
}

// kAutomatic: UMFPACK from umfpack_min_size unknowns, KLU below (double,
// SuiteSparse built); Eigen's for float whatever the size.
TEST(SparseLU, TheAutomaticChoiceFollowsSizeAndScalar) {
  const Eigen::SparseMatrix<double> a = convection_diffusion(20);  // n = 400
  SparseLU solver;
  solver.umfpack_min_size = 400;
  auto large = solver.factorization<double>();
  large->factor(a);
  solver.umfpack_min_size = 401;
  auto small = solver.factorization<double>();
  small->factor(a);
  if (internal::kHasUmfpack) {
    EXPECT_EQ(large->used, SparseLUBackend::kUmfpack);
  }
  if (internal::kHasKlu) {
    EXPECT_EQ(small->used, SparseLUBackend::kKlu);
  }
  auto single = solver.factorization<float>();
  single->factor(Eigen::SparseMatrix<float>(a.cast<float>()));
  EXPECT_EQ(single->used, SparseLUBackend::kEigen);
  EXPECT_TRUE(single->ok()) << single->message;
}

TEST(SparseLU, ALibraryTheBuildOrTheScalarLacksIsAnError) {
  const Eigen::SparseMatrix<float> a = convection_diffusion(5).cast<float>();
  for (SparseLUBackend backend : {SparseLUBackend::kUmfpack, SparseLUBackend::kKlu}) {
    SparseLU solver;
    solver.backend = backend;
    auto f = solver.factorization<float>();
    try {
      f->factor(a);
      ADD_FAILURE() << "float factorised by " << to_string(backend);
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find("double matrices only"), std::string::npos) << e.what();
    }
    const bool built = backend == SparseLUBackend::kUmfpack ? internal::kHasUmfpack
                                                             : internal::kHasKlu;
    if (built) {
      EXPECT_NO_THROW(solver.validate());
    } else {
      EXPECT_THROW(solver.validate(), std::invalid_argument);
    }
  }
  SparseLU negative;
  negative.umfpack_min_size = -1;
  EXPECT_THROW(negative.validate(), std::invalid_argument);
}

#ifdef IMPLICIT_SPARSE
// One option names the library for Newton and for the adjoint: the 2-D
// Bratu problem (N = 33, 1,089 unknowns) gives the same root and the same
// gradient by every library. Roots to ||g|| <= 1e-10 with ||J^-1|| ~ 10 (the
// discrete Laplacian scaled by h^2 has smallest eigenvalue ~ 2 pi^2 h^2,
// less lambda h^2 e^u): the roots agree to ~1e-9; the certified gradients
// (relative residual 1e-10) of the same root to ~1e-8 relative.
TEST(SparseLU, NewtonAndTheAdjointTakeTheLibraryByOneOption) {
  const Bratu2D problem{33};
  const Vec theta = Vec::Constant(1, 6.0);
  const Vec x0 = problem.initial_state();
  Vec reference_root, reference_gradient;
  for (SparseLUBackend backend : built_backends()) {
    SparseLU lu;
    lu.backend = backend;
    LineSearchNewtonOptions newton;
    newton.linear_solver = lu;
    SystemOptions options;
    options.sparsity = problem.sparsity();
    const auto root = solve_root(bind_theta(problem, theta), x0, LineSearchNewton(newton), options);
    ASSERT_TRUE(root.ok()) << to_string(backend) << ": " << root.brief_report();
    EXPECT_LE(problem(theta, root.x).norm(), 1e-10);  // the status's promise
    AdjointOptions adjoint;
    adjoint.solvers = {lu};
    adjoint.sparsity = problem.sparsity();
    const Vec xbar = Vec::Ones(root.x.size());
    const auto gradient = root_vjp(problem, theta, root.x, xbar, adjoint);
    ASSERT_TRUE(gradient.ok()) << to_string(backend) << ": " << gradient.brief_report();
    EXPECT_EQ(gradient.method, "sparse_lu");
    if (reference_root.size() == 0) {
      reference_root = root.x;
      reference_gradient = gradient.value;
      continue;
    }
    EXPECT_LE((root.x - reference_root).cwiseAbs().maxCoeff(), 1e-9) << to_string(backend);
    EXPECT_LE((gradient.value - reference_gradient).norm(), 1e-8 * reference_gradient.norm())
        << to_string(backend);
  }
}
#endif

}  // namespace
}  // namespace implicit
