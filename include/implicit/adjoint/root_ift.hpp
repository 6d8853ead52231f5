#pragma once
// Implicit differentiation of a root g(theta, x*) = 0 (x and g of size n).
//
// With G_x = dg/dx and G_theta = dg/dtheta at (theta, x*), the implicit
// function theorem gives dx*/dtheta = -G_x^{-1} G_theta, so
//
// VJP: solve G_x^T u = xbar, then thetabar = -G_theta^T u;
// JVP: solve G_x dx = -G_theta dtheta.
//
// Iteration methods (kFixedPointIteration, kAnderson) need the form
// u = K u + b and are refused here: use kDenseLU, kGmres or kAuto. Failure
// modes as in fixed_point_ift.hpp: invalid input throws, a singular G_x or a
// solve that does not converge is a status with NaN values.

#include "implicit/adjoint/fixed_point_ift.hpp"
#include "implicit/system/result.hpp"

namespace implicit {

namespace internal {

// root_vjp, with `forward` (may be nullptr) solves with dg/dx from the
// forward solve's factorisation (SystemResult::jacobian_solves).
template <class Map, class T>
AdjointResult<VectorX<T>> root_vjp_with(const Map& g, const VectorX<T>& theta,
                                        const VectorX<T>& x_star, const VectorX<T>& xbar,
                                        const AdjointOptions& options,
                                        const JacobianSolves<VectorX<T>>* forward) {
  VectorX<T> newton_residual;  // g(theta, x*), from the solution check
  if (auto refused = internal::check_ift_call("root_vjp", internal::SolutionKind::kRoot,
                                              internal::ProductKind::kVjp, g, theta, x_star, "xbar",
                                              xbar, options, &newton_residual))
    return *refused;
  const internal::AdjointProducts<Map, T> products(g, theta, x_star, options.derivatives,
                                                   "root_vjp");
  const Eigen::Index n = x_star.size();
  auto apply_a = [&](const VectorX<T>& u) -> VectorX<T> {
    return internal::checked_size(products.state(u), n, "root_vjp", "(dg/dx)^T u");
  };
  auto dense_a = [&]() -> MatrixX<T> {
    return internal::checked_shape(products.state_jacobian(), n, n, "root_vjp", "dg/dx")
        .transpose();
  };
  using NoFixedPointForm = decltype(apply_a);
  const auto g_of_x = bind_theta(g, theta);
  const SparsityPattern pattern = internal::adjoint_sparsity<Map>(g_of_x, x_star, options, false);
  const internal::SparseOperator<T> sparse_a = internal::sparse_system_matrix<T>(
      g_of_x, x_star, pattern, /*fixed_point=*/false, /*transposed=*/true, "root_vjp");
  // A = (dg/dx)^T: A^{-1} is the forward factorisation's transposed solve.
  InverseOperators<T> forward_inverse;
  if (forward && *forward) forward_inverse = {forward->solve_transposed, forward->solve};
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), xbar,
      products.solve_options(options), forward_inverse.solve ? &forward_inverse : nullptr, sparse_a);
  if (solve.ok() && solve.inverse.both_ways()) {
    // x' = x - (dg/dx)^{-1} g(x); A(x') u = (dg/dx)(x')^T u, by the sparse A
    // at x' on the sparse path (never n x n).
    auto a_at = [&](const VectorX<T>& corrected, const VectorX<T>& u) -> VectorX<T> {
      if (pattern.size() != 0)
        return internal::sparse_system_matrix<T>(g_of_x, corrected, pattern, false, true,
                                                 "root_vjp")() *
               u;
      const internal::AdjointProducts<Map, T> there(g, theta, corrected, options.derivatives,
                                                    "root_vjp");
      return internal::checked_size(there.state(u), n, "root_vjp", "(dg/dx)^T u");
    };
    internal::refuse_if_sensitive(solve, x_star, newton_residual, xbar, a_at,
                                  options.max_forward_sensitivity);
  }
  VectorX<T> theta_bar =
      solve.ok() ? VectorX<T>(-internal::checked_size(products.parameters(solve.x), theta.size(),
                                                      "root_vjp", "(dg/dtheta)^T u"))
                 : internal::nan_vector<T>(theta.size());
  return internal::to_adjoint_result(solve, std::move(theta_bar));
}

}  // namespace internal

