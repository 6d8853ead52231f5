// A tolerance below what g can resolve: the solve ends with
// Status::kRoundingFloor (never `converged`), says g's measured rounding
// level and a tolerance that can be met, and the polyalgorithm does not run
// its fallback methods for nothing (system/solve.hpp, system/point.hpp).
#include <gtest/gtest.h>

#include "implicit.hpp"
#include "implicit/problems/brusselator.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// g(x) = 1e8 (x^2 - 2): no double squares to 2, and the two nearest sqrt(2)
// leave |x^2 - 2| = 2.2e-16 and 4.4e-16, so |g| >= 2.2e-8 at every double,
// 220 times the default abs_tol.
TEST(RoundingFloor, AToleranceBelowGsRoundingIsSaidNotClaimed) {
  auto g = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V(1e8 * (x.array() * x.array() - 2.0).matrix());
  };
  const auto r = solve_root(g, Vec(Vec::Constant(1, 2.0)));
  EXPECT_EQ(r.status, Status::kRoundingFloor) << r.brief_report() << "\n" << r.message;
  EXPECT_FALSE(r.ok());
  EXPECT_DOUBLE_EQ(g(r.x).norm(), r.residual_norm);
  EXPECT_GT(r.residual_norm, SystemOptions{}.abs_tol);
  EXPECT_LE(r.residual_norm, 1e-7);
  EXPECT_NEAR(r.x[0], std::sqrt(2.0), 1e-15);
  EXPECT_NE(r.message.find("rounding level of g"), std::string::npos) << r.message;
  // The first attempt ended there; no fallback ran after it.
  EXPECT_EQ(r.message.find("newton:"), std::string::npos) << r.message;
  // A tolerance above the level (one ulp of x moves g by 1e8 2 x eps ~
  // 9e-8) is met.
  SystemOptions suggested;
  suggested.abs_tol = 1e-6;
  EXPECT_TRUE(solve_root(g, Vec(Vec::Constant(1, 2.0)), suggested).ok());
}

// A local minimum of ||g|| that is no root stays `stalled`: x^2 + 1 has
// ||g|| = 1 at x = 0, far above its rounding.
TEST(RoundingFloor, ALocalMinimumThatIsNoRootStaysStalled) {
  auto g = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array() * x.array() + 1).matrix());
  };
  const auto r = solve_root(g, Vec(Vec::Constant(1, 3)), PowellDogleg());
  EXPECT_EQ(r.status, Status::kStalled) << r.brief_report() << "\n" << r.message;
}

#ifdef IMPLICIT_SPARSE
// The 2-D Brusselator at N = 23 (1,058 unknowns, traced sparse) with the
// default abs_tol 1e-10: Newton stalls at ~1.3e-10, the level of g's terms'
// rounding (alpha / dx^2 ~ 5e3 times u ~ 5). The status says so, the point
// is a root to g's precision, and root_vjp differentiates there: its
// gradient equals the one at a root converged to the suggested tolerance.
TEST(RoundingFloor, TheBrusselatorAtItsFloorAndItsGradient) {
  const Brusselator2D problem{23};
  const Vec theta = Brusselator2D::default_theta();
  const auto g = bind_theta(problem, theta);
  const auto r = solve_root(g, problem.initial_state());
  ASSERT_EQ(r.status, Status::kRoundingFloor) << r.brief_report() << "\n" << r.message;
  EXPECT_EQ(r.method, "polyalgorithm(newton)");
  EXPECT_EQ(r.message.find("newton_raphson:"), std::string::npos) << r.message;
  EXPECT_DOUBLE_EQ(g(r.x).norm(), r.residual_norm);
  EXPECT_LE(r.residual_norm, 1e-9);
  const Vec xbar = Vec::LinSpaced(problem.size(), -1, 1);
  const auto at_floor = root_vjp(problem, theta, r, xbar);
  ASSERT_TRUE(at_floor.ok()) << at_floor.brief_report() << "\n" << at_floor.message;
  SystemOptions loose;
  loose.abs_tol = 1e-8;
  const auto converged = solve_root(g, problem.initial_state(), loose);
  ASSERT_TRUE(converged.ok()) << converged.brief_report();
  const auto at_root = root_vjp(problem, theta, converged, xbar);
  ASSERT_TRUE(at_root.ok()) << at_root.brief_report();
  // Roots within 1e-8 of each other (||J^-1|| ~ 1) move a gradient of
  // condition ~1e3 by ~1e-5 relative at most.
  EXPECT_LE((at_floor.value - at_root.value).norm(), 1e-5 * at_root.value.norm());
}
#endif

}  // namespace
}  // namespace implicit
