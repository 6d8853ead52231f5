#pragma once
// The linear solve behind every implicit derivative: A u = b, with A known
// as a product, as a dense matrix on demand, and (for fixed points, where
// A = I - K) as the map u -> K u + b whose fixed point is u. Dispatches on
// AdjointOptions' chain of solver values through the one certified solve
// (linear/certified_solve.hpp), which certifies each answer by recomputing
// ||A u - b|| and walks the chain on failure.

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "implicit/adjoint/adjoint_options.hpp"
#include "implicit/adjoint/linear_solver.hpp"
#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/parametric.hpp"
#include "implicit/diff/sparse_jacobian.hpp"
#include "implicit/linear/certified_solve.hpp"
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
template <class T>
using SparseOperator = std::function<Eigen::SparseMatrix<T>()>;

// The pattern of the map's Jacobian in its state for the sparse path:
// AdjointOptions::sparsity when given; else, for a root whose map is
// templated on the scalar (Map callable on tracers) and has no hand-written
// state derivative (jacobian_z, jvp_z, vjp_z), the automatic rule's (diff/sparsity_detection.hpp);
// else empty. `state_map` is the map of the state alone (bind_theta).
template <class Map, class T, class StateMap>
SparsityPattern adjoint_sparsity(const StateMap& state_map, const VectorX<T>& at,
                                 const AdjointOptions& options, bool fixed_point) {
  if (options.sparsity.size() > 0 || fixed_point) return options.sparsity;
  using Members = derivative_members<Map, T>;
  if constexpr (returns_scalar<Map, SparsityTracer>::value && !Members::jacobian_z &&
                !Members::jvp_z && !Members::vjp_z) {
    std::string note;
    return automatic_sparsity(state_map, at, options.detect_sparsity, note);
  } else {
    (void)state_map, (void)at;
    return {};
  }
}

// A as a sparse matrix with the given pattern (of the map's Jacobian J in
// its state): for a VJP (transposed) A = J^T (roots) or I - J^T (fixed
// points), for a JVP J or I - J. One colouring of the pattern (ColPack, ~2 s
// at 524,288 unknowns), evaluated at any point: the solution for the solve,
// and the Newton-corrected point for the forward-sensitivity check. Empty
// for an empty pattern. Keeps references to the map.
template <class T, class StateMap>
class SparseSystemMatrix {
 public:
  SparseSystemMatrix(const StateMap& state_map, const SparsityPattern& pattern, Eigen::Index n,
                     bool fixed_point, bool transposed, const char* who)
      : state_map_(state_map), fixed_point_(fixed_point), transposed_(transposed) {
    if (pattern.size() == 0) return;
    if (pattern.rows() != n || pattern.cols() != n)
      throw std::invalid_argument(std::string(who) + ": AdjointOptions::sparsity is " +
                                  std::to_string(pattern.rows()) + " x " +
                                  std::to_string(pattern.cols()) + ", expected " +
                                  std::to_string(n) + " x " + std::to_string(n));
#ifdef IMPLICIT_SPARSE
    jacobian_ = std::make_shared<SparseJacobian<T>>(pattern);
#else
    throw std::invalid_argument(std::string(who) +
                                ": AdjointOptions::sparsity needs the colouring of "
                                "implicit::precompiled built with ColPack (libcolpack-dev)");
#endif
  }

  bool empty() const { return !jacobian_; }

  // A at `point` (not empty()); the last one is kept, so that asking again
  // at the same point (each column of a full Jacobian) costs no evaluation.
  const Eigen::SparseMatrix<T>& at(const VectorX<T>& point) const {
#ifdef IMPLICIT_SPARSE
    if (last_point_.size() == point.size() && last_point_ == point) return last_;
    const Eigen::SparseMatrix<T>& j = jacobian_->evaluate(state_map_, point);
    last_ = transposed_ ? Eigen::SparseMatrix<T>(j.transpose()) : j;
    if (fixed_point_) {
      Eigen::SparseMatrix<T> identity(last_.rows(), last_.cols());
      identity.setIdentity();
      last_ = identity - last_;
    }
    last_point_ = point;
#else
    (void)point;
#endif
    return last_;
  }

