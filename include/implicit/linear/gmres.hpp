#pragma once
// Restarted GMRES(m) for A x = b with A given only as a product v -> A v.
//
// Generic over the vector type through VectorOps, so the dense path and a
// tensor backend share it (Eigen's unsupported GMRES needs an Eigen matrix
// type). Modified Gram-Schmidt Arnoldi, Givens rotations on the (m+1) x m
// Hessenberg matrix, which is kept in double whatever the vector scalar.
//
// Stops when ||A x - b|| <= abs_tol + rel_tol ||b||. The final residual is
// recomputed with one more product (the recurrence's estimate can drift),
// and that recomputed value decides the status.
//
// Cost: one product per iteration plus O(m n) for orthogonalisation.
// Workspace: m + 1 basis vectors.

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/linear/result.hpp"

namespace implicit {

struct GmresOptions {
  int restart = 30;        // Krylov dimension m before a restart
  int max_iter = 1000;     // total products with A
  double abs_tol = 1e-14;  // ||A x - b|| <= abs_tol + rel_tol ||b||
  double rel_tol = 1e-10;

  void validate() const {
    if (restart < 1)
      throw std::invalid_argument("GmresOptions::restart must be >= 1, got " +
                                  std::to_string(restart));
    if (max_iter < 1)
      throw std::invalid_argument("GmresOptions::max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    if (!(abs_tol >= 0) || !(rel_tol >= 0) || abs_tol + rel_tol == 0)
      throw std::invalid_argument("GmresOptions: abs_tol and rel_tol must be >= 0 and not both 0");
  }
};

template <class Vector, class ApplyA>
LinearSolveResult<Vector> gmres(const ApplyA& apply_a, const Vector& b, const Vector& x0,
                                const GmresOptions& options = {}) {
  using Ops = VectorOps<Vector>;
  options.validate();
  LinearSolveResult<Vector> result;
  result.method = "gmres";
  const int m = options.restart;
  const double b_norm = Ops::norm(b);
  const double target = options.abs_tol + options.rel_tol * b_norm;

  Vector x = x0;
  std::vector<Vector> basis(m + 1, Ops::zeros_like(b));
  Vector w = Ops::zeros_like(b);
  Eigen::MatrixXd h = Eigen::MatrixXd::Zero(m + 1, m);
  Eigen::VectorXd cs(m), sn(m), s(m + 1);

  auto true_residual = [&](Vector& r) {
    r = apply_a(x);
    ++result.iterations;
    Ops::lincomb(1.0, b, -1.0, r, r);  // r = b - A x
    return Ops::norm(r);
  };

  double beta = true_residual(basis[0]);
  while (true) {
    if (!std::isfinite(beta)) {
      result.status = Status::kNonFinite;
      result.message = "A x produced NaN or Inf";
      break;
    }
    if (beta <= target) {
      result.status = Status::kConverged;
      break;
    }
    if (result.iterations >= options.max_iter) {
      result.status = Status::kMaxIterations;
      char buf[160];
      std::snprintf(buf, sizeof buf, "residual %.3e above %.3e after %d products", beta, target,
                    result.iterations);
      result.message = buf;
      break;
    }
    Ops::scale(1.0 / beta, basis[0]);
    s.setZero();
    s(0) = beta;
    int j = 0;
    for (; j < m && result.iterations < options.max_iter; ++j) {
      w = apply_a(basis[j]);
      ++result.iterations;
      for (int i = 0; i <= j; ++i) {
        h(i, j) = Ops::dot(w, basis[i]);
        Ops::axpy(-h(i, j), basis[i], w);
      }
      h(j + 1, j) = Ops::norm(w);
      for (int i = 0; i < j; ++i) {  // apply earlier rotations to the new column
        const double t = cs(i) * h(i, j) + sn(i) * h(i + 1, j);
        h(i + 1, j) = -sn(i) * h(i, j) + cs(i) * h(i + 1, j);
        h(i, j) = t;
      }
      const double r = std::hypot(h(j, j), h(j + 1, j));
      cs(j) = r == 0 ? 1 : h(j, j) / r;
      sn(j) = r == 0 ? 0 : h(j + 1, j) / r;
      const double h_next = h(j + 1, j);
      h(j, j) = r;
      h(j + 1, j) = 0;
      s(j + 1) = -sn(j) * s(j);
      s(j) = cs(j) * s(j);
      if (h_next == 0 || std::abs(s(j + 1)) <= target || !std::isfinite(s(j + 1))) {
        ++j;
        break;  // happy breakdown or converged estimate
      }
      Ops::lincomb(1.0 / h_next, w, 0.0, w, basis[j + 1]);
    }
    // x += V_j y with H_j y = s (upper triangular after the rotations). A
    // zero on the diagonal means A is singular on the Krylov space: the
    // least-squares minimiser then lives in the leading block before it.
    const double h_scale = h.topLeftCorner(j, j).cwiseAbs().maxCoeff();
    while (j > 0 && !(std::abs(h(j - 1, j - 1)) > 1e-14 * h_scale)) --j;
    Eigen::VectorXd y = h.topLeftCorner(j, j).triangularView<Eigen::Upper>().solve(s.head(j));
    for (int i = 0; i < j; ++i) Ops::axpy(y(i), basis[i], x);
    const double previous = beta;
    beta = true_residual(basis[0]);
    if (std::isfinite(beta) && beta > target && !(beta < previous) &&
        result.iterations < options.max_iter) {
      result.status = Status::kLinearSolveFailed;
      char buf[160];
      std::snprintf(buf, sizeof buf, "stagnated at residual %.3e (target %.3e): singular system?",
                    beta, target);
      result.message = buf;
      break;
    }
  }
  result.residual_norm = beta;
  result.x = std::move(x);
  return result;
}

}  // namespace implicit
