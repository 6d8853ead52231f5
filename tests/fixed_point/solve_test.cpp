// The driver loop: stopping rule, statuses, errors, history, and the
// agreement of all four solvers on the reference problem.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

template <class T>
class AllSolversTest : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(AllSolversTest, Scalars);

// docs/reference-systems.md section 1: all solvers agree on z* to the
// solver tolerance. With the rule r <= abs + rel ||f(z)|| and contraction
// factor L < 1, ||z - z*|| <= r / (1 - L); L ~ 0.7 here, so two solutions differ by at most ~7 tol.
TYPED_TEST(AllSolversTest, AgreeOnReferenceProblem) {
  using T = TypeParam;
  const auto p = make_reference_tanh_problem(10, 0);
  const VectorX<T> theta = p.theta.cast<T>();
  const VectorX<T> z0 = VectorX<T>::Zero(10);
  FixedPointOptions o;
  const bool is_float = std::is_same_v<T, float>;
  o.rel_tol = is_float ? 1e-6 : 1e-10;
  o.abs_tol = is_float ? 1e-6 : 1e-12;
  const auto f = bind_theta(p.layer, theta);
  const auto a = solve_fixed_point(f, z0, ForwardIteration(), o);
  const auto b = solve_fixed_point(f, z0, Anderson(), o);
  const auto c = solve_fixed_point(f, z0, Newton(), o);
  const auto d = solve_fixed_point(f, z0, Broyden(), o);
  for (const auto* r : {&a, &b, &c, &d}) {
    ASSERT_TRUE(r->ok()) << r->brief_report();
    EXPECT_LE((r->x - a.x).template lpNorm<Eigen::Infinity>(), 10 * (o.rel_tol + o.abs_tol))
        << r->solver;
    // It really is a fixed point.
    EXPECT_LE((f(r->x) - r->x).norm(), 10 * (o.rel_tol + o.abs_tol)) << r->solver;
  }
}

TEST(SolveFixedPoint, HistoryRecordsEveryResidual) {
  const auto p = make_reference_tanh_problem(10, 0);
  const auto r =
      solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(10)), ForwardIteration());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(static_cast<int>(r.residual_history.size()), r.iterations + 1);
  EXPECT_EQ(r.residual_history.back(), r.residual_norm);
  EXPECT_EQ(r.function_evaluations, r.iterations + 1);
  // Forward iteration on a contraction: residuals decrease.
  for (std::size_t k = 1; k < r.residual_history.size(); ++k)
    EXPECT_LT(r.residual_history[k], r.residual_history[k - 1]);
}

TEST(SolveFixedPoint, SpecRelativeRuleIsTheDeqTutorialRule) {
  const auto p = make_reference_tanh_problem(10, 0);
  const auto f = bind_theta(p.layer, p.theta);
  const double tol = 1e-6;
  const auto r =
      solve_fixed_point(f, Vec(Vec::Zero(10)), Anderson(), FixedPointOptions::spec_relative(tol));
  ASSERT_TRUE(r.ok());
  // The reported residual satisfies spec_relative's ||f(x) - x|| / (1e-5 + ||f(x)||) < tol
  // at the iterate the rule was checked at; the previous one did not.
  const auto& h = r.residual_history;
  ASSERT_GE(h.size(), 2u);
  EXPECT_LT(h.back(), tol * (1e-5 + f(r.x).norm()) * 1.01);
}

TEST(SolveFixedPoint, NonContractiveMapDiverges) {
  // f(z) = 2 z + 1: fixed point -1, but forward iteration runs away from it.
  auto f = [](const Vec& z) -> Vec { return (2 * z.array() + 1).matrix(); };
  const auto r = solve_fixed_point(f, Vec(Vec::Zero(3)), ForwardIteration());
  EXPECT_EQ(r.status, Status::kDiverged);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message.find("contraction"), std::string::npos) << r.message;
  EXPECT_LT(r.iterations, 100);  // stopped early, not at max_iter
}

TEST(SolveFixedPoint, OscillatingMapHitsMaxIterations) {
  // f(z) = 1 - z: ||df/dz|| = 1, forward iteration cycles 0, 1, 0, 1, ...
  auto f = [](const Vec& z) -> Vec { return (1 - z.array()).matrix(); };
  FixedPointOptions o;
  o.max_iter = 50;
  const auto r = solve_fixed_point(f, Vec(Vec::Zero(2)), ForwardIteration(), o);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_EQ(r.iterations, 50);
  EXPECT_NE(r.message.find("max_iter"), std::string::npos);
  // Damping turns it into a contraction (the fixed point is 1/2).
  const auto damped = solve_fixed_point(f, Vec(Vec::Zero(2)), ForwardIteration({0.5}), o);
  ASSERT_TRUE(damped.ok()) << damped.brief_report();
  EXPECT_NEAR(damped.x[0], 0.5, 1e-9);
}

TEST(SolveFixedPoint, NanFromFIsReported) {
  auto f = [](const Vec& z) -> Vec { return z.array().log().matrix(); };  // log(0) = -inf
  const auto r = solve_fixed_point(f, Vec(Vec::Zero(2)), Anderson());
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_EQ(r.iterations, 0);
}

TEST(SolveFixedPoint, BadInputThrows) {
  auto f = [](const Vec& z) -> Vec { return z / 2; };
  Vec nan_start = Vec::Zero(2);
  nan_start[1] = std::nan("");
  EXPECT_THROW((void)solve_fixed_point(f, nan_start, ForwardIteration()), std::invalid_argument);
  auto grows = [](const Vec& z) -> Vec { return Vec::Zero(z.size() + 1); };
  EXPECT_THROW((void)solve_fixed_point(grows, Vec(Vec::Zero(2)), ForwardIteration()),
               std::invalid_argument);
  FixedPointOptions o;
  o.rel_tol = -1;
  EXPECT_THROW((void)solve_fixed_point(f, Vec(Vec::Zero(2)), ForwardIteration(), o),
               std::invalid_argument);
  o = {};
  o.abs_tol = o.rel_tol = 0;
  EXPECT_THROW((void)solve_fixed_point(f, Vec(Vec::Zero(2)), ForwardIteration(), o),
               std::invalid_argument);
  EXPECT_THROW((void)solve_fixed_point(f, Vec(Vec::Zero(2)), Anderson({0})), std::invalid_argument);
  EXPECT_THROW((void)solve_fixed_point(f, Vec(Vec::Zero(2)), Broyden({0})), std::invalid_argument);
  EXPECT_THROW((void)solve_fixed_point(f, Vec(Vec::Zero(2)), ForwardIteration({1.5})),
               std::invalid_argument);
}

TEST(SolveFixedPoint, BriefReportNamesSolverAndStatus) {
  auto f = [](const Vec& z) -> Vec { return z / 2; };
  const auto r = solve_fixed_point(f, Vec(Vec::Ones(2)), ForwardIteration());
  EXPECT_NE(r.brief_report().find("forward_iteration: converged"), std::string::npos)
      << r.brief_report();
}

}  // namespace
}  // namespace implicit
