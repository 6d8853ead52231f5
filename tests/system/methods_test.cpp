// The trust-region, Levenberg-Marquardt and Broyden methods on problems with
// known behaviour: regular roots, a singular root, a local minimum that is
// not a root (each must stall honestly there).
#include "implicit/system/broyden.hpp"
#include "implicit/system/dogleg.hpp"
#include "implicit/system/levenberg_marquardt.hpp"
#include "system/support.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

template <class Method>
class SystemMethod : public ::testing::Test {};
using Methods = ::testing::Types<PowellDogleg, LevenbergMarquardt, LineSearchBroyden>;
TYPED_TEST_SUITE(SystemMethod, Methods);

TYPED_TEST(SystemMethod, SolvesRegularProblems) {
  for (SystemId id : {SystemId::kRosenbrock, SystemId::kHelicalValley, SystemId::kBroydenBanded,
                      SystemId::kDiscreteIntegralEquation}) {
    const int n = fixed_dimension(id) > 0 ? fixed_dimension(id) : 10;
    const auto p = make_instance(id, n);
    const auto r = solve_root(p.g, p.x0, TypeParam());
    ASSERT_TRUE(r.ok()) << p.name << ": " << r.brief_report();
    EXPECT_LE(p.g(r.x).norm(), 1e-10);
  }
}

TYPED_TEST(SystemMethod, SingularRootIsReachedToTheTolerance) {
  // Powell singular: J is singular at the root 0, convergence is linear.
  const auto p = make_instance(SystemId::kPowellSingular, 4);
  SystemOptions o;
  o.abs_tol = 1e-8;
  const auto r = solve_root(p.g, p.x0, TypeParam(), o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE(p.g(r.x).norm(), 1e-8);
}

TYPED_TEST(SystemMethod, LocalMinimumThatIsNoRootStallsHonestly) {
  // Freudenstein-Roth from its standard start: ||g|| has a local minimum
  // ~7.0 near (11.41, -0.897). A monotone method must stop there without
  // claiming success.
  const auto p = make_instance(SystemId::kFreudensteinRoth, 2);
  const auto r = solve_root(p.g, p.x0, TypeParam());
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status, Status::kConverged);
  EXPECT_GT(r.residual_norm, 1);
  EXPECT_EQ(r.residual_norm, p.g(r.x).norm());
}

TEST(PowellDogleg, ScalingIsAnOption) {
  const auto p = make_instance(SystemId::kPowellBadlyScaled, 2);
  DoglegOptions unscaled;
  unscaled.scale_variables = false;
  const auto a = solve_root(p.g, p.x0, PowellDogleg());
  const auto b = solve_root(p.g, p.x0, PowellDogleg(unscaled));
  EXPECT_TRUE(a.ok()) << a.brief_report();
  if (b.ok()) {
    EXPECT_LE(p.g(b.x).norm(), 1e-10);
  }
  DoglegOptions bad;
  bad.initial_radius = 0;
  EXPECT_THROW(PowellDogleg(bad).validate(), std::invalid_argument);
}

TEST(LineSearchBroyden, UsesFewerJacobiansThanNewton) {
  const auto p = make_instance(SystemId::kBroydenTridiagonal, 10);
  const auto b = solve_root(p.g, p.x0, LineSearchBroyden());
  const auto n = solve_root(p.g, p.x0, LineSearchNewton());
  ASSERT_TRUE(b.ok() && n.ok());
  EXPECT_LT(b.jacobian_evaluations, n.jacobian_evaluations);
}

TEST(LevenbergMarquardt, InvalidDampingIsRefused) {
  LevenbergMarquardtOptions o;
  o.initial_damping = -1;
  EXPECT_THROW(LevenbergMarquardt(o).validate(), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
