// AdjointOptions::solvers: the linear solvers of implicit differentiation as
// values, in a chain that the one certified solve walks.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

class SolverChain : public ::testing::Test {
 protected:
  TanhProblem p = make_reference_tanh_problem(10, 0);
  Vec z_star = testing::newton_fixed_point(p.layer, p.theta);
  Vec zbar = Vec::LinSpaced(10, -1, 2);

  Vec finite_difference_gradient() const {
    auto loss = [&](const Vec& theta) {
      return testing::newton_fixed_point(p.layer, theta).dot(zbar);
    };
    return central_difference_gradient(loss, p.theta);
  }
};

// Every value, alone in the chain (no fallback), gives the gradient of
// central differences (h = 1e-6 on an O(1) loss: truncation ~1e-12,
// round-off of the 1e-13 forward solve / h ~ 1e-7: 1e-6 absolute), and
// reports itself as the method.
TEST_F(SolverChain, EverySolverValueGivesTheFiniteDifferenceGradient) {
  const Vec fd = finite_difference_gradient();
  const std::vector<LinearSolver> values{DenseLU{}, Gmres{5}, BiCGStab{}, FixedPointIteration{},
                                         AndersonIteration{}};
  for (const LinearSolver& value : values) {
    AdjointOptions o;
    o.solvers = {value};
    o.fallback = false;
    const auto r = fixed_point_vjp(p.layer, p.theta, z_star, zbar, o);
    ASSERT_TRUE(r.ok()) << to_string(value) << ": " << r.brief_report();
    EXPECT_EQ(r.method, to_string(value));
    EXPECT_LE((r.value - fd).cwiseAbs().maxCoeff(), 1e-6) << to_string(value);
  }
}

// The chain is walked in order: an iteration that cannot converge in 3
// products is refused, and the next value certifies.
TEST_F(SolverChain, TheChainIsWalkedInOrderAndEveryAttemptIsReported) {
  AdjointOptions o;
  o.solvers = {FixedPointIteration{}, BiCGStab{}};
  o.max_iter = 3;
  o.fallback = false;
  const auto short_chain = fixed_point_vjp(p.layer, p.theta, z_star, zbar, o);
  EXPECT_FALSE(short_chain.ok());  // BiCGStab needs more than 3 products too
  EXPECT_TRUE(short_chain.value.array().isNaN().all());
  EXPECT_NE(short_chain.message.find("fixed_point_iteration: max_iterations"), std::string::npos)
      << short_chain.message;
  EXPECT_NE(short_chain.message.find("then bicgstab: max_iterations"), std::string::npos)
      << short_chain.message;
  o.solvers.push_back(DenseLU{});
  const auto rescued = fixed_point_vjp(p.layer, p.theta, z_star, zbar, o);
  ASSERT_TRUE(rescued.ok()) << rescued.brief_report();
  EXPECT_EQ(rescued.method, "dense_lu");
  EXPECT_NE(rescued.message.find("then dense_lu: converged"), std::string::npos)
      << rescued.message;
}

// With `fallback` the chain gains GMRES and the dense LU where missing, as
// the deprecated `method` did.
TEST_F(SolverChain, FallbackAppendsGmresAndDenseLuWhereMissing) {
  AdjointOptions o;
  o.solvers = {BiCGStab{}};
  EXPECT_EQ(internal::solver_chain(o, 10, {}).size(), 3u);
  EXPECT_EQ(internal::solver_chain(o, 1000, {}).size(), 2u);  // above dense_max_size
  o.solvers = {DenseLU{}, Gmres{}};
  EXPECT_EQ(internal::solver_chain(o, 10, {}).size(), 2u);
  o.fallback = false;
  o.solvers = {};
  o.method = AdjointMethod::kAnderson;
  o.anderson.memory = 3;
  const auto chain = internal::solver_chain(o, 10, {});
  ASSERT_EQ(chain.size(), 1u);
  EXPECT_EQ(std::get<AndersonIteration>(chain[0]).anderson.memory, 3);
}

TEST_F(SolverChain, NonsenseSolverOptionsAreRefusedNamingTheirPlace) {
  AdjointOptions o;
  o.solvers = {Gmres{}, Gmres{0}};
  try {
    (void)fixed_point_vjp(p.layer, p.theta, z_star, zbar, o);
    FAIL() << "Gmres{0} was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("AdjointOptions::solvers[1]::restart must be >= 1"),
              std::string::npos)
        << e.what();
  }
  o.solvers = {AndersonIteration{}};
  std::get<AndersonIteration>(o.solvers[0]).anderson.memory = 0;
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, z_star, zbar, o), std::invalid_argument);
}

// g(theta, x) = A x - theta with the nonsymmetric convection-diffusion
// matrix (cond ~ 4e2): the root's VJP by BiCGStab solves A^T u = xbar, whose
// exact answer is known, and root systems refuse the iterations.
struct ConvectionDiffusion {
  Eigen::MatrixXd a;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    VectorX<T> out(x.size());
    for (Eigen::Index i = 0; i < a.rows(); ++i) {
      T sum = -theta[i];
      for (Eigen::Index j = std::max<Eigen::Index>(i - 1, 0); j <= std::min(i + 1, a.cols() - 1);
           ++j)
        sum += a(i, j) * x[j];
      out[i] = sum;
    }
    return out;
  }
};

