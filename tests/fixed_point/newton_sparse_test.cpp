// The fixed-point Newton with a sparse I - df/dz (NewtonOptions::sparsity,
// system/sparse_newton.hpp, shared with the system Newton): the
// Brusselator's steady state written as a fixed point, its gradient through
// the reused sparse LU, and the failure modes.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "implicit.hpp"
#include "implicit/problems/brusselator.hpp"

#ifdef IMPLICIT_SPARSE
namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

// NonlinearSolve.jl's 2-D Brusselator steady state g(w) = 0 as the fixed
// point of w -> w - h g(w): the same root, and f(w) - w = -h g(w), so
// Newton's direction is the one on g. df/dz = I - h dg/dw has g's pattern
// (which holds the diagonal).
struct BrusselatorFixedPoint {
  Brusselator2D problem;
  double h = 1e-3;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& w) const {
    return w - T(h) * problem(theta, w);
  }
};

// ||f(w) - w|| <= 1e-12 is ||g|| <= 1e-9, above g's rounding floor at N = 8
// (~2e-12 per entry: tests/system/sparse_newton_test.cpp).
FixedPointOptions tight() {
  FixedPointOptions o;
  o.abs_tol = 1e-12;
  o.rel_tol = 0;
  return o;
}

NewtonOptions sparse_newton(const Brusselator2D& problem) {
  NewtonOptions o;
  o.sparsity = problem.sparsity();
  o.line_search = true;  // plain Newton leaves the basin from the tutorial's start
  return o;
}

TEST(FixedPointSparseNewton, SolvesTheBrusselatorAsAFixedPointLikeTheDenseNewton) {
  const BrusselatorFixedPoint map{Brusselator2D{8}};  // 128 unknowns
  const Vec theta = Brusselator2D::default_theta();
  const auto f = bind_theta(map, theta);
  const auto sparse = solve_fixed_point(f, map.problem.initial_state(),
                                        Newton(sparse_newton(map.problem)), tight());
  ASSERT_TRUE(sparse.ok()) << sparse.brief_report();
  // The promise of `converged`, on the returned point.
  EXPECT_LE((f(sparse.x) - sparse.x).norm(), 1e-12);
  NewtonOptions dense = sparse_newton(map.problem);
  dense.sparsity = SparsityPattern();
  dense.linear_solver = DenseLU{};
  const auto dense_solve =
      solve_fixed_point(f, map.problem.initial_state(), Newton(dense), tight());
  ASSERT_TRUE(dense_solve.ok()) << dense_solve.brief_report();
  // Two points with ||g|| <= 1e-9 on a system with ||(dg/dw)^-1|| ~ 1: 1e-8.
  EXPECT_LE((sparse.x - dense_solve.x).cwiseAbs().maxCoeff(), 1e-8);
  EXPECT_EQ(sparse.iterations, dense_solve.iterations);
  EXPECT_EQ(sparse.jacobian_evaluations, dense_solve.jacobian_evaluations);
  // The last sparse LU is handed on, either way.
  EXPECT_TRUE(sparse.inverse_estimate.both_ways());
}

// d(zbar . w*)/dtheta, theta = (A, B, alpha): through Newton's reused sparse
// LU (GMRES preconditioned by it; AdjointOptions::sparsity lets the
// forward-sensitivity check evaluate the sparse A at the corrected point),
// against a fresh sparse LU and central differences of re-solved points.
TEST(FixedPointSparseNewton, TheGradientThroughTheReusedLuMatchesFiniteDifferences) {
  const BrusselatorFixedPoint map{Brusselator2D{5}};  // 50 unknowns
  const Vec theta = Brusselator2D::default_theta();
  auto solve_at = [&](const Vec& t) {
    auto r = solve_fixed_point(bind_theta(map, t), map.problem.initial_state(),
                               Newton(sparse_newton(map.problem)), tight());
    EXPECT_TRUE(r.ok()) << r.brief_report();
    return r;
  };
  const auto forward = solve_at(theta);
  const Vec zbar = Vec::LinSpaced(map.problem.size(), -1, 1);
  AdjointOptions options;
  options.sparsity = map.problem.sparsity();
  const auto reused = fixed_point_vjp(map, theta, forward, zbar, options);
  ASSERT_TRUE(reused.ok()) << reused.brief_report();
  EXPECT_EQ(reused.method, "gmres_preconditioned_by_forward");
  EXPECT_EQ(reused.message.find("not checked"), std::string::npos) << reused.message;
  const auto fresh = fixed_point_vjp(map, theta, forward.x, zbar, options);
  ASSERT_TRUE(fresh.ok()) << fresh.brief_report();
  EXPECT_EQ(fresh.method, "sparse_lu");
  // Both certified to 1e-10 relative on a system of condition ~1e3.
  EXPECT_LE((reused.value - fresh.value).norm(), 1e-8 * fresh.value.norm());
  // Central differences, h = 1e-4 relative: truncation ~1e-8 relative; the
  // points' error ||zbar|| ||(dg/dw)^-1|| 1e-9 / (2h) ~ 1e-5 absolute.
  for (int k = 0; k < 3; ++k) {
    const double h = 1e-4 * theta[k];
    Vec up = theta, down = theta;
    up[k] += h;
    down[k] -= h;
    const double fd = (zbar.dot(solve_at(up).x) - zbar.dot(solve_at(down).x)) / (2 * h);
    EXPECT_NEAR(reused.value[k], fd, 1e-6 * std::fabs(fd) + 1e-5) << "theta " << k;
  }
}

