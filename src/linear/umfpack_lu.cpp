// UMFPACK (SuiteSparse) as a CompiledSparseLU (linear/sparse_lu.hpp), so
// that umfpack.h and its link stay in implicit::precompiled. Built when
// CMake finds libsuitesparse-dev (IMPLICIT_UMFPACK).
//
// UMFPACK is multifrontal: it factorises dense frontal matrices with BLAS
// (Debian's libblas.so.3, OpenBLAS where installed), which pays where the
// factors fill in, as on 2-D grids; KLU (left-looking, no BLAS) is made for
// the little fill of circuit matrices. Measured on the Brusselator's
// Jacobian: bench/README.md "Sparse LU backends".

#include <umfpack.h>

#include <memory>
#include <string>

#include "implicit/linear/sparse_lu.hpp"

namespace implicit::internal {
namespace {

std::string umfpack_failure(int status) {
  switch (status) {
    case UMFPACK_WARNING_singular_matrix:
      return "matrix is singular (a zero pivot)";
    case UMFPACK_ERROR_out_of_memory:
      return "out of memory";
    case UMFPACK_ERROR_invalid_matrix:
      return "invalid matrix";
    default:
      return "UMFPACK status " + std::to_string(status);
  }
}

class Umfpack final : public CompiledSparseLU {
 public:
  Umfpack() {
    umfpack_di_defaults(control_);
    // No refinement inside UMFPACK: SparseLU::solve refines against the
    // residual it recomputes, as for every backend.
    control_[UMFPACK_IRSTEP] = 0;
  }
  ~Umfpack() override {
    free_numeric();
    if (symbolic_) umfpack_di_free_symbolic(&symbolic_);
  }
  Umfpack(const Umfpack&) = delete;
  Umfpack& operator=(const Umfpack&) = delete;

  bool analyse(const Eigen::SparseMatrix<double>& a, std::string& why) override {
    free_numeric();
    if (symbolic_) umfpack_di_free_symbolic(&symbolic_);
    a_ = a;
    a_.makeCompressed();
    const int n = static_cast<int>(a_.rows());
    const int status = umfpack_di_symbolic(n, n, a_.outerIndexPtr(), a_.innerIndexPtr(),
                                           a_.valuePtr(), &symbolic_, control_, info_);
    if (status != UMFPACK_OK) {
      why = umfpack_failure(status);
      if (symbolic_) umfpack_di_free_symbolic(&symbolic_);
      return false;
    }
    return true;
  }

  bool factor(const Eigen::SparseMatrix<double>& a, std::string& why) override {
    free_numeric();
    // The solves read the matrix too (UMFPACK's interface), so it is kept.
    a_ = a;
    a_.makeCompressed();
    const int status = umfpack_di_numeric(a_.outerIndexPtr(), a_.innerIndexPtr(), a_.valuePtr(),
                                          symbolic_, &numeric_, control_, info_);
    if (status != UMFPACK_OK) {
      why = umfpack_failure(status);
      free_numeric();
      return false;
    }
    return true;
  }

  void solve_in_place(Eigen::VectorXd& b, bool transposed) override {
    Eigen::VectorXd x(b.size());
    umfpack_di_solve(transposed ? UMFPACK_At : UMFPACK_A, a_.outerIndexPtr(), a_.innerIndexPtr(),
                     a_.valuePtr(), x.data(), b.data(), numeric_, control_, info_);
    b.swap(x);
  }

 private:
  void free_numeric() {
    if (numeric_) umfpack_di_free_numeric(&numeric_);
  }

  double control_[UMFPACK_CONTROL];
  double info_[UMFPACK_INFO];
  void* symbolic_ = nullptr;
  void* numeric_ = nullptr;
  Eigen::SparseMatrix<double> a_;
};

}  // namespace

std::unique_ptr<CompiledSparseLU> make_umfpack() { return std::make_unique<Umfpack>(); }

}  // namespace implicit::internal
