#pragma once
// Sparse LU solve of A x = b, as a linear-solver value and as a
// factorisation kept for more solves. For double, where implicit::precompiled
// was built with SuiteSparse (IMPLICIT_KLU: Debian's libsuitesparse-dev),
// the factorisation is KLU's (AMD ordering, block triangular form; compiled
// in src/linear/klu_lu.cpp): on the Brusselator's Jacobian it factorised
// 2-3.5x faster than Eigen's supernodal SparseLU (32,768 unknowns: 1.2 s
// against 2.2 s; bench/README.md). Otherwise, and for other scalars, it is
// Eigen's SparseLU with COLAMD ordering.
//
// The symbolic analysis (ordering, elimination tree) depends on the pattern
// only: SparseFactorization does it once and refactorises numerically when
// the values change (every Newton step on a fixed pattern), as KINSOL's
// KLU interface does.
//
// Singularity: both report an exactly zero pivot; a nearly singular A is
// caught by the certificate (the recomputed residual and the condition
// bound), as for every solver.

#include <Eigen/SparseCore>
#include <Eigen/SparseLU>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"
#include "implicit/status.hpp"
#include "implicit/types.hpp"

namespace implicit {

namespace internal {
#ifdef IMPLICIT_KLU
// KLU's symbolic and numeric factorisation of a double matrix, behind an
// opaque handle (src/linear/klu_lu.cpp): klu.h stays out of the headers.
std::shared_ptr<void> klu_new();
bool klu_analyse(void* klu, const Eigen::SparseMatrix<double>& a, std::string& why);
bool klu_factor(void* klu, const Eigen::SparseMatrix<double>& a, std::string& why);
void klu_solve_in_place(void* klu, Eigen::VectorXd& b);
void klu_solve_transposed_in_place(void* klu, Eigen::VectorXd& b);
#endif
}  // namespace internal

template <class T>
struct SparseFactorization {
#ifdef IMPLICIT_KLU
  static constexpr bool uses_klu = std::is_same_v<T, double>;
#else
  static constexpr bool uses_klu = false;
#endif
  Eigen::SparseLU<Eigen::SparseMatrix<T>, Eigen::COLAMDOrdering<int>> lu;  // unless uses_klu
  std::shared_ptr<void> klu;                                                // when uses_klu
  Eigen::Index analysed_nonzeros = -1;  // the pattern the analysis is for (its size)
  Eigen::Index analysed_rows = -1;
  Status status = Status::kLinearSolveFailed;
  std::string message = "not factorised";
  bool ok() const { return status == Status::kConverged; }

  // x = A^{-1} b with the last factorisation (ok() must hold).
  VectorX<T> solve(const VectorX<T>& b) const {
#ifdef IMPLICIT_KLU
    if constexpr (uses_klu) {
      VectorX<T> x = b;
      internal::klu_solve_in_place(klu.get(), x);
      return x;
    }
#endif
    return lu.solve(b);
  }

  // x = A^{-T} b with the last factorisation (ok() must hold).
  VectorX<T> solve_transposed(const VectorX<T>& b) const {
#ifdef IMPLICIT_KLU
    if constexpr (uses_klu) {
      VectorX<T> x = b;
      internal::klu_solve_transposed_in_place(klu.get(), x);
      return x;
    }
#endif
    // Eigen's transpose() view is non-const but only reads the factors.
    using LU = std::remove_const_t<std::remove_reference_t<decltype(lu)>>;
    return const_cast<LU&>(lu).transpose().solve(b);
  }

