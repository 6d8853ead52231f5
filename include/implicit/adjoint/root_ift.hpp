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
                                        const InverseOperators<VectorX<T>>* forward) {
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
  const internal::SparseSystemMatrix<T, std::decay_t<decltype(g_of_x)>> sparse(
      g_of_x, internal::adjoint_sparsity<Map>(g_of_x, x_star, options, false), n,
      /*fixed_point=*/false, /*transposed=*/true, "root_vjp");
  // A = (dg/dx)^T: A^{-1} is the forward factorisation's transposed solve.
  const InverseOperators<VectorX<T>> forward_inverse =
      forward ? forward->transposed() : InverseOperators<VectorX<T>>{};
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), xbar,
      products.solve_options(options), forward_inverse.both_ways() ? &forward_inverse : nullptr,
      sparse.operator_at(x_star));
  // x' = x - (dg/dx)^{-1} g(x); A(x') u = (dg/dx)(x')^T u.
  auto products_at = [&](const VectorX<T>& corrected, const VectorX<T>& u) -> VectorX<T> {
    // The map's own members, or forward mode (the dense Jacobian at x',
    // up to dense_max_size_automatic): a second reverse tape beside the
    // solve's is not allowed.
    const internal::AdjointProducts<Map, T> there(g, theta, corrected, DerivativeMode::kForward,
                                                  "root_vjp");
    return internal::checked_size(there.state(u), n, "root_vjp", "(dg/dx)^T u");
  };
  if (sparse.empty() && !internal::AdjointProducts<Map, T>::kHandWrittenState &&
      n > options.dense_max_size_automatic)
    internal::note_unchecked(solve, options.dense_max_size_automatic);
  else
    internal::refuse_if_sensitive(solve, x_star, newton_residual, xbar,
                                  internal::product_at(sparse, products_at),
                                  options.max_forward_sensitivity);
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
                                 static_cast<const InverseOperators<VectorX<T>>*>(nullptr));
}

namespace internal {

// root_jvp, with `forward` (may be nullptr) solves with dg/dx from the
// forward solve's factorisation (SystemResult::jacobian_solves).
template <class Map, class T>
AdjointResult<VectorX<T>> root_jvp_with(const Map& g, const VectorX<T>& theta,
                                        const VectorX<T>& x_star, const VectorX<T>& dtheta,
                                        const AdjointOptions& options,
                                        const InverseOperators<VectorX<T>>* forward) {
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
  const internal::SparseSystemMatrix<T, std::decay_t<decltype(g_of_x)>> sparse(
      g_of_x, internal::adjoint_sparsity<Map>(g_of_x, x_star, options, false), n,
      /*fixed_point=*/false, /*transposed=*/false, "root_jvp");
  // A = dg/dx: the forward factorisation's own solves.
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), rhs,
      internal::for_product_cost(options, kCheapProducts),
      forward && forward->both_ways() ? forward : nullptr, sparse.operator_at(x_star));
  // x' = x - (dg/dx)^{-1} g(x); A(x') v = (dg/dx)(x') v.
  auto products_at = [&](const VectorX<T>& corrected, const VectorX<T>& v) -> VectorX<T> {
    return internal::checked_size(jvp(g_of_x, corrected, v), n, "root_jvp", "(dg/dx) v");
  };
  internal::refuse_if_sensitive(solve, x_star, newton_residual, rhs,
                                internal::product_at(sparse, products_at),
                                options.max_forward_sensitivity, /*a_is_newton_matrix=*/true);
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
                                 static_cast<const InverseOperators<VectorX<T>>*>(nullptr));
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

// dx*/dtheta = -G_x^{-1} G_theta (n x p), column by column through the
// certified chain (internal::jacobian_by_columns: one LU, sparse on the
// sparse path as for root_vjp, else dense up to dense_max_size_automatic,
// and each column checked for its sensitivity to the forward error, so a
// fold is refused); G_theta by columns or rows as in fixed_point_jacobian.
template <class Map, class T>
AdjointResult<MatrixX<T>> root_jacobian(const Map& g, const VectorX<T>& theta,
                                        const internal::NonDeduced<VectorX<T>>& x_star,
                                        const AdjointOptions& options) {
  return internal::solution_jacobian("root_jacobian", internal::SolutionKind::kRoot, g, theta,
                                     x_star, options);
}

// The same with G_theta's mode and the solution tolerance named.
template <class Map, class T>
AdjointResult<MatrixX<T>> root_jacobian(const Map& g, const VectorX<T>& theta,
                                        const internal::NonDeduced<VectorX<T>>& x_star,
                                        DerivativeMode mode = DerivativeMode::kAuto,
                                        double solution_tol = AdjointOptions{}.solution_tol) {
  AdjointOptions options;
  options.derivatives = mode;
  options.solution_tol = solution_tol;
  return root_jacobian(g, theta, x_star, options);
}

}  // namespace implicit
