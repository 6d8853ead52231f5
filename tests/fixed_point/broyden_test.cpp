#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

// docs/peers.md: Broyden needs the fewest steps (15 / 30 / 37 at n = 10 / 100 /
// 1000, ~1e-8). Guard with ~30% room, and require beating forward iteration.
TEST(Broyden, FewerEvaluationsThanForwardIteration) {
  for (Eigen::Index n : {10, 100}) {
    const auto p = make_reference_tanh_problem(n, 0);
    FixedPointOptions o;
    o.rel_tol = 1e-8;
    o.abs_tol = 1e-10;
    const auto f = bind_theta(p.layer, p.theta);
    const auto b = solve_fixed_point(f, Vec(Vec::Zero(n)), Broyden(), o);
    const auto fwd = solve_fixed_point(f, Vec(Vec::Zero(n)), ForwardIteration(), o);
    ASSERT_TRUE(b.ok()) << b.brief_report();
    EXPECT_LT(b.function_evaluations, fwd.function_evaluations);
    EXPECT_LE(b.function_evaluations, n == 10 ? 22 : 42);
  }
}

TEST(Broyden, SmallMemoryStillConverges) {
  const auto p = make_reference_tanh_problem(50, 3);
  const auto r = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(50)), Broyden({3}));
  EXPECT_TRUE(r.ok()) << r.brief_report();
}

}  // namespace
}  // namespace implicit
