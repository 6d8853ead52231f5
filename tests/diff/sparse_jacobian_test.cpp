// Sparse Jacobians by column colouring and compressed forward-mode AD,
// against the dense forward-mode Jacobian.
#include "implicit/diff/sparse_jacobian.hpp"

#include <gtest/gtest.h>

#include <random>

#include "implicit/diff/parametric.hpp"
#include "implicit/linear/sparse_lu.hpp"
#include "implicit/problems/bratu.hpp"
#include "implicit/problems/brusselator.hpp"

#ifdef IMPLICIT_SPARSE
namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// Columns of one colour must share no row: the property the decompression
// relies on, checked on ColPack's answer for a random pattern.
TEST(ColourColumns, ColumnsOfOneColourShareNoRow) {
  std::mt19937 rng(5);
  std::uniform_int_distribution<int> pick(0, 199);
  std::vector<Eigen::Triplet<double>> entries;
  for (int i = 0; i < 200; ++i)
    for (int k = 0; k < 4; ++k) entries.emplace_back(i, pick(rng), 1.0);
  SparsityPattern pattern(200, 200);
  pattern.setFromTriplets(entries.begin(), entries.end());
  const std::vector<int> colour = colour_columns(pattern);
  ASSERT_EQ(colour.size(), 200u);
  const Eigen::SparseMatrix<double, Eigen::RowMajor> rows(pattern);
  for (int i = 0; i < rows.outerSize(); ++i) {
    std::vector<int> seen;
    for (Eigen::SparseMatrix<double, Eigen::RowMajor>::InnerIterator it(rows, i); it; ++it)
      seen.push_back(colour[static_cast<size_t>(it.col())]);
    std::sort(seen.begin(), seen.end());
    EXPECT_EQ(std::adjacent_find(seen.begin(), seen.end()), seen.end()) << "row " << i;
  }
}

// The colouring is deterministic (ColPack's parallel colouring gave the
// 2-D Bratu pattern 7, 9 or 11 colours from run to run: 11 take two passes
// of 8 directions where 7 take one) and reaches the 5-point stencil's
// optimum: 5 colours, since a row holds 5 columns.
TEST(ColourColumns, DeterministicAndOptimalOnTheFivePointStencil) {
  const SparsityPattern pattern = Bratu2D{64}.sparsity();
  const std::vector<int> first = colour_columns(pattern);
  for (int run = 0; run < 5; ++run) EXPECT_EQ(colour_columns(pattern), first) << "run " << run;
  EXPECT_EQ(*std::max_element(first.begin(), first.end()) + 1, 5);
  // The Brusselator (two species, 6 nonzeros per row) at N = 64 and 256:
  // at most 12, the bound.
  for (int N : {64, 256}) {
    const std::vector<int> c = colour_columns(Brusselator2D{N}.sparsity());
    EXPECT_LE(*std::max_element(c.begin(), c.end()) + 1, 12) << "N = " << N;
  }
}

// The Brusselator's Jacobian (N = 7: 98 unknowns, six nonzeros per row):
// the compressed evaluation gives the dense AD Jacobian's entries, in few
// colours (a 5-point periodic stencil plus one coupling: at most ~10,
// whatever N).
TEST(SparseJacobian, MatchesTheDenseJacobianOnTheBrusselator) {
  const Brusselator2D problem{7};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  const Vec w = problem.initial_state();
  SparseJacobian<double> sparse(problem.sparsity());
  EXPECT_LE(sparse.colours(), 12);
  const Eigen::MatrixXd dense = internal::square_jacobian(g, w);
  const Eigen::MatrixXd from_sparse = Eigen::MatrixXd(sparse.evaluate(g, w));
  // The same dual-number arithmetic per entry: equal to rounding.
  EXPECT_LE((dense - from_sparse).cwiseAbs().maxCoeff(), 1e-12 * dense.cwiseAbs().maxCoeff());
  EXPECT_EQ(sparse.matrix().nonZeros(), problem.sparsity().nonZeros());
  // A second evaluation at another point keeps the structure and follows x.
  const Vec w2 = w * 0.5;
  const Eigen::MatrixXd dense2 = internal::square_jacobian(g, w2);
  EXPECT_LE((dense2 - Eigen::MatrixXd(sparse.evaluate(g, w2))).cwiseAbs().maxCoeff(),
            1e-12 * dense2.cwiseAbs().maxCoeff());
}

// A pattern that leaves out the coupling between the species is refused,
// not decompressed into a wrong Jacobian.
TEST(SparseJacobian, APatternThatMissesADependenceIsRefused) {
  const Brusselator2D problem{6};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  const Eigen::Index m = 36;
  SparsityPattern pattern = problem.sparsity();
  for (Eigen::Index j = 0; j < pattern.outerSize(); ++j)
    for (SparsityPattern::InnerIterator it(pattern, j); it; ++it)
      if ((it.row() < m) != (it.col() < m)) it.valueRef() = 0;  // the cross-species entries
  pattern.prune(0.0);
  ASSERT_EQ(pattern.nonZeros(), problem.sparsity().nonZeros() - 2 * m);
  SparseJacobian<double> sparse(pattern);
  EXPECT_THROW((void)sparse.evaluate(g, problem.initial_state()), std::invalid_argument);
  // And one of the wrong size.
  SparseJacobian<double> small(Brusselator2D{5}.sparsity());
  EXPECT_THROW((void)small.evaluate(g, problem.initial_state()), std::invalid_argument);
}


// The Brusselator's Jacobian at N = 64 (8,192 unknowns; entries up to
// alpha / dx^2 = 4e4) by a sparse LU with iterative refinement: the
// recomputed residual meets the target the chain certifies against (at
// N = 128 one solve alone missed it by 1.8x; refinement is what closes it).
TEST(SparseJacobian, ASparseLuWithRefinementMeetsTheTargetOnTheBrusselator) {
  const Brusselator2D problem{64};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  SparseJacobian<double> sparse(problem.sparsity());
  const Eigen::SparseMatrix<double> a(sparse.evaluate(g, problem.initial_state()).transpose());
  LinearSystem<Vec> system;
  system.sparse_a = [&] { return a; };
  const Vec b = Vec::Ones(problem.size());
  const LinearTarget target;  // 1e-12 + 1e-10 ||b||
  const auto refined = SparseLU{}.solve(system, b, target);
  ASSERT_TRUE(refined.ok()) << refined.brief_report();
  EXPECT_LE((a * refined.x - b).norm(), target.abs_tol + target.rel_tol * b.norm());
  EXPECT_DOUBLE_EQ(refined.residual_norm, (a * refined.x - b).norm());
  SparseLU plain;
  plain.max_refinements = 0;
  const auto once = plain.solve(system, b, target);
  EXPECT_LE(refined.residual_norm, once.residual_norm);
}

}  // namespace
}  // namespace implicit
#endif
