#pragma once
// Per-sample norms of CPU tensors computed row by row in plain C++, for the
// tensor layer's own bookkeeping (the adjoint's certificate, the kernel
// loops): each LibTorch reduction costs 2-5 us of dispatch whatever the
// size, and a certificate takes several (bench/README.md, LibTorch path).
//
// Each function takes (B, ...) tensors of one shape; on CPU float/double
// it sums squares per row in T (as VectorOps<at::Tensor>::norm does, with
// the same scaled fallback where squares overflow or an entry is NaN/Inf);
// elsewhere it is VectorOps<at::Tensor>::norm of the same combination.

#include <ATen/ATen.h>

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace implicit::torch::internal {

// ||v|| where the sum of squares overflowed (or v has a NaN/Inf entry):
// max|v| sqrt(sum (v / max|v|)^2), NaN if v has a NaN.
template <class T>
inline double scaled_norm(const T* v, int64_t n) {
  double scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = std::abs(static_cast<double>(v[i]));
    if (std::isnan(a)) return a;
    scale = std::max(scale, a);
  }
  if (!(scale > 0) || std::isinf(scale)) return scale;
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double a = static_cast<double>(v[i]) / scale;
    sum += a * a;
  }
  return scale * std::sqrt(sum);
}
// ||v|| of one row of n entries: the sum of squares in T (vectorised), the
// scaled form above where it overflows or v has a NaN/Inf entry.
template <class T>
inline double row_norm(const T* v, int64_t n) {
  const double squares = static_cast<double>(
      Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>(v, n).square().sum());
  return std::isfinite(squares) ? std::sqrt(squares) : scaled_norm(v, n);
}

// ||v_b|| per sample b.
Eigen::ArrayXd sample_norms(const at::Tensor& v);

// ||a_b - c_b|| per sample, or ||a_b - c_b - d_b|| when d is given: the
// residual of u = K u + b from u and K u without materialising it.
Eigen::ArrayXd difference_norms(const at::Tensor& a, const at::Tensor& c,
                                const at::Tensor& d = at::Tensor());

}  // namespace implicit::torch::internal