// Costs as for fixed_point_vjp (adjoint/fixed_point_ift.hpp), with g for f.
template <class Map, class T>
AdjointResult<VectorX<T>> root_vjp(const Map& g, const VectorX<T>& theta,
                                   const internal::NonDeduced<VectorX<T>>& x_star,
                                   const internal::NonDeduced<VectorX<T>>& xbar,
                                   const AdjointOptions& options = {}) {
  return internal::root_vjp_with(g, theta, x_star, xbar, options,
                                 static_cast<const JacobianSolves<VectorX<T>>*>(nullptr));
}

namespace internal {

// root_jvp, with `forward` (may be nullptr) solves with dg/dx from the
// forward solve's factorisation (SystemResult::jacobian_solves).
template <class Map, class T>
AdjointResult<VectorX<T>> root_jvp_with(const Map& g, const VectorX<T>& theta,
                                        const VectorX<T>& x_star, const VectorX<T>& dtheta,
                                        const AdjointOptions& options,
                                        const JacobianSolves<VectorX<T>>* forward) {
  VectorX<T> newton_residual;  // g(theta, x*), from the solution check
  if (auto refused = internal::check_ift_call("root_jvp", internal::SolutionKind::kRoot,
                                              internal::ProductKind::kJvp, g, theta, x_star,
                                              "dtheta", dtheta, options, &newton_residual))
    return *refused;
  const auto g_of_x = bind_theta(g, theta);
  const internal::LazyJacobian<std::decay_t<decltype(g_of_x)>, T> jac(g_of_x, x_star);
  const Eigen::Index n = x_star.size();
  const VectorX<T> rhs = -internal::checked_size(jvp(bind_state(g, x_star), theta, dtheta), n,
                                                 "root_jvp", "(dg/dtheta) dtheta");
  auto apply_a = [&](const VectorX<T>& v) -> VectorX<T> {
    return internal::checked_size(jvp(g_of_x, x_star, v), n, "root_jvp", "(dg/dx) v");
  };
  auto dense_a = [&]() -> MatrixX<T> {
    return internal::checked_shape(jac.get(), n, n, "root_jvp", "dg/dx");
  };
  using NoFixedPointForm = decltype(apply_a);
  constexpr bool kCheapProducts =
      internal::has_jvp<std::decay_t<decltype(g_of_x)>, VectorX<T>>::value;
  const SparsityPattern pattern = internal::adjoint_sparsity<Map>(g_of_x, x_star, options, false);
  const internal::SparseOperator<T> sparse_a = internal::sparse_system_matrix<T>(
      g_of_x, x_star, pattern, /*fixed_point=*/false, /*transposed=*/false, "root_jvp");
  // A = dg/dx: the forward factorisation's own solves.
  InverseOperators<T> forward_inverse;
  if (forward && *forward) forward_inverse = {forward->solve, forward->solve_transposed};
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), rhs,
      internal::for_product_cost(options, kCheapProducts),
      forward_inverse.solve ? &forward_inverse : nullptr, sparse_a);
  if (solve.ok() && solve.inverse.both_ways()) {
    // x' = x - (dg/dx)^{-1} g(x); A(x') v = (dg/dx)(x') v, by the sparse A
    // at x' on the sparse path (never n x n).
    auto a_at = [&](const VectorX<T>& corrected, const VectorX<T>& v) -> VectorX<T> {
      if (pattern.size() != 0)
        return internal::sparse_system_matrix<T>(g_of_x, corrected, pattern, false, false,
                                                 "root_jvp")() *
               v;
      return internal::checked_size(jvp(g_of_x, corrected, v), n, "root_jvp", "(dg/dx) v");
    };
    internal::refuse_if_sensitive(solve, x_star, newton_residual, rhs, a_at,
                                  options.max_forward_sensitivity, /*a_is_jacobian=*/true);
  }
  VectorX<T> dx = solve.ok() ? solve.x : internal::nan_vector<T>(x_star.size());
  return internal::to_adjoint_result(solve, std::move(dx));
}

}  // namespace internal

