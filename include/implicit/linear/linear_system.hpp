#pragma once
// What a linear solver is given: the system A u = b as products, and what
// the chain (linear/certified_solve.hpp) asks of one attempt.
//
// A is known as a product u -> A u; a fixed-point system (A = I - K, the
// adjoint of a fixed point) also as u -> K u, which the stationary
// iterations need; and, on the dense backend, as a matrix formed on demand
// (the dense LU's input). Every solver value (DenseLU, Gmres, BiCGStab in
// linear/, the iterations in fixed_point/linear_iteration.hpp) solves such
// a system with
//
//   LinearSolveResult<Vector> solve(const LinearSystem<Vector>&, const Vector& b,
//                                   const LinearTarget&) const;
//   const char* name() const;
//   void validate(const std::string& owner) const;
//
// so that adding a linear solver is one header with one value type.

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <functional>

namespace implicit {

// The dense form of A for a vector type: an Eigen matrix for Eigen vectors;
// for a batched backend (tensors of shape (B, n)) the same type as the
// vector, holding B matrices.
template <class Vector>
struct DenseMatrixOf {
  using type = Vector;
};
template <class T>
struct DenseMatrixOf<Eigen::Matrix<T, Eigen::Dynamic, 1>> {
  using type = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;
};

// The sparse form of A: an Eigen::SparseMatrix for Eigen vectors (none for
// batched backends).
template <class Vector>
struct SparseMatrixOf {
  using type = void;
};
template <class T>
struct SparseMatrixOf<Eigen::Matrix<T, Eigen::Dynamic, 1>> {
  using type = Eigen::SparseMatrix<T>;
};

template <class Vector>
struct LinearSystem {
  using Product = std::function<Vector(const Vector&)>;
  using Dense = typename DenseMatrixOf<Vector>::type;
  Product apply_a;                // u -> A u; always set
  Product apply_k;                // u -> K u with A = I - K; empty: no fixed-point form
  std::function<Dense()> dense_a;  // A as a matrix, formed on demand; may be empty
  // A as a sparse matrix, formed on demand (when its pattern is known); may
  // be empty.
  std::function<typename SparseMatrixOf<Vector>::type()> sparse_a;

  bool has_fixed_point_form() const { return static_cast<bool>(apply_k); }
};

// What the chain asks of one attempt: stop at ||A u - b|| <= abs_tol +
// rel_tol ||b|| (per sample), within max_products products with A (or K).
// The chain certifies the answer afterwards whatever the attempt claims.
struct LinearTarget {
  double abs_tol = 1e-12;
  double rel_tol = 1e-10;
  int max_products = 1000;
};

}  // namespace implicit
