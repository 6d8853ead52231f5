// Implicit differentiation of z* = tanh(W z* + x): against central finite
// differences, against unrolled differentiation, across adjoint methods and
// derivative sources, and on failure.
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

// L = sum(z*(theta)) re-solved by Newton at each probe. Central differences
// at h = 1e-6 on an O(1) function: truncation ~h^2 ~ 1e-12, round-off
// ~eps/h ~ 1e-10 (times the solve's 1e-13 residual / h ~ 1e-7 at worst, the
// dominant term): 1e-6 absolute leaves room for that and nothing else.
constexpr double kFdTolerance = 1e-6;

class FixedPointIft : public ::testing::Test {
 protected:
  TanhProblem p = make_reference_tanh_problem(10, 0);
  Vec z_star = testing::newton_fixed_point(p.layer, p.theta);
  Vec zbar = Vec::Ones(10);

  Vec finite_difference_gradient() const {
    auto loss = [&](const Vec& theta) { return testing::newton_fixed_point(p.layer, theta).sum(); };
    return central_difference_gradient(loss, p.theta);
  }
};

TEST_F(FixedPointIft, VjpMatchesFiniteDifferences) {
  const auto ift = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  ASSERT_TRUE(ift.ok()) << ift.brief_report();
  EXPECT_LE((ift.value - finite_difference_gradient()).cwiseAbs().maxCoeff(), kFdTolerance);
}

// Unrolled reverse mode through forward iteration to 1e-14: its gradient is
// the exact derivative of K iterations, which differs from dz*/dtheta by
// O(L^K) with L ~ 0.7 the contraction factor, i.e. about the residual.
TEST_F(FixedPointIft, VjpMatchesUnrolledDifferentiation) {
  const auto ift = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  const auto unrolled =
      unrolled_vjp(p.layer, p.theta, Vec(Vec::Zero(10)), zbar, testing::tight_options());
  ASSERT_TRUE(unrolled.ok());
  EXPECT_LE((ift.value - unrolled.theta_bar).cwiseAbs().maxCoeff(), 1e-10);
}

TEST_F(FixedPointIft, AllAdjointMethodsAgree) {
  const auto reference = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  for (AdjointMethod m : {AdjointMethod::kDenseLU, AdjointMethod::kGmres,
                          AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson}) {
    AdjointOptions o;
    o.method = m;
    o.fallback = false;
    const auto r = fixed_point_vjp(p.layer, p.theta, z_star, zbar, o);
    ASSERT_TRUE(r.ok()) << r.brief_report();
    EXPECT_EQ(r.method, to_string(m));
    // Adjoint tolerance 1e-10 relative to ||zbar|| ~ 3, amplified by
    // ||B|| ~ 1: 1e-9 absolute on theta_bar.
    EXPECT_LE((r.value - reference.value).cwiseAbs().maxCoeff(), 1e-9) << to_string(m);
  }
}

// Forward-mode AD (no hand-written derivatives) gives the same gradients.
TEST_F(FixedPointIft, AutomaticAndHandWrittenDerivativesAgree) {
  const testing::AutoDiffTanh generic{p.layer};
  const auto a = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  const auto b = fixed_point_vjp(generic, p.theta, z_star, zbar);
  ASSERT_TRUE(b.ok());
  EXPECT_LE((a.value - b.value).cwiseAbs().maxCoeff(), 1e-13);
  AdjointOptions gmres;
  gmres.method = AdjointMethod::kGmres;
  const auto c = fixed_point_vjp(generic, p.theta, z_star, zbar, gmres);
  EXPECT_LE((a.value - c.value).cwiseAbs().maxCoeff(), 1e-9);
}