template <class Map, class T>
AdjointResult<VectorX<T>> root_jvp(const Map& g, const VectorX<T>& theta,
                                   const internal::NonDeduced<VectorX<T>>& x_star,
                                   const internal::NonDeduced<VectorX<T>>& dtheta,
                                   const AdjointOptions& options = {}) {
  return internal::root_jvp_with(g, theta, x_star, dtheta, options,
                                 static_cast<const JacobianSolves<VectorX<T>>*>(nullptr));
}

namespace internal {
// A forward result to differentiate at: converged, or stopped at g's
// rounding floor.
template <class T>
bool is_root(const SystemResult<VectorX<T>>& forward) {
  return forward.ok() || forward.status == Status::kRoundingFloor;
}

// A derivative refused because the forward solve it would differentiate did
// not converge: the IFT holds only at a root, so NaN values and the forward
// status, never a plausible number at a point that is not a root.
template <class T>
AdjointResult<VectorX<T>> refuse_unsolved(const SystemResult<VectorX<T>>& forward,
                                          Eigen::Index size) {
  return refused(nan_vector<T>(size), forward.status,
                 "the forward solve did not converge, so x is no root to differentiate at: " +
                     forward.brief_report());
}
}  // namespace internal

// The VJP at the root a solve_root call returned (on bind_theta(g, theta)):
// as above when forward.ok() or the solve stopped at g's rounding floor
// (Status::kRoundingFloor: x is as close to a root as g can tell, and the
// solution check below still applies), else refused with NaN values and the
// forward status. This is the form to use after solve_root, so that a
// failed solve can never yield a gradient.
template <class Map, class T>
AdjointResult<VectorX<T>> root_vjp(const Map& g, const VectorX<T>& theta,
                                   const SystemResult<VectorX<T>>& forward,
                                   const internal::NonDeduced<VectorX<T>>& xbar,
                                   const AdjointOptions& options = {}) {
  if (!internal::is_root(forward)) return internal::refuse_unsolved(forward, theta.size());
  // Newton's last sparse LU preconditions the adjoint solve
  // (AdjointOptions::reuse_forward): a few triangular solves and sparse
  // products instead of a new factorisation of (dg/dx)^T.
  return internal::root_vjp_with(g, theta, forward.x, xbar, options, &forward.jacobian_solves);
}

// The JVP at the root a solve_root call returned; refused like root_vjp.
template <class Map, class T>
AdjointResult<VectorX<T>> root_jvp(const Map& g, const VectorX<T>& theta,
                                   const SystemResult<VectorX<T>>& forward,
                                   const internal::NonDeduced<VectorX<T>>& dtheta,
                                   const AdjointOptions& options = {}) {
  if (!internal::is_root(forward)) return internal::refuse_unsolved(forward, forward.x.size());
  return internal::root_jvp_with(g, theta, forward.x, dtheta, options, &forward.jacobian_solves);
}

// dx*/dtheta = -G_x^{-1} G_theta (n x p), one dense LU; G_theta by columns or
// rows as in fixed_point_jacobian.
template <class Map, class T>
AdjointResult<MatrixX<T>> root_jacobian(const Map& g, const VectorX<T>& theta,
                                        const internal::NonDeduced<VectorX<T>>& x_star,
                                        DerivativeMode mode = DerivativeMode::kAuto,
                                        double solution_tol = AdjointOptions{}.solution_tol) {
  const double residual =
      internal::check_map_inputs("root_jacobian", g, theta, x_star, internal::SolutionKind::kRoot);
  if (auto refused = internal::refuse_non_solution(
          "root_jacobian", internal::SolutionKind::kRoot, residual, x_star, solution_tol,
          internal::nan_matrix<T>(x_star.size(), theta.size())))
    return *refused;
  const Eigen::Index n = x_star.size();
  const MatrixX<T> a = internal::checked_shape(
      internal::square_jacobian(bind_theta(g, theta), x_star), n, n, "root_jacobian", "dg/dx");
  const MatrixX<T> b = -internal::checked_shape(jacobian(bind_state(g, x_star), theta, mode), n,
                                                theta.size(), "root_jacobian", "dg/dtheta");
  return internal::dense_derivative(a, b);
}

}  // namespace implicit
