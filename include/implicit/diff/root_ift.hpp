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

#include "implicit/diff/fixed_point_ift.hpp"

namespace implicit {

template <class Map, class T>
AdjointResult<VectorX<T>> root_vjp(const Map& g, const VectorX<T>& theta, const VectorX<T>& x_star,
                                   const VectorX<T>& xbar, const AdjointOptions& options = {}) {
  internal::check_map_inputs("root_vjp", g, theta, x_star);
  internal::check_same_size("root_vjp", "xbar", xbar, x_star.size());
  const auto g_of_x = bind_theta(g, theta);
  const internal::LazyJacobian<std::decay_t<decltype(g_of_x)>, T> jac(g_of_x, x_star);
  auto apply_a = [&](const VectorX<T>& u) -> VectorX<T> {
    return internal::transpose_product(g_of_x, jac, x_star, u);
  };
  auto dense_a = [&]() -> MatrixX<T> { return jac.get().transpose(); };
  using NoFixedPointForm = decltype(apply_a);
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), xbar, options);
  VectorX<T> theta_bar = solve.ok() ? VectorX<T>(-vjp(bind_state(g, x_star), theta, solve.x))
                                    : internal::nan_vector<T>(theta.size());
  return internal::to_adjoint_result(solve, std::move(theta_bar));
}

template <class Map, class T>
AdjointResult<VectorX<T>> root_jvp(const Map& g, const VectorX<T>& theta, const VectorX<T>& x_star,
                                   const VectorX<T>& dtheta, const AdjointOptions& options = {}) {
  internal::check_map_inputs("root_jvp", g, theta, x_star);
  internal::check_same_size("root_jvp", "dtheta", dtheta, theta.size());
  const auto g_of_x = bind_theta(g, theta);
  const internal::LazyJacobian<std::decay_t<decltype(g_of_x)>, T> jac(g_of_x, x_star);
  const VectorX<T> rhs = -jvp(bind_state(g, x_star), theta, dtheta);
  auto apply_a = [&](const VectorX<T>& v) -> VectorX<T> { return jvp(g_of_x, x_star, v); };
  auto dense_a = [&]() -> MatrixX<T> { return jac.get(); };
  using NoFixedPointForm = decltype(apply_a);
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, static_cast<const NoFixedPointForm*>(nullptr), rhs, options);
  VectorX<T> dx = solve.ok() ? solve.x : internal::nan_vector<T>(x_star.size());
  return internal::to_adjoint_result(solve, std::move(dx));
}

// dx*/dtheta = -G_x^{-1} G_theta (n x p), one dense LU.
template <class Map, class T>
AdjointResult<MatrixX<T>> root_jacobian(const Map& g, const VectorX<T>& theta,
                                        const VectorX<T>& x_star) {
  internal::check_map_inputs("root_jacobian", g, theta, x_star);
  const MatrixX<T> a = jacobian(bind_theta(g, theta), x_star);
  const MatrixX<T> b = -jacobian(bind_state(g, x_star), theta);
  return internal::dense_derivative(a, b);
}

}  // namespace implicit
