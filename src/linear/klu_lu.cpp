// KLU (SuiteSparse) behind the opaque handle of linear/sparse_lu.hpp, so
// that klu.h and its link stay in implicit::precompiled. Built when CMake
// finds libsuitesparse-dev (IMPLICIT_KLU).

#include <klu.h>

#include <string>

#include "implicit/linear/sparse_lu.hpp"

namespace implicit::internal {
namespace {

struct KluState {
  klu_common common{};
  klu_symbolic* symbolic = nullptr;
  klu_numeric* numeric = nullptr;
  int n = 0;

  KluState() { klu_defaults(&common); }
  ~KluState() {
    free_numeric();
    if (symbolic) klu_free_symbolic(&symbolic, &common);
  }
  KluState(const KluState&) = delete;
  KluState& operator=(const KluState&) = delete;

  void free_numeric() {
    if (numeric) klu_free_numeric(&numeric, &common);
  }
};

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

}  // namespace

std::shared_ptr<void> klu_new() { return std::make_shared<KluState>(); }

bool klu_analyse(void* handle, const Eigen::SparseMatrix<double>& a, std::string& why) {
  auto& s = *static_cast<KluState*>(handle);
  s.free_numeric();
  if (s.symbolic) klu_free_symbolic(&s.symbolic, &s.common);
  Eigen::SparseMatrix<double> copy;
  const Eigen::SparseMatrix<double>& m = compressed(a, copy);
  s.n = static_cast<int>(m.rows());
  s.symbolic = klu_analyze(s.n, const_cast<int*>(m.outerIndexPtr()),
                           const_cast<int*>(m.innerIndexPtr()), &s.common);
  if (!s.symbolic) why = klu_failure(s.common);
  return s.symbolic != nullptr;
}

bool klu_factor(void* handle, const Eigen::SparseMatrix<double>& a, std::string& why) {
  auto& s = *static_cast<KluState*>(handle);
  s.free_numeric();
  Eigen::SparseMatrix<double> copy;
  const Eigen::SparseMatrix<double>& m = compressed(a, copy);
  s.numeric = klu_factor(const_cast<int*>(m.outerIndexPtr()), const_cast<int*>(m.innerIndexPtr()),
                         const_cast<double*>(m.valuePtr()), s.symbolic, &s.common);
  if (!s.numeric) why = klu_failure(s.common);
  return s.numeric != nullptr;
}

void klu_solve_in_place(void* handle, Eigen::VectorXd& b) {
  auto& s = *static_cast<KluState*>(handle);
  klu_solve(s.symbolic, s.numeric, s.n, 1, b.data(), &s.common);
}

void klu_solve_transposed_in_place(void* handle, Eigen::VectorXd& b) {
  auto& s = *static_cast<KluState*>(handle);
  klu_tsolve(s.symbolic, s.numeric, s.n, 1, b.data(), &s.common);
}

}  // namespace implicit::internal
