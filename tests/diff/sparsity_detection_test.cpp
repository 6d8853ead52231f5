// The Jacobian's nonzero pattern traced from g (diff/sparsity_tracer.hpp,
// diff/sparsity_detection.hpp): exact on the 2-D Brusselator, a superset of
// the AD Jacobian's nonzeros on every standard test system, and the rule
// that decides between the sparse and the dense path.
#include "implicit/diff/sparsity_detection.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/parametric.hpp"
#include "implicit/problems/brusselator.hpp"
#include "implicit/problems/nonlinear_systems.hpp"

#ifdef IMPLICIT_SPARSE
#include "implicit/diff/sparse_jacobian.hpp"
#endif

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// The columns of row i of a pattern, sorted.
std::vector<int> row_of(const SparsityPattern& pattern, Eigen::Index i) {
  std::vector<int> columns;
  for (Eigen::Index j = 0; j < pattern.outerSize(); ++j)
    for (SparsityPattern::InnerIterator it(pattern, j); it; ++it)
      if (it.row() == i) columns.push_back(static_cast<int>(it.col()));
  return columns;
}

TEST(SparsityDetection, TracesTheBrusselatorsStencilExactly) {
  const Brusselator2D problem{6};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  const auto traced = trace_sparsity(g, problem.initial_state());
  ASSERT_TRUE(traced.has_value());
  const SparsityPattern expected = problem.sparsity();
  ASSERT_EQ(traced->nonZeros(),
            expected.nonZeros());  // 6 per row: the stencil and the other species
  SparsityPattern difference = *traced - expected;
  difference.prune(0.0);
  EXPECT_EQ(difference.nonZeros(), 0);
}

// Every standard system (MINPACK-1 and test_nonlin, problems/): the traced
// pattern holds every nonzero of the forward-mode Jacobian, at the standard
// start and at a point away from it.
TEST(SparsityDetection, CoversTheJacobianOfEveryStandardSystem) {
  int systems = 0;
  for (int id = 0; id <= static_cast<int>(SystemId::kChandrasekhar); ++id) {
    const SystemId system = static_cast<SystemId>(id);
    int n = 0;
    for (int candidate : {10, 9, 4, 3, 2, 1}) {
      try {
        internal::check_system_dimension(system, candidate);
        n = candidate;
        break;
      } catch (const std::invalid_argument&) {
      }
    }
    ASSERT_GT(n, 0) << to_string(system);
    const NonlinearSystem g{system, n};
    const Vec start = standard_start(system, n);
    for (const Vec& x : {start, Vec(start + Vec::LinSpaced(n, 0.1, 0.3))}) {
      const auto traced = trace_sparsity(g, x);
      ASSERT_TRUE(traced.has_value());
      const Eigen::MatrixXd pattern(*traced);
      const Eigen::MatrixXd jac = jacobian(g, x);
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j)
          if (jac(i, j) != 0) {
            EXPECT_NE(pattern(i, j), 0) << to_string(system) << ": dg_" << i << "/dx_" << j;
          }
    }
    ++systems;
  }
  EXPECT_EQ(systems, static_cast<int>(SystemId::kChandrasekhar) + 1);
}

// What a pattern promises: dependences that cancel are kept, step functions
// depend on nothing, min / max keep both operands, an `if` follows the
// value at the traced point.
TEST(SparsityDetection, SaysWhatEachOperationDependsOn) {
  auto g = [](const auto& x) {
    using T = typename std::decay_t<decltype(x)>::Scalar;
    using std::floor;
    using std::max;
    VectorX<T> out(5);
    out[0] = x[0] - x[0] + x[1];
    out[1] = floor(x[2]) * 3.0 + x[3];
    out[2] = max(x[0], x[4]);
    out[3] = x[0] > T(0) ? x[1] : x[2];
    out[4] = T(2);
    return out;
  };
  const auto traced = trace_sparsity(g, Vec::LinSpaced(5, 1, 5));
  ASSERT_TRUE(traced.has_value());
  EXPECT_EQ(row_of(*traced, 0), (std::vector<int>{0, 1}));
  EXPECT_EQ(row_of(*traced, 1), (std::vector<int>{3}));
  EXPECT_EQ(row_of(*traced, 2), (std::vector<int>{0, 4}));
  EXPECT_EQ(row_of(*traced, 3), (std::vector<int>{1}));
  EXPECT_TRUE(row_of(*traced, 4).empty());
}

