#pragma once
// Solves with a square matrix A and with A^T, type-erased: from a
// factorisation of A (a dense or sparse LU), or approximately from one of a
// nearby matrix (a forward solve's last factorisation, a quasi-Newton
// estimate). One type for every place that hands such solves on:
// SystemResult::jacobian_solves (Newton's last sparse LU of dg/dx),
// FixedPointResult::inverse_estimate (of I - df/dz), and the adjoint chain,
// whose forward-sensitivity check needs both directions
// (adjoint/forward_sensitivity.hpp).

#include <functional>
#include <memory>
#include <utility>

namespace implicit {

template <class Vector>
struct InverseOperators {
  std::function<Vector(const Vector&)> solve;             // b -> A^{-1} b
  std::function<Vector(const Vector&)> solve_transposed;  // b -> A^{-T} b (may be empty)
  bool both_ways() const { return solve && solve_transposed; }
  // The same solves seen as those of A^T.
  InverseOperators transposed() const { return {solve_transposed, solve}; }
};

// The solves of a kept factorisation (anything with solve(b) and
// solve_transposed(b): DenseFactorization, SparseFactorization), which
// stays alive with them.
template <class Vector, class Factorization>
InverseOperators<Vector> inverse_operators(std::shared_ptr<const Factorization> factorization) {
  return {[factorization](const Vector& b) -> Vector { return factorization->solve(b); },
          [factorization](const Vector& b) -> Vector {
            return factorization->solve_transposed(b);
          }};
}

}  // namespace implicit