  // A at `point` for the chain (it must outlive the operator); empty when
  // empty().
  SparseOperator<T> operator_at(const VectorX<T>& point) const {
    if (empty()) return {};
    return [this, &point]() -> Eigen::SparseMatrix<T> { return at(point); };
  }

 private:
  const StateMap& state_map_;
  std::shared_ptr<SparseJacobian<T>> jacobian_;  // its values change with each evaluation
  bool fixed_point_ = false;
  bool transposed_ = false;
  mutable VectorX<T> last_point_;
  mutable Eigen::SparseMatrix<T> last_;
};

// A(x') u for the forward-sensitivity check: the sparse A at x' on the
// sparse path (never n x n), else `products_at(x', u)`.
template <class T, class StateMap, class ProductsAt>
auto product_at(const SparseSystemMatrix<T, StateMap>& sparse, const ProductsAt& products_at) {
  return [&sparse, &products_at](const VectorX<T>& corrected, const VectorX<T>& u) -> VectorX<T> {
    if (!sparse.empty()) return sparse.at(corrected) * u;
    return products_at(corrected, u);
  };
}

// kAuto's limits by the cost of one product (AdjointOptions::
// dense_first_max_size): with products by AD, the dense LU goes first up to
// dense_max_size, as it is then the cheaper method.
inline AdjointOptions for_product_cost(AdjointOptions options, bool cheap_products) {
  if (!cheap_products)
    options.dense_first_max_size = std::max(options.dense_first_max_size, options.dense_max_size);
  return options;
}

// Solves with A and A^T from those of a nearby matrix (the forward solve's
// factorisation of the Jacobian one Newton step before the solution),
// refined (y += M (r - A y)) until a correction is below 1e-3 of y: the
// forward-sensitivity check then sees A's own solves, not the nearby
// matrix's. At a regular solution M A = I + O(the last Newton step) and one
// or two corrections suffice; at a fold (g = x^2 - t, t = 0) each one halves
// the error (ten steps). A refinement that does not settle in 60 steps
// returns NaN, and the check refuses the answer (its sensitivity is
// unknown). `product` and `transposed_product` are y -> A y and y -> A^T y.
template <class T>
InverseOperators<VectorX<T>> refined_inverse_operators(const InverseOperators<VectorX<T>>& nearby,
                                                       const LinearOperator<T>& product,
                                                       const LinearOperator<T>& transposed_product) {
  auto refine = [](const LinearOperator<T>& m, const LinearOperator<T>& a, const VectorX<T>& r) {
    VectorX<T> y = m(r);
    for (int k = 0; k < 60 && y.allFinite(); ++k) {
      const VectorX<T> correction = m(VectorX<T>(r - a(y)));
      y += correction;
      if (correction.norm() <= 1e-3 * y.norm()) return y;
    }
    return nan_vector<T>(r.size());
  };
  return {[nearby, product, refine](const VectorX<T>& r) -> VectorX<T> {
            return refine(nearby.solve, product, r);
          },
          [nearby, transposed_product, refine](const VectorX<T>& r) -> VectorX<T> {
            return refine(nearby.solve_transposed, transposed_product, r);
          }};
}

// What the chain returns: the accepted attempt, and solves with A and A^T
// when that attempt had them (a dense or sparse LU of A; the forward solve's
// factorisation, refined against A), for the forward-sensitivity check of the
// IFT entry points.
template <class T>
struct ChainSolveResult : LinearSolveResult<VectorX<T>> {
  InverseOperators<VectorX<T>> inverse;
};

