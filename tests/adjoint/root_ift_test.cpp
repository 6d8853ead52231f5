// Implicit differentiation of a root g(theta, x*) = 0.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

// g(theta, x) = x^3 + theta_0 x + M x - theta_1 (componentwise cubic plus a
// fixed coupling M): strictly monotone, so a unique root for any theta.
struct Cubic {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    MatrixX<T> m(3, 3);
    m << T(2), T(0.3), T(0), T(-0.2), T(2), T(0.1), T(0), T(0.4), T(2);
    VectorX<T> out = (x.array().cube() + theta[0] * x.array()).matrix() + m * x;
    out -= theta.tail(3);
    return out;
  }
};

// Newton on g itself (g(x) = 0 <=> x = x - g(x) has the same root).
Vec solve_cubic(const Vec& theta) {
  Vec x = Vec::Zero(3);
  for (int k = 0; k < 50; ++k) {
    const auto g_of_x = bind_theta(Cubic{}, theta);
    const Vec gx = g_of_x(x);
    if (gx.norm() < 1e-15) break;
    x -= jacobian(g_of_x, x).partialPivLu().solve(gx);
  }
  return x;
}

const Vec kTheta = (Vec(4) << 0.5, 1.0, -2.0, 0.3).finished();

TEST(RootIft, VjpJvpJacobianMatchFiniteDifferences) {
  const Vec x = solve_cubic(kTheta);
  ASSERT_LE(Cubic{}(kTheta, x).norm(), 1e-14);
  auto solution = [](const Vec& theta) { return solve_cubic(theta); };
  const Eigen::MatrixXd fd = central_difference_jacobian(solution, kTheta);
  const auto jac = root_jacobian(Cubic{}, kTheta, x);
  ASSERT_TRUE(jac.ok());
  // Central differences at h = 1e-6 of a solution solved to 1e-15: ~1e-9.
  EXPECT_LE((jac.value - fd).cwiseAbs().maxCoeff(), 1e-7);
  const Vec xbar = (Vec(3) << 1, -2, 0.5).finished();
  const Vec dtheta = (Vec(4) << 0.3, 1, 1, -1).finished();
  for (AdjointMethod m : {AdjointMethod::kAuto, AdjointMethod::kDenseLU, AdjointMethod::kGmres}) {
    AdjointOptions o;
    o.method = m;
    const auto v = root_vjp(Cubic{}, kTheta, x, xbar, o);
    const auto j = root_jvp(Cubic{}, kTheta, x, dtheta, o);
    ASSERT_TRUE(v.ok() && j.ok()) << v.brief_report() << " / " << j.brief_report();
    EXPECT_LE((v.value - fd.transpose() * xbar).cwiseAbs().maxCoeff(), 1e-7) << to_string(m);
    EXPECT_LE((j.value - fd * dtheta).cwiseAbs().maxCoeff(), 1e-7) << to_string(m);
  }
}

// g(t, x) = x^2 - t: a fold at t = 0, where dx*/dt = 1 / (2 x*) does not
// exist. Near t > 0 the root sqrt(t) is regular.
struct Fold {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    return (x.array().square() - theta[0]).matrix();
  }
};

