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

// The full n x p Jacobian dX = A^{-1} B of a solution, A the Newton matrix
// itself (dg/dx for roots, I - df/dz for fixed points), by the certified
// chain column by column. The first column picks the method (a sparse LU on
// the sparse path, else a dense LU up to dense_max_size, else GMRES); each
// later one is GMRES preconditioned by that factorisation when it kept one
// (one or two products), certified by the same rule, with the chain's
// fallbacks behind it. Then every column's sensitivity to the forward error
// is checked with that factorisation (forward_sensitivity.hpp; `a_at(x', u)`
// returns A(x') u). A refused column refuses the whole matrix (NaN), named.
template <class T, class ApplyA, class DenseA, class ApplyK, class AAt>
AdjointResult<MatrixX<T>> jacobian_by_columns(const char* who, const ApplyA& apply_a,
                                              const DenseA& dense_a, const ApplyK* apply_k,
                                              const MatrixX<T>& b, const AdjointOptions& options,
                                              const SparseOperator<T>& sparse_a,
                                              const VectorX<T>& x,
                                              const VectorX<T>& newton_residual,
                                              const AAt& a_at) {
  const Eigen::Index n = b.rows(), p = b.cols();
  // Columns amortise a factorisation: the dense LU first, up to
  // dense_max_size_automatic (1000) as for a VJP by AD products.
  AdjointOptions first_options = options;
  first_options.dense_max_size = std::max(options.dense_max_size, options.dense_max_size_automatic);
  first_options.dense_first_max_size = first_options.dense_max_size;
  AdjointOptions reuse_options = first_options;
  reuse_options.reuse_forward = true;
  AdjointResult<MatrixX<T>> out;
  out.value = MatrixX<T>::Zero(n, p);
  out.status = Status::kConverged;
  out.method = "none";
  auto refuse = [&](Status status, const std::string& why) {
    out.value = nan_matrix<T>(n, p);
    out.status = status;
    out.message = std::string(who) + ": " + why;
    return out;
  };
  InverseOperators<VectorX<T>> first;  // the first column's factorisation, when it kept one
  for (Eigen::Index j = 0; j < p; ++j) {
    const VectorX<T> column = b.col(j);
    const bool reuse = first.both_ways();
    auto solve = solve_linear_system(apply_a, dense_a, apply_k, column,
                                     reuse ? reuse_options : first_options,
                                     reuse ? &first : nullptr, sparse_a);
    if (!solve.ok())
      return refuse(solve.status, "column " + std::to_string(j) + ": " + solve.method + ": " +
                                      solve.message);
    out.value.col(j) = solve.x;
    out.iterations += solve.iterations;
    out.residual_norm = std::max(out.residual_norm, solve.residual_norm);
    if (j == 0) {
      out.method = solve.method;
      first = solve.inverse;
    }
  }
  if (p == 0 || !first.both_ways() || !std::isfinite(options.max_forward_sensitivity)) return out;
  const VectorX<T> dx = newton_correction(first, newton_residual, /*a_is_newton_matrix=*/true);
  const VectorX<T> corrected = x - dx;
  const double dx_norm = static_cast<double>(dx.norm());
  if (!corrected.allFinite())
    return refuse(Status::kLinearSolveFailed, non_finite_correction_refusal(dx_norm));
  double worst = 0;
  for (Eigen::Index j = 0; j < p; ++j) {
    const VectorX<T> u = out.value.col(j);
    if (!(u.norm() > 0)) continue;
    worst = std::max(worst, answer_sensitivity(first, VectorX<T>(a_at(corrected, u)), u,
                                               VectorX<T>(b.col(j))));
  }
  if (!(worst <= options.max_forward_sensitivity))
    return refuse(Status::kLinearSolveFailed,
                  sensitivity_refusal(dx_norm, static_cast<double>(x.norm()), worst,
                                      options.max_forward_sensitivity));
  return out;
}