// Solves A u = b by the certified chain (linear/certified_solve.hpp) of the
// solvers AdjointOptions names (internal::solver_chain; kAuto: the dense LU
// first when n <= min(dense_first_max_size, dense_max_size), else GMRES).
// `apply_k` may be nullptr (then A has no fixed-point form and the
// iteration methods are refused); otherwise A = I - K.
//
// `estimate` may be nullptr; otherwise estimate->solve approximates A^{-1}
// (the forward solve's: FixedPointResult::inverse_estimate,
// SystemResult::jacobian_solves) and, with AdjointOptions::reuse_forward,
// the first attempt is GMRES on A M y = b with u = M y (right
// preconditioning: the residual GMRES minimises is the true ||A u - b||),
// certified like the others. When the estimate solves both ways, an answer
// of that attempt carries them refined against A (refined_inverse_operators)
// for the forward-sensitivity check: by the sparse A, or by `apply_a`
// and `apply_a_transposed` (y -> A^T y; may be nullptr, and then the answer
// carries no solves and is not checked).
template <class T>
ChainSolveResult<T> solve_linear_system_erased(const LinearOperator<T>& apply_a,
                                               const DenseOperator<T>& dense_a,
                                               const LinearOperator<T>* apply_k,
                                               const VectorX<T>& b, const AdjointOptions& options,
                                               const InverseOperators<VectorX<T>>* estimate,
                                               const SparseOperator<T>* sparse_a,
                                               const LinearOperator<T>* apply_a_transposed) {
  options.validate();
  const Eigen::Index n = b.size();
  LinearSystem<VectorX<T>> system;
  system.apply_a = apply_a;
  if (apply_k) system.apply_k = *apply_k;
  system.dense_a = dense_a;
  std::function<const Eigen::SparseMatrix<T>&()> matrix;  // the sparse A, evaluated once
  if (sparse_a) {
    // One evaluation of the sparse A for every use: its LU, and the
    // products of the certificate and of any fallback, which are then
    // sparse products. Through apply_a they would each be a reverse sweep,
    // or, without reverse mode, a product with the dense n x n Jacobian
    // (measured: 0.97 s against 0.11 s for the whole solve on the 2-D Bratu
    // problem at 4,096 unknowns); this path never forms n x n.
    auto cached = std::make_shared<std::optional<Eigen::SparseMatrix<T>>>();
    matrix = [cached, evaluate = *sparse_a]() -> const Eigen::SparseMatrix<T>& {
      if (!*cached) *cached = evaluate();
      return **cached;
    };
    system.sparse_a = [matrix] { return matrix(); };
    system.apply_a = [matrix](const VectorX<T>& u) -> VectorX<T> { return matrix() * u; };
  }

  // With a sparse form: its LU first, at any n (it never forms n x n).
  const LinearSolver automatic =
      system.sparse_a ? LinearSolver(SparseLU{})
      : n <= std::min(options.dense_first_max_size, options.dense_max_size)
          ? LinearSolver(DenseLU{})
          : LinearSolver(Gmres{options.gmres_restart});
  const std::vector<LinearSolver> chain = solver_chain(options, n, {automatic});
  if (!apply_k)
    for (const LinearSolver& solver : chain)
      if (needs_fixed_point_form(solver))
        throw std::invalid_argument("AdjointOptions: " + implicit::to_string(solver) +
                                    " needs a fixed-point system u = K u + b; use dense_lu, "
                                    "gmres or bicgstab for roots");

  std::vector<ChainAttempt<VectorX<T>>> attempts;
  // Each attempt's solves with A and A^T where it has them, kept for the
  // caller's forward-sensitivity check (one slot per attempt).
  std::vector<InverseOperators<VectorX<T>>> inverses(chain.size() + 1);
  if (estimate && estimate->solve && options.reuse_forward) {
    // With both directions and the sparse A, the forward-sensitivity check
    // gets solves with A and A^T refined from the estimate; without them the
    // answer is not checked, as for the other iterative methods.
    if (estimate->both_ways() && matrix)
      inverses[0] = refined_inverse_operators<T>(
          *estimate, system.apply_a,
          [matrix](const VectorX<T>& y) -> VectorX<T> { return matrix().transpose() * y; });
    else if (estimate->both_ways() && apply_a_transposed && *apply_a_transposed)
      inverses[0] = refined_inverse_operators<T>(*estimate, system.apply_a, *apply_a_transposed);
    const LinearOperator<T>& approximate_inverse = estimate->solve;
    attempts.push_back({"gmres_preconditioned_by_forward", [&](const LinearTarget& target) {
                          auto preconditioned = [&](const VectorX<T>& y) -> VectorX<T> {
                            return system.apply_a(approximate_inverse(y));
                          };
                          GmresOptions g = Gmres{options.gmres_restart}.options(target);
                          g.max_iter = options.reuse_max_iter;
                          auto inner = gmres(preconditioned, b, VectorX<T>(VectorX<T>::Zero(n)), g);
                          if (inner.x.size() == n && inner.x.allFinite())
                            inner.x = approximate_inverse(inner.x);
                          inner.method = "gmres_preconditioned_by_forward";
                          return inner;
                        }});
  }
  for (const LinearSolver& solver : chain) {
    const size_t slot = attempts.size();
    attempts.push_back({implicit::to_string(solver), [&, slot, solver](const LinearTarget& target) {
                          return std::visit(
                              [&](const auto& s) -> LinearSolveResult<VectorX<T>> {
                                using S = std::decay_t<decltype(s)>;
                                if constexpr (std::is_same_v<S, DenseLU>) {
                                  std::shared_ptr<const DenseFactorization<T>> kept;
                                  auto solved = s.solve(system, b, target, &kept);
                                  if (kept) inverses[slot] = inverse_operators<VectorX<T>>(std::move(kept));
                                  return solved;
                                } else if constexpr (std::is_same_v<S, SparseLU>) {
                                  std::shared_ptr<const SparseFactorization<T>> kept;
                                  auto solved = s.solve(system, b, target, &kept);
                                  if (kept) inverses[slot] = inverse_operators<VectorX<T>>(std::move(kept));
                                  return solved;
                                } else {
                                  return s.solve(system, b, target);
                                }
                              },
                              solver);
                        }});
  }
  auto solved = certified_solve(system, b, attempts, certificate_of(options), target_of(options));
  const int accepted = solved.accepted_attempt;
  ChainSolveResult<T> result;
  static_cast<LinearSolveResult<VectorX<T>>&>(result) = std::move(solved);
  if (result.ok() && accepted >= 0) result.inverse = inverses[static_cast<size_t>(accepted)];
  return result;
}