TEST(SolverChainRoot, BiCGStabSolvesATransposedNonsymmetricSystem) {
  const int n = 40;
  const double h = 1.0 / (n + 1), beta = 30;
  ConvectionDiffusion g{Eigen::MatrixXd::Zero(n, n)};
  for (int i = 0; i < n; ++i) {
    g.a(i, i) = 2 / (h * h);
    if (i > 0) g.a(i, i - 1) = (-1 - beta * h / 2) / (h * h);
    if (i + 1 < n) g.a(i, i + 1) = (-1 + beta * h / 2) / (h * h);
  }
  const Vec theta = Vec::Ones(n);
  const Vec x = g.a.partialPivLu().solve(theta);
  const Vec xbar = Vec::LinSpaced(n, 0, 1);
  AdjointOptions o;
  o.solvers = {BiCGStab{}};
  o.fallback = false;
  const auto r = root_vjp(g, theta, x, xbar, o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, "bicgstab");
  // dL/dtheta = A^{-T} xbar (g = A x - theta); rel_tol 1e-10 times cond
  // ~ 7e2 bounds the relative error.
  const Vec exact = g.a.transpose().partialPivLu().solve(xbar);
  EXPECT_LE((r.value - exact).norm(), 1e-6 * exact.norm());
  o.solvers = {FixedPointIteration{}};
  EXPECT_THROW((void)root_vjp(g, theta, x, xbar, o), std::invalid_argument);
}


#ifdef IMPLICIT_SPARSE
// z = 0.5 tanh(T z + theta), T tridiagonal: the fixed point's VJP and JVP
// with AdjointOptions::sparsity (SparseLU on I - J^T, resp. I - J) equal
// the dense LU's, and a pattern of the wrong size is refused by name.
struct TridiagonalTanh {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::tanh;
    const Eigen::Index n = z.size();
    VectorX<T> out(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      T s = theta[i] + 0.8 * z[i];
      if (i > 0) s += 0.3 * z[i - 1];
      if (i + 1 < n) s -= 0.4 * z[i + 1];
      out[i] = 0.5 * tanh(s);
    }
    return out;
  }
  static SparsityPattern pattern(int n) {
    std::vector<Eigen::Triplet<double>> e;
    for (int i = 0; i < n; ++i)
      for (int j = std::max(i - 1, 0); j <= std::min(i + 1, n - 1); ++j) e.emplace_back(i, j, 1.0);
    SparsityPattern p(n, n);
    p.setFromTriplets(e.begin(), e.end());
    return p;
  }
};

TEST(SolverChainSparse, FixedPointVjpAndJvpBySparseLuMatchTheDenseLu) {
  const int n = 300;  // above dense_max_size: the dense LU is no fallback here
  const TridiagonalTanh f;
  const Vec theta = Vec::LinSpaced(n, -1, 1);
  FixedPointOptions tight;
  tight.abs_tol = 1e-14;
  tight.rel_tol = 1e-14;
  const auto bound = bind_theta(f, theta);
  const auto forward = solve_fixed_point(bound, Vec(Vec::Zero(n)), Anderson(), tight);
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  const Vec zbar = Vec::LinSpaced(n, 0, 1);
  AdjointOptions sparse;
  sparse.sparsity = TridiagonalTanh::pattern(n);
  AdjointOptions dense;
  dense.solvers = {DenseLU{}};
  const auto vjp = fixed_point_vjp(f, theta, forward.x, zbar, sparse);
  const auto vjp_dense = fixed_point_vjp(f, theta, forward.x, zbar, dense);
  ASSERT_TRUE(vjp.ok()) << vjp.brief_report();
  ASSERT_TRUE(vjp_dense.ok()) << vjp_dense.brief_report();
  EXPECT_EQ(vjp.method, "sparse_lu");
  // Two direct solves of a system with cond ~ 10: rounding apart.
  EXPECT_LE((vjp.value - vjp_dense.value).cwiseAbs().maxCoeff(), 1e-12);
  const auto jvp = fixed_point_jvp(f, theta, forward.x, zbar, sparse);
  const auto jvp_dense = fixed_point_jvp(f, theta, forward.x, zbar, dense);
  ASSERT_TRUE(jvp.ok()) << jvp.brief_report();
  EXPECT_EQ(jvp.method, "sparse_lu");
  EXPECT_LE((jvp.value - jvp_dense.value).cwiseAbs().maxCoeff(), 1e-12);
  sparse.sparsity = TridiagonalTanh::pattern(n - 1);
  EXPECT_THROW((void)fixed_point_vjp(f, theta, forward.x, zbar, sparse), std::invalid_argument);
}
#endif

}  // namespace
}  // namespace implicit