// Regression (issue 19): at the fold, a forward solve to |g| <= tol stops at
// x ~ sqrt(tol), and root_vjp "certified" dx/dt = 1 / (2x) = 65,536
// (8.4e6 with a tighter tolerance): the linear solve was exact, but the
// answer moves with the forward tolerance. The forward-sensitivity check
// refuses it at every tolerance (sensitivity 1/2 exactly: x' = x / 2), and
// still certifies the regular root next to it.
TEST(RootIft, AFoldIsRefusedNotCertified) {
  const Vec t = Vec::Zero(1), xbar = Vec::Ones(1);
  for (double abs_tol : {1e-10, 1e-14}) {
    SystemOptions o;
    o.abs_tol = abs_tol;
    const auto forward = solve_root(bind_theta(Fold{}, t), Vec(Vec::Ones(1)), o);
    ASSERT_TRUE(forward.ok()) << forward.brief_report();
    ASSERT_LE(std::abs(forward.x[0] * forward.x[0]), abs_tol);  // the forward promise holds
    const auto grad = root_vjp(Fold{}, t, forward, xbar);
    EXPECT_EQ(grad.status, Status::kLinearSolveFailed) << grad.brief_report();
    EXPECT_TRUE(std::isnan(grad.value[0])) << grad.value[0];
    EXPECT_NE(grad.message.find("sensitive to the forward solve"), std::string::npos)
        << grad.message;
    // The JVP dx/dt dt = dt / (2x) follows the tolerance the same way.
    const auto tangent = root_jvp(Fold{}, t, forward, xbar);
    EXPECT_EQ(tangent.status, Status::kLinearSolveFailed) << tangent.brief_report();
    EXPECT_TRUE(std::isnan(tangent.value[0])) << tangent.value[0];
  }
  // t = 1e-4, root 1e-2: dx/dt = 1 / (2 sqrt(t)) = 50, certified. The
  // sensitivity there is ~|x - x*| / x* ~ 1e-8: far below the 0.1 cut.
  const Vec t_regular = Vec::Constant(1, 1e-4);
  const auto forward = solve_root(bind_theta(Fold{}, t_regular), Vec(Vec::Ones(1)));
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  const auto grad = root_vjp(Fold{}, t_regular, forward, xbar);
  ASSERT_TRUE(grad.ok()) << grad.brief_report();
  EXPECT_NEAR(grad.value[0], 50.0, 1e-4);  // 50 (1 + O(|x - x*| / x*)), forward to 1e-10
  const auto tangent = root_jvp(Fold{}, t_regular, forward, xbar);
  ASSERT_TRUE(tangent.ok()) << tangent.brief_report();
  EXPECT_NEAR(tangent.value[0], 50.0, 1e-4);
  // The check can be turned off: then the old, tolerance-following number.
  AdjointOptions off;
  off.max_forward_sensitivity = std::numeric_limits<double>::infinity();
  SystemOptions o;
  o.abs_tol = 1e-10;
  const auto at_fold = solve_root(bind_theta(Fold{}, t), Vec(Vec::Ones(1)), o);
  const auto unchecked = root_vjp(Fold{}, t, at_fold, xbar, off);
  EXPECT_TRUE(unchecked.ok()) << unchecked.brief_report();
  EXPECT_GT(unchecked.value[0], 1e4);
}

// The same fold as a fixed point z = z - (z^2 - t): fixed_point_vjp refuses too.
struct FoldFixedPoint {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return (z.array() - (z.array().square() - theta[0])).matrix();
  }
};

TEST(RootIft, AFoldIsRefusedByFixedPointVjpToo) {
  const Vec t = Vec::Zero(1);
  const Vec z = Vec::Constant(1, 1e-6);  // |f(z) - z| = 1e-12: within solution_tol
  const auto grad = fixed_point_vjp(FoldFixedPoint{}, t, z, Vec(Vec::Ones(1)));
  EXPECT_EQ(grad.status, Status::kLinearSolveFailed) << grad.brief_report();
  EXPECT_TRUE(std::isnan(grad.value[0]));
}