// The typed front of solve_linear_system_erased: any callables for A u,
// the dense A (called only if a dense attempt runs) and K u.
template <class T, class ApplyA, class DenseA, class ApplyK>
ChainSolveResult<T> solve_linear_system(const ApplyA& apply_a, const DenseA& dense_a,
                                        const ApplyK* apply_k, const VectorX<T>& b,
                                        const AdjointOptions& options,
                                        const NonDeduced<InverseOperators<VectorX<T>>>* estimate = nullptr,
                                        const NonDeduced<SparseOperator<T>>& sparse_a = {},
                                        const NonDeduced<LinearOperator<T>>& apply_a_transposed = {}) {
  const LinearOperator<T> a = [&apply_a](const VectorX<T>& u) -> VectorX<T> { return apply_a(u); };
  const DenseOperator<T> dense = [&dense_a]() -> MatrixX<T> { return dense_a(); };
  LinearOperator<T> k;
  if (apply_k) k = [apply_k](const VectorX<T>& u) -> VectorX<T> { return (*apply_k)(u); };
  return solve_linear_system_erased<T>(a, dense, apply_k ? &k : nullptr, b, options, estimate,
                                       sparse_a ? &sparse_a : nullptr,
                                       apply_a_transposed ? &apply_a_transposed : nullptr);
}

#ifdef IMPLICIT_PRECOMPILED
extern template ChainSolveResult<double> solve_linear_system_erased<double>(
    const LinearOperator<double>&, const DenseOperator<double>&, const LinearOperator<double>*,
    const VectorX<double>&, const AdjointOptions&, const InverseOperators<VectorX<double>>*,
    const SparseOperator<double>*, const LinearOperator<double>*);
extern template ChainSolveResult<float> solve_linear_system_erased<float>(
    const LinearOperator<float>&, const DenseOperator<float>&, const LinearOperator<float>*,
    const VectorX<float>&, const AdjointOptions&, const InverseOperators<VectorX<float>>*,
    const SparseOperator<float>*, const LinearOperator<float>*);
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