// Eigen expressions and the math functions a templated g uses compile on
// tracers and keep their inputs.
TEST(SparsityDetection, TracesThroughEigenExpressionsAndMathFunctions) {
  const Eigen::MatrixXd w = Eigen::MatrixXd::Identity(4, 4) + Eigen::MatrixXd::Constant(4, 4, 0.0);
  auto g = [&w](const auto& x) {
    using T = typename std::decay_t<decltype(x)>::Scalar;
    using std::exp;
    using std::pow;
    using std::tanh;
    VectorX<T> out(4);
    const VectorX<T> wx = w.cast<T>() * x;
    out[0] = tanh(wx[0]) + exp(x[1]) * 0.0;
    out[1] = pow(x[1], T(2.5)) + x.head(2).norm() * 0.0;
    out[2] = x.array().square().matrix().segment(2, 1).sum();
    out[3] = (x * 2.0)[3] + x.cwiseMax(T(0))[3];
    return out;
  };
  const auto traced = trace_sparsity(g, Vec::Constant(4, 0.5));
  ASSERT_TRUE(traced.has_value());
  // A product by an exact 0 is kept (0 * exp(x1)), as a dual's tangent
  // would be: the pattern is structural.
  EXPECT_EQ(row_of(*traced, 0), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(row_of(*traced, 1), (std::vector<int>{0, 1}));
  EXPECT_EQ(row_of(*traced, 2), (std::vector<int>{2}));
  EXPECT_EQ(row_of(*traced, 3), (std::vector<int>{3}));
}

// A dense g: the bound stops the trace (std::nullopt), and the automatic
// rule keeps dense Jacobians and says why.
TEST(SparsityDetection, TheRuleTracesOnlyLargeSystemsAndRefusesDenseRows) {
  auto dense = [](const auto& x) {
    using T = typename std::decay_t<decltype(x)>::Scalar;
    return VectorX<T>(x.array() + x.sum());
  };
  EXPECT_FALSE(trace_sparsity(dense, Vec::Ones(100), 16).has_value());
  EXPECT_TRUE(trace_sparsity(dense, Vec::Ones(10), 16).has_value());

  SparsityDetection rule;  // n >= 250, at most max(16, 5 % of n) per row
  std::string note;
  EXPECT_EQ(internal::automatic_sparsity(dense, Vec(Vec::Ones(249)), rule, note).size(), 0);
  EXPECT_TRUE(note.empty());
#ifdef IMPLICIT_SPARSE
  EXPECT_EQ(internal::automatic_sparsity(dense, Vec(Vec::Ones(2000)), rule, note).size(), 0);
  EXPECT_NE(note.find("dense Jacobian"), std::string::npos) << note;
  EXPECT_NE(note.find("more than 100 nonzeros"), std::string::npos) << note;
  const Brusselator2D problem{23};  // 1,058 unknowns
  const Vec theta = Brusselator2D::default_theta();
  const SparsityPattern pattern =
      internal::automatic_sparsity(bind_theta(problem, theta), problem.initial_state(), rule, note);
  EXPECT_EQ(pattern.nonZeros(), 6 * problem.size());
  EXPECT_NE(note.find("6348 nonzeros (6.0 per row)"), std::string::npos) << note;
  rule.min_size = 0;
  EXPECT_EQ(
      internal::automatic_sparsity(bind_theta(problem, theta), problem.initial_state(), rule, note)
          .size(),
      0);
#endif
  rule.max_density = 0;
  EXPECT_THROW(rule.validate("SystemOptions::detect_sparsity"), std::invalid_argument);
  rule.max_density = 0.05;
  rule.dense_fallback_max_size = -1;
  EXPECT_THROW(rule.validate("SystemOptions::detect_sparsity"), std::invalid_argument);
}

#ifdef IMPLICIT_SPARSE
// The traced pattern is a pattern SparseJacobian accepts (its checks find no
// dependence outside it) and gives the dense AD Jacobian's values.
TEST(SparsityDetection, ATracedPatternGivesTheExactSparseJacobian) {
  for (SystemId system : {SystemId::kBroydenTridiagonal, SystemId::kBroydenBanded,
                          SystemId::kDiscreteBoundaryValue, SystemId::kTrigonometric}) {
    const int n = 12;
    const NonlinearSystem g{system, n};
    const Vec x = standard_start(system, n) + Vec::LinSpaced(n, -0.2, 0.2);
    SparseJacobian<double> sparse(*trace_sparsity(g, x));
    const Eigen::MatrixXd from_sparse(sparse.evaluate(g, x));
    EXPECT_LE((from_sparse - jacobian(g, x)).cwiseAbs().maxCoeff(), 1e-14) << to_string(system);
  }
}
#endif

}  // namespace
}  // namespace implicit