  // Factorises A, reusing the symbolic analysis when A has the shape and the
  // number of nonzeros of the last one (the caller keeps its pattern: a
  // SparseJacobian returns the same structure every time).
  void factor(const Eigen::SparseMatrix<T>& a) {
    status = Status::kConverged;
    message.clear();
    for (Eigen::Index k = 0; k < a.nonZeros(); ++k)
      if (!std::isfinite(static_cast<double>(a.valuePtr()[k]))) {
        status = Status::kNonFinite;
        message = "the matrix has a NaN or Inf entry";
        return;
      }
    const bool new_pattern = a.rows() != analysed_rows || a.nonZeros() != analysed_nonzeros;
#ifdef IMPLICIT_KLU
    if constexpr (uses_klu) {
      std::string why;
      if (new_pattern) {
        analysed_rows = -1;
        if (!klu) klu = internal::klu_new();
        if (!internal::klu_analyse(klu.get(), a, why)) {
          status = Status::kLinearSolveFailed;
          message = "sparse LU (KLU): " + why;
          return;
        }
        analysed_rows = a.rows();
        analysed_nonzeros = a.nonZeros();
      }
      if (!internal::klu_factor(klu.get(), a, why)) {
        status = Status::kLinearSolveFailed;
        message = "sparse LU (KLU): " + why;
      }
      return;
    }
#endif
    if (new_pattern) {
      lu.analyzePattern(a);
      analysed_rows = a.rows();
      analysed_nonzeros = a.nonZeros();
    }
    lu.factorize(a);
    if (lu.info() != Eigen::Success) {
      status = Status::kLinearSolveFailed;
      message = "sparse LU: " + lu.lastErrorMessage();
    }
  }
};

// A x = b with the factorisation `f` of A, its residual recomputed.
template <class T>
LinearSolveResult<VectorX<T>> solve_factored(const Eigen::SparseMatrix<T>& a,
                                             const SparseFactorization<T>& f,
                                             const VectorX<T>& b) {
  LinearSolveResult<VectorX<T>> result;
  result.method = "sparse_lu";
  if (!f.ok()) {
    result.status = f.status;
    result.message = f.message;
    return result;
  }
  result.x = f.solve(b);
  result.residual_norm = static_cast<double>((a * result.x - b).norm());
  result.status = result.x.allFinite() ? Status::kConverged : Status::kNonFinite;
  return result;
}

// The sparse LU as a linear-solver value (linear/linear_system.hpp): needs
// LinearSystem::sparse_a (A with its pattern). Eigen vectors only.
struct SparseLU {
  const char* name() const { return "sparse_lu"; }
  void validate(const std::string& owner = "SparseLU") const {
    if (max_refinements < 0)
      throw std::invalid_argument(owner + "::max_refinements must be >= 0, got " +
                                  std::to_string(max_refinements));
  }

  // Steps of iterative refinement (x += LU^{-1} (b - A x)) while the
  // residual is above the target: a sparse LU's pivoting is weaker than a
  // dense one's (threshold pivoting, fill-reducing order), and on the
  // Brusselator at 32,768 unknowns one solve left a relative residual of
  // 1.8e-10 against a target of 1e-10; one step of refinement costs a
  // product and two triangular solves.
  int max_refinements = 3;

  template <class T>
  LinearSolveResult<VectorX<T>> solve(const LinearSystem<VectorX<T>>& system, const VectorX<T>& b,
                                      const LinearTarget& target = {}) const {
    if (!system.sparse_a)
      throw std::invalid_argument(
          "SparseLU: the linear system has no sparse form (give the sparsity pattern: "
          "AdjointOptions::sparsity, SystemOptions::sparsity)");
    const Eigen::SparseMatrix<T> a = system.sparse_a();
    SparseFactorization<T> f;
    f.factor(a);
    LinearSolveResult<VectorX<T>> result = solve_factored(a, f, b);
    const double goal = target.abs_tol + target.rel_tol * static_cast<double>(b.norm());
    for (int k = 0; k < max_refinements && result.ok() && !(result.residual_norm <= goal); ++k) {
      const VectorX<T> correction = f.solve(VectorX<T>(b - a * result.x));
      const VectorX<T> refined = result.x + correction;
      const double residual = static_cast<double>((a * refined - b).norm());
      if (!(residual < result.residual_norm)) break;  // rounding floor reached
      result.x = refined;
      result.residual_norm = residual;
      ++result.iterations;
    }
    return result;
  }
};

}  // namespace implicit
