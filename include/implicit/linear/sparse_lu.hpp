#pragma once
// Sparse LU solve of A x = b, as a linear-solver value and as a
// factorisation kept for more solves, by one of three libraries
// (SparseLU::backend):
//
// - SuiteSparse's UMFPACK (multifrontal: dense frontal matrices by BLAS),
// - SuiteSparse's KLU (left-looking, AMD ordering, block triangular form,
//   no BLAS: made for the little fill of circuit matrices),
// - Eigen's SparseLU (supernodal, COLAMD ordering; any scalar type).
//
// UMFPACK and KLU factorise double matrices, compiled in implicit::precompiled
// (src/linear/umfpack_lu.cpp, klu_lu.cpp) where CMake found Debian's
// libsuitesparse-dev (IMPLICIT_UMFPACK, IMPLICIT_KLU); their headers stay out
// of these. kAutomatic takes UMFPACK from SparseLU::umfpack_min_size
// unknowns, KLU below, Eigen's for other scalars or builds without
// SuiteSparse (measured crossover: bench/README.md "Sparse LU backends").
//
// The symbolic analysis (ordering, elimination tree) depends on the pattern
// only: SparseFactorization does it once and refactorises numerically when
// the values change (every Newton step on a fixed pattern), as KINSOL's
// KLU interface does.
//
// Singularity: each reports an exactly zero pivot; a nearly singular A is
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

// The library that factorises (SparseLU::backend).
enum class SparseLUBackend { kAutomatic, kUmfpack, kKlu, kEigen };

inline const char* to_string(SparseLUBackend backend) {
  switch (backend) {
    case SparseLUBackend::kAutomatic:
      return "automatic";
    case SparseLUBackend::kUmfpack:
      return "umfpack";
    case SparseLUBackend::kKlu:
      return "klu";
    case SparseLUBackend::kEigen:
      return "eigen";
  }
  return "?";
}

namespace internal {
// A sparse LU of double matrices compiled in implicit::precompiled, behind
// one interface so that umfpack.h, klu.h and their links stay there.
class CompiledSparseLU {
 public:
  virtual ~CompiledSparseLU() = default;
  // The symbolic analysis of a's pattern; false, with why, on failure.
  virtual bool analyse(const Eigen::SparseMatrix<double>& a, std::string& why) = 0;
  // The numeric factorisation of a with the last analysis.
  virtual bool factor(const Eigen::SparseMatrix<double>& a, std::string& why) = 0;
  // b <- A^{-1} b, or A^{-T} b.
  virtual void solve_in_place(Eigen::VectorXd& b, bool transposed) = 0;
};
#ifdef IMPLICIT_UMFPACK
std::unique_ptr<CompiledSparseLU> make_umfpack();
#endif
#ifdef IMPLICIT_KLU
std::unique_ptr<CompiledSparseLU> make_klu();
#endif

constexpr bool kHasUmfpack =
#ifdef IMPLICIT_UMFPACK
    true;
#else
    false;
#endif
constexpr bool kHasKlu =
#ifdef IMPLICIT_KLU
    true;
#else
    false;
#endif

// Why `backend` cannot factorise matrices of T in this build, or "".
template <class T>
std::string backend_unavailable(SparseLUBackend backend) {
  if (backend != SparseLUBackend::kUmfpack && backend != SparseLUBackend::kKlu) return "";
  const std::string name = backend == SparseLUBackend::kUmfpack ? "UMFPACK" : "KLU";
  if (!std::is_same_v<T, double>)
    return name + " factorises double matrices only (use SparseLUBackend::kEigen)";
  const bool built = backend == SparseLUBackend::kUmfpack ? kHasUmfpack : kHasKlu;
  if (!built)
    return name + " is not in this build (implicit::precompiled found no libsuitesparse-dev)";
  return "";
}
}  // namespace internal

template <class T>
struct SparseFactorization {
  // The library asked for (SparseLU::backend); `used` is the one chosen at
  // the first factorisation.
  SparseLUBackend backend = SparseLUBackend::kAutomatic;
  Eigen::Index umfpack_min_size = 0;  // kAutomatic's crossover (SparseLU::umfpack_min_size)
  SparseLUBackend used = SparseLUBackend::kAutomatic;
  Eigen::SparseLU<Eigen::SparseMatrix<T>, Eigen::COLAMDOrdering<int>> lu;  // kEigen
  std::shared_ptr<internal::CompiledSparseLU> compiled;                    // kUmfpack, kKlu
  Eigen::Index analysed_nonzeros = -1;  // the pattern the analysis is for (its size)
  Eigen::Index analysed_rows = -1;
  Status status = Status::kLinearSolveFailed;
  std::string message = "not factorised";
  bool ok() const { return status == Status::kConverged; }

  // x = A^{-1} b with the last factorisation (ok() must hold).
  VectorX<T> solve(const VectorX<T>& b) const { return solve_either(b, false); }

  // x = A^{-T} b with the last factorisation (ok() must hold).
  VectorX<T> solve_transposed(const VectorX<T>& b) const { return solve_either(b, true); }

