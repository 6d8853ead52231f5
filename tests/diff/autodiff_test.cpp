// Forward-mode AD glue against central finite differences.
#include "implicit/diff/autodiff.hpp"

#include <gtest/gtest.h>

#include "implicit/diff/finite_difference.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// A nonlinear map R^4 -> R^3 using the functions users reach for.
struct Curvy {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    using std::exp;
    using std::sin;
    using std::tanh;
    VectorX<T> y(3);
    y[0] = x[0] * x[1] + sin(x[2]);
    y[1] = exp(x[3] * x[0]) - tanh(x[1]);
    y[2] = x[2] * x[2] * x[3] / (T(2) + x[0] * x[0]);
    return y;
  }
};

// Central differences at h = 1e-6: error ~1e-10 for these O(1) functions.
constexpr double kFdTolerance = 1e-7;

TEST(AutoDiff, JacobianMatchesFiniteDifferences) {
  const Vec x = (Vec(4) << 0.3, -0.7, 1.1, 0.4).finished();
  const Eigen::MatrixXd jac = jacobian(Curvy{}, x);
  const Eigen::MatrixXd fd = central_difference_jacobian(Curvy{}, x);
  ASSERT_EQ(jac.rows(), 3);
  ASSERT_EQ(jac.cols(), 4);
  EXPECT_LE((jac - fd).cwiseAbs().maxCoeff(), kFdTolerance);
}

TEST(AutoDiff, JacobianAcrossSeveralChunks) {
  // 19 inputs: three 8-wide passes, the last one partial.
  auto f = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array().sin() * x.sum()).matrix());
  };
  const Vec x = Vec::LinSpaced(19, -1, 1);
  EXPECT_LE((jacobian(f, x) - central_difference_jacobian(f, x)).cwiseAbs().maxCoeff(),
            kFdTolerance);
}

TEST(AutoDiff, JvpAndVjpAreJacobianProducts) {
  const Vec x = (Vec(4) << 0.3, -0.7, 1.1, 0.4).finished();
  const Vec v = (Vec(4) << 1, -2, 0.5, 3).finished();
  const Vec u = (Vec(3) << 0.2, 1, -1).finished();
  const Eigen::MatrixXd jac = jacobian(Curvy{}, x);
  EXPECT_LE((jvp(Curvy{}, x, v) - jac * v).norm(), 1e-14);
  EXPECT_LE((vjp(Curvy{}, x, u) - jac.transpose() * u).norm(), 1e-14);
}

TEST(AutoDiff, ChainRuleOfComposition) {
  auto square = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V(x.array().square().matrix().head(2));
  };
  const auto h = compose(square, Curvy{});  // R^4 -> R^3 -> R^2
  const Vec x = (Vec(4) << 0.1, 0.2, -0.3, 0.9).finished();
  const Eigen::MatrixXd fd = central_difference_jacobian(h, x);
  const Vec v = Vec::Ones(4);
  const Vec u = (Vec(2) << 1, -1).finished();
  EXPECT_LE((h.jvp(x, v) - fd * v).norm(), kFdTolerance);
  EXPECT_LE((h.vjp(x, u) - fd.transpose() * u).norm(), kFdTolerance);
  EXPECT_LE((jacobian(h, x) - fd).cwiseAbs().maxCoeff(), kFdTolerance);
}

// Identity map with deliberately "wrong" hand-written derivatives, so the
// test can tell which path was taken.
struct Marked {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    return x;
  }
  Vec jvp(const Vec&, const Vec& v) const { return 7 * v; }
  Vec vjp(const Vec&, const Vec& u) const { return 5 * u; }
};

// Hand-written derivatives are preferred when present.
TEST(AutoDiff, UsesHandWrittenDerivatives) {
  const Vec x = Vec::Ones(2);
  EXPECT_EQ(jvp(Marked{}, x, x)[0], 7);
  EXPECT_EQ(vjp(Marked{}, x, x)[0], 5);
  EXPECT_EQ(jacobian(Marked{}, x)(0, 0), 1);  // no jacobian(): automatic
}

}  // namespace
}  // namespace implicit
