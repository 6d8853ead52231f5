// What a user who changes nothing gets on a large sparse system: the
// default solve_root and root_vjp trace the Jacobian's pattern from g
// (SystemOptions / AdjointOptions::detect_sparsity) and take the sparse
// path (colouring + sparse LU), certified like any other answer, and never
// form an n x n matrix (issue 20).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include "implicit.hpp"
#include "implicit/problems/brusselator.hpp"

#ifdef IMPLICIT_SPARSE
namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// Broyden's tridiagonal function (Moré, Garbow and Hillstrom 1981, problem
// 30) with its two constants as parameters, theta = (3, 1):
//   g_i = (theta_0 - 2 x_i) x_i - x_{i-1} - 2 x_{i+1} + theta_1,
// x_0 = x_{n+1} = 0, started at x = -1. Diagonally dominant at its root, so
// roots and their derivatives are well conditioned at any n.
struct BroydenTridiagonal {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    const Eigen::Index n = x.size();
    VectorX<T> g(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      g[i] = (theta[0] - 2.0 * x[i]) * x[i] + theta[1];
      if (i > 0) g[i] -= x[i - 1];
      if (i + 1 < n) g[i] -= 2.0 * x[i + 1];
    }
    return g;
  }
};

// A bound on the address space of this test's process (ctest runs each test
// alone): an n x n matrix of doubles at n = 10^5 (80 GB) would throw
// std::bad_alloc instead of running.
class AddressSpaceBound {
 public:
  explicit AddressSpaceBound(rlim_t bytes) {
    getrlimit(RLIMIT_AS, &previous_);
    rlimit bound = previous_;
    bound.rlim_cur = std::min<rlim_t>(bytes, previous_.rlim_max);
    active_ = setrlimit(RLIMIT_AS, &bound) == 0;
  }
  ~AddressSpaceBound() {
    if (active_) setrlimit(RLIMIT_AS, &previous_);
  }
  bool active() const { return active_; }

 private:
  rlimit previous_{};
  bool active_ = false;
};

