#pragma once
// The stationary iterations on u = K u + b as linear-solver values
// (linear/linear_system.hpp): a fixed-point system A = I - K (the adjoint of
// a fixed point, u = (df/dz)^T u + zbar) solved by the fixed-point driver
// itself, with plain iteration or Anderson. They converge when K is a
// contraction at z* (which the forward iteration needed anyway) and cost one
// product per step, with no Krylov basis; a system without a fixed-point
// form (a root's dg/dx) is refused.
//
// They live here, not in linear/, because they run this folder's driver.
// Eigen vectors only: the tensor layer runs the same iterations in its
// batched loop (src/torch/batched_solve.hpp).

#include <stdexcept>
#include <string>

#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"
#include "implicit/types.hpp"

namespace implicit {

namespace internal {
// u <- K u + b (one solver step per product) from u = 0 to the chain's
// target, as a LinearSolveResult.
template <class T, class Solver>
LinearSolveResult<VectorX<T>> solve_stationary(const LinearSystem<VectorX<T>>& system,
                                               const VectorX<T>& b, const LinearTarget& target,
                                               const Solver& solver, const char* name,
                                               int progress_window, double progress_factor) {
  if (!system.has_fixed_point_form())
    throw std::invalid_argument(std::string(name) +
                                " needs a fixed-point system u = K u + b; use dense_lu, gmres "
                                "or bicgstab for roots");
  auto map = [&](const VectorX<T>& u) -> VectorX<T> { return system.apply_k(u) + b; };
  FixedPointOptions fp;
  fp.max_iter = target.max_products;
  fp.abs_tol = target.abs_tol + target.rel_tol * static_cast<double>(b.norm());
  fp.rel_tol = 0;
  fp.progress_window = progress_window;
  fp.progress_factor = progress_factor;
  fp.record_history = false;
  auto fixed = solve_fixed_point(map, VectorX<T>(VectorX<T>::Zero(b.size())), solver, fp);
  LinearSolveResult<VectorX<T>> out;
  out.x = std::move(fixed.x);
  out.status = fixed.status;
  out.iterations = fixed.function_evaluations;
  out.message = std::move(fixed.message);
  out.method = name;
  return out;
}
}  // namespace internal

// u <- K u + b. The stall rule (FixedPointOptions::progress_window /
// progress_factor) hands a slowly contracting system to the next solver of
// the chain: the tensor layer's default probe is {10, 0.2}, i.e. go on
// while every 10 products cut the residual 5x.
struct FixedPointIteration {
  int progress_window = 100;
  double progress_factor = 0.9;

  const char* name() const { return "fixed_point_iteration"; }
  void validate(const std::string& owner = "FixedPointIteration") const {
    internal::validate_progress_rule(owner.c_str(), progress_window, progress_factor);
  }
  template <class T>
  LinearSolveResult<VectorX<T>> solve(const LinearSystem<VectorX<T>>& system, const VectorX<T>& b,
                                      const LinearTarget& target) const {
    return internal::solve_stationary(system, b, target, ForwardIteration(), name(),
                                      progress_window, progress_factor);
  }
};

// The same iteration, Anderson-accelerated.
struct AndersonIteration {
  AndersonOptions anderson;

  const char* name() const { return "anderson"; }
  void validate(const std::string& owner = "AndersonIteration") const {
    anderson.validate(owner + "::anderson");
  }
  template <class T>
  LinearSolveResult<VectorX<T>> solve(const LinearSystem<VectorX<T>>& system, const VectorX<T>& b,
                                      const LinearTarget& target) const {
    const FixedPointOptions defaults;
    return internal::solve_stationary(system, b, target, Anderson(anderson), name(),
                                      defaults.progress_window, defaults.progress_factor);
  }
};

}  // namespace implicit
