// Properties over random problems, not examples: every `converged` status
// holds on the returned point, and every certified adjoint is what a dense
// reference computes, to the accuracy its conditioning allows; nothing
// ill-conditioned is ever certified.
#include <Eigen/SVD>
#include <random>

#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

struct RandomTanh {  // tanh(W z + x), W scaled to spectral norm `scale`
  Eigen::MatrixXd w;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x, const VectorX<T>& z) const {
    using std::tanh;
    VectorX<T> a = w.cast<T>() * z + x;
    for (Eigen::Index i = 0; i < a.size(); ++i) a[i] = tanh(a[i]);
    return a;
  }
};

TEST(Properties, RandomProblemsKeepEveryPromise) {
  std::mt19937 rng(2026);
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  int converged = 0, certified = 0, refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    const int n = 1 + static_cast<int>(uniform(rng) * 12);
    Eigen::MatrixXd w(n, n);
    for (int i = 0; i < n * n; ++i) w.data()[i] = normal(rng);
    const double scale = 0.1 + 1.9 * uniform(rng);  // contractive and not
    w *= scale / Eigen::JacobiSVD<Eigen::MatrixXd>(w).singularValues()[0];
    Vec x(n);
    for (int i = 0; i < n; ++i) x[i] = normal(rng) * (uniform(rng) < 0.2 ? 0.0 : 1.0);
    const bool near_singular = trial % 10 == 9;
    if (near_singular) {
      // W = Q diag(1, d_2, ...) Q^T (rounded) and x = 0: z* = 0 with df/dz = W,
      // so I - J has an eigenvalue ~1e-16: the adjoint must be refused.
      const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(w).householderQ();
      Vec d = Vec::Constant(n, 0.5);
      d[0] = 1;
      w = q * d.asDiagonal() * q.transpose();
      x.setZero();
    }
    const RandomTanh f{w};
    FixedPointOptions o;
    o.rel_tol = std::pow(10.0, -4 - 8 * uniform(rng));
    o.abs_tol = o.rel_tol * 1e-2;
    const int which = trial % 4;
    const auto g = bind_theta(f, x);
    const Vec z0 = Vec::Zero(n);
    const auto r = which == 0   ? solve_fixed_point(g, z0, ForwardIteration(), o)
                   : which == 1 ? solve_fixed_point(g, z0, Anderson(), o)
                   : which == 2 ? solve_fixed_point(g, z0, Newton(), o)
                                : solve_fixed_point(g, z0, Broyden(), o);
    const Vec fx = g(r.x);
    ASSERT_EQ((fx - r.x).norm(), r.residual_norm) << "trial " << trial;
    if (!r.ok()) continue;
    ++converged;
    ASSERT_LE((fx - r.x).norm(),
              o.abs_tol + internal::effective_rel_tol<double>(o.rel_tol) * fx.norm())
        << "trial " << trial << ": " << r.brief_report();

    // The adjoint at the returned point, against a dense reference.
    const Vec zbar = Vec::Random(n);
    AdjointOptions a;
    a.method = static_cast<AdjointMethod>(trial % 5);
    const auto grad = fixed_point_vjp(f, x, r.x, zbar, a);
    const Eigen::MatrixXd J = jacobian(g, r.x);
    const Eigen::MatrixXd A = Eigen::MatrixXd::Identity(n, n) - J.transpose();
    const Eigen::JacobiSVD<Eigen::MatrixXd> svd(A);
    const double cond = svd.singularValues()[0] / svd.singularValues()[n - 1];
    if (near_singular) {
      EXPECT_FALSE(grad.ok()) << "trial " << trial << " cond " << cond;
    }
    if (!grad.ok()) {
      ++refused;
      EXPECT_TRUE(grad.value.array().isNaN().all());
      continue;
    }
    ++certified;
    // Nothing the certificate accepts is beyond max_condition (its bound is a
    // lower bound of cond, so cond itself may exceed it only by that gap).
    const Vec u = A.fullPivLu().solve(zbar);
    const Vec reference = vjp(bind_state(f, r.x), x, u);
    EXPECT_LE(u.norm(), a.max_condition * zbar.norm()) << "trial " << trial;
    // Forward error <= cond x backward error; the certificate's residual is
    // <= abs_tol + rel_tol ||b|| + 16 eps (||b|| + ||A|| ||u||).
    const double backward = 1e-10 + 1e-12 / zbar.norm() + 16 * 2.3e-16 * (1 + cond);
    EXPECT_LE((grad.value - reference).norm(), 2 * cond * backward * (1 + reference.norm()))
        << "trial " << trial << " cond " << cond << ": " << grad.brief_report();
  }
  std::cout << converged << " of 300 random solves converged; adjoints certified " << certified
            << ", refused " << refused << "\n";
  EXPECT_GT(certified, 100);  // the properties were exercised
  EXPECT_GE(refused, 30);
}

}  // namespace
}  // namespace implicit