  // Factorises A, reusing the symbolic analysis when A has the shape and the
  // number of nonzeros of the last one (the caller keeps its pattern: a
  // SparseJacobian returns the same structure every time). Throws
  // std::invalid_argument when the backend asked for is not in the build.
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
    if (new_pattern) {
      analysed_rows = -1;
      used = chosen(a.rows());
    }
    std::string why;
    if constexpr (std::is_same_v<T, double>) {
      if (used != SparseLUBackend::kEigen) {
        if (new_pattern) {
          compiled = make_compiled(used);
          if (!compiled->analyse(a, why)) return fail(why);
        }
        if (!compiled->factor(a, why)) return fail(why);
        analysed_rows = a.rows();
        analysed_nonzeros = a.nonZeros();
        return;
      }
    }
    if (new_pattern) lu.analyzePattern(a);
    analysed_rows = a.rows();
    analysed_nonzeros = a.nonZeros();
    lu.factorize(a);
    if (lu.info() != Eigen::Success) fail(lu.lastErrorMessage());
  }

 private:
  SparseLUBackend chosen(Eigen::Index n) const {
    if (backend != SparseLUBackend::kAutomatic) {
      const std::string why = internal::backend_unavailable<T>(backend);
      if (!why.empty()) throw std::invalid_argument("SparseLU::backend = " +
                                                    std::string(to_string(backend)) + ": " + why);
      return backend;
    }
    if (!std::is_same_v<T, double>) return SparseLUBackend::kEigen;
    if (internal::kHasUmfpack && n >= umfpack_min_size) return SparseLUBackend::kUmfpack;
    if (internal::kHasKlu) return SparseLUBackend::kKlu;
    return internal::kHasUmfpack ? SparseLUBackend::kUmfpack : SparseLUBackend::kEigen;
  }

  static std::shared_ptr<internal::CompiledSparseLU> make_compiled(SparseLUBackend backend) {
#ifdef IMPLICIT_UMFPACK
    if (backend == SparseLUBackend::kUmfpack) return internal::make_umfpack();
#endif
#ifdef IMPLICIT_KLU
    if (backend == SparseLUBackend::kKlu) return internal::make_klu();
#endif
    throw std::logic_error(std::string("SparseFactorization: no compiled ") + to_string(backend));
  }

  void fail(const std::string& why) {
    status = Status::kLinearSolveFailed;
    message = std::string("sparse LU (") + library_name(used) + "): " + why;
  }

  static const char* library_name(SparseLUBackend backend) {
    return backend == SparseLUBackend::kUmfpack ? "UMFPACK"
           : backend == SparseLUBackend::kKlu   ? "KLU"
                                                : "Eigen's SparseLU";
  }

  VectorX<T> solve_either(const VectorX<T>& b, bool transposed) const {
    if constexpr (std::is_same_v<T, double>) {
      if (used != SparseLUBackend::kEigen) {
        VectorX<T> x = b;
        compiled->solve_in_place(x, transposed);
        return x;
      }
    }
    if (!transposed) return lu.solve(b);
    // Eigen's transpose() view is non-const but only reads the factors.
    using LU = std::remove_const_t<std::remove_reference_t<decltype(lu)>>;
    return const_cast<LU&>(lu).transpose().solve(b);
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
    if (umfpack_min_size < 0)
      throw std::invalid_argument(owner + "::umfpack_min_size must be >= 0, got " +
                                  std::to_string(umfpack_min_size));
    const std::string why = internal::backend_unavailable<double>(backend);
    if (!why.empty())
      throw std::invalid_argument(owner + "::backend = " + to_string(backend) + ": " + why);
  }

  // The library that factorises (see the top of this file). kAutomatic:
  // UMFPACK from umfpack_min_size unknowns, KLU below (double, with
  // SuiteSparse), else Eigen's. Measured (sparse_bench --backends, Newton's
  // whole solve): KLU is faster on the 2-D Bratu problem up to 4,096
  // unknowns (13 against 18 ms), even at 16,384, and UMFPACK 1.7x faster at
  // 65,536; on the Brusselator (two coupled species) UMFPACK is 2.5x faster
  // at 8,192 and 8.5x at 131,072 (2.8 s against 23.5 s).
  SparseLUBackend backend = SparseLUBackend::kAutomatic;
  Eigen::Index umfpack_min_size = 5000;

  // A factorisation that uses this value's backend.
  template <class T>
  std::shared_ptr<SparseFactorization<T>> factorization() const {
    auto f = std::make_shared<SparseFactorization<T>>();
    f->backend = backend;
    f->umfpack_min_size = umfpack_min_size;
    return f;
  }

  // Steps of iterative refinement (x += LU^{-1} (b - A x)) while the
  // residual is above the target: a sparse LU's pivoting is weaker than a
  // dense one's (threshold pivoting, fill-reducing order), and on the
  // Brusselator at 32,768 unknowns one solve left a relative residual of
  // 1.8e-10 against a target of 1e-10; one step of refinement costs a
  // product and two triangular solves.
  int max_refinements = 3;

  // `kept` (may be nullptr) receives the factorisation, for more solves
  // with A or A^T (the forward-sensitivity check of the IFT entry points).
  template <class T>
  LinearSolveResult<VectorX<T>> solve(
      const LinearSystem<VectorX<T>>& system, const VectorX<T>& b, const LinearTarget& target = {},
      std::shared_ptr<const SparseFactorization<T>>* kept = nullptr) const {
    if (!system.sparse_a)
      throw std::invalid_argument(
          "SparseLU: the linear system has no sparse form (give the sparsity pattern: "
          "AdjointOptions::sparsity, SystemOptions::sparsity)");
    const Eigen::SparseMatrix<T> a = system.sparse_a();
    std::shared_ptr<SparseFactorization<T>> factorization = this->factorization<T>();
    const SparseFactorization<T>& f = *factorization;
    factorization->factor(a);
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
    if (kept && f.ok()) *kept = std::move(factorization);
    return result;
  }
};

}  // namespace implicit
