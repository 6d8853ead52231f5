// The default method for g(x) = 0 on the standard sets: the targets
// as regression guards, and the report of which method produced x.
#include "implicit/system/polyalgorithm.hpp"

#include "system/support.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// Targets (bench/README.md has the table with MINPACK and KINSOL): at least
// 46 of the 57 MGH runs (MINPACK lmder solves 43, hybrj 41; 47 measured) and
// all 23 test_nonlin problems from their standard starts. Six MGH runs
// cannot be solved by any method here (Chebyquad n = 8 has no root), so 47
// is close to the ceiling of these methods.
TEST(Polyalgorithm, SolvesTheStandardSets) {
  const auto mgh = testing::score(Polyalgorithm(), more_garbow_hillstrom_instances(), {1, 10, 100});
  EXPECT_GE(mgh.solved, 46) << "unsolved: " << testing::list(mgh.failed);
  EXPECT_EQ(mgh.dishonest, 0);
  const auto extras = testing::score(Polyalgorithm(), test_nonlin_instances(), {1});
  EXPECT_EQ(extras.solved, 23) << "unsolved: " << testing::list(extras.failed);
  EXPECT_EQ(extras.dishonest, 0);
  // Cost guard: 63.6 g evaluations per solved MGH run measured (the slow
  // Chebyquad runs from 10x and 100x starts dominate it).
  EXPECT_LE(static_cast<double>(mgh.evaluations) / mgh.solved, 80);
}

TEST(Polyalgorithm, ReportsWhichMethodProducedTheAnswerAndEveryAttempt) {
  // Freudenstein-Roth from (0.5, -2): the monotone methods stall at the local
  // minimum ||g|| = 7.0; plain Newton-Raphson jumps to the root (5, 4).
  const auto fr = make_instance(SystemId::kFreudensteinRoth, 2);
  const auto r = solve_root(fr.g, fr.x0);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_EQ(r.method, "polyalgorithm(newton_raphson)");
  EXPECT_NE(r.message.find("dogleg: stalled"), std::string::npos) << r.message;
  EXPECT_NEAR(r.x[0], 5, 1e-9);
  EXPECT_NEAR(r.x[1], 4, 1e-9);
}

TEST(Polyalgorithm, AFailureReturnsTheBestAttempt) {
  // x^2 + 1 = 0 has no real root: every method stalls or runs out, and the
  // result is the best point with its honest norm (the minimum 1 at x = 0).
  auto g = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V((x.array() * x.array() + 1).matrix());
  };
  const auto r = solve_root(g, Vec(Vec::Constant(1, 3)));
  EXPECT_FALSE(r.ok());
  EXPECT_NEAR(r.residual_norm, 1, 1e-6);
  EXPECT_EQ(r.residual_norm, g(r.x).norm());
}

TEST(Polyalgorithm, OrderAndOptionsAreValidated) {
  PolyalgorithmOptions o;
  o.order.clear();
  EXPECT_THROW(
      (void)solve_root([](const auto& x) { return x; }, Vec(Vec::Ones(1)), Polyalgorithm(o)),
      std::invalid_argument);
  o = PolyalgorithmOptions{};
  o.order = {static_cast<RootMethod>(42)};
  EXPECT_THROW(
      (void)solve_root([](const auto& x) { return x; }, Vec(Vec::Ones(1)), Polyalgorithm(o)),
      std::invalid_argument);
}

// Options validate themselves (issue 19: one stopping vocabulary), and an
// options struct nested in another is named by its place there.
TEST(Polyalgorithm, NestedOptionsAreNamedByTheirPlace) {
  PolyalgorithmOptions o;
  o.dogleg.initial_radius = -1;
  try {
    o.validate();
    FAIL() << "a negative dogleg radius was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("PolyalgorithmOptions::dogleg::initial_radius"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("-1"), std::string::npos) << e.what();
  }
  EXPECT_THROW(Polyalgorithm(o).validate(), std::invalid_argument);
  LineSearchBroydenOptions broyden;
  broyden.stagnation_steps = 0;
  EXPECT_THROW(broyden.validate(), std::invalid_argument);
  LevenbergMarquardtOptions lm;
  lm.initial_damping = std::nan("");
  EXPECT_THROW(lm.validate(), std::invalid_argument);
  ForwardIterationOptions damping{0.0};
  EXPECT_THROW(damping.validate(), std::invalid_argument);
  BroydenOptions memory;
  memory.memory = 0;
  EXPECT_THROW(memory.validate(), std::invalid_argument);
  NewtonOptions newton;
  newton.dense_max_size = -3;
  EXPECT_THROW(newton.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
