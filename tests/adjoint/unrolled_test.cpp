#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

// With a fixed number of steps K (tolerance unreachable), the unrolled
// gradient is the exact derivative of z_K(theta) = f^K(theta, 0): check it
// against central differences of that same truncated map.
TEST(Unrolled, ExactDerivativeOfTruncatedIteration) {
  const auto p = make_reference_tanh_problem(6, 2);
  FixedPointOptions o;
  o.max_iter = 7;
  o.abs_tol = 1e-300;
  o.rel_tol = 0;  // raised to 8 eps: unreachable in 7 steps
  const Vec zbar = Vec::LinSpaced(6, -1, 1);
  const auto r = unrolled_vjp(p.layer, p.theta, Vec(Vec::Zero(6)), zbar, o);
  EXPECT_EQ(r.forward.status, Status::kMaxIterations);
  auto loss = [&](const Vec& theta) {
    auto f =
        solve_fixed_point(bind_theta(p.layer, theta), Vec(Vec::Zero(6)), ForwardIteration(), o);
    return f.x.dot(zbar);
  };
  // h = 1e-6 on an O(1) composition of 8 tanh layers: error ~1e-10.
  EXPECT_LE((r.theta_bar - central_difference_gradient(loss, p.theta)).cwiseAbs().maxCoeff(), 1e-7);
}

// The unrolled path stores every iterate (that is its cost); IFT stores none.
TEST(Unrolled, TapeGrowsWithIterations) {
  const auto p = make_reference_tanh_problem(10, 0);
  FixedPointOptions loose, tight = testing::tight_options();
  loose.rel_tol = 1e-4;
  const Vec zbar = Vec::Ones(10);
  const auto a = unrolled_vjp(p.layer, p.theta, Vec(Vec::Zero(10)), zbar, loose);
  const auto b = unrolled_vjp(p.layer, p.theta, Vec(Vec::Zero(10)), zbar, tight);
  EXPECT_GT(b.forward.iterations, a.forward.iterations);
  EXPECT_EQ(b.tape_bytes,
            static_cast<std::size_t>(b.forward.function_evaluations) * 10 * sizeof(double));
  EXPECT_GT(b.tape_bytes, a.tape_bytes);
}

}  // namespace
}  // namespace implicit
