// The backward pass reusing the forward solve (FixedPointResult::
// inverse_estimate, AdjointOptions::reuse_forward): Newton's last dense LU
// and Broyden's inverse estimate as the adjoint's preconditioner. The
// gradient must be the same certified gradient as without reuse, and a bad
// estimate must never pass: the certificate refuses it and the usual chain
// answers.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

class ForwardReuse : public ::testing::Test {
 protected:
  static constexpr Eigen::Index kN = 30;
  TanhProblem p = make_reference_tanh_problem(kN, 11);
  Vec zbar = Vec::LinSpaced(kN, -1, 2);

  FixedPointResult<Vec> newton(InnerLinearSolver solver) const {
    NewtonOptions o;
    o.linear_solver = solver;
    return solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(kN)), Newton(o),
                             testing::tight_options());
  }
  // The reference: a dense LU adjoint at the same point, no reuse.
  AdjointResult<Vec> reference(const Vec& z) const {
    AdjointOptions dense;
    dense.method = AdjointMethod::kDenseLU;
    return fixed_point_vjp(p.layer, p.theta, z, zbar, dense);
  }
};

// Both answers are certified to ||A u - b|| <= 1e-10 ||b|| on a system with
// cond(A) ~ 10: they agree to ~1e-9 relative.
constexpr double kSameGradient = 1e-9;

TEST_F(ForwardReuse, NewtonsLastLuIsTheTransposedInverseNearZStar) {
  const auto forward = newton(DenseLU{});
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  ASSERT_TRUE(static_cast<bool>(forward.inverse_estimate.solve_transposed));
  // (I - J(z*))^T applied to the estimate's answer gives u back, up to the
  // change of J over the last Newton step (|z_k - z*| ~ 1e-8 after
  // quadratic convergence to 1e-16, times ||d J / d z|| ~ 1).
  const MatrixX<double> a =
      MatrixX<double>::Identity(kN, kN) - p.layer.jacobian_z(p.theta, forward.x);
  const Vec u = forward.inverse_estimate.solve_transposed(zbar);
  EXPECT_LE((a.transpose() * u - zbar).norm(), 1e-6 * zbar.norm());
  // And the other way, for the forward-sensitivity check's Newton correction.
  ASSERT_TRUE(forward.inverse_estimate.both_ways());
  const Vec w = forward.inverse_estimate.solve(zbar);
  EXPECT_LE((a * w - zbar).norm(), 1e-6 * zbar.norm());
}

TEST_F(ForwardReuse, VjpFromANewtonSolveTakesAFewPreconditionedProducts) {
  const auto forward = newton(DenseLU{});
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  const auto reused = fixed_point_vjp(p.layer, p.theta, forward, zbar);
  ASSERT_TRUE(reused.ok()) << reused.brief_report();
  EXPECT_EQ(reused.method, "gmres_preconditioned_by_forward");
  EXPECT_LE(reused.iterations, 4);  // against ~30 for plain GMRES on this system
  const auto ref = reference(forward.x);
  ASSERT_TRUE(ref.ok()) << ref.brief_report();
  EXPECT_LE((reused.value - ref.value).norm(), kSameGradient * ref.value.norm());
  // The certificate's residual is the true one, recomputed.
  EXPECT_LE(reused.residual_norm, 1e-12 + 1e-10 * zbar.norm());

  AdjointOptions off;
  off.reuse_forward = false;
  const auto plain = fixed_point_vjp(p.layer, p.theta, forward, zbar, off);
  EXPECT_NE(plain.method, "gmres_preconditioned_by_forward");
  EXPECT_LE((plain.value - ref.value).norm(), kSameGradient * ref.value.norm());
}

TEST_F(ForwardReuse, AGmresNewtonLeavesNoEstimate) {
  const auto forward = newton(Gmres{});
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  EXPECT_FALSE(static_cast<bool>(forward.inverse_estimate.solve_transposed));
  const auto g = fixed_point_vjp(p.layer, p.theta, forward, zbar);
  ASSERT_TRUE(g.ok()) << g.brief_report();
  EXPECT_NE(g.method, "gmres_preconditioned_by_forward");
}