// n = 10^5 with every default: converged at the returned point, the sparse
// path named in the message, and the gradient of sum(x*) w.r.t. theta
// against central differences of re-solved roots, all within 4 GB.
TEST(SparseDefault, HundredThousandUnknownsWithDefaultsUnderAMemoryBound) {
  const Eigen::Index n = 100000;
  const Vec theta = (Vec(2) << 3.0, 1.0).finished();
  const Vec x0 = Vec::Constant(n, -1.0);
  AddressSpaceBound bound(rlim_t{4} << 30);
  ASSERT_TRUE(bound.active());
  auto solve_at = [&](const Vec& t) { return solve_root(bind_theta(BroydenTridiagonal{}, t), x0); };
  const auto root = solve_at(theta);
  ASSERT_TRUE(root.ok()) << root.brief_report() << "\n" << root.message;
  EXPECT_LE(BroydenTridiagonal{}(theta, root.x).norm(), SystemOptions{}.abs_tol);
  EXPECT_NE(root.message.find("sparse Jacobian: pattern traced from g at n = 100000, 299998 "
                              "nonzeros"),
            std::string::npos)
      << root.message;
  EXPECT_EQ(root.method, "polyalgorithm(newton)");

  const Vec xbar = Vec::Ones(n);
  const auto gradient = root_vjp(BroydenTridiagonal{}, theta, root, xbar);
  ASSERT_TRUE(gradient.ok()) << gradient.brief_report() << "\n" << gradient.message;
  // Newton's last sparse LU (SystemResult::jacobian_solves) preconditions
  // the adjoint: no new factorisation. The same gradient as a fresh sparse
  // LU of (dg/dx)^T at x* (both certified to 1e-10 relative).
  ASSERT_TRUE(root.jacobian_solves.both_ways());
  EXPECT_EQ(gradient.method, "gmres_preconditioned_by_forward");
  const auto fresh = root_vjp(BroydenTridiagonal{}, theta, root.x, xbar);
  ASSERT_TRUE(fresh.ok()) << fresh.brief_report();
  EXPECT_EQ(fresh.method, "sparse_lu");
  EXPECT_LE((fresh.value - gradient.value).norm(), 1e-9 * gradient.value.norm());
  // Central differences, h = 1e-5: truncation ~h^2 |x'''| ~ 1e-10 relative;
  // roots to ||g|| <= 1e-10 with ||J^-1|| <= 1 move sum(x) by at most
  // sqrt(n) 1e-10 = 3e-8, over 2h: 3e-3 absolute on derivatives of ~1e5.
  for (int k = 0; k < 2; ++k) {
    const double h = 1e-5;
    Vec up = theta, down = theta;
    up[k] += h;
    down[k] -= h;
    const double fd = (solve_at(up).x.sum() - solve_at(down).x.sum()) / (2 * h);
    EXPECT_NEAR(gradient.value[k], fd, 1e-7 * std::fabs(fd) + 3e-3) << "theta " << k;
  }

  // Forward mode only (no reverse sweeps, as in a build without Sacado):
  // the certificate's products with A are then the sparse matrix's, never
  // a dense n x n Jacobian (80 GB here: bad_alloc under the bound).
  AdjointOptions forward_only;
  forward_only.derivatives = DerivativeMode::kForward;
  const auto forward_gradient = root_vjp(BroydenTridiagonal{}, theta, root, xbar, forward_only);
  ASSERT_TRUE(forward_gradient.ok()) << forward_gradient.brief_report();
  EXPECT_EQ(forward_gradient.method, "gmres_preconditioned_by_forward");
  EXPECT_LE((forward_gradient.value - gradient.value).norm(), 1e-9 * gradient.value.norm());

  // The full n x 2 Jacobian dx*/dtheta the same way: one sparse LU for both
  // columns (before, one dense n x n Jacobian: 80 GB, bad_alloc under the
  // bound), each column certified; its column sums are the gradient of
  // sum(x*), to the same 1e-9 as the two gradients above.
  const auto jac = root_jacobian(BroydenTridiagonal{}, theta, root.x);
  ASSERT_TRUE(jac.ok()) << jac.brief_report();
  EXPECT_EQ(jac.method, "sparse_lu");
  EXPECT_LE((Vec(jac.value.colwise().sum().transpose()) - gradient.value).norm(),
            1e-9 * gradient.value.norm());
}

// The 2-D Brusselator (NonlinearSolve.jl's large-systems tutorial) with a
// per-cell forcing field as the parameter (p = N^2 = 529): the default
// solve and the default root_vjp (sparse LU on (dg/dx)^T; (dg/dtheta)^T u by
// reverse mode, not p forward passes), against central differences of
// re-solved roots for cells inside and outside the forcing disc.
TEST(SparseDefault, TheBrusselatorsGradientWithRespectToAForcingField) {
  const Brusselator2DForcingField model{Brusselator2D{23}};  // 1,058 unknowns
  const Vec field = model.tutorial_field();
  // ||g|| cannot go below the rounding of its largest terms, alpha / dx^2
  // ~ 5e3 times |u| ~ 5 over 1,058 entries: ~1e-10, within 10x of the
  // default 1e-10; 1e-8 is the tolerance of the benchmark.
  SystemOptions options;
  options.abs_tol = 1e-8;
  const Vec w0 = model.problem.initial_state();
  auto solve_at = [&](const Vec& f) { return solve_root(bind_theta(model, f), w0, options); };
  const auto root = solve_at(field);
  ASSERT_TRUE(root.ok()) << root.brief_report() << "\n" << root.message;
  EXPECT_LE(model(field, root.x).norm(), 1e-8);
  EXPECT_NE(root.message.find("sparse Jacobian: pattern traced"), std::string::npos)
      << root.message;
  // The loss: u at one cell near the disc.
  const Eigen::Index observed = 7 + 23 * 13;
  Vec xbar = Vec::Zero(model.problem.size());
  xbar[observed] = 1;
  const auto gradient = root_vjp(model, field, root, xbar);
  ASSERT_TRUE(gradient.ok()) << gradient.brief_report() << "\n" << gradient.message;
  EXPECT_EQ(gradient.method, "gmres_preconditioned_by_forward");  // Newton's LU reused
  ASSERT_EQ(gradient.value.size(), field.size());
  // Central differences, h = 1e-2 on a forcing of 0 or 5 (g is linear in
  // the field, x* smooth in it): truncation ~h^2 ~ 1e-4 relative; roots to
  // 1e-8 with ||J^-1|| ~ 1 add 1e-8 / (2h) = 5e-7 absolute.
  for (Eigen::Index cell : {observed, Eigen::Index{6 + 23 * 13}, Eigen::Index{20 + 23 * 3}}) {
    const double h = 1e-2;
    Vec up = field, down = field;
    up[cell] += h;
    down[cell] -= h;
    const double fd = (solve_at(up).x[observed] - solve_at(down).x[observed]) / (2 * h);
    EXPECT_NEAR(gradient.value[cell], fd, 1e-4 * std::fabs(fd) + 2e-6) << "cell " << cell;
  }
}