// A map with hand-written Jacobians only (double, not templated): the full
// Jacobian takes jacobian_z / jacobian_theta, also for the forward-
// sensitivity check at the corrected point (no JVPs, no dual numbers: this
// failed to compile while the check's products were JVPs). f = 0.5 tanh(z)
// + t, so dz*/dt = diag(1 / (1 - 0.5 sech^2 z*)).
struct HandWrittenJacobiansOnly {
  Eigen::VectorXd operator()(const Eigen::VectorXd& t, const Eigen::VectorXd& z) const {
    return (0.5 * z.array().tanh()).matrix() + t;
  }
  Eigen::MatrixXd jacobian_z(const Eigen::VectorXd&, const Eigen::VectorXd& z) const {
    return Eigen::VectorXd(0.5 * (1 - z.array().tanh().square())).asDiagonal();
  }
  Eigen::MatrixXd jacobian_theta(const Eigen::VectorXd& t, const Eigen::VectorXd&) const {
    return Eigen::MatrixXd::Identity(t.size(), t.size());
  }
};

TEST(FixedPointIftHandWritten, TheFullJacobianNeedsNoDualNumbers) {
  const Vec t = Vec::LinSpaced(3, -0.5, 0.5);
  const auto forward = solve_fixed_point(bind_theta(HandWrittenJacobiansOnly{}, t),
                                         Vec(Vec::Zero(3)), Anderson(), testing::tight_options());
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  const auto jac = fixed_point_jacobian(HandWrittenJacobiansOnly{}, t, forward.x);
  ASSERT_TRUE(jac.ok()) << jac.brief_report();
  const Vec sech2 = 1 - forward.x.array().tanh().square();
  const Eigen::MatrixXd expected = Vec(1 / (1 - 0.5 * sech2.array())).asDiagonal();
  // z* to 1e-14: the entries (~1.2 to 2) to 1e-12.
  EXPECT_LE((jac.value - expected).cwiseAbs().maxCoeff(), 1e-12);
}

TEST_F(FixedPointIft, JacobianJvpAndVjpAreConsistent) {
  const auto jac = fixed_point_jacobian(p.layer, p.theta, z_star);
  ASSERT_TRUE(jac.ok());
  ASSERT_EQ(jac.value.rows(), 10);
  ASSERT_EQ(jac.value.cols(), 110);
  const auto vjp = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  EXPECT_LE((jac.value.transpose() * zbar - vjp.value).cwiseAbs().maxCoeff(), 1e-12);
  const Vec dtheta = Vec::LinSpaced(110, -1, 1);
  for (AdjointMethod m :
       {AdjointMethod::kDenseLU, AdjointMethod::kGmres, AdjointMethod::kAnderson}) {
    AdjointOptions o;
    o.method = m;
    const auto jvp = fixed_point_jvp(p.layer, p.theta, z_star, dtheta, o);
    ASSERT_TRUE(jvp.ok()) << jvp.brief_report();
    EXPECT_LE((jac.value * dtheta - jvp.value).cwiseAbs().maxCoeff(), 1e-9) << to_string(m);
  }
}

// JVP against a central difference along the direction dtheta.
TEST_F(FixedPointIft, JvpMatchesFiniteDifferences) {
  const Vec dtheta = Vec::LinSpaced(110, -1, 1) / 10;
  const double h = 1e-6;
  const Vec fd = (testing::newton_fixed_point(p.layer, Vec(p.theta + h * dtheta)) -
                  testing::newton_fixed_point(p.layer, Vec(p.theta - h * dtheta))) /
                 (2 * h);
  const auto jvp = fixed_point_jvp(p.layer, p.theta, z_star, dtheta);
  EXPECT_LE((jvp.value - fd).cwiseAbs().maxCoeff(), kFdTolerance);
}

// float32: the same gradient to float accuracy (the adjoint tolerance is
// raised to what float can meet).
TEST_F(FixedPointIft, FloatMatchesDouble) {
  const VectorX<float> theta = p.theta.cast<float>();
  FixedPointOptions fo;
  fo.rel_tol = 1e-6;
  fo.abs_tol = 1e-6;
  const auto forward = solve_fixed_point(bind_theta(p.layer, theta),
                                         VectorX<float>(VectorX<float>::Zero(10)), Anderson(), fo);
  ASSERT_TRUE(forward.ok());
  AdjointOptions o;
  o.rel_tol = 1e-5;
  o.abs_tol = 1e-6;
  const auto f32 =
      fixed_point_vjp(p.layer, theta, forward.x, VectorX<float>(VectorX<float>::Ones(10)), o);
  ASSERT_TRUE(f32.ok()) << f32.brief_report();
  const auto f64 = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  // float eps ~ 1.2e-7, condition of I - J ~ 5, forward residual 1e-6:
  // relative agreement to ~1e-5.
  EXPECT_LE((f32.value.cast<double>() - f64.value).cwiseAbs().maxCoeff(),
            1e-4 * f64.value.cwiseAbs().maxCoeff());
}

