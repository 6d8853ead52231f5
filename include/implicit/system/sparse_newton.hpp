#pragma once
// The sparse Newton system of both Newtons: system/newton.hpp on g (A = J)
// and fixed_point/newton.hpp on f(z) - z (A = I - J), J = the map's
// Jacobian in its state with a known pattern. J comes by colouring (ColPack,
// once per solve) and one forward-mode pass per colour group
// (diff/sparse_jacobian.hpp), never n x n; A is factorised by a sparse LU
// (linear/sparse_lu.hpp: UMFPACK, KLU or Eigen's by SparseLU::backend)
// whose symbolic analysis is done once per solve. The last factorisation is
// handed on to the derivatives (SystemResult::jacobian_solves,
// FixedPointResult::inverse_estimate).

#include <memory>
#include <stdexcept>
#include <string>

#include "implicit/diff/sparse_jacobian.hpp"
#include "implicit/linear/inverse_operators.hpp"
#include "implicit/linear/sparse_lu.hpp"
#include "implicit/step_report.hpp"

namespace implicit::internal {

template <class T>
class SparseNewtonSystem {
 public:
  // Evaluates J at x with `pattern` (the same at every call of one solve)
  // and factorises A = J, or I - J with `identity_minus`. False, with
  // report.status and report.message ("<what>: why"), when the LU fails.
  // Throws std::invalid_argument on a pattern of the wrong shape, or in a
  // build without the colouring.
  template <class Map>
  bool factor(const Map& map, const VectorX<T>& x, const SparsityPattern& pattern,
              const SparseLU& solver, bool identity_minus, const std::string& what,
              StepReport& report) {
    const Eigen::Index n = x.size();
    if (pattern.rows() != n || pattern.cols() != n)
      throw std::invalid_argument(what + ": the sparsity pattern is " +
                                  std::to_string(pattern.rows()) + " x " +
                                  std::to_string(pattern.cols()) + ", expected " +
                                  std::to_string(n) + " x " + std::to_string(n));
#ifdef IMPLICIT_SPARSE
    if (!jacobian_) {
      jacobian_ = std::make_shared<SparseJacobian<T>>(pattern);
      lu_ = solver.factorization<T>();
    }
    const Eigen::SparseMatrix<T>& j = jacobian_->evaluate(map, x);
    ++report.jacobian_evaluations;
    if (identity_minus) {
      Eigen::SparseMatrix<T> identity(n, n);
      identity.setIdentity();
      a_ = identity - j;
    }
    lu_->factor(matrix(identity_minus));
    if (!lu_->ok()) {
      report.status = lu_->status;
      report.message = what + ": " + lu_->message;
      return false;
    }
    return true;
#else
    (void)map, (void)solver, (void)identity_minus, (void)report;
    throw std::invalid_argument(what +
                                ": a sparsity pattern needs the colouring of implicit::precompiled "
                                "built with ColPack (libcolpack-dev; IMPLICIT_SPARSE undefined)");
#endif
  }

  // The last factorised A (factor() returned true).
  const Eigen::SparseMatrix<T>& matrix(bool identity_minus) const {
    return identity_minus ? a_ : jacobian_->matrix();
  }

  // A^{-1} b with the last factorisation, or false (report filled) when it
  // is not finite.
  bool solve(const VectorX<T>& b, VectorX<T>& x, const std::string& what,
             StepReport& report) const {
    x = lu_->solve(b);
    if (x.allFinite()) return true;
    report.status = Status::kLinearSolveFailed;
    report.message = what + ": the sparse LU gave NaN or Inf";
    return false;
  }

  // Solves with the last A either way, the factors kept alive with them;
  // empty before a successful factorisation.
  InverseOperators<VectorX<T>> last_solves() const {
    if (!lu_ || !lu_->ok()) return {};
    return inverse_operators<VectorX<T>>(std::shared_ptr<const SparseFactorization<T>>(lu_));
  }

 private:
  std::shared_ptr<SparseJacobian<T>> jacobian_;
  std::shared_ptr<SparseFactorization<T>> lu_;
  Eigen::SparseMatrix<T> a_;  // I - J (identity_minus)
};

}  // namespace implicit::internal
