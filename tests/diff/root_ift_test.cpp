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