// f(theta, z) = A z + c with A having eigenvalue exactly 1: I - A singular.
struct SingularLinear {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    VectorX<T> out(2);
    out[0] = z[0] + theta[0];  // eigenvalue 1: I - df/dz singular
    out[1] = T(0.5) * z[1] + theta[1];
    return out;
  }
};

TEST(FixedPointIftFailure, SingularAdjointSystemIsAStatusNotAGradient) {
  const Vec theta = Vec::Zero(2);
  const Vec z = Vec::Zero(2);  // a fixed point: f(0, 0) = 0
  const auto r = fixed_point_vjp(SingularLinear{}, theta, z, Vec(Vec::Ones(2)));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, Status::kLinearSolveFailed);
  EXPECT_TRUE(r.value.array().isNaN().all()) << "a failed adjoint must not look like a gradient";
  EXPECT_NE(r.message.find("dense_lu"), std::string::npos) << r.message;  // every attempt is listed
  const auto jac = fixed_point_jacobian(SingularLinear{}, theta, z);
  EXPECT_FALSE(jac.ok());
}

TEST(FixedPointIftFailure, APointThatIsNoSolutionIsRefusedByEveryEntryPoint) {
  // The reference layer at z = 3 (||f(z) - z|| ~ 6.9, the defect a user
  // found): the IFT does not hold there, so no gradient, whatever method.
  TanhProblem p = make_reference_tanh_problem(10, 0);
  const Vec not_fixed = Vec::Constant(10, 3.0);
  const double residual = (p.layer(p.theta, not_fixed) - not_fixed).norm();
  ASSERT_GT(residual, 1.0);
  for (auto method : {AdjointMethod::kAuto, AdjointMethod::kGmres, AdjointMethod::kAnderson}) {
    AdjointOptions o;
    o.method = method;
    const auto vjp = fixed_point_vjp(p.layer, p.theta, not_fixed, Vec(Vec::Ones(10)), o);
    EXPECT_EQ(vjp.status, Status::kNotASolution) << vjp.brief_report();
    EXPECT_TRUE(vjp.value.array().isNaN().all());
    EXPECT_DOUBLE_EQ(vjp.residual_norm, residual) << "the report carries the point's residual";
    EXPECT_NE(vjp.message.find("no fixed point"), std::string::npos) << vjp.message;
  }
  const auto jvp = fixed_point_jvp(p.layer, p.theta, not_fixed, Vec(Vec::Ones(p.theta.size())));
  EXPECT_EQ(jvp.status, Status::kNotASolution);
  EXPECT_TRUE(jvp.value.array().isNaN().all());
  const auto jac = fixed_point_jacobian(p.layer, p.theta, not_fixed);
  EXPECT_EQ(jac.status, Status::kNotASolution);
  EXPECT_TRUE(jac.value.array().isNaN().all());
  EXPECT_EQ(jac.value.rows(), 10);

  // A loose but real solve (residual 1e-6, far inside solution_tol = 1e-4)
  // passes; tightening solution_tol below its residual refuses it.
  auto loose = solve_fixed_point(bind_theta(p.layer, p.theta), Vec(Vec::Zero(10)), Anderson(), [] {
    FixedPointOptions o;
    o.abs_tol = 1e-6;
    o.rel_tol = 0;
    return o;
  }());
  ASSERT_TRUE(loose.ok());
  EXPECT_TRUE(fixed_point_vjp(p.layer, p.theta, loose.x, Vec(Vec::Ones(10))).ok());
  AdjointOptions strict;
  strict.solution_tol = 1e-12;
  EXPECT_EQ(fixed_point_vjp(p.layer, p.theta, loose.x, Vec(Vec::Ones(10)), strict).status,
            Status::kNotASolution);
  strict.solution_tol = 0;
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, loose.x, Vec(Vec::Ones(10)), strict),
               std::invalid_argument);
}