// Regression (issue 19): the other entry points had no forward-sensitivity
// check, and each "certified" the fold's tolerance-following number:
// root_jacobian and fixed_point_jacobian 65,536, fixed_point_jvp 8,192, and
// fixed_point_vjp through Newton's reused LU (the forward result) 8,192.
// Every one is refused now, and every one certifies the regular root
// t = 1e-4 (dx/dt = 50). The maps are 1-D: the dense path.
TEST(RootIft, EveryEntryPointRefusesTheFoldAndCertifiesTheRegularRoot) {
  const Vec one = Vec::Ones(1);
  FixedPointOptions tight;
  tight.abs_tol = 1e-10;
  for (const double t0 : {0.0, 1e-4}) {
    const bool fold = t0 == 0;
    const Vec t = Vec::Constant(1, t0);
    const auto root = solve_root(bind_theta(Fold{}, t), one);
    ASSERT_TRUE(root.ok()) << root.brief_report();
    const auto fixed = solve_fixed_point(bind_theta(FoldFixedPoint{}, t), one, Newton{}, tight);
    ASSERT_TRUE(fixed.ok()) << fixed.brief_report();
    ASSERT_TRUE(fixed.inverse_estimate.both_ways());  // Newton's last dense LU, either way

    const auto root_jac = root_jacobian(Fold{}, t, root.x);
    const auto fixed_jac = fixed_point_jacobian(FoldFixedPoint{}, t, fixed.x);
    const auto fixed_tangent = fixed_point_jvp(FoldFixedPoint{}, t, fixed.x, one);
    const auto reused = fixed_point_vjp(FoldFixedPoint{}, t, fixed, one);
    EXPECT_EQ(reused.method, "gmres_preconditioned_by_forward");
    const std::vector<std::pair<const char*, std::pair<Status, double>>> answers = {
        {"root_jacobian", {root_jac.status, root_jac.value(0, 0)}},
        {"fixed_point_jacobian", {fixed_jac.status, fixed_jac.value(0, 0)}},
        {"fixed_point_jvp", {fixed_tangent.status, fixed_tangent.value[0]}},
        {"fixed_point_vjp (reused LU)", {reused.status, reused.value[0]}}};
    for (const auto& [who, answer] : answers) {
      if (fold) {
        EXPECT_EQ(answer.first, Status::kLinearSolveFailed) << who;
        EXPECT_TRUE(std::isnan(answer.second)) << who << ": " << answer.second;
      } else {
        EXPECT_EQ(answer.first, Status::kConverged) << who;
        // 50 (1 + O(|x - x*| / x*)), the forward solves to 1e-10.
        EXPECT_NEAR(answer.second, 50.0, 1e-4) << who;
      }
    }
    if (fold) {
      EXPECT_NE(root_jac.message.find("sensitive to the forward solve"), std::string::npos)
          << root_jac.message;
      EXPECT_NE(reused.message.find("sensitive to the forward solve"), std::string::npos)
          << reused.message;
    }
  }
}

#ifdef IMPLICIT_SPARSE
// The fold inside a large sparse system: g_i = x_i^2 - t_i at n = 1000,
// with t_0 = 0 (a fold) and t_i = 1 elsewhere (regular roots x_i = 1). The
// default solve_root traces the diagonal pattern and takes the sparse path;
// root_vjp then either reuses Newton's last sparse LU (the forward result)
// or factorises (dg/dx)^T afresh (the bare point). Regression (issue 20):
// the sparse path had no forward-sensitivity check, and both returned a
// "certified" dx_0/dt_0 = 1 / (2 x_0) = 65,536.
struct FoldInASparseSystem {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& t, const VectorX<T>& x) const {
    return (x.array().square() - t.array()).matrix();
  }
};

