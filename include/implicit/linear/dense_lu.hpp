#pragma once
// Dense LU solve of A X = B with a singularity check.
//
// Eigen's blocked partial-pivoting LU (docs/peers.md: KINSOL's unblocked LU is
// ~300 ms at n = 1000; Eigen's is ~10x faster). Partial pivoting never
// reports singularity by itself, so the reciprocal condition number is
// estimated (O(n^2) extra) and a system with rcond below `min_rcond` is
// refused: its solution would carry no correct digits.
//
// Cost: n^3 / 3 flops for the factorisation, n^2 per right-hand side.

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <limits>

#include "implicit/linear/result.hpp"

namespace implicit {

template <class T>
double default_min_rcond() {
  return 64 * static_cast<double>(std::numeric_limits<T>::epsilon());
}

template <class T, class Rhs>
LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, Rhs::ColsAtCompileTime>> solve_dense_lu(
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A, const Rhs& b,
    double min_rcond = default_min_rcond<T>()) {
  LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, Rhs::ColsAtCompileTime>> result;
  result.method = "dense_lu";
  if (!A.allFinite()) {
    result.status = Status::kNonFinite;
    result.message = "the matrix has a NaN or Inf entry";
    return result;
  }
  Eigen::PartialPivLU<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> lu(A);
  const double rcond = static_cast<double>(lu.rcond());
  if (!(rcond >= min_rcond)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "matrix is singular to working precision (rcond %.2e < %.2e)",
                  rcond, min_rcond);
    result.status = Status::kLinearSolveFailed;
    result.message = buf;
    return result;
  }
  result.x = lu.solve(b);
  result.residual_norm = static_cast<double>((A * result.x - b).norm());
  result.status = result.x.allFinite() ? Status::kConverged : Status::kNonFinite;
  return result;
}

// Compiled once in implicit::precompiled (src/precompiled/dense_lu.cpp).
#ifdef IMPLICIT_PRECOMPILED
extern template LinearSolveResult<Eigen::VectorXd> solve_dense_lu<double, Eigen::VectorXd>(
    const Eigen::MatrixXd&, const Eigen::VectorXd&, double);
extern template LinearSolveResult<Eigen::VectorXf> solve_dense_lu<float, Eigen::VectorXf>(
    const Eigen::MatrixXf&, const Eigen::VectorXf&, double);
#endif

}  // namespace implicit
