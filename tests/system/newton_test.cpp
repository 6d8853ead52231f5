// Newton with a line search for g(x) = 0: the dense and Newton-Krylov
// paths, finite-difference Jacobians, singular Jacobians.
#include "implicit/system/newton.hpp"

#include "system/support.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

TEST(LineSearchNewton, QuadraticConvergenceNearARegularRoot) {
  const auto bt = make_instance(SystemId::kBroydenTridiagonal, 10);
  SystemOptions o;
  o.abs_tol = 1e-14;
  const auto r = solve_root(bt.g, bt.x0, LineSearchNewton(), o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE(r.iterations, 6);
  // Quadratic: once ||g|| < 1e-2, each residual is at most ~ the square of
  // the previous (C = 10 covers ||J^{-1}|| ||J''|| here), until rounding
  // (~1e-15) takes over.
  const auto& h = r.residual_history;
  ASSERT_GE(h.size(), 3u);
  for (std::size_t i = 0; i + 1 < h.size(); ++i)
    if (h[i] < 1e-2 && h[i] > 1e-7) {
      EXPECT_LT(h[i + 1], 10 * h[i] * h[i]) << i;
    }
}

TEST(LineSearchNewton, TheLineSearchRescuesAFarStart) {
  // atan(x) from 10: a full Newton step overshoots to ~ -1.4e2 and diverges.
  auto g = [](const auto& x) {
    using std::atan;
    using V = std::decay_t<decltype(x)>;
    V out(1);
    out[0] = atan(x[0]);
    return out;
  };
  const auto r = solve_root(g, Vec(Vec::Constant(1, 10)), LineSearchNewton());
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_NEAR(r.x[0], 0, 1e-10);
  LineSearchNewtonOptions plain;
  plain.use_line_search = false;
  const auto raw = solve_root(g, Vec(Vec::Constant(1, 10)), LineSearchNewton(plain));
  EXPECT_FALSE(raw.ok());  // diverged (or NaN), never a false success
  EXPECT_EQ(raw.residual_norm, std::fabs(std::atan(raw.x[0])));
}

TEST(LineSearchNewton, NewtonKrylovMatchesDenseOnALargeSystem) {
  // Discrete boundary value problem, n = 400: GMRES on JVPs, no Jacobian.
  NonlinearSystem bv{SystemId::kDiscreteBoundaryValue, 400};
  const Vec x0 = standard_start(SystemId::kDiscreteBoundaryValue, 400);
  LineSearchNewtonOptions krylov;
  krylov.linear_solver = Gmres{};
  krylov.gmres_rel_tol = 1e-8;
  SystemOptions o;
  o.abs_tol = 1e-11;
  const auto a = solve_root(bv, x0, LineSearchNewton(krylov), o);
  LineSearchNewtonOptions dense;
  dense.linear_solver = DenseLU{};
  const auto b = solve_root(bv, x0, LineSearchNewton(dense), o);
  ASSERT_TRUE(a.ok()) << a.brief_report();
  ASSERT_TRUE(b.ok()) << b.brief_report();
  EXPECT_EQ(a.method, "newton");
  // Regression (issue 19): jacobian_evaluations counted GMRES's JVP products
  // (67,074 "Jacobians" on a 2,048-unknown run). Counts mean their names:
  // Newton-Krylov forms no Jacobian, and its products are counted apart.
  EXPECT_EQ(a.jacobian_evaluations, 0) << a.brief_report();
  EXPECT_GT(a.jacobian_products, a.iterations) << a.brief_report();
  EXPECT_EQ(b.jacobian_products, 0) << b.brief_report();
  EXPECT_GE(b.jacobian_evaluations, 1) << b.brief_report();
  // Both roots meet ||g|| <= 1e-11 and the Jacobian there has ||J^{-1}|| ~ n^2/8,
  // so they agree to ~ 2e4 * 1e-11.
  EXPECT_LE((a.x - b.x).lpNorm<Eigen::Infinity>(), 1e-6);
}

TEST(LineSearchNewton, FiniteDifferenceJacobianCountsItsEvaluations) {
  const auto pw = make_instance(SystemId::kPowellSingular, 4);
  SystemOptions fd;
  fd.jacobian = JacobianMethod::kFiniteDifference;
  fd.abs_tol = 1e-8;
  const auto r = solve_root(pw.g, pw.x0, LineSearchNewton(), fd);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.jacobian_evaluations, 0);
  EXPECT_GE(r.function_evaluations, 4 * r.iterations);  // n per Jacobian
}

TEST(LineSearchNewton, SingularJacobianTakesARegularisedStep) {
  // Powell singular has a singular Jacobian at its root 0; from a point on
  // the axis x = (1, 0, 0, 0)-like starts J is singular too.
  const auto pw = make_instance(SystemId::kPowellSingular, 4);
  SystemOptions o;
  o.abs_tol = 1e-8;
  const auto r = solve_root(pw.g, Vec(Vec::Zero(4) + Vec::Unit(4, 2)), LineSearchNewton(), o);
  EXPECT_TRUE(r.ok()) << r.brief_report();
}

TEST(LineSearchNewton, InvalidOptionsNameTheField) {
  LineSearchNewtonOptions o;
  o.gmres_restart = 0;
  try {
    LineSearchNewton(o).validate();
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("LineSearchNewtonOptions::gmres_restart"),
              std::string::npos);
  }
  o = LineSearchNewtonOptions{};
  o.line_search.armijo = 0.7;
  EXPECT_THROW(LineSearchNewton(o).validate(), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
