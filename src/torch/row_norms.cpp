#include "row_norms.hpp"

#include <vector>

#include "batched_solve.hpp"
#include "implicit/torch/tensor_ops.hpp"

namespace implicit::torch::internal {

namespace {

using Ops = VectorOps<at::Tensor>;

// The row loop serves these: CPU float/double like the kernel loops, and
// every operand of the same shape and dtype.
bool rows_apply(const at::Tensor& a, const at::Tensor& c, const at::Tensor& d) {
  if (!kernel_path_applies(a) || a.numel() == 0) return false;
  for (const at::Tensor* t : {&c, &d})
    if (t->defined() && (!t->is_cpu() || t->scalar_type() != a.scalar_type() ||
                         t->sizes() != a.sizes() || t->layout() != at::kStrided))
      return false;
  return true;
}

template <class T>
Eigen::ArrayXd norms_of(const at::Tensor& a_in, const at::Tensor& c_in, const at::Tensor& d_in) {
  using Row = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
  // (contiguous() on a contiguous tensor is still an operator call)
  auto dense = [](const at::Tensor& t) {
    return !t.defined() || t.is_contiguous() ? t : t.contiguous();
  };
  const at::Tensor a = dense(a_in), c = dense(c_in), d = dense(d_in);
  const int64_t batch = a.size(0), n = a.numel() / batch;
  const T* ap = a.data_ptr<T>();
  const T* cp = c.defined() ? c.data_ptr<T>() : nullptr;
  const T* dp = d.defined() ? d.data_ptr<T>() : nullptr;
  Eigen::ArrayXd out(batch);
  std::vector<T> scratch;
  for (int64_t b = 0; b < batch; ++b) {
    if (!cp) {
      out[b] = row_norm(ap + b * n, n);
      continue;
    }
    const Row ar(ap + b * n, n);
    double squares;
    if (!dp)
      squares = static_cast<double>((ar - Row(cp + b * n, n)).square().sum());
    else
      squares = static_cast<double>((ar - Row(cp + b * n, n) - Row(dp + b * n, n)).square().sum());
    if (std::isfinite(squares)) {
      out[b] = std::sqrt(squares);
      continue;
    }
    // Rare: overflow or NaN/Inf; the entries again, scaled.
    scratch.resize(static_cast<size_t>(n));
    Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>> v(scratch.data(), n);
    if (!dp)
      v = ar - Row(cp + b * n, n);
    else
      v = ar - Row(cp + b * n, n) - Row(dp + b * n, n);
    out[b] = scaled_norm(scratch.data(), n);
  }
  return out;
}

Eigen::ArrayXd rows_or_ops(const at::Tensor& a, const at::Tensor& c, const at::Tensor& d) {
  if (rows_apply(a, c, d))
    return a.scalar_type() == at::kDouble ? norms_of<double>(a, c, d) : norms_of<float>(a, c, d);
  if (!c.defined()) return Ops::norm(a);
  return Ops::norm(d.defined() ? a - c - d : a - c);
}

}  // namespace

Eigen::ArrayXd sample_norms(const at::Tensor& v) {
  return rows_or_ops(v, at::Tensor(), at::Tensor());
}

Eigen::ArrayXd difference_norms(const at::Tensor& a, const at::Tensor& c, const at::Tensor& d) {
  return rows_or_ops(a, c, d);
}

}  // namespace implicit::torch::internal