TEST(RootIft, AFoldInASparseSystemIsRefusedOnTheSparsePath) {
  const Eigen::Index n = 1000;
  Vec t = Vec::Ones(n);
  t[0] = 0;
  const auto forward = solve_root(bind_theta(FoldInASparseSystem{}, t), Vec(Vec::Ones(n)));
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  ASSERT_NE(forward.message.find("sparse Jacobian"), std::string::npos) << forward.message;
  ASSERT_TRUE(forward.jacobian_solves.both_ways());
  Vec xbar = Vec::Zero(n);
  xbar[0] = 1;
  const auto reused = root_vjp(FoldInASparseSystem{}, t, forward, xbar);
  EXPECT_EQ(reused.method, "gmres_preconditioned_by_forward");
  EXPECT_EQ(reused.status, Status::kLinearSolveFailed) << reused.brief_report();
  EXPECT_TRUE(reused.value.array().isNaN().all());
  EXPECT_NE(reused.message.find("sensitive to the forward solve"), std::string::npos)
      << reused.message;
  const auto fresh = root_vjp(FoldInASparseSystem{}, t, forward.x, xbar);
  EXPECT_EQ(fresh.method, "sparse_lu");
  EXPECT_EQ(fresh.status, Status::kLinearSolveFailed) << fresh.brief_report();
  EXPECT_NE(fresh.message.find("sensitive to the forward solve"), std::string::npos)
      << fresh.message;
  // A regular coordinate of the same root: dx_1/dt_1 = 1 / (2 x_1) = 1/2,
  // certified through the reused LU, and no other entry.
  xbar.setZero();
  xbar[1] = 1;
  const auto regular = root_vjp(FoldInASparseSystem{}, t, forward, xbar);
  ASSERT_TRUE(regular.ok()) << regular.brief_report() << "\n" << regular.message;
  EXPECT_EQ(regular.method, "gmres_preconditioned_by_forward");
  EXPECT_NEAR(regular.value[1], 0.5, 1e-9);  // x_1 = 1 to ||g|| <= 1e-10
  EXPECT_EQ(regular.value.cwiseAbs().sum() - std::abs(regular.value[1]), 0.0);
  // root_jvp the same way (A = dg/dx, the forward LU's own solves): a
  // tangent along t_0 is refused, along t_1 certified, dx_1 = 1/2.
  Vec dt = Vec::Zero(n);
  dt[0] = 1;
  const auto fold_tangent = root_jvp(FoldInASparseSystem{}, t, forward, dt);
  EXPECT_EQ(fold_tangent.method, "gmres_preconditioned_by_forward");
  EXPECT_EQ(fold_tangent.status, Status::kLinearSolveFailed) << fold_tangent.brief_report();
  EXPECT_NE(fold_tangent.message.find("sensitive to the forward solve"), std::string::npos)
      << fold_tangent.message;
  dt.setZero();
  dt[1] = 1;
  const auto tangent = root_jvp(FoldInASparseSystem{}, t, forward, dt);
  ASSERT_TRUE(tangent.ok()) << tangent.brief_report() << "\n" << tangent.message;
  EXPECT_EQ(tangent.method, "gmres_preconditioned_by_forward");
  EXPECT_NEAR(tangent.value[1], 0.5, 1e-9);
}

// The same fold as a sparse fixed point z = z - (z^2 - t), its pattern
// given: fixed_point_vjp's sparse LU answer is refused too.
struct FoldInASparseFixedPoint {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& t, const VectorX<T>& z) const {
    return (z.array() - (z.array().square() - t.array())).matrix();
  }
};

TEST(RootIft, AFoldInASparseFixedPointIsRefused) {
  const Eigen::Index n = 1000;
  Vec t = Vec::Ones(n), z = Vec::Ones(n), zbar = Vec::Zero(n);
  t[0] = 0;
  z[0] = 1e-6;  // |f(z) - z| = 1e-12: within solution_tol
  zbar[0] = 1;
  SparsityPattern diagonal(n, n);
  diagonal.setIdentity();
  AdjointOptions o;
  o.sparsity = diagonal;
  const auto grad = fixed_point_vjp(FoldInASparseFixedPoint{}, t, z, zbar, o);
  EXPECT_EQ(grad.method, "sparse_lu");
  EXPECT_EQ(grad.status, Status::kLinearSolveFailed) << grad.brief_report();
  EXPECT_NE(grad.message.find("sensitive to the forward solve"), std::string::npos)
      << grad.message;
}

// root_jacobian on the sparse path (the pattern traced from g, as root_vjp
// does; before this, one dense n x n Jacobian and LU at any n): two
// parameters, g_0 = x_0^2 - t_0 and g_i = x_i^2 - t_1, n = 1000. At
// t = (0.25, 1): dx_0/dt_0 = 1 / (2 x_0) = 1 and dx_i/dt_1 = 1/2, every
// other entry 0, certified by one sparse LU. At t_0 = 0 (a fold), refused.
struct TwoParameterFold {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& t, const VectorX<T>& x) const {
    VectorX<T> g = (x.array().square() - t[1]).matrix();
    g[0] = x[0] * x[0] - t[0];
    return g;
  }
};