// A wrong estimate (here: of another layer's system, or NaN) must not pass
// for a gradient: its attempt is refused by the certificate or runs out of
// products, and the chain that follows gives the certified gradient.
TEST_F(ForwardReuse, AWrongEstimateIsRefusedAndTheChainAnswers) {
  auto forward = newton(DenseLU{});
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  const auto ref = reference(forward.x);
  ASSERT_TRUE(ref.ok());

  forward.inverse_estimate.solve_transposed = [](const Vec& u) -> Vec {
    return Vec::Constant(u.size(), std::numeric_limits<double>::quiet_NaN());
  };
  const auto nan_estimate = fixed_point_vjp(p.layer, p.theta, forward, zbar);
  ASSERT_TRUE(nan_estimate.ok()) << nan_estimate.brief_report();
  EXPECT_NE(nan_estimate.method, "gmres_preconditioned_by_forward");
  EXPECT_NE(nan_estimate.message.find("gmres_preconditioned_by_forward"), std::string::npos)
      << nan_estimate.message;
  EXPECT_LE((nan_estimate.value - ref.value).norm(), kSameGradient * ref.value.norm());

  // A rank-one estimate: GMRES on A M y = b cannot reach the tolerance in
  // reuse_max_iter products (A M has rank 1), so the attempt fails.
  const Vec direction = Vec::Ones(kN).normalized();
  forward.inverse_estimate.solve_transposed = [direction](const Vec& u) -> Vec {
    return direction * direction.dot(u);
  };
  const auto rank_one = fixed_point_vjp(p.layer, p.theta, forward, zbar);
  ASSERT_TRUE(rank_one.ok()) << rank_one.brief_report();
  EXPECT_NE(rank_one.method, "gmres_preconditioned_by_forward");
  EXPECT_LE((rank_one.value - ref.value).norm(), kSameGradient * ref.value.norm());
}

TEST_F(ForwardReuse, BroydenHandsItsEstimateOnlyWhenAsked) {
  const auto plain = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(kN)),
                                       Broyden(), testing::tight_options());
  ASSERT_TRUE(plain.ok()) << plain.brief_report();
  EXPECT_FALSE(static_cast<bool>(plain.inverse_estimate.solve_transposed));

  BroydenOptions o;
  o.keep_inverse_estimate = true;
  const auto kept = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(kN)),
                                      Broyden(o), testing::tight_options());
  ASSERT_TRUE(kept.ok()) << kept.brief_report();
  ASSERT_TRUE(static_cast<bool>(kept.inverse_estimate.solve_transposed));
  // Whatever the estimate is worth, the gradient is the certified one.
  const auto g = fixed_point_vjp(p.layer, p.theta, kept, zbar);
  ASSERT_TRUE(g.ok()) << g.brief_report();
  const auto ref = reference(kept.x);
  EXPECT_LE((g.value - ref.value).norm(), kSameGradient * ref.value.norm());
}

// Only a converged solve leaves an estimate, and a point that is no
// solution is refused whatever the forward solver knew.
TEST_F(ForwardReuse, AnUnconvergedSolveLeavesNoEstimateAndIsRefused) {
  FixedPointOptions short_run = testing::tight_options();
  short_run.max_iter = 1;
  NewtonOptions dense;
  dense.linear_solver = DenseLU{};
  const auto forward = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(kN)),
                                         Newton(dense), short_run);
  ASSERT_FALSE(forward.ok());
  EXPECT_FALSE(static_cast<bool>(forward.inverse_estimate.solve_transposed));
  AdjointOptions strict;
  strict.solution_tol = 1e-12;
  const auto g = fixed_point_vjp(p.layer, p.theta, forward, zbar, strict);
  EXPECT_EQ(g.status, Status::kNotASolution);
  EXPECT_TRUE(g.value.array().isNaN().all());
}

}  // namespace
}  // namespace implicit
