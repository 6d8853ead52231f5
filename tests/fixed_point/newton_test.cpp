#include "implicit/internal/random.hpp"
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
  dense.linear_solver = DenseLU{};
  krylov.linear_solver = Gmres{};
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
  o.linear_solver = DenseLU{};
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
// A map without a fixed point: f(z) = z + 1.5 + sin(W z), ||W||_2 = 10, so
// f(z) - z = 1.5 + sin(W z) >= 0.5 in every entry. Newton wanders for ever.
struct NoFixedPoint {
  Eigen::MatrixXd w;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& z) const {
    const VectorX<T> wz = w.cast<T>() * z;
    return (z.array() + T(1.5) + wz.array().sin()).matrix();
  }
};

NoFixedPoint make_no_fixed_point(int n) {
  // W = 10 Q, Q orthogonal: spectral norm 10.
  internal::NormalSampler normal(7);
  Eigen::MatrixXd gaussian(n, n);
  for (int i = 0; i < n * n; ++i) gaussian.data()[i] = normal();
  const Eigen::MatrixXd q = Eigen::HouseholderQR<Eigen::MatrixXd>(gaussian).householderQ();
  return {10 * q};
}

// Regression (issue 19): the fixed-point Newton had no stall rule, so on a map
// without a fixed point it ran every one of max_iter steps (10,000 on the
// tensor path: 18 s) before saying max_iterations. The shared rule
// (FixedPointOptions::progress_window) stops it as kStalled once the best
// residual stops improving, with the numbers in the message; the point
// returned is the best one seen, and its residual is the reported one.
TEST(Newton, AMapWithoutAFixedPointStallsInsteadOfRunningToMaxIter) {
  const int n = 30;
  const NoFixedPoint f = make_no_fixed_point(n);
  FixedPointOptions o;
  o.max_iter = 10000;
  const auto r = solve_fixed_point(f, Vec(Vec::Zero(n)), Newton(), o);
  EXPECT_EQ(r.status, Status::kStalled) << r.brief_report();
  EXPECT_LT(r.iterations, 2000) << r.brief_report();
  EXPECT_NE(r.message.find("progress_window"), std::string::npos) << r.message;
  // ||f(x) - x|| >= 0.5 sqrt(n) everywhere: nothing may claim better.
  EXPECT_GE(r.residual_norm, 0.5 * std::sqrt(double(n)));
  EXPECT_DOUBLE_EQ((f(r.x) - r.x).norm(), r.residual_norm);
  // Off, the rule no longer stops it (the old behaviour, now a choice).
  o.progress_window = 0;
  o.max_iter = 300;
  const auto off = solve_fixed_point(f, Vec(Vec::Zero(n)), Newton(), o);
  EXPECT_NE(off.status, Status::kStalled) << off.brief_report();
  EXPECT_NE(off.status, Status::kConverged) << off.brief_report();
}

// A slow but steady contraction (0.99 per step) is never called stalled: it
// gains 0.99^100 = 0.37 per window, well below progress_factor = 0.9.
TEST(Newton, ASlowContractionIsNotStalled) {
  auto f = [](const Vec& z) -> Vec { return (0.99 * z.array() + 0.01).matrix(); };
  FixedPointOptions o;
  o.max_iter = 5000;
  const auto r = solve_fixed_point(f, Vec(Vec::Zero(3)), ForwardIteration(), o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_GT(r.iterations, 1000);
  EXPECT_LE((f(r.x) - r.x).norm(), o.abs_tol + o.rel_tol * f(r.x).norm());
}

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
