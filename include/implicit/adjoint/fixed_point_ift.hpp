#pragma once
// Implicit differentiation of a fixed point z* = f(theta, z*).
//
// By the implicit function theorem, with J = df/dz and B = df/dtheta at
// (theta, z*),
//
//     dz*/dtheta = (I - J)^{-1} B.
//
// VJP: solve the adjoint system u = J^T u + zbar, i.e. (I - J)^T u = zbar,
//      then thetabar = B^T u.
// JVP: solve (I - J) dz = B dtheta.
// Only z* is needed: memory does not depend on how many iterations the
// forward solve took. The error in the derivative is of the order of the
// forward residual, so each entry point first checks that z* is a fixed
// point (AdjointOptions::solution_tol) and otherwise refuses it with
// Status::kNotASolution and NaN values.
//
// Derivatives of f come from the map's hand-written members (jvp_z, vjp_z,
// jacobian_z, *_theta; see parametric.hpp) or from AD: forward mode for
// JVPs and square Jacobians, reverse mode (a tape of f recorded once at z*,
// swept once per product) for VJPs when that is cheaper. All
// three functions throw std::invalid_argument on wrong sizes or NaN/Inf in
// their inputs, and report a failed linear solve (I - J singular, or an
// iteration that does not converge) as a status with NaN values.

#include <algorithm>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>

#include "implicit/adjoint/adjoint_options.hpp"
#include "implicit/adjoint/adjoint_products.hpp"
#include "implicit/adjoint/adjoint_solve.hpp"
#include "implicit/adjoint/forward_sensitivity.hpp"
#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/linearization.hpp"
#include "implicit/diff/parametric.hpp"
#include "implicit/fixed_point/result.hpp"

