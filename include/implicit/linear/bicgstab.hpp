#pragma once
// BiCGStab (van der Vorst, SIAM J. Sci. Stat. Comput. 13(2), 1992) for
// A x = b with A given only as a product, on any backend (VectorOps), one
// batch of independent systems at a time like gmres().
//
// Why beside GMRES: its memory is five vectors whatever the iteration count
// (GMRES(m) keeps m + 1 and loses its Krylov space at each restart), and its
// work per product is O(n) instead of O(m n), so on a large, nonsymmetric,
// not too ill-conditioned adjoint it is the cheaper Krylov method. It can
// break down ((r_hat, v) = 0 or omega = 0); a sample that does stops with
// kLinearSolveFailed and the chain's next attempt takes it.
//
// Stops per sample when the recurrence's ||r|| <= abs_tol + rel_tol ||b||;
// the residual is then recomputed with one more product, and that value
// decides each sample's status (or restarts it from the true residual).
// Cost: two products per iteration.

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/internal/per_sample.hpp"
#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"

namespace implicit {

struct BiCGStabOptions {
  int max_iter = 1000;     // total products with A
  double abs_tol = 1e-14;  // ||A x - b|| <= abs_tol + rel_tol ||b||
  double rel_tol = 1e-10;

  void validate(const std::string& owner = "BiCGStabOptions") const {
    if (max_iter < 1)
      throw std::invalid_argument(owner + "::max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    if (!(abs_tol >= 0) || !(rel_tol >= 0) || abs_tol + rel_tol == 0)
      throw std::invalid_argument(owner + ": abs_tol and rel_tol must be >= 0 and not both 0");
  }
};

template <class Vector, class ApplyA>
LinearSolveResult<Vector> bicgstab(const ApplyA& apply_a, const Vector& b, const Vector& x0,
                                   const BiCGStabOptions& options = {}) {
  using Ops = VectorOps<Vector>;
  using Scalars = typename Ops::Scalars;
  using internal::sample;
  options.validate();
  LinearSolveResult<Vector> result;
  result.method = "bicgstab";
  const Scalars b_norm = Ops::norm(b);
  const Scalars target = options.abs_tol + options.rel_tol * b_norm;
  const Eigen::Index batch = internal::sample_count(b_norm);
  const Scalars zero = internal::filled_like(b_norm, 0.0);

  Vector x = x0;
  Vector r;
  Ops::lincomb(1.0, b, -1.0, apply_a(x), r);
  ++result.iterations;
  Vector r_hat = r;  // the shadow residual
  Vector p = Ops::zeros_like(b), v = Ops::zeros_like(b), s, t;
  Scalars rho = internal::filled_like(b_norm, 1.0), alpha = rho, omega = rho;

  // Per sample: kMaxIterations while it runs, then its own outcome. A
  // stopped sample's coefficients are 0, so its x no longer changes.
  std::vector<Status> status(batch, Status::kMaxIterations);
  std::vector<char> running(batch, 1);
  auto stop = [&](Eigen::Index k, Status st) {
    status[k] = st;
    running[k] = 0;
  };
  auto settle = [&](const Scalars& norms) {
    for (Eigen::Index k = 0; k < batch; ++k) {
      if (!running[k]) continue;
      if (!std::isfinite(sample(norms, k)))
        stop(k, Status::kNonFinite);
      else if (sample(norms, k) <= sample(target, k))
        stop(k, Status::kConverged);
    }
  };
  // num / den per running sample; a zero or non-finite den is a breakdown.
  auto ratio = [&](const Scalars& num, const Scalars& den) {
    Scalars out = zero;
    for (Eigen::Index k = 0; k < batch; ++k) {
      if (!running[k]) continue;
      const double d = sample(den, k);
      if (d == 0 || !std::isfinite(d) || !std::isfinite(sample(num, k)))
        stop(k, Status::kLinearSolveFailed);
      else
        sample(out, k) = sample(num, k) / d;
    }
    return out;
  };
  auto any_running = [&] {
    for (char c : running)
      if (c) return true;
    return false;
  };

  settle(Scalars(Ops::norm(r)));
  // The recurrence's residual drifts from the true one (by ~eps ||A|| ||x||
  // per step: on an ill-conditioned system it can claim 1e-10 where the
  // truth is 1e-8). A sample the recurrence calls converged is checked on
  // the recomputed residual; if that is above its target, the iteration
  // restarts from the true residual (residual replacement, with a new
  // shadow vector), as long as each restart gains at least 2x.
  Vector true_r;
  Scalars true_norm = internal::filled_like(b_norm, 0.0);
  Scalars at_restart = internal::filled_like(b_norm, INFINITY);
  while (true) {
    while (any_running() && result.iterations < options.max_iter) {
      const Scalars rho_next = Ops::dot(r_hat, r);
      const Scalars beta = ratio(rho_next, rho) * ratio(alpha, omega);
      // p = r + beta (p - omega v)
      Ops::axpy(Scalars(-omega), v, p);
      Ops::lincomb(1.0, r, beta, p, p);
      v = apply_a(p);
      ++result.iterations;
      alpha = ratio(rho_next, Scalars(Ops::dot(r_hat, v)));
      Ops::lincomb(1.0, r, Scalars(-alpha), v, s);  // s = r - alpha v
      Ops::axpy(alpha, p, x);
      settle(Scalars(Ops::norm(s)));  // converged on the half step: x += alpha p only
      if (!any_running()) break;
      t = apply_a(s);
      ++result.iterations;
      omega = ratio(Scalars(Ops::dot(t, s)), Scalars(Ops::dot(t, t)));
      for (Eigen::Index k = 0; k < batch; ++k)
        if (running[k] && sample(omega, k) == 0) stop(k, Status::kLinearSolveFailed);
      Ops::axpy(omega, s, x);
      Ops::lincomb(1.0, s, Scalars(-omega), t, r);  // r = s - omega t
      rho = rho_next;
      settle(Scalars(Ops::norm(r)));
    }
    Ops::lincomb(1.0, b, -1.0, apply_a(x), true_r);
    ++result.iterations;
    true_norm = Ops::norm(true_r);
    bool restart = false;
    for (Eigen::Index k = 0; k < batch; ++k) {
      const double rk = sample(true_norm, k);
      if (!std::isfinite(rk)) {
        status[k] = Status::kNonFinite;
      } else if (rk <= sample(target, k)) {
        status[k] = Status::kConverged;
      } else if (status[k] == Status::kConverged) {
        // Claimed by the recurrence only: go on from the true residual if
        // the last restart paid, else the recurrence has nothing left.
        if (rk < 0.5 * sample(at_restart, k) && result.iterations < options.max_iter) {
          status[k] = Status::kMaxIterations;
          running[k] = 1;
          sample(at_restart, k) = rk;
          restart = true;
        } else {
          status[k] = Status::kLinearSolveFailed;
        }
      }
    }
    if (!restart) break;
    r = true_r;
    r_hat = r;
    rho = internal::filled_like(b_norm, 1.0);
    alpha = rho;
    omega = rho;
    p = Ops::zeros_like(b);
    v = Ops::zeros_like(b);
  }
  auto outcome = internal::krylov_outcome(status, internal::max_of(true_norm),
                                          internal::max_of(target), result.iterations,
                                          "broke down", "");
  result.status = outcome.status;
  result.message = std::move(outcome.message);
  if constexpr (!std::is_same_v<Scalars, double>) {
    result.sample_status = status;
    result.sample_residual.resize(batch);
    for (Eigen::Index k = 0; k < batch; ++k) result.sample_residual[k] = sample(true_norm, k);
  }
  result.residual_norm = internal::max_of(true_norm);
  result.x = std::move(x);
  return result;
}

// BiCGStab as a linear-solver value (linear/linear_system.hpp).
struct BiCGStab {
  const char* name() const { return "bicgstab"; }
  void validate(const std::string& = "BiCGStab") const {}
  template <class Vector>
  LinearSolveResult<Vector> solve(const LinearSystem<Vector>& system, const Vector& b,
                                  const LinearTarget& target) const {
    BiCGStabOptions o;
    o.max_iter = target.max_products;
    o.abs_tol = target.abs_tol;
    o.rel_tol = target.rel_tol;
    return bicgstab(system.apply_a, b, VectorOps<Vector>::zeros_like(b), o);
  }
};

}  // namespace implicit
