#pragma once
// The linear solve behind every implicit derivative: A u = b, with A known
// as a product, as a dense matrix on demand, and (for fixed points, where
// A = I - K) as the map u -> K u + b whose fixed point is u. Dispatches on
// AdjointOptions::method, certifies the answer by recomputing ||A u - b||,
// and walks the fallback chain on failure.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/adjoint/adjoint_options.hpp"
#include "implicit/diff/autodiff.hpp"
#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/internal/certificate.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"

namespace implicit::internal {

// The square Jacobian of a map R^n -> R^n (fixed points, roots), computed
// at most once, on first use, with its shape checked.
template <class F, class T>
class LazyJacobian {
 public:
  LazyJacobian(const F& f, const VectorX<T>& x) : f_(f), x_(x) {}
  const MatrixX<T>& get() const {
    if (!value_)
      value_ = checked_shape(implicit::internal::square_jacobian(f_, x_), x_.size(), x_.size(),
                             "implicit differentiation", "the Jacobian of f in z");
    return *value_;
  }
  bool formed() const { return value_.has_value(); }

 private:
  const F& f_;
  const VectorX<T>& x_;
  mutable std::optional<MatrixX<T>> value_;
};

template <class T>
VectorX<T> nan_vector(Eigen::Index n) {
  return VectorX<T>::Constant(n, std::numeric_limits<T>::quiet_NaN());
}
template <class T>
MatrixX<T> nan_matrix(Eigen::Index rows, Eigen::Index cols) {
  return MatrixX<T>::Constant(rows, cols, std::numeric_limits<T>::quiet_NaN());
}

// The operators the solve sees, type-erased: the chain below (GMRES,
// Anderson and plain iteration on u -> K u + b, dense LU, the certificate)
// is then one function per scalar type, compiled once per translation unit
// whatever the number of user maps, and once per program when
// IMPLICIT_PRECOMPILED declares it extern (the implicit::precompiled
// target, src/adjoint/adjoint_solve.cpp). One indirect call per product
// costs nanoseconds against a product that evaluates f.
template <class T>
using LinearOperator = std::function<VectorX<T>(const VectorX<T>&)>;
template <class T>
using DenseOperator = std::function<MatrixX<T>()>;

// kAuto's limits by the cost of one product (AdjointOptions::
// dense_first_max_size): with products by AD, the dense LU goes first up to
// dense_max_size, as it is then the cheaper method.
inline AdjointOptions for_product_cost(AdjointOptions options, bool cheap_products) {
  if (!cheap_products)
    options.dense_first_max_size = std::max(options.dense_first_max_size, options.dense_max_size);
  return options;
}

// What the chain returns: the accepted attempt, and when that attempt was a
// dense LU its factorisation of A, for more solves with A or A^T at O(n^2)
// each (the forward-sensitivity check of the IFT entry points).
template <class T>
struct ChainSolveResult : LinearSolveResult<VectorX<T>> {
  std::shared_ptr<const DenseFactorization<T>> factorization;
};

// Solves A u = b. `apply_k` may be nullptr (then A has no fixed-point form
// and the iteration methods are refused); otherwise A = I - K.
//
// `estimate` may be nullptr; otherwise it approximates A^{-1} (the forward
// solve's, FixedPointResult::transposed_inverse) and, with
// AdjointOptions::reuse_forward, the first attempt is GMRES on A M y = b
// with u = M y (right preconditioning: the residual GMRES minimises is the
// true ||A u - b||), certified like the others.
template <class T>
ChainSolveResult<T> solve_linear_system_erased(const LinearOperator<T>& apply_a,
                                               const DenseOperator<T>& dense_a,
                                               const LinearOperator<T>* apply_k,
                                               const VectorX<T>& b, const AdjointOptions& options,
                                               const LinearOperator<T>* estimate) {
  options.validate();
  const Eigen::Index n = b.size();
  const double b_norm = static_cast<double>(b.norm());
  const double target = options.abs_tol + options.rel_tol * b_norm;

  AdjointMethod first = options.method;
  if (first == AdjointMethod::kAuto)
    first = n <= std::min(options.dense_first_max_size, options.dense_max_size)
                ? AdjointMethod::kDenseLU
                : AdjointMethod::kGmres;
  if (!apply_k &&
      (first == AdjointMethod::kFixedPointIteration || first == AdjointMethod::kAnderson))
    throw std::invalid_argument(
        std::string("AdjointOptions::method = ") + to_string(first) +
        " needs a fixed-point system u = K u + b; use dense_lu or gmres for roots");
  std::vector<AdjointMethod> attempts{first};
  if (options.fallback) {
    if (first != AdjointMethod::kGmres) attempts.push_back(AdjointMethod::kGmres);
    if (first != AdjointMethod::kDenseLU && n <= options.dense_max_size)
      attempts.push_back(AdjointMethod::kDenseLU);
  }

  ChainSolveResult<T> result;
  std::optional<double> a_norm_probe;  // ||A b|| / ||b||, computed once on first need
  std::string history;
  int total_iterations = 0;
  // Certify: whatever the method claims, recompute the residual, and
  // refuse a solution of an ill-conditioned system (AdjointOptions::
  // max_condition): its gradient would be huge and carry no digits.
  auto certify = [&](LinearSolveResult<VectorX<T>>& attempt) {
    total_iterations += attempt.iterations;
    if (attempt.x.size() == n && attempt.x.allFinite()) {
      attempt.residual_norm = static_cast<double>((apply_a(attempt.x) - b).norm());
      const double u_norm = static_cast<double>(attempt.x.norm());
      if (!a_norm_probe)
        a_norm_probe = b_norm > 0 ? static_cast<double>(apply_a(b).norm()) / b_norm : 0.0;
      const CertificateVerdict verdict = certify_linear_solution(
          attempt.residual_norm, u_norm, b_norm, *a_norm_probe, options.abs_tol, options.rel_tol,
          static_cast<double>(std::numeric_limits<T>::epsilon()), options.max_condition);
      if (attempt.ok() && !verdict.accepted) {
        attempt.status = Status::kLinearSolveFailed;
        attempt.message = verdict.why;
      }
    } else if (attempt.ok()) {
      attempt.status = Status::kNonFinite;
      attempt.message = "solution has NaN or Inf";
    }
    if (!history.empty()) history += "; then ";
    history += attempt.method + ": " + to_string(attempt.status);
    if (!attempt.message.empty()) history += " (" + attempt.message + ")";
  };
  auto gmres_options = [&](int max_iter) {
    GmresOptions g;
    g.restart = options.gmres_restart;
    g.max_iter = max_iter;
    g.abs_tol = options.abs_tol;
    g.rel_tol = options.rel_tol;
    return g;
  };
  bool tried_estimate = false;
  if (estimate && *estimate && options.reuse_forward) {
    tried_estimate = true;
    auto preconditioned = [&](const VectorX<T>& y) -> VectorX<T> {
      return apply_a((*estimate)(y));
    };
    auto inner = gmres(preconditioned, b, VectorX<T>(VectorX<T>::Zero(n)),
                       gmres_options(options.reuse_max_iter));
    LinearSolveResult<VectorX<T>> attempt = inner;
    if (inner.x.size() == n && inner.x.allFinite()) attempt.x = (*estimate)(inner.x);
    attempt.method = "gmres_preconditioned_by_forward";
    certify(attempt);
    static_cast<LinearSolveResult<VectorX<T>>&>(result) = std::move(attempt);
  }
  for (AdjointMethod method : attempts) {
    if (result.ok() && tried_estimate) break;
    LinearSolveResult<VectorX<T>> attempt;
    std::shared_ptr<DenseFactorization<T>> factorization;
    switch (method) {
      case AdjointMethod::kDenseLU: {
        const MatrixX<T> a = dense_a();
        factorization = std::make_shared<DenseFactorization<T>>(factor_dense_lu<T>(a));
        attempt = solve_factored(a, *factorization, b);
        break;
      }
      case AdjointMethod::kGmres:
        attempt =
            gmres(apply_a, b, VectorX<T>(VectorX<T>::Zero(n)), gmres_options(options.max_iter));
        break;
      case AdjointMethod::kFixedPointIteration:
      case AdjointMethod::kAnderson: {
        auto map = [&](const VectorX<T>& u) -> VectorX<T> { return (*apply_k)(u) + b; };
        FixedPointOptions fp;
        fp.max_iter = options.max_iter;
        fp.abs_tol = target;
        fp.rel_tol = 0;
        fp.record_history = false;
        const VectorX<T> u0 = VectorX<T>::Zero(n);
        auto fixed = method == AdjointMethod::kAnderson
                         ? solve_fixed_point(map, u0, Anderson(options.anderson), fp)
                         : solve_fixed_point(map, u0, ForwardIteration(), fp);
        attempt.x = std::move(fixed.x);
        attempt.status = fixed.status;
        attempt.iterations = fixed.function_evaluations;
        attempt.message = fixed.message;
        break;
      }
      case AdjointMethod::kAuto:
        break;
    }
    attempt.method = to_string(method);
    certify(attempt);
    static_cast<LinearSolveResult<VectorX<T>>&>(result) = std::move(attempt);
    result.factorization = std::move(factorization);
    if (result.ok()) break;
  }
  result.iterations = total_iterations;
  // Only worth reading when something failed along the way.
  result.message = history.find(';') != std::string::npos ||
                           (!result.ok() && (attempts.size() > 1 || tried_estimate))
                       ? history
                       : result.message;
  return result;
}

// The typed front of solve_linear_system_erased: any callables for A u,
// the dense A (called only if a dense attempt runs) and K u.
template <class T, class ApplyA, class DenseA, class ApplyK>
ChainSolveResult<T> solve_linear_system(const ApplyA& apply_a, const DenseA& dense_a,
                                        const ApplyK* apply_k, const VectorX<T>& b,
                                        const AdjointOptions& options,
                                        const LinearOperator<T>* estimate = nullptr) {
  const LinearOperator<T> a = [&apply_a](const VectorX<T>& u) -> VectorX<T> { return apply_a(u); };
  const DenseOperator<T> dense = [&dense_a]() -> MatrixX<T> { return dense_a(); };
  LinearOperator<T> k;
  if (apply_k) k = [apply_k](const VectorX<T>& u) -> VectorX<T> { return (*apply_k)(u); };
  return solve_linear_system_erased<T>(a, dense, apply_k ? &k : nullptr, b, options, estimate);
}

#ifdef IMPLICIT_PRECOMPILED
extern template ChainSolveResult<double> solve_linear_system_erased<double>(
    const LinearOperator<double>&, const DenseOperator<double>&, const LinearOperator<double>*,
    const VectorX<double>&, const AdjointOptions&, const LinearOperator<double>*);
extern template ChainSolveResult<float> solve_linear_system_erased<float>(
    const LinearOperator<float>&, const DenseOperator<float>&, const LinearOperator<float>*,
    const VectorX<float>&, const AdjointOptions&, const LinearOperator<float>*);
#endif

// A derivative refused before any linear solve (the point is no solution, or
// the forward solve failed): NaN values, so that an unchecked use cannot pass
// for a derivative, with the status and the reason.
template <class Value>
AdjointResult<Value> refused(Value nan_value, Status status, std::string message,
                             double residual_norm = 0) {
  AdjointResult<Value> out;
  out.value = std::move(nan_value);
  out.status = status;
  out.method = "none";
  out.residual_norm = residual_norm;
  out.message = std::move(message);
  return out;
}

template <class Value, class T>
AdjointResult<Value> to_adjoint_result(const LinearSolveResult<VectorX<T>>& solve, Value value) {
  AdjointResult<Value> out;
  out.value = std::move(value);
  out.status = solve.status;
  out.iterations = solve.iterations;
  out.residual_norm = solve.residual_norm;
  out.method = solve.method;
  out.message = solve.message;
  return out;
}

// dX = A^{-1} B by one dense LU: the full Jacobian of a fixed point or root.
// NaN-filled (n x p) when A is singular.
template <class T>
AdjointResult<MatrixX<T>> dense_derivative(const MatrixX<T>& a, const MatrixX<T>& b) {
  auto solve = solve_dense_lu(a, b);
  AdjointResult<MatrixX<T>> out;
  out.status = solve.status;
  out.method = solve.method;
  out.message = solve.message;
  out.residual_norm = solve.residual_norm;
  out.value = solve.ok() ? solve.x : nan_matrix<T>(a.rows(), b.cols());
  return out;
}

}  // namespace implicit::internal