// A fold inside the sparse fixed point z_i = z_i - (z_i^2 - t_i), t_0 = 0:
// the forward Newton converges (linearly, at the fold), and the gradient
// through its reused sparse LU is refused along z_0, certified (1/2) along
// z_1.
struct FoldInASparseFixedPoint {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& t, const VectorX<T>& z) const {
    return (z.array() - (z.array().square() - t.array())).matrix();
  }
};

TEST(FixedPointSparseNewton, AFoldIsRefusedThroughTheReusedLu) {
  const Eigen::Index n = 1000;
  Vec t = Vec::Ones(n);
  t[0] = 0;
  SparsityPattern diagonal(n, n);
  diagonal.setIdentity();
  NewtonOptions newton;
  newton.sparsity = diagonal;
  FixedPointOptions o;
  o.abs_tol = 1e-10;
  const auto forward =
      solve_fixed_point(bind_theta(FoldInASparseFixedPoint{}, t), Vec(Vec::Ones(n)), Newton(newton), o);
  ASSERT_TRUE(forward.ok()) << forward.brief_report();
  // The promise of `converged`, on the returned point: the stated rule,
  // abs_tol + rel_tol ||f(z)|| (default rel_tol; ||f(z)|| ~ sqrt(n)).
  const Vec fz = FoldInASparseFixedPoint{}(t, forward.x);
  EXPECT_LE((fz - forward.x).norm(),
            o.abs_tol + internal::effective_rel_tol<double>(o.rel_tol) * fz.norm());
  AdjointOptions adjoint;
  adjoint.sparsity = diagonal;
  Vec zbar = Vec::Zero(n);
  zbar[0] = 1;
  const auto at_fold = fixed_point_vjp(FoldInASparseFixedPoint{}, t, forward, zbar, adjoint);
  EXPECT_EQ(at_fold.method, "gmres_preconditioned_by_forward");
  EXPECT_EQ(at_fold.status, Status::kLinearSolveFailed) << at_fold.brief_report();
  EXPECT_TRUE(at_fold.value.array().isNaN().all());
  EXPECT_NE(at_fold.message.find("sensitive to the forward solve"), std::string::npos)
      << at_fold.message;
  zbar.setZero();
  zbar[1] = 1;
  const auto regular = fixed_point_vjp(FoldInASparseFixedPoint{}, t, forward, zbar, adjoint);
  ASSERT_TRUE(regular.ok()) << regular.brief_report();
  EXPECT_NEAR(regular.value[1], 0.5, 1e-9);  // z_1 = 1 to 1e-10
}

TEST(FixedPointSparseNewton, BadPatternsAndOptionsAreErrorsThatNameThem) {
  const BrusselatorFixedPoint map{Brusselator2D{6}};  // 72 unknowns
  const Vec theta = Brusselator2D::default_theta();
  const auto f = bind_theta(map, theta);
  NewtonOptions both = sparse_newton(map.problem);
  both.linear_solver = Gmres{};
  EXPECT_THROW((void)solve_fixed_point(f, map.problem.initial_state(), Newton(both)),
               std::invalid_argument);
  NewtonOptions wrong_size;
  wrong_size.sparsity = Brusselator2D{5}.sparsity();
  try {
    (void)solve_fixed_point(f, map.problem.initial_state(), Newton(wrong_size));
    FAIL() << "accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("is 50 x 50, expected 72 x 72"), std::string::npos)
        << e.what();
  }
  // A pattern that misses the coupling between the species: the colouring
  // would be wrong, and the sparse Jacobian says so rather than solving.
  NewtonOptions diagonal_only;
  diagonal_only.sparsity = SparsityPattern(map.problem.size(), map.problem.size());
  diagonal_only.sparsity.setIdentity();
  EXPECT_THROW((void)solve_fixed_point(f, map.problem.initial_state(), Newton(diagonal_only)),
               std::invalid_argument);
}

// A singular I - df/dz (f(z) = z + (z_0 - 1, 0, ...)'s second row is 0 = 0,
// so I - df/dz has a zero row): a status, never a "converged" point.
struct SingularSparse {
  template <class T>
  VectorX<T> operator()(const VectorX<T>&, const VectorX<T>& z) const {
    VectorX<T> out = z;
    out[0] = z[0] - (z[0] - T(1));
    out[1] = z[1] + T(1);  // no fixed point: z_1 = z_1 + 1
    return out;
  }
};

TEST(FixedPointSparseNewton, ASingularSystemIsAStatus) {
  const Eigen::Index n = 4;
  SparsityPattern diagonal(n, n);
  diagonal.setIdentity();
  NewtonOptions newton;
  newton.sparsity = diagonal;
  const Vec theta = Vec::Zero(1);
  const auto r =
      solve_fixed_point(bind_theta(SingularSparse{}, theta), Vec(Vec::Zero(n)), Newton(newton));
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status, Status::kLinearSolveFailed) << r.brief_report();
  EXPECT_FALSE(r.inverse_estimate.both_ways());
}

}  // namespace
}  // namespace implicit
#endif