TEST(RootIft, RootJacobianTakesTheSparsePathAndRefusesAFold) {
  const Eigen::Index n = 1000;
  Vec t(2);
  t << 0.25, 1;
  Vec x = Vec::Ones(n);
  x[0] = 0.5;  // the exact root
  const auto jac = root_jacobian(TwoParameterFold{}, t, x);
  ASSERT_TRUE(jac.ok()) << jac.brief_report();
  EXPECT_EQ(jac.method, "sparse_lu");
  Eigen::MatrixXd expected = Eigen::MatrixXd::Zero(n, 2);
  expected(0, 0) = 1;
  expected.col(1).tail(n - 1).setConstant(0.5);
  EXPECT_LE((jac.value - expected).cwiseAbs().maxCoeff(), 1e-12);

  t[0] = 0;
  x[0] = 1e-6;  // |g_0| = 1e-12: within solution_tol
  const auto at_fold = root_jacobian(TwoParameterFold{}, t, x);
  EXPECT_EQ(at_fold.method, "sparse_lu");
  EXPECT_EQ(at_fold.status, Status::kLinearSolveFailed) << at_fold.brief_report();
  EXPECT_TRUE(at_fold.value.array().isNaN().all());
  EXPECT_NE(at_fold.message.find("sensitive to the forward solve"), std::string::npos)
      << at_fold.message;
}
#endif

TEST(RootIft, APointThatIsNoRootIsRefused) {
  const Vec not_root = Vec::Constant(3, 2.0);
  const double residual = Cubic{}(kTheta, not_root).norm();
  ASSERT_GT(residual, 1.0);
  const auto vjp = root_vjp(Cubic{}, kTheta, not_root, Vec(Vec::Ones(3)));
  EXPECT_EQ(vjp.status, Status::kNotASolution) << vjp.brief_report();
  EXPECT_TRUE(vjp.value.array().isNaN().all());
  EXPECT_NE(vjp.message.find("no root"), std::string::npos) << vjp.message;
  const auto jvp = root_jvp(Cubic{}, kTheta, not_root, Vec(Vec::Ones(4)));
  EXPECT_EQ(jvp.status, Status::kNotASolution);
  EXPECT_TRUE(jvp.value.array().isNaN().all());
  const auto jac = root_jacobian(Cubic{}, kTheta, not_root);
  EXPECT_EQ(jac.status, Status::kNotASolution);
  EXPECT_TRUE(jac.value.array().isNaN().all());
  // At the root itself every one of them certifies.
  const Vec x = solve_cubic(kTheta);
  EXPECT_TRUE(root_vjp(Cubic{}, kTheta, x, Vec(Vec::Ones(3))).ok());
}

TEST(RootIft, IterationMethodsAreRefusedForRoots) {
  const Vec x = solve_cubic(kTheta);
  AdjointOptions o;
  o.method = AdjointMethod::kAnderson;
  EXPECT_THROW((void)root_vjp(Cubic{}, kTheta, x, Vec(Vec::Ones(3)), o), std::invalid_argument);
}

TEST(RootIft, SingularJacobianIsAStatus) {
  // g(theta, x) = x^2 - theta at x = 0, theta = 0: dg/dx = 0.
  auto g = [](const auto& theta, const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array().square() - theta.array()).matrix());
  };
  const auto r = root_vjp(g, Vec(Vec::Zero(1)), Vec(Vec::Zero(1)), Vec(Vec::Ones(1)));
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(r.value.array().isNaN().all());
}

}  // namespace
}  // namespace implicit

namespace implicit {
namespace {

using testing::Vec;

// Three MGH-style systems with parameters theta, solved by solve_root.
// Broyden tridiagonal: (a - b x_i) x_i - x_{i-1} - c x_{i+1} + d, MGH's (3, 2, 2, 1).
struct ParametricTridiagonal {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    const Eigen::Index n = x.size();
    VectorX<T> g(n);
    for (Eigen::Index i = 0; i < n; ++i) {
      const T left = i > 0 ? x[i - 1] : T(0);
      const T right = i + 1 < n ? x[i + 1] : T(0);
      g[i] = (theta[0] - theta[1] * x[i]) * x[i] - left - theta[2] * right + theta[3];
    }
    return g;
  }
};

// Rosenbrock with parameters: (a (x2 - x1^2), b - x1): root (b, b^2).
struct ParametricRosenbrock {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    VectorX<T> g(2);
    g << theta[0] * (x[1] - x[0] * x[0]), theta[1] - x[0];
    return g;
  }
};

