// A map's linearization (diff/linearization.hpp): that every consumer takes
// its products from it, once linearized per point, and that the derivatives
// are the same as without it (forward-mode AD, central differences).
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

struct Counts {
  int linearizations = 0;
  int vjp_z = 0;
  int jvp_z = 0;
  int vjp_theta = 0;
  int jvp_theta = 0;
  int jacobian_z = 0;
};

// tanh(W z + x) with only a linearization (no per-call members), counting
// how it is used. The products delegate to TanhLayer's linearization.
struct CountingLayer {
  TanhLayer layer;
  Counts* counts;

  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return layer(theta, z);
  }

  template <class T>
  struct Linearization {
    TanhLayer::Linearization<T> at;
    Counts* counts;
    MatrixX<T> jacobian_z() const {
      ++counts->jacobian_z;
      return at.jacobian_z();
    }
    VectorX<T> jvp_z(const VectorX<T>& v) const {
      ++counts->jvp_z;
      return at.jvp_z(v);
    }
    VectorX<T> vjp_z(const VectorX<T>& u) const {
      ++counts->vjp_z;
      return at.vjp_z(u);
    }
    VectorX<T> jvp_theta(const VectorX<T>& v) const {
      ++counts->jvp_theta;
      return at.jvp_theta(v);
    }
    VectorX<T> vjp_theta(const VectorX<T>& u) const {
      ++counts->vjp_theta;
      return at.vjp_theta(u);
    }
  };
  template <class T>
  Linearization<T> linearize(const VectorX<T>& theta, const VectorX<T>& z) const {
    ++counts->linearizations;
    return {layer.linearize(theta, z), counts};
  }
};

// Only vjp_z at the point: the rest must come from elsewhere (AD).
struct PartialLayer {
  TanhLayer layer;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return layer(theta, z);
  }
  template <class T>
  struct Linearization {
    TanhLayer::Linearization<T> at;
    VectorX<T> vjp_z(const VectorX<T>& u) const { return at.vjp_z(u); }
  };
  template <class T>
  Linearization<T> linearize(const VectorX<T>& theta, const VectorX<T>& z) const {
    return {layer.linearize(theta, z)};
  }
};

class LinearizationTest : public ::testing::Test {
 protected:
  static constexpr Eigen::Index kN = 60;  // above dense_first_max_size: GMRES goes first
  TanhProblem p = make_reference_tanh_problem(kN, 3);
  Vec z_star = testing::newton_fixed_point(p.layer, p.theta);
  Vec zbar = Vec::LinSpaced(kN, 1, -1);
  testing::AutoDiffTanh automatic{p.layer};
};

// Same arithmetic as forward-mode AD up to ordering: a few ulps of O(1).
constexpr double kUlps = 1e-13;

TEST_F(LinearizationTest, TanhLayerPointProductsMatchAutomaticDerivatives) {
  const auto at = p.layer.linearize(p.theta, z_star);
  const Vec v = Vec::LinSpaced(kN, -0.3, 0.9);
  const Vec dtheta = Vec::LinSpaced(p.layer.parameter_size(), 1, -1);
  const auto of_z = bind_theta(automatic, p.theta);
  const auto of_theta = bind_state(automatic, z_star);
  EXPECT_LE((at.jacobian_z() - jacobian(of_z, z_star)).cwiseAbs().maxCoeff(), kUlps);
  EXPECT_LE((at.jvp_z(v) - jvp(of_z, z_star, v)).cwiseAbs().maxCoeff(), kUlps);
  EXPECT_LE((at.vjp_z(v) - vjp(of_z, z_star, v, DerivativeMode::kForward)).cwiseAbs().maxCoeff(),
            kUlps);
  EXPECT_LE((at.jvp_theta(dtheta) - jvp(of_theta, p.theta, dtheta)).cwiseAbs().maxCoeff(), kUlps);
  EXPECT_LE((at.vjp_theta(v) - vjp(of_theta, p.theta, v, DerivativeMode::kForward))
                .cwiseAbs()
                .maxCoeff(),
            kUlps);
  EXPECT_THROW(p.layer.linearize(Vec(Vec::Zero(3)), z_star), std::invalid_argument);
}

TEST_F(LinearizationTest, VjpLinearizesOnceAndTakesEveryProductFromIt) {
  Counts counts;
  const CountingLayer map{p.layer, &counts};
  const auto with = fixed_point_vjp(map, p.theta, z_star, zbar);
  ASSERT_TRUE(with.ok()) << with.brief_report();
  EXPECT_EQ(with.method, "gmres");  // cheap products: GMRES first at n = 60
  EXPECT_EQ(counts.linearizations, 1);
  EXPECT_EQ(counts.vjp_theta, 1);
  // Every GMRES product, plus the certificate's two (A u and the ||A|| probe).
  EXPECT_EQ(counts.vjp_z, with.iterations + 2);
  EXPECT_EQ(counts.jacobian_z, 0);
  // Against forward-mode AD with a dense LU: both are certified to
  // ||A u - b|| <= 1e-10 ||b|| and A is well conditioned here (contraction
  // ~0.6), so they agree to ~1e-9 relative.
  AdjointOptions dense;
  dense.method = AdjointMethod::kDenseLU;
  dense.derivatives = DerivativeMode::kForward;
  const auto reference = fixed_point_vjp(automatic, p.theta, z_star, zbar, dense);
  ASSERT_TRUE(reference.ok()) << reference.brief_report();
  EXPECT_LE((with.value - reference.value).norm(), 1e-9 * reference.value.norm());
}