// A map whose adjoint iteration diverges (spectral radius 1.5 > 1) while
// I - J is invertible: the iteration fails, the fallback solves it, and the
// message records both.
struct Expanding {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return (T(1.5) * z + theta).eval();
  }
};

TEST(FixedPointIftFailure, NonContractiveAdjointFallsBackOrFails) {
  const Vec theta = (Vec(2) << 1, 2).finished();
  const Vec z = -2 * theta;  // 1.5 z + theta = z
  AdjointOptions o;
  o.method = AdjointMethod::kFixedPointIteration;
  const auto rescued = fixed_point_vjp(Expanding{}, theta, z, Vec(Vec::Ones(2)), o);
  ASSERT_TRUE(rescued.ok()) << rescued.brief_report();
  EXPECT_NE(rescued.message.find("fixed_point_iteration: diverged"), std::string::npos)
      << rescued.message;
  // (I - 1.5 I)^T u = 1 -> u = -2; theta_bar = u.
  EXPECT_NEAR(rescued.value[0], -2, 1e-12);
  o.fallback = false;
  const auto failed = fixed_point_vjp(Expanding{}, theta, z, Vec(Vec::Ones(2)), o);
  EXPECT_EQ(failed.status, Status::kDiverged);
  EXPECT_TRUE(failed.value.array().isNaN().all());
}

TEST(FixedPointIftFailure, BadInputThrows) {
  const auto p = make_reference_tanh_problem(4, 0);
  const Vec z = Vec::Zero(4);
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, z, Vec(Vec::Ones(3))),
               std::invalid_argument);
  Vec bad = z;
  bad[2] = std::nan("");
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, bad, Vec(Vec::Ones(4))),
               std::invalid_argument);
  EXPECT_THROW((void)fixed_point_jvp(p.layer, p.theta, z, Vec(Vec::Ones(3))),
               std::invalid_argument);
  EXPECT_THROW((void)fixed_point_vjp(p.layer, Vec(Vec::Ones(3)), z, Vec(Vec::Ones(4))),
               std::invalid_argument);
  AdjointOptions o;
  o.max_iter = 0;
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, z, Vec(Vec::Ones(4)), o),
               std::invalid_argument);
}

// The near-singular adjoint: W = Q diag(1, 0.5) Q^T rounded, at
// z* = 0 of tanh(W z + theta): I - W has rcond ~ 1e-17. Every method must
// refuse it (ill-conditioned or singular), never certify a gradient of ~1e16.
struct RotatedTanh {
  Eigen::Matrix2d w;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    using std::tanh;
    VectorX<T> a = w.cast<T>() * z + theta;
    for (Eigen::Index i = 0; i < a.size(); ++i) a[i] = tanh(a[i]);
    return a;
  }
};

TEST(FixedPointIftFailure, NearSingularAdjointIsRefusedByEveryMethod) {
  const double c = std::cos(0.7), s = std::sin(0.7);
  Eigen::Matrix2d q;
  q << c, -s, s, c;
  const RotatedTanh f{q * Eigen::Vector2d(1, 0.5).asDiagonal() * q.transpose()};
  const Vec theta = Vec::Zero(2), z = Vec::Zero(2), zbar = (Vec(2) << 1, 0.3).finished();
  for (AdjointMethod m : {AdjointMethod::kDenseLU, AdjointMethod::kGmres,
                          AdjointMethod::kFixedPointIteration, AdjointMethod::kAnderson}) {
    AdjointOptions o;
    o.method = m;
    const auto r = fixed_point_vjp(f, theta, z, zbar, o);
    EXPECT_FALSE(r.ok()) << to_string(m) << ": " << r.brief_report()
                         << " |grad| = " << r.value.norm();
    EXPECT_TRUE(r.value.array().isNaN().all()) << to_string(m);
  }
  // A well-conditioned neighbour (eigenvalue 0.9 instead of 1) is certified.
  const RotatedTanh g{q * Eigen::Vector2d(0.9, 0.5).asDiagonal() * q.transpose()};
  const auto ok = fixed_point_vjp(g, theta, z, zbar);
  EXPECT_TRUE(ok.ok()) << ok.brief_report();
}

