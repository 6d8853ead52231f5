#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

TEST(Newton, ConvergesQuadratically) {
  const auto p = make_reference_tanh_problem(10, 0);
  const auto r = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(10)), Newton(),
                                   testing::tight_options());
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE(r.iterations, 7);
  EXPECT_EQ(r.jacobian_evaluations, r.iterations);
  // Quadratic: once below 1e-3, each residual is at most ~C r^2.
  for (std::size_t k = 1; k < r.residual_history.size(); ++k)
    if (r.residual_history[k - 1] < 1e-3) {
      EXPECT_LT(r.residual_history[k], 10 * std::pow(r.residual_history[k - 1], 2) + 1e-15);
    }
}

// Dense LU, matrix-free GMRES, and the AD Jacobian vs the hand-written one
// all reach the same z*.
TEST(Newton, LinearSolversAndJacobianSourcesAgree) {
  const auto p = make_reference_tanh_problem(30, 1);
  const Vec z0 = Vec::Zero(30);
  NewtonOptions dense, krylov;
  dense.linear_solver = NewtonOptions::LinearSolver::kDense;
  krylov.linear_solver = NewtonOptions::LinearSolver::kGmres;
  const auto a =
      solve_fixed_point(bind_theta(p.layer, p.theta), z0, Newton(dense), testing::tight_options());
  const auto b =
      solve_fixed_point(bind_theta(p.layer, p.theta), z0, Newton(krylov), testing::tight_options());
  const testing::AutoDiffTanh generic{p.layer};
  const auto c =
      solve_fixed_point(bind_theta(generic, p.theta), z0, Newton(dense), testing::tight_options());
  const auto d =
      solve_fixed_point(bind_theta(generic, p.theta), z0, Newton(krylov), testing::tight_options());
  for (const auto* r : {&a, &b, &c, &d}) {
    ASSERT_TRUE(r->ok()) << r->brief_report();
    EXPECT_LE((r->x - a.x).norm(), 1e-12);
  }
  EXPECT_EQ(a.iterations, c.iterations);  // same Jacobian up to rounding
}

struct Shift {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& z) const {
    return (z.array() + T(1)).matrix();
  }
};

TEST(Newton, SingularSystemIsReported) {
  // f(z) = z + 1 has no fixed point, and I - df/dz = 0.
  NewtonOptions o;
  o.linear_solver = NewtonOptions::LinearSolver::kDense;
  const auto r = solve_fixed_point(Shift{}, Vec(Vec::Zero(3)), Newton(o));
  EXPECT_EQ(r.status, Status::kLinearSolveFailed);
  EXPECT_NE(r.message.find("singular"), std::string::npos) << r.message;
}

// The inner GMRES of inexact Newton: a step that reduced ||A d - g|| is
// kept whether GMRES ran out of products or stagnated after progress (in
// float32 at its rounding floor: on two spirals this took the tensor
// Newton's unconverged samples from 20% to 1.4%); no progress or NaN never.
TEST(Newton, AnInexactStepIsKeptWhenItReducedTheLinearResidual) {
  using internal::useful_inexact_step;
  EXPECT_TRUE(useful_inexact_step(Status::kMaxIterations, 0.5, 1.0));
  EXPECT_TRUE(useful_inexact_step(Status::kLinearSolveFailed, 0.5, 1.0));
  EXPECT_FALSE(useful_inexact_step(Status::kLinearSolveFailed, 1.0, 1.0));
  EXPECT_FALSE(useful_inexact_step(Status::kNonFinite, 0.1, 1.0));
  EXPECT_FALSE(useful_inexact_step(Status::kMaxIterations, std::nan(""), 1.0));
}

}  // namespace
}  // namespace implicit

namespace implicit {
namespace {

// z = z - atan(z) from 10 (root 0): plain Newton overshoots and diverges;
// with the line search of system/ it converges, at one extra f per step.
TEST(NewtonLineSearch, GlobalisesAFarStart) {
  auto f = [](const auto& z) {
    using std::atan;
    using V = std::decay_t<decltype(z)>;
    V out(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) out[i] = z[i] - atan(z[i]);
    return out;
  };
  const Eigen::VectorXd z0 = Eigen::Vector2d(10, -10);
  const auto plain = solve_fixed_point(f, z0, Newton());
  EXPECT_FALSE(plain.ok());
  NewtonOptions o;
  o.line_search = true;
  const auto searched = solve_fixed_point(f, z0, Newton(o));
  ASSERT_TRUE(searched.ok()) << searched.brief_report();
  EXPECT_LE(searched.x.norm(), 1e-9);
}

TEST(NewtonLineSearch, OptionsNameTheField) {
  NewtonOptions o;
  o.gmres_restart = 0;
  try {
    Newton(o).validate();
    FAIL() << "gmres_restart 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("NewtonOptions::gmres_restart"), std::string::npos);
  }
}

}  // namespace
}  // namespace implicit
