// bind_theta / bind_state: what they keep, and the argument types they take.
#include "implicit/diff/parametric.hpp"

#include <gtest/gtest.h>

#include <limits>

#include "implicit.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// A map that owns data, so that a dangling copy would read freed memory
// (AddressSanitizer: the sanitizer job runs this file).
struct Shifted {
  Vec shift;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return (T(0.5) * z + theta[0] * shift.cast<T>()).eval();
  }
};

Shifted make_shifted() { return Shifted{Vec::LinSpaced(3, 1, 3)}; }

TEST(Parametric, ATemporaryMapIsKeptByValue) {
  const Vec theta = Vec::Constant(1, 2.0);
  const auto f = bind_theta(make_shifted(), theta);  // the temporary is gone after this line
  const Vec z = Vec::Ones(3);
  EXPECT_EQ(f(z), (Vec(3) << 2.5, 4.5, 6.5).finished());
  const auto g = bind_state(make_shifted(), z);
  EXPECT_EQ(g(theta), f(z));
  // Solving with it works after the temporary's statement.
  auto r = solve_fixed_point(f, Vec::Zero(3), Anderson());
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE((f(r.x) - r.x).norm(), r.residual_norm * (1 + 1e-12));
}

// Regression (issue 19): a NaN theta bound by bind_theta gave a solve with
// status non_finite where the README promises std::invalid_argument.
TEST(Parametric, NaNInThetaOrZIsAnErrorNamingTheArgument) {
  Vec theta = Vec::Constant(1, 2.0);
  theta[0] = std::numeric_limits<double>::quiet_NaN();
  const Shifted map = make_shifted();
  try {
    (void)bind_theta(map, theta);
    FAIL() << "bind_theta accepted a NaN theta";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("bind_theta: theta has a NaN or Inf entry (theta[0]"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW((void)solve_fixed_point(bind_theta(map, theta), Vec::Zero(3), Anderson()),
               std::invalid_argument);
  Vec z = Vec::Ones(3);
  z[2] = std::numeric_limits<double>::infinity();
  EXPECT_THROW((void)bind_state(map, z), std::invalid_argument);
}

TEST(Parametric, EigenExpressionsAreAcceptedWhereVectorsAre) {
  // z0, zbar and dtheta as expressions (no Vec(...) wrapping needed).
  const Shifted map = make_shifted();
  const Vec theta = Vec::Constant(1, 1.0);
  auto solve = solve_fixed_point(bind_theta(map, theta), Vec::Zero(3), Anderson());
  static_assert(std::is_same_v<decltype(solve.x), Vec>, "an expression solves as its plain vector");
  ASSERT_TRUE(solve.ok());
  const auto vjp = fixed_point_vjp(map, theta, solve.x, Vec::Ones(3));
  const auto jvp = fixed_point_jvp(map, theta, solve.x, Vec::Ones(1));
  ASSERT_TRUE(vjp.ok() && jvp.ok());
  // z* = 2 theta shift, so dz*/dtheta = 2 shift: both products are exact.
  EXPECT_NEAR(vjp.value[0], 2 * map.shift.sum(), 1e-12);
  EXPECT_LE((jvp.value - 2 * map.shift).norm(), 1e-12);
  EXPECT_LE(
      (implicit::vjp(bind_theta(map, theta), solve.x, Vec::Ones(3)) - Vec::Constant(3, 0.5)).norm(),
      1e-15);
}

struct PlainTanh {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::tanh;
    return (theta.head(z.size()).cwiseProduct(z) + theta.tail(z.size())).array().tanh().matrix();
  }
};

TEST(Parametric, TheTraitSaysWhichHandWrittenMembersAreUsed) {
  using Layer = derivative_members<TanhLayer>;
  static_assert(Layer::jacobian_z && Layer::jvp_z && Layer::vjp_z && Layer::jvp_theta &&
                Layer::vjp_theta);
  using Plain = derivative_members<PlainTanh>;
  static_assert(!Plain::jacobian_z && !Plain::vjp_z && !Plain::vjp_theta);
  EXPECT_EQ(Plain::list(), "none");
  EXPECT_NE(Layer::list().find("vjp_theta"), std::string::npos) << Layer::list();
}

TEST(Parametric, RequiringHandWrittenMembersRefusesAMapWithout) {
  AdjointOptions require;
  require.require_hand_written = true;
  const Vec theta = Vec::LinSpaced(6, 0.1, 0.6);
  const auto plain_solve =
      solve_fixed_point(bind_theta(PlainTanh{}, theta), Vec::Zero(3), Anderson());
  ASSERT_TRUE(plain_solve.ok());
  try {
    (void)fixed_point_vjp(PlainTanh{}, theta, plain_solve.x, Vec::Ones(3), require);
    ADD_FAILURE() << "a map without vjp_z / vjp_theta was differentiated";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("detected members: none"), std::string::npos) << e.what();
  }
  EXPECT_THROW((void)fixed_point_jvp(PlainTanh{}, theta, plain_solve.x, Vec::Ones(6), require),
               std::invalid_argument);
  // TanhLayer has every member: the same options pass.
  const TanhLayer layer(3);
  const Vec layer_theta = Vec::LinSpaced(12, -0.3, 0.3);
  const auto solve = solve_fixed_point(bind_theta(layer, layer_theta), Vec::Zero(3), Anderson());
  ASSERT_TRUE(solve.ok());
  EXPECT_TRUE(fixed_point_vjp(layer, layer_theta, solve.x, Vec::Ones(3), require).ok());
}

}  // namespace
}  // namespace implicit
