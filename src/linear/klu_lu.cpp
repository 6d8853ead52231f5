// KLU (SuiteSparse) as a CompiledSparseLU (linear/sparse_lu.hpp), so that
// klu.h and its link stay in implicit::precompiled. Built when CMake finds
// libsuitesparse-dev (IMPLICIT_KLU).

#include <klu.h>

#include <memory>
#include <string>

#include "implicit/linear/sparse_lu.hpp"

namespace implicit::internal {
namespace {

std::string klu_failure(const klu_common& common) {
  switch (common.status) {
    case KLU_SINGULAR:
      return "matrix is singular (a zero pivot)";
    case KLU_OUT_OF_MEMORY:
      return "out of memory";
    case KLU_INVALID:
      return "invalid matrix";
    case KLU_TOO_LARGE:
      return "matrix too large for 32-bit indices";
    default:
      return "KLU status " + std::to_string(common.status);
  }
}

// KLU reads compressed columns with int indices: Eigen's default
// SparseMatrix<double> (column-major, StorageIndex int) once compressed.
const Eigen::SparseMatrix<double>& compressed(const Eigen::SparseMatrix<double>& a,
                                              Eigen::SparseMatrix<double>& copy) {
  if (a.isCompressed()) return a;
  copy = a;
  copy.makeCompressed();
  return copy;
}

class Klu final : public CompiledSparseLU {
 public:
  Klu() { klu_defaults(&common_); }
  ~Klu() override {
    free_numeric();
    if (symbolic_) klu_free_symbolic(&symbolic_, &common_);
  }
  Klu(const Klu&) = delete;
  Klu& operator=(const Klu&) = delete;

  bool analyse(const Eigen::SparseMatrix<double>& a, std::string& why) override {
    free_numeric();
    if (symbolic_) klu_free_symbolic(&symbolic_, &common_);
    Eigen::SparseMatrix<double> copy;
    const Eigen::SparseMatrix<double>& m = compressed(a, copy);
    n_ = static_cast<int>(m.rows());
    symbolic_ = klu_analyze(n_, const_cast<int*>(m.outerIndexPtr()),
                            const_cast<int*>(m.innerIndexPtr()), &common_);
    if (!symbolic_) why = klu_failure(common_);
    return symbolic_ != nullptr;
  }

  bool factor(const Eigen::SparseMatrix<double>& a, std::string& why) override {
    free_numeric();
    Eigen::SparseMatrix<double> copy;
    const Eigen::SparseMatrix<double>& m = compressed(a, copy);
    numeric_ = klu_factor(const_cast<int*>(m.outerIndexPtr()), const_cast<int*>(m.innerIndexPtr()),
                          const_cast<double*>(m.valuePtr()), symbolic_, &common_);
    if (!numeric_) why = klu_failure(common_);
    return numeric_ != nullptr;
  }

  void solve_in_place(Eigen::VectorXd& b, bool transposed) override {
    if (transposed)
      klu_tsolve(symbolic_, numeric_, n_, 1, b.data(), &common_);
    else
      klu_solve(symbolic_, numeric_, n_, 1, b.data(), &common_);
  }

 private:
  void free_numeric() {
    if (numeric_) klu_free_numeric(&numeric_, &common_);
  }

  klu_common common_{};
  klu_symbolic* symbolic_ = nullptr;
  klu_numeric* numeric_ = nullptr;
  int n_ = 0;
};

}  // namespace

std::unique_ptr<CompiledSparseLU> make_klu() { return std::make_unique<Klu>(); }

}  // namespace implicit::internal