TEST_F(LinearizationTest, DenseLuTakesTheJacobianFromTheLinearization) {
  Counts counts;
  const CountingLayer map{p.layer, &counts};
  AdjointOptions dense;
  dense.method = AdjointMethod::kDenseLU;
  const auto with = fixed_point_vjp(map, p.theta, z_star, zbar, dense);
  ASSERT_TRUE(with.ok()) << with.brief_report();
  // One at z* for the LU, one at z* + (I - df/dz)^{-1} (f(z*) - z*) for the
  // forward-sensitivity check (adjoint/forward_sensitivity.hpp: one product
  // there, taken from that point's linearization); one dense Jacobian.
  EXPECT_EQ(counts.linearizations, 2);
  EXPECT_EQ(counts.jacobian_z, 1);
  const auto reference = fixed_point_vjp(p.layer, p.theta, z_star, zbar, dense);
  EXPECT_LE((with.value - reference.value).cwiseAbs().maxCoeff(), kUlps);
}

TEST_F(LinearizationTest, JvpLinearizesOnceAndMatchesFiniteDifferences) {
  Counts counts;
  const CountingLayer map{p.layer, &counts};
  const Vec dtheta = Vec::LinSpaced(p.layer.parameter_size(), 0.5, -0.5);
  const auto with = fixed_point_jvp(map, p.theta, z_star, dtheta);
  ASSERT_TRUE(with.ok()) << with.brief_report();
  EXPECT_EQ(counts.linearizations, 1);
  EXPECT_EQ(counts.jvp_theta, 1);
  EXPECT_EQ(counts.jvp_z, with.iterations + 2);
  // dz* . dtheta by central differences of re-solved fixed points, h = 1e-6:
  // truncation ~h^2, round-off ~1e-16 / h plus the solve's 1e-16 residual /
  // h: 1e-7 absolute on O(1) entries.
  const double h = 1e-6;
  const Vec plus = testing::newton_fixed_point(p.layer, Vec(p.theta + h * dtheta));
  const Vec minus = testing::newton_fixed_point(p.layer, Vec(p.theta - h * dtheta));
  EXPECT_LE((with.value - (plus - minus) / (2 * h)).cwiseAbs().maxCoeff(), 1e-7);
}

TEST_F(LinearizationTest, AMissingPointMemberFallsBackToAutomaticDerivatives) {
  const PartialLayer map{p.layer};
  static_assert(internal::PointLinearization<PartialLayer, double>::kVjpZ);
  static_assert(!internal::PointLinearization<PartialLayer, double>::kVjpTheta);
  const auto with = fixed_point_vjp(map, p.theta, z_star, zbar);
  ASSERT_TRUE(with.ok()) << with.brief_report();
  const auto reference = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  ASSERT_TRUE(reference.ok()) << reference.brief_report();
  EXPECT_LE((with.value - reference.value).norm(), 1e-9 * reference.value.norm());
}

// Newton's step linearizes once per step and takes its GMRES products (or
// its dense Jacobian) from the linearization; the answer is the same.
TEST_F(LinearizationTest, NewtonLinearizesOncePerStep) {
  for (const InnerLinearSolver& solver : {InnerLinearSolver(DenseLU{}), InnerLinearSolver(Gmres{})}) {
    Counts counts;
    const CountingLayer map{p.layer, &counts};
    NewtonOptions o;
    o.linear_solver = solver;
    const auto r = solve_fixed_point(bind_theta(map, p.theta), Vec(Vec::Zero(kN)), Newton(o),
                                     testing::tight_options());
    ASSERT_TRUE(r.ok()) << r.brief_report();
    EXPECT_EQ(counts.linearizations, r.iterations);
    if (std::holds_alternative<DenseLU>(solver)) {
      EXPECT_EQ(counts.jacobian_z, r.iterations);
      EXPECT_EQ(counts.jvp_z, 0);
    } else {
      EXPECT_GT(counts.jvp_z, r.iterations);
      EXPECT_EQ(counts.jacobian_z, 0);
    }
    // The promise of `converged`, checked on the returned point.
    EXPECT_LE((p.layer(p.theta, r.x) - r.x).norm(), r.residual_norm * (1 + 1e-12));
    EXPECT_LE((r.x - z_star).cwiseAbs().maxCoeff(), 1e-12);
  }
}

// kAuto's first method follows the cost of a product.
TEST_F(LinearizationTest, AutoPicksGmresForCheapProductsAndLuForAutomaticOnes) {
  const auto cheap = fixed_point_vjp(p.layer, p.theta, z_star, zbar);
  ASSERT_TRUE(cheap.ok()) << cheap.brief_report();
  EXPECT_EQ(cheap.method, "gmres");
  const auto automatic_products = fixed_point_vjp(automatic, p.theta, z_star, zbar);
  ASSERT_TRUE(automatic_products.ok()) << automatic_products.brief_report();
  EXPECT_EQ(automatic_products.method, "dense_lu");
  AdjointOptions small;
  small.dense_first_max_size = kN;
  const auto dense = fixed_point_vjp(p.layer, p.theta, z_star, zbar, small);
  EXPECT_EQ(dense.method, "dense_lu");
  small.dense_first_max_size = -1;
  EXPECT_THROW((void)fixed_point_vjp(p.layer, p.theta, z_star, zbar, small), std::invalid_argument);
}

}  // namespace
}  // namespace implicit
