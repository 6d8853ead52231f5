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
#include <memory>
#include <stdexcept>
#include <string>

#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class T>
double default_min_rcond() {
  return 64 * static_cast<double>(std::numeric_limits<T>::epsilon());
}

// The factorisation behind solve_dense_lu, with its verdict, kept for more
// solves: Newton hands its last one to the backward pass
// (FixedPointResult::inverse_estimate). `status` is kConverged when the
// factorisation is usable, kNonFinite or kLinearSolveFailed (with the
// numbers in `message`) when it is not.
template <class T>
struct DenseFactorization {
  Eigen::PartialPivLU<Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>> lu;
  Status status = Status::kConverged;
  std::string message;
  bool ok() const { return status == Status::kConverged; }

  // x = A^{-1} b and x = A^{-T} b (ok() must hold).
  Eigen::Matrix<T, Eigen::Dynamic, 1> solve(const Eigen::Matrix<T, Eigen::Dynamic, 1>& b) const {
    return lu.solve(b);
  }
  Eigen::Matrix<T, Eigen::Dynamic, 1> solve_transposed(
      const Eigen::Matrix<T, Eigen::Dynamic, 1>& b) const {
    return lu.transpose().solve(b);
  }
};

// Factorises A into `out`, reusing its storage (no allocation when A has
// the size of the previous factorisation).
template <class T>
void factor_dense_lu_into(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A,
                          DenseFactorization<T>& out, double min_rcond = default_min_rcond<T>()) {
  out.status = Status::kConverged;
  out.message.clear();
  if (!A.allFinite()) {
    out.status = Status::kNonFinite;
    out.message = "the matrix has a NaN or Inf entry";
    return;
  }
  out.lu.compute(A);
  const double rcond = static_cast<double>(out.lu.rcond());
  if (!(rcond >= min_rcond)) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "matrix is singular to working precision (rcond %.2e < %.2e)",
                  rcond, min_rcond);
    out.status = Status::kLinearSolveFailed;
    out.message = buf;
  }
}

template <class T>
DenseFactorization<T> factor_dense_lu(const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A,
                                      double min_rcond = default_min_rcond<T>()) {
  DenseFactorization<T> out;
  factor_dense_lu_into(A, out, min_rcond);
  return out;
}

// A X = B with the factorisation `f` of A, its residual recomputed; when
// `f` is not usable (singular, non-finite), its status and message and no x.
template <class T, class Rhs>
LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, Rhs::ColsAtCompileTime>> solve_factored(
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A, const DenseFactorization<T>& f,
    const Rhs& b) {
  LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, Rhs::ColsAtCompileTime>> result;
  result.method = "dense_lu";
  if (!f.ok()) {
    result.status = f.status;
    result.message = f.message;
    return result;
  }
  result.x = f.lu.solve(b);
  result.residual_norm = static_cast<double>((A * result.x - b).norm());
  result.status = result.x.allFinite() ? Status::kConverged : Status::kNonFinite;
  return result;
}

template <class T, class Rhs>
LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, Rhs::ColsAtCompileTime>> solve_dense_lu(
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>& A, const Rhs& b,
    double min_rcond = default_min_rcond<T>()) {
  return solve_factored(A, factor_dense_lu<T>(A, min_rcond), b);
}

// The dense LU as a linear-solver value (linear/linear_system.hpp): forms A
// (LinearSystem::dense_a) and factorises it. The target does not matter: a
// direct solve is as accurate as the matrix allows, and the certificate
// judges it. Eigen vectors only; the tensor layer solves its batch of
// dense systems with its own batched LU (src/torch/linear_solve.cpp).
struct DenseLU {
  // Refuse A with an estimated reciprocal condition number below this;
  // 0: 64 machine epsilons of the scalar type (default_min_rcond).
  double min_rcond = 0;

  const char* name() const { return "dense_lu"; }
  void validate(const std::string& owner = "DenseLU") const {
    if (!(min_rcond >= 0 && min_rcond < 1))
      throw std::invalid_argument(owner + "::min_rcond must be in [0, 1), got " +
                                  std::to_string(min_rcond));
  }

  template <class T>
  double rcond_floor() const {
    return min_rcond > 0 ? min_rcond : default_min_rcond<T>();
  }

  // The factorisation is handed out through `kept` (when not null) for more
  // solves with A or A^T (the IFT's forward-sensitivity check).
  template <class T>
  LinearSolveResult<Eigen::Matrix<T, Eigen::Dynamic, 1>> solve(
      const LinearSystem<Eigen::Matrix<T, Eigen::Dynamic, 1>>& system,
      const Eigen::Matrix<T, Eigen::Dynamic, 1>& b, const LinearTarget& = {},
      std::shared_ptr<const DenseFactorization<T>>* kept = nullptr) const {
    if (!system.dense_a)
      throw std::invalid_argument("DenseLU: the linear system has no dense form (dense_a)");
    const Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic> a = system.dense_a();
    auto factorization = std::make_shared<DenseFactorization<T>>(factor_dense_lu<T>(a, rcond_floor<T>()));
    auto result = solve_factored(a, *factorization, b);
    if (kept) *kept = std::move(factorization);
    return result;
  }
};

// Compiled once in implicit::precompiled (src/linear/dense_lu.cpp).
#ifdef IMPLICIT_PRECOMPILED
extern template LinearSolveResult<Eigen::VectorXd> solve_dense_lu<double, Eigen::VectorXd>(
    const Eigen::MatrixXd&, const Eigen::VectorXd&, double);
extern template LinearSolveResult<Eigen::VectorXf> solve_dense_lu<float, Eigen::VectorXf>(
    const Eigen::MatrixXf&, const Eigen::VectorXf&, double);
#endif

}  // namespace implicit