namespace implicit {

namespace internal {

// Checks theta, z and f's size, and returns ||f(theta, z) - z|| (fixed
// points) or ||g(theta, z)|| (roots): the residual of the point. With
// `newton_residual`, also the vector r whose Newton correction J^{-1} r
// the forward-sensitivity check takes (z - f(theta, z), or g(theta, z)),
// so that check costs no second evaluation of the map.
enum class SolutionKind { kFixedPoint, kRoot };
template <class Map, class T>
double check_map_inputs(const char* who, const Map& map, const VectorX<T>& theta,
                        const VectorX<T>& z_star, SolutionKind kind,
                        VectorX<T>* newton_residual = nullptr) {
  require_finite(theta, who, "theta");
  require_finite(z_star, who, "z_star");
  VectorX<T> value = map(theta, z_star);
  if (value.size() != z_star.size())
    throw std::invalid_argument(std::string(who) + ": f(theta, z) has size " +
                                std::to_string(value.size()) + " but z_star has size " +
                                std::to_string(z_star.size()));
  if (kind == SolutionKind::kFixedPoint) value = z_star - value;
  const double residual = static_cast<double>(value.norm());
  if (newton_residual) *newton_residual = std::move(value);
  return residual;
}

// AdjointOptions::require_hand_written: the members a VJP (or JVP) uses.
template <class Map, class T>
void require_hand_written(const char* who, bool reverse, const AdjointOptions& options) {
  if (!options.require_hand_written) return;
  using Members = derivative_members<Map, T>;
  const bool present =
      reverse ? Members::vjp_z && Members::vjp_theta : Members::jvp_z && Members::jvp_theta;
  if (!present)
    throw std::invalid_argument(std::string(who) +
                                ": AdjointOptions::require_hand_written is set, but the map "
                                "lacks " +
                                (reverse ? "vjp_z / vjp_theta" : "jvp_z / jvp_theta") +
                                " (detected members: " + Members::list() + ")");
}

// The refusal of a derivative at a point that is no solution (see
// AdjointOptions::solution_tol): NaN values, kNotASolution, and the numbers.
// Empty when the point passes.
template <class Value, class T>
std::optional<AdjointResult<Value>> refuse_non_solution(const char* who, SolutionKind kind,
                                                        double residual, const VectorX<T>& z,
                                                        double solution_tol, Value nan_value) {
  const double bound = solution_tol * std::max(1.0, static_cast<double>(z.norm()));
  if (residual <= bound) return std::nullopt;
  char buf[240];
  std::snprintf(buf, sizeof buf,
                "%s: the point is no %s (%s = %.3e > solution_tol * max(1, ||z||) = %.3e); "
                "the implicit function theorem does not apply there",
                who, kind == SolutionKind::kFixedPoint ? "fixed point" : "root",
                kind == SolutionKind::kFixedPoint ? "||f(theta, z) - z||" : "||g(theta, x)||",
                residual, bound);
  return refused(std::move(nan_value), Status::kNotASolution, buf, residual);
}

template <class T>
void check_same_size(const char* who, const char* name, const VectorX<T>& v,
                     Eigen::Index expected) {
  if (v.size() != expected)
    throw std::invalid_argument(std::string(who) + ": " + name + " has size " +
                                std::to_string(v.size()) + ", expected " +
                                std::to_string(expected));
  require_finite(v, who, name);
}

// What every VJP / JVP entry point checks before differentiating: its
// inputs and options (throws), the hand-written members it may be required
// to use (throws), and that the point is a solution (returns the refusal).
// `product` is the cotangent (VJP, size n) or the tangent (JVP, size p).
enum class ProductKind { kVjp, kJvp };
template <class Map, class T>
std::optional<AdjointResult<VectorX<T>>> check_ift_call(
    const char* who, SolutionKind kind, ProductKind product_kind, const Map& map,
    const VectorX<T>& theta, const VectorX<T>& z, const char* product_name,
    const VectorX<T>& product, const AdjointOptions& options,
    VectorX<T>* newton_residual = nullptr) {
  const double residual = check_map_inputs(who, map, theta, z, kind, newton_residual);
  const bool vjp = product_kind == ProductKind::kVjp;
  check_same_size(who, product_name, product, vjp ? z.size() : theta.size());
  options.validate();
  require_hand_written<Map, T>(who, vjp, options);
  return refuse_non_solution(who, kind, residual, z, options.solution_tol,
                             nan_vector<T>(vjp ? theta.size() : z.size()));
}

}  // namespace internal

// thetabar = (df/dtheta)^T u with u = (df/dz)^T u + zbar at z*.
//
// Cost, for f without hand-written derivatives (c: one f evaluation):
//   dense LU (kAuto: n <= dense_max_size, or n <= dense_max_size_automatic
//     = 1000 when f has no vjp_z): df/dz by ceil(n / 8) forward passes
//     (~5-130 c each) and n^3 / 3 flops; then one reverse recording and
//     sweep for thetabar when p > 32 (11-1100 c, see autodiff.hpp), else
//     ceil(p / 8) forward passes.
//   GMRES / iterations: one reverse recording of f at z*, then one sweep per
//     product (16-880 c each for a dense layer), the last one giving
//     thetabar; no dense matrix. Memory: one tape of f, flat in the number
//     of forward iterations (only z* is used).
// AdjointOptions::derivatives forces forward or reverse mode.
namespace internal {
// fixed_point_vjp, with the forward solve's estimate of (I - df/dz)^{-T}
// when there is one (nullptr otherwise).
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_vjp_with(const Map& map, const VectorX<T>& theta,
                                               const VectorX<T>& z_star, const VectorX<T>& zbar,
                                               const AdjointOptions& options,
                                               const NonDeduced<LinearOperator<T>>* estimate) {
  VectorX<T> newton_residual;  // z* - f(theta, z*), from the solution check
  if (auto refused = internal::check_ift_call(
          "fixed_point_vjp", internal::SolutionKind::kFixedPoint, internal::ProductKind::kVjp, map,
          theta, z_star, "zbar", zbar, options, &newton_residual))
    return *refused;
  const internal::AdjointProducts<Map, T> products(map, theta, z_star, options.derivatives,
                                                   "fixed_point_vjp");
  const Eigen::Index n = z_star.size();
  auto apply_k = [&](const VectorX<T>& u) -> VectorX<T> {
    return internal::checked_size(products.state(u), n, "fixed_point_vjp", "(df/dz)^T u");
  };
  auto apply_a = [&](const VectorX<T>& u) -> VectorX<T> { return u - apply_k(u); };
  auto dense_a = [&]() -> MatrixX<T> {
    return MatrixX<T>::Identity(n, n) -
           internal::checked_shape(products.state_jacobian(), n, n, "fixed_point_vjp", "df/dz")
               .transpose();
  };
  const auto f_of_z = bind_theta(map, theta);
  const SparsityPattern pattern = internal::adjoint_sparsity<Map>(f_of_z, z_star, options, true);
  const internal::SparseOperator<T> sparse_a = internal::sparse_system_matrix<T>(
      f_of_z, z_star, pattern, /*fixed_point=*/true, /*transposed=*/true, "fixed_point_vjp");
  InverseOperators<T> forward_inverse;  // (I - df/dz)^{-T} only: a preconditioner
  if (estimate && *estimate) forward_inverse.solve = *estimate;
  auto solve = internal::solve_linear_system(apply_a, dense_a, &apply_k, zbar,
                                             products.solve_options(options),
                                             estimate ? &forward_inverse : nullptr, sparse_a);
  if (solve.ok() && solve.inverse.both_ways()) {
    // z' = z + (I - df/dz)^{-1} (f(z) - z); A(z') u = u - (df/dz)(z')^T u,
    // by the sparse A at z' on the sparse path (never n x n).
    auto a_at = [&](const VectorX<T>& corrected, const VectorX<T>& u) -> VectorX<T> {
      if (pattern.size() != 0)
        return internal::sparse_system_matrix<T>(f_of_z, corrected, pattern, true, true,
                                                 "fixed_point_vjp")() *
               u;
      const internal::AdjointProducts<Map, T> there(map, theta, corrected, options.derivatives,
                                                    "fixed_point_vjp");
      return u - internal::checked_size(there.state(u), n, "fixed_point_vjp", "(df/dz)^T u");
    };
    internal::refuse_if_sensitive(solve, z_star, newton_residual, zbar, a_at,
                                  options.max_forward_sensitivity);
  }
  VectorX<T> theta_bar = solve.ok()
                             ? internal::checked_size(products.parameters(solve.x), theta.size(),
                                                      "fixed_point_vjp", "(df/dtheta)^T u")
                             : internal::nan_vector<T>(theta.size());
  return internal::to_adjoint_result(solve, std::move(theta_bar));
}
}  // namespace internal

template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_vjp(const Map& map, const VectorX<T>& theta,
                                          const internal::NonDeduced<VectorX<T>>& z_star,
                                          const internal::NonDeduced<VectorX<T>>& zbar,
                                          const AdjointOptions& options = {}) {
  return internal::fixed_point_vjp_with(map, theta, z_star, zbar, options, nullptr);
}

// The same at the point a forward solve returned, reusing what that solve
// knows about I - df/dz (FixedPointResult::transposed_inverse: Newton's last
// dense LU, Broyden's inverse estimate) as the adjoint's preconditioner
// (AdjointOptions::reuse_forward). The point is checked as above whatever
// the forward status (solution_tol), and the answer certified as always.
// Cost with Newton's LU: 1-3 products of (df/dz)^T u and triangular solves,
// no new Jacobian or factorisation.
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_vjp(const Map& map, const VectorX<T>& theta,
                                          const FixedPointResult<VectorX<T>>& forward,
                                          const internal::NonDeduced<VectorX<T>>& zbar,
                                          const AdjointOptions& options = {}) {
  return internal::fixed_point_vjp_with(
      map, theta, forward.x, zbar, options,
      forward.transposed_inverse ? &forward.transposed_inverse : nullptr);
}

// dz = (I - df/dz)^{-1} (df/dtheta) dtheta at z*.
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_jvp(const Map& map, const VectorX<T>& theta,
                                          const internal::NonDeduced<VectorX<T>>& z_star,
                                          const internal::NonDeduced<VectorX<T>>& dtheta,
                                          const AdjointOptions& options = {}) {
  if (auto refused = internal::check_ift_call(
          "fixed_point_jvp", internal::SolutionKind::kFixedPoint, internal::ProductKind::kJvp, map,
          theta, z_star, "dtheta", dtheta, options))
    return *refused;
  const auto f_of_z = bind_theta(map, theta);
  const internal::LazyJacobian<std::decay_t<decltype(f_of_z)>, T> jac(f_of_z, z_star);
  using Point = internal::PointLinearization<Map, T>;
  const Point point(map, theta, z_star);
  const Eigen::Index n = z_star.size();
  auto parameter_jvp = [&]() -> VectorX<T> {
    if constexpr (Point::kJvpTheta)
      return point.get().jvp_theta(dtheta);
    else
      return jvp(bind_state(map, z_star), theta, dtheta);
  };
  const VectorX<T> rhs =
      internal::checked_size(parameter_jvp(), n, "fixed_point_jvp", "(df/dtheta) dtheta");
  auto apply_k = [&](const VectorX<T>& v) -> VectorX<T> {
    if constexpr (Point::kJvpZ)
      return internal::checked_size(point.get().jvp_z(v), n, "fixed_point_jvp", "(df/dz) v");
    else
      return internal::checked_size(jvp(f_of_z, z_star, v), n, "fixed_point_jvp", "(df/dz) v");
  };
  auto apply_a = [&](const VectorX<T>& v) -> VectorX<T> { return v - apply_k(v); };
  auto dense_a = [&]() -> MatrixX<T> {
    if constexpr (Point::kJacobianZ)
      return MatrixX<T>::Identity(n, n) -
             internal::checked_shape(MatrixX<T>(point.get().jacobian_z()), n, n, "fixed_point_jvp",
                                     "df/dz");
    else
      return MatrixX<T>::Identity(n, n) -
             internal::checked_shape(jac.get(), n, n, "fixed_point_jvp", "df/dz");
  };
  constexpr bool kCheapProducts =
      Point::kJvpZ || internal::has_jvp<std::decay_t<decltype(f_of_z)>, VectorX<T>>::value;
  const internal::SparseOperator<T> sparse_a = internal::sparse_system_matrix<T>(
      f_of_z, z_star, internal::adjoint_sparsity<Map>(f_of_z, z_star, options, true),
      /*fixed_point=*/true, /*transposed=*/false, "fixed_point_jvp");
  auto solve = internal::solve_linear_system(apply_a, dense_a, &apply_k, rhs,
                                             internal::for_product_cost(options, kCheapProducts),
                                             nullptr, sparse_a);
  VectorX<T> dz = solve.ok() ? solve.x : internal::nan_vector<T>(n);
  return internal::to_adjoint_result(solve, std::move(dz));
}

// The full n x p Jacobian dz*/dtheta = (I - J)^{-1} B, by one dense LU with
// p right-hand sides. Cost: J by ceil(n / 8) forward passes; B by columns
// (ceil(p / 8) forward passes) or, when p is far larger than n
// (8 (n + 1) < p / 8, e.g. the weights of a layer), by rows (one reverse
// recording and n sweeps); n^3 / 3 + n^2 p flops. `mode` forces B's mode.
template <class Map, class T>
AdjointResult<MatrixX<T>> fixed_point_jacobian(
    const Map& map, const VectorX<T>& theta, const internal::NonDeduced<VectorX<T>>& z_star,
    DerivativeMode mode = DerivativeMode::kAuto,
    double solution_tol = AdjointOptions{}.solution_tol) {
  const double residual = internal::check_map_inputs("fixed_point_jacobian", map, theta, z_star,
                                                     internal::SolutionKind::kFixedPoint);
  if (auto refused = internal::refuse_non_solution(
          "fixed_point_jacobian", internal::SolutionKind::kFixedPoint, residual, z_star,
          solution_tol, internal::nan_matrix<T>(z_star.size(), theta.size())))
    return *refused;
  const Eigen::Index n = z_star.size();
  const MatrixX<T> a =
      MatrixX<T>::Identity(n, n) -
      internal::checked_shape(internal::square_jacobian(bind_theta(map, theta), z_star), n, n,
                              "fixed_point_jacobian", "df/dz");
  const MatrixX<T> b = internal::checked_shape(jacobian(bind_state(map, z_star), theta, mode), n,
                                               theta.size(), "fixed_point_jacobian", "df/dtheta");
  return internal::dense_derivative(a, b);
}

}  // namespace implicit
