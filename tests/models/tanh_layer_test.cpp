// The hand-written derivatives of the reference layer against forward-mode AD.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

TEST(TanhLayer, HandWrittenDerivativesMatchAutomatic) {
  const auto p = make_reference_tanh_problem(7, 5);
  const TanhLayer& layer = p.layer;
  const testing::AutoDiffTanh generic{layer};
  const Vec z = Vec::LinSpaced(7, -0.5, 0.8);
  const Vec u = Vec::LinSpaced(7, 1, -2);
  const Vec dtheta = Vec::LinSpaced(layer.parameter_size(), -1, 1);
  const auto f_z = bind_theta(layer, p.theta);
  const auto g_z = bind_theta(generic, p.theta);
  const auto f_t = bind_state(layer, z);
  const auto g_t = bind_state(generic, z);
  // Same arithmetic up to ordering: a few ulps.
  EXPECT_LE((f_z.jacobian(z) - jacobian(g_z, z)).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((f_z.jvp(z, u) - jvp(g_z, z, u)).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((f_z.vjp(z, u) - vjp(g_z, z, u)).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((f_t.jvp(p.theta, dtheta) - jvp(g_t, p.theta, dtheta)).cwiseAbs().maxCoeff(), 1e-14);
  EXPECT_LE((f_t.vjp(p.theta, u) - vjp(g_t, p.theta, u)).cwiseAbs().maxCoeff(), 1e-14);
  // And the automatic Jacobian against central differences.
  EXPECT_LE(
      (jacobian(g_t, p.theta) - central_difference_jacobian(g_t, p.theta)).cwiseAbs().maxCoeff(),
      1e-8);
}

TEST(TanhLayer, ReferenceProblemIsReproducible) {
  const auto a = make_reference_tanh_problem(10, 42);
  const auto b = make_reference_tanh_problem(10, 42);
  const auto c = make_reference_tanh_problem(10, 43);
  EXPECT_EQ(a.theta, b.theta);
  EXPECT_NE(a.theta, c.theta);
  // W ~ N(0, 1/n): the sample variance of 100 entries is near 1/10.
  const double var = a.w.array().square().mean();
  EXPECT_GT(var, 0.05);
  EXPECT_LT(var, 0.2);
}

TEST(TanhLayer, WrongShapesThrow) {
  const TanhLayer layer(3);
  EXPECT_THROW(layer(Vec(Vec::Zero(5)), Vec(Vec::Zero(3))), std::invalid_argument);
  EXPECT_THROW(layer.pack(Eigen::MatrixXd(Eigen::MatrixXd::Zero(3, 2)), Vec(Vec::Zero(3))),
               std::invalid_argument);
  EXPECT_THROW(TanhLayer(0), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