// fixed_point_jacobian and root_jacobian: dz*/dtheta = (I - J)^{-1} B for a
// fixed point (J = df/dz, B = df/dtheta), dx*/dtheta = -J^{-1} B for a root
// (J = dg/dx, B = dg/dtheta), by jacobian_by_columns. J v by forward mode
// (or by the dense J once a dense LU formed it), J sparse on the sparse path
// (the pattern as adjoint_sparsity gives it).
template <class Map, class T>
AdjointResult<MatrixX<T>> solution_jacobian(const char* who, SolutionKind kind, const Map& map,
                                            const VectorX<T>& theta, const VectorX<T>& x,
                                            const AdjointOptions& options) {
  VectorX<T> newton_residual;
  const double residual = check_map_inputs(who, map, theta, x, kind, &newton_residual);
  options.validate();
  if (auto refused = refuse_non_solution(who, kind, residual, x, options.solution_tol,
                                         nan_matrix<T>(x.size(), theta.size())))
    return *refused;
  const bool fixed_point = kind == SolutionKind::kFixedPoint;
  const Eigen::Index n = x.size();
  const auto of_state = bind_theta(map, theta);
  using StateMap = std::decay_t<decltype(of_state)>;
  const LazyJacobian<StateMap, T> jac(of_state, x);
  // J(at) v: by the dense J at x once it is formed; else by a JVP where the
  // map has them (templated, or jvp_z); else (a map with a hand-written
  // jacobian_z only) by the dense J at `at`, formed once: `at` is x or the
  // one corrected point of the check.
  std::optional<MatrixX<T>> jacobian_at_corrected;
  auto j_product = [&](const VectorX<T>& at, const VectorX<T>& v) -> VectorX<T> {
    if (&at == &x && jac.formed()) return jac.get() * v;
    if constexpr (has_jvp<StateMap, VectorX<T>>::value || returns_scalar<Map, Dual<T, 1>>::value) {
      return checked_size(jvp(of_state, at, v), n, who, "the state derivative times v");
    } else {
      if (&at == &x) return jac.get() * v;
      if (!jacobian_at_corrected)
        jacobian_at_corrected =
            checked_shape(square_jacobian(of_state, at), n, n, who, "the state derivative");
      return *jacobian_at_corrected * v;
    }
  };
  // A(at) v: (I - J) v for fixed points, J v for roots.
  auto a_at = [&](const VectorX<T>& at, const VectorX<T>& v) -> VectorX<T> {
    return fixed_point ? VectorX<T>(v - j_product(at, v)) : j_product(at, v);
  };
  const LinearOperator<T> apply_k = [&](const VectorX<T>& v) { return j_product(x, v); };
  auto apply_a = [&](const VectorX<T>& v) { return a_at(x, v); };
  auto dense_a = [&]() -> MatrixX<T> {
    return fixed_point ? MatrixX<T>(MatrixX<T>::Identity(n, n) - jac.get()) : jac.get();
  };
  const MatrixX<T> b =
      (fixed_point ? 1 : -1) * checked_shape(jacobian(bind_state(map, x), theta, options.derivatives),
                                             n, theta.size(), who, "the parameter derivative");
  const LinearOperator<T>* k = fixed_point ? &apply_k : nullptr;
  if constexpr (returns_scalar<Map, Dual<T, kJacobianChunk>>::value) {
    const SparseSystemMatrix<T, StateMap> sparse(
        of_state, adjoint_sparsity<Map>(of_state, x, options, fixed_point), n, fixed_point,
        /*transposed=*/false, who);
    return jacobian_by_columns(who, apply_a, dense_a, k, b, options, sparse.operator_at(x), x,
                               newton_residual, product_at(sparse, a_at));
  } else {
    // A map with hand-written derivatives only: the sparse Jacobian is by
    // forward-mode AD, so there is no sparse path.
    if (options.sparsity.size() > 0)
      throw std::invalid_argument(std::string(who) +
                                  ": AdjointOptions::sparsity needs f templated on the scalar (the "
                                  "sparse Jacobian is by forward-mode AD)");
    return jacobian_by_columns(who, apply_a, dense_a, k, b, options, SparseOperator<T>{}, x,
                               newton_residual, a_at);
  }
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
// fixed_point_vjp, with the forward solve's solves with an estimate of
// I - df/dz when there are some (nullptr otherwise).
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_vjp_with(const Map& map, const VectorX<T>& theta,
                                               const VectorX<T>& z_star, const VectorX<T>& zbar,
                                               const AdjointOptions& options,
                                               const InverseOperators<VectorX<T>>* estimate) {
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
  using StateMap = std::decay_t<decltype(f_of_z)>;
  const internal::SparseSystemMatrix<T, StateMap> sparse(
      f_of_z, internal::adjoint_sparsity<Map>(f_of_z, z_star, options, true), n,
      /*fixed_point=*/true, /*transposed=*/true, "fixed_point_vjp");
  // A = (I - df/dz)^T: A^{-1} is the estimate's transposed solve. Checking
  // an answer through it needs products with A^T = I - df/dz too: JVPs,
  // where f has them.
  const InverseOperators<VectorX<T>> forward_inverse =
      estimate ? estimate->transposed() : InverseOperators<VectorX<T>>{};
  using Point = internal::PointLinearization<Map, T>;
  const Point point(map, theta, z_star);  // made on first use only
  LinearOperator<T> apply_a_transposed;
  if constexpr (Point::kJvpZ)
    apply_a_transposed = [&](const VectorX<T>& v) -> VectorX<T> {
      return v - internal::checked_size(point.get().jvp_z(v), n, "fixed_point_vjp", "(df/dz) v");
    };
  else if constexpr (internal::has_jvp<StateMap, VectorX<T>>::value ||
                     internal::returns_scalar<Map, Dual<T, 1>>::value)
    apply_a_transposed = [&](const VectorX<T>& v) -> VectorX<T> {
      return v - internal::checked_size(jvp(f_of_z, z_star, v), n, "fixed_point_vjp", "(df/dz) v");
    };
  auto solve = internal::solve_linear_system(
      apply_a, dense_a, &apply_k, zbar, products.solve_options(options),
      forward_inverse.solve ? &forward_inverse : nullptr, sparse.operator_at(z_star),
      apply_a_transposed);
  // z' = z + (I - df/dz)^{-1} (f(z) - z); A(z') u = u - (df/dz)(z')^T u.
  auto products_at = [&](const VectorX<T>& corrected, const VectorX<T>& u) -> VectorX<T> {
    // The map's own members, or forward mode (the dense Jacobian at x',
    // up to dense_max_size_automatic): a second reverse tape beside the
    // solve's is not allowed.
    const internal::AdjointProducts<Map, T> there(map, theta, corrected, DerivativeMode::kForward,
                                                  "fixed_point_vjp");
    return u - internal::checked_size(there.state(u), n, "fixed_point_vjp", "(df/dz)^T u");
  };
  if (sparse.empty() && !internal::AdjointProducts<Map, T>::kHandWrittenState &&
      n > options.dense_max_size_automatic)
    internal::note_unchecked(solve, options.dense_max_size_automatic);
  else
    internal::refuse_if_sensitive(solve, z_star, newton_residual, zbar,
                                  internal::product_at(sparse, products_at),
                                  options.max_forward_sensitivity);
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
  return internal::fixed_point_vjp_with(
      map, theta, z_star, zbar, options,
      static_cast<const InverseOperators<VectorX<T>>*>(nullptr));
}

// The same at the point a forward solve returned, reusing what that solve
// knows about I - df/dz (FixedPointResult::inverse_estimate: Newton's last
// dense LU, Broyden's inverse estimate) as the adjoint's preconditioner
// (AdjointOptions::reuse_forward). The point is checked as above whatever
// the forward status (solution_tol), and the answer certified as always,
// and checked for its sensitivity to the forward error with the estimate's
// solves refined against A (when f has JVPs). Cost with Newton's LU: 1-3
// products of (df/dz)^T u and triangular solves, then the check's few
// products; no new Jacobian or factorisation.
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_vjp(const Map& map, const VectorX<T>& theta,
                                          const FixedPointResult<VectorX<T>>& forward,
                                          const internal::NonDeduced<VectorX<T>>& zbar,
                                          const AdjointOptions& options = {}) {
  return internal::fixed_point_vjp_with(
      map, theta, forward.x, zbar, options,
      forward.inverse_estimate.solve_transposed ? &forward.inverse_estimate : nullptr);
}

// dz = (I - df/dz)^{-1} (df/dtheta) dtheta at z*.
template <class Map, class T>
AdjointResult<VectorX<T>> fixed_point_jvp(const Map& map, const VectorX<T>& theta,
                                          const internal::NonDeduced<VectorX<T>>& z_star,
                                          const internal::NonDeduced<VectorX<T>>& dtheta,
                                          const AdjointOptions& options = {}) {
  VectorX<T> newton_residual;  // z* - f(theta, z*), from the solution check
  if (auto refused = internal::check_ift_call(
          "fixed_point_jvp", internal::SolutionKind::kFixedPoint, internal::ProductKind::kJvp, map,
          theta, z_star, "dtheta", dtheta, options, &newton_residual))
    return *refused;
  const auto f_of_z = bind_theta(map, theta);
  using StateMap = std::decay_t<decltype(f_of_z)>;
  const internal::LazyJacobian<StateMap, T> jac(f_of_z, z_star);
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
      Point::kJvpZ || internal::has_jvp<StateMap, VectorX<T>>::value;
  const internal::SparseSystemMatrix<T, StateMap> sparse(
      f_of_z, internal::adjoint_sparsity<Map>(f_of_z, z_star, options, true), n,
      /*fixed_point=*/true, /*transposed=*/false, "fixed_point_jvp");
  auto solve = internal::solve_linear_system(apply_a, dense_a, &apply_k, rhs,
                                             internal::for_product_cost(options, kCheapProducts),
                                             nullptr, sparse.operator_at(z_star));
  // z' = z + (I - df/dz)^{-1} (f(z) - z); A(z') v = v - (df/dz)(z') v.
  auto products_at = [&](const VectorX<T>& corrected, const VectorX<T>& v) -> VectorX<T> {
    if constexpr (Point::kJvpZ) {
      const Point there(map, theta, corrected);
      return v - internal::checked_size(there.get().jvp_z(v), n, "fixed_point_jvp", "(df/dz) v");
    } else {
      return v - internal::checked_size(jvp(f_of_z, corrected, v), n, "fixed_point_jvp",
                                        "(df/dz) v");
    }
  };
  internal::refuse_if_sensitive(solve, z_star, newton_residual, rhs,
                                internal::product_at(sparse, products_at),
                                options.max_forward_sensitivity, /*a_is_newton_matrix=*/true);
  VectorX<T> dz = solve.ok() ? solve.x : internal::nan_vector<T>(n);
  return internal::to_adjoint_result(solve, std::move(dz));
}

// The full n x p Jacobian dz*/dtheta = (I - J)^{-1} B, column by column
// through the certified chain (internal::jacobian_by_columns: one LU, dense
// up to dense_max_size_automatic or sparse with AdjointOptions::sparsity,
// and each column checked for its sensitivity to the forward error). Cost:
// J by ceil(n / 8) forward passes (by colours on the sparse path); B by
// columns (ceil(p / 8) forward passes) or, when p is far larger than n
// (8 (n + 1) < p / 8, e.g. the weights of a layer), by rows (one reverse
// recording and n sweeps); per column two triangular solves and a few
// products. AdjointOptions::derivatives forces B's mode.
template <class Map, class T>
AdjointResult<MatrixX<T>> fixed_point_jacobian(const Map& map, const VectorX<T>& theta,
                                               const internal::NonDeduced<VectorX<T>>& z_star,
                                               const AdjointOptions& options) {
  return internal::solution_jacobian("fixed_point_jacobian", internal::SolutionKind::kFixedPoint,
                                     map, theta, z_star, options);
}

// The same with B's mode and the solution tolerance named.
template <class Map, class T>
AdjointResult<MatrixX<T>> fixed_point_jacobian(
    const Map& map, const VectorX<T>& theta, const internal::NonDeduced<VectorX<T>>& z_star,
    DerivativeMode mode = DerivativeMode::kAuto,
    double solution_tol = AdjointOptions{}.solution_tol) {
  AdjointOptions options;
  options.derivatives = mode;
  options.solution_tol = solution_tol;
  return fixed_point_jacobian(map, theta, z_star, options);
}

}  // namespace implicit
