#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

int evaluations(const Anderson& solver, Eigen::Index n, double rel_tol) {
  const auto p = make_reference_tanh_problem(n, 0);
  FixedPointOptions o;
  o.rel_tol = rel_tol;
  o.abs_tol = 1e-2 * rel_tol;
  const auto r = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(n)), solver, o);
  EXPECT_TRUE(r.ok()) << r.brief_report();
  return r.function_evaluations;
}

int forward_evaluations(Eigen::Index n, double rel_tol) {
  const auto p = make_reference_tanh_problem(n, 0);
  FixedPointOptions o;
  o.rel_tol = rel_tol;
  o.abs_tol = 1e-2 * rel_tol;
  const auto r =
      solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(n)), ForwardIteration(), o);
  EXPECT_TRUE(r.ok()) << r.brief_report();
  return r.function_evaluations;
}

// Regression guard on iteration counts. docs/peers.md has 21 / 34 / 41 f
// calls at n = 10 / 100 / 1000 for scaled-lambda Anderson at ~1e-8; the
// bounds leave ~30% room for a different seed, not for a slower algorithm.
TEST(Anderson, ScaledRegularisationBeatsForwardIteration) {
  for (Eigen::Index n : {10, 100}) {
    const int anderson = evaluations(Anderson(), n, 1e-8);
    const int forward = forward_evaluations(n, 1e-8);
    EXPECT_LT(anderson, forward) << "n = " << n;
    EXPECT_LE(anderson, n == 10 ? 28 : 45) << "n = " << n;
  }
}

// The reference (absolute lambda) formula still converges; it is allowed
// to be slow, which is why it is not the default.
TEST(Anderson, AbsoluteRegularisationConverges) {
  AndersonOptions o;
  o.regularization = AndersonRegularization::kAbsolute;
  EXPECT_LE(evaluations(Anderson(o), 10, 1e-8), 200);
}

TEST(Anderson, MixingAndMemoryVariantsConverge) {
  for (double beta : {1.0, 0.7}) {
    for (int memory : {1, 2, 5, 10}) {
      AndersonOptions o;
      o.beta = beta;
      o.memory = memory;
      EXPECT_LE(evaluations(Anderson(o), 10, 1e-10), 300)
          << "beta " << beta << " memory " << memory;
    }
  }
}

// memory = 1 with beta = 1 is exactly forward iteration (alpha = 1).
TEST(Anderson, MemoryOneIsForwardIteration) {
  AndersonOptions o;
  o.memory = 1;
  EXPECT_EQ(evaluations(Anderson(o), 10, 1e-10), forward_evaluations(10, 1e-10));
}

}  // namespace
}  // namespace implicit