// Helical valley with its constant 10 and the offset of its root scaled.
struct ParametricHelical {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& x) const {
    using std::atan2;
    using std::sqrt;
    const T two_pi_theta = atan2(x[1], x[0]);
    VectorX<T> g(3);
    g << theta[0] * (x[2] - theta[0] * two_pi_theta / T(2 * M_PI)),
        theta[0] * (sqrt(x[0] * x[0] + x[1] * x[1]) - theta[1]), x[2];
    return g;
  }
};

template <class Map>
void expect_ift_matches_fd(const Map& g, const Vec& theta, const Vec& x0, const char* name) {
  SystemOptions o;
  o.abs_tol = 1e-13;
  auto solve = [&](const Vec& t) {
    const auto r = solve_root(bind_theta(g, t), x0, o);
    EXPECT_TRUE(r.ok()) << name << ": " << r.brief_report();
    return r.x;
  };
  const auto forward = solve_root(bind_theta(g, theta), x0, o);
  ASSERT_TRUE(forward.ok()) << name << ": " << forward.brief_report();
  const Eigen::MatrixXd fd = central_difference_jacobian(solve, theta);
  const Vec xbar = Vec::LinSpaced(x0.size(), 1, -1);
  const Vec dtheta = Vec::LinSpaced(theta.size(), 0.5, -0.25);
  const auto v = root_vjp(g, theta, forward, xbar);
  const auto j = root_jvp(g, theta, forward, dtheta);
  ASSERT_TRUE(v.ok() && j.ok()) << v.brief_report() << " / " << j.brief_report();
  // Central differences at h = 1e-6 of roots solved to ||g|| <= 1e-13 with
  // ||J^{-1}|| = O(1..10): truncation ~1e-12 |x'''|, solve noise ~1e-13 /
  // 1e-6 * 10 = 1e-6 at worst; 1e-6 relative covers both.
  const double scale = 1 + fd.cwiseAbs().maxCoeff();
  EXPECT_LE((v.value - fd.transpose() * xbar).cwiseAbs().maxCoeff(), 1e-6 * scale) << name;
  EXPECT_LE((j.value - fd * dtheta).cwiseAbs().maxCoeff(), 1e-6 * scale) << name;
}

TEST(RootIftThroughSolveRoot, MatchesFiniteDifferencesOnThreeSystems) {
  expect_ift_matches_fd(ParametricTridiagonal{}, (Vec(4) << 3, 2, 2, 1).finished(),
                        Vec(Vec::Constant(10, -1)), "broyden tridiagonal");
  expect_ift_matches_fd(ParametricRosenbrock{}, (Vec(2) << 10, 1.3).finished(),
                        (Vec(2) << -1.2, 1).finished(), "rosenbrock");
  expect_ift_matches_fd(ParametricHelical{}, (Vec(2) << 10, 1.5).finished(),
                        (Vec(3) << -1, 0.5, 0).finished(), "helical valley");
}

TEST(RootIftThroughSolveRoot, AFailedForwardSolveNeverYieldsAGradient) {
  // x^2 + theta = 0 has no real root for theta > 0.
  auto g = [](const auto& theta, const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array() * x.array() + theta[0]).matrix());
  };
  const Vec theta = Vec::Constant(1, 2);
  const auto forward = solve_root(bind_theta(g, theta), Vec(Vec::Constant(1, 1)));
  ASSERT_FALSE(forward.ok());
  const auto v = root_vjp(g, theta, forward, Vec(Vec::Ones(1)));
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(v.status, forward.status);
  EXPECT_TRUE(std::isnan(v.value[0]));
  EXPECT_NE(v.message.find("did not converge"), std::string::npos) << v.message;
  const auto j = root_jvp(g, theta, forward, Vec(Vec::Ones(1)));
  EXPECT_FALSE(j.ok());
  EXPECT_TRUE(std::isnan(j.value[0]));
}

}  // namespace
}  // namespace implicit