// With a traced pattern the Newtons run first and, when both fail, the dense
// methods follow up to detect_sparsity.dense_fallback_max_size (x^2 + 1 = 0
// has no root: every method fails, and the log lists who ran).
TEST(SparseDefault, ATracedPatternKeepsTheDenseMethodsAsAFallback) {
  auto g = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array() * x.array() + 1).matrix());
  };
  const Vec x0 = Vec::Constant(300, 3.0);
  const auto small = solve_root(g, x0);
  EXPECT_EQ(small.status, Status::kStalled) << small.brief_report();
  EXPECT_NE(small.message.find("sparse Jacobian: pattern traced from g at n = 300"),
            std::string::npos)
      << small.message;
  EXPECT_NE(small.message.find("dogleg: stalled"), std::string::npos) << small.message;
  EXPECT_EQ(small.message.find("skipped"), std::string::npos) << small.message;
  SystemOptions no_fallback;
  no_fallback.detect_sparsity.dense_fallback_max_size = 299;
  const auto large = solve_root(g, x0, no_fallback);
  EXPECT_EQ(large.status, Status::kStalled) << large.brief_report();
  EXPECT_NE(large.message.find("dogleg: skipped (dense; the Jacobian is sparse)"),
            std::string::npos)
      << large.message;
}

// Newton alone, with no linear solver named, traces too (n = 1,000 would
// otherwise be Newton-Krylov): converged at the returned point, with sparse
// Jacobians formed and no Jacobian products (GMRES would count them).
TEST(SparseDefault, NewtonAloneTracesAndConvergesAtTheReturnedPoint) {
  const Vec theta = (Vec(2) << 3.0, 1.0).finished();
  const auto g = bind_theta(BroydenTridiagonal{}, theta);
  const auto r = solve_root(g, Vec::Constant(1000, -1.0), LineSearchNewton());
  ASSERT_TRUE(r.ok()) << r.brief_report() << "\n" << r.message;
  EXPECT_LE(g(r.x).norm(), SystemOptions{}.abs_tol);
  EXPECT_DOUBLE_EQ(g(r.x).norm(), r.residual_norm);
  EXPECT_GT(r.jacobian_evaluations, 0);
  EXPECT_EQ(r.jacobian_products, 0);
}

// Below SystemOptions::detect_sparsity.min_size nothing is traced: the
// polyalgorithm keeps its dense methods.
TEST(SparseDefault, SmallSystemsKeepTheDensePolyalgorithm) {
  const Vec theta = (Vec(2) << 3.0, 1.0).finished();
  const auto root = solve_root(bind_theta(BroydenTridiagonal{}, theta), Vec::Constant(50, -1.0));
  ASSERT_TRUE(root.ok()) << root.brief_report();
  EXPECT_EQ(root.message.find("sparse Jacobian"), std::string::npos) << root.message;
  SystemOptions off;
  off.detect_sparsity.min_size = 0;
  const auto large =
      solve_root(bind_theta(BroydenTridiagonal{}, theta), Vec::Constant(1200, -1.0), off);
  ASSERT_TRUE(large.ok()) << large.brief_report();
  EXPECT_EQ(large.message.find("sparse Jacobian"), std::string::npos) << large.message;
}

}  // namespace
}  // namespace implicit
#endif