// A functor whose dual-number instantiation returns another size than its
// double one (a bug in one instantiation): a clear error in every entry
// point that differentiates it, never heap corruption.
struct OffByOneForDuals {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    VectorX<T> out = (T(0.5) * z + theta).eval();
    if constexpr (std::is_floating_point_v<T>) {
      return out;
    } else {
      VectorX<T> longer(out.size() + 1);
      longer << out, T(0);
      return longer;
    }
  }
};

TEST(FixedPointIftFailure, WrongSizeForDualNumbersThrowsEverywhere) {
  const Vec theta = Vec::Ones(3), z = 2 * theta, zbar = Vec::Ones(3);
  for (AdjointMethod m :
       {AdjointMethod::kDenseLU, AdjointMethod::kGmres, AdjointMethod::kFixedPointIteration}) {
    AdjointOptions o;
    o.method = m;
    EXPECT_THROW((void)fixed_point_vjp(OffByOneForDuals{}, theta, z, zbar, o),
                 std::invalid_argument)
        << to_string(m);
    EXPECT_THROW((void)fixed_point_jvp(OffByOneForDuals{}, theta, z, zbar, o),
                 std::invalid_argument)
        << to_string(m);
  }
  EXPECT_THROW((void)fixed_point_jacobian(OffByOneForDuals{}, theta, z), std::invalid_argument);
  EXPECT_THROW((void)unrolled_vjp(OffByOneForDuals{}, theta, Vec(Vec::Zero(3)), zbar),
               std::invalid_argument);
  NewtonOptions dense, krylov;
  dense.linear_solver = DenseLU{};
  krylov.linear_solver = Gmres{};
  EXPECT_THROW((void)solve_fixed_point(bind_theta(OffByOneForDuals{}, theta), Vec(Vec::Zero(3)),
                                       Newton(dense)),
               std::invalid_argument);
  EXPECT_THROW((void)solve_fixed_point(bind_theta(OffByOneForDuals{}, theta), Vec(Vec::Zero(3)),
                                       Newton(krylov)),
               std::invalid_argument);
}

TEST(FixedPointIftFailure, OutOfRangeAdjointMethodIsRefused) {
  AdjointOptions o;
  o.method = static_cast<AdjointMethod>(99);
  try {
    o.validate();
    FAIL() << "AdjointMethod 99 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("AdjointOptions::method"), std::string::npos);
  }
}

// Regression (issue 19): AdjointOptions::anderson.memory = 0 with kAnderson
// was accepted, because only the Anderson solver class checked its options.
// The options check themselves now, named by their place in AdjointOptions.
TEST(FixedPointIftFailure, InvalidAndersonOptionsInsideAdjointOptionsAreRefused) {
  AdjointOptions o;
  o.method = AdjointMethod::kAnderson;
  o.anderson.memory = 0;
  try {
    o.validate();
    FAIL() << "AdjointOptions::anderson.memory = 0 accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("AdjointOptions::anderson::memory"), std::string::npos)
        << e.what();
  }
  const TanhProblem p = make_reference_tanh_problem(10, 0);
  const Vec z_star = testing::newton_fixed_point(p.layer, p.theta);
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, z_star, Vec(Vec::Ones(10)), o),
               std::invalid_argument);
  o.anderson.memory = 5;
  o.anderson.beta = 0;
  EXPECT_THROW(o.validate(), std::invalid_argument);
  AndersonOptions plain;
  plain.lam = -1;
  EXPECT_THROW(plain.validate(), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
