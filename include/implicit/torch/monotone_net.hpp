#pragma once
// The monotone network of docs/reference-systems.md section 2 as a LibTorch
// module, batched over x:
//
//     R(x) = exp(v)^T reloid(exp(w) x + b) - exp(v)^T reloid(b),
//
// with forward(x) differentiable in x and (w, v, b), and inverse(y) the
// differentiable batched inverse: the roots are found by the core library's
// MonotoneNet<double>::inverse_batched (models/monotone_net.hpp: safeguarded
// Newton by default, in double on the CPU, one status per target), and
// gradients flow by the scalar IFT (root.hpp's attach_root_gradient).
// R, R' and dR/dtheta are the dense network's closed form
// (models/monotone_formula-inl.hpp), evaluated per element in double on the
// CPU by a custom autograd function: one cancellation-free formula for
// every backend, not a tensor copy of it.

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "implicit/root/options.hpp"
#include "implicit/torch/root.hpp"

namespace implicit::torch {

struct MonotoneInverseOutput {
  at::Tensor x;                     // Rinv(y), same shape as y
  std::shared_ptr<SolveInfo> info;  // per target
};

class MonotoneNetImpl : public ::torch::nn::Module {
 public:
  // Parameters drawn as in the reference network (w, v ~ N(0, 1), b ~ N(0, 1)).
  explicit MonotoneNetImpl(int64_t hidden = 10, uint64_t seed = 0);

  // Elementwise R(x) for x >= 0 (the formula's domain; for x < 0 it holds
  // while exp(w) |x| < 709), any shape, in x's dtype and device (computed
  // in double on the CPU). Differentiable once in x, w, v, b.
  at::Tensor forward(const at::Tensor& x);
  // Rinv(y) for y >= 0 elementwise, by `method` (kNewton, the default:
  // MonotoneNet::batched_options(); kToms748, kBisection, kItp), with
  // options' max_iter and tolerances. Throws std::invalid_argument for a
  // NaN entry of y, and std::runtime_error naming the first failed target
  // when options.raise_on_failure (a negative y has no root x >= 0:
  // kInvalidBracket).
  MonotoneInverseOutput inverse(const at::Tensor& y, const RootOptions& options = {},
                                ScalarRootMethod method = ScalarRootMethod::kNewton);

  at::Tensor w, v, b;  // (hidden)
};
// TORCH_MODULE(MonotoneNet), spelled out: the macro names torch::nn unqualified,
// which inside implicit::torch would mean implicit::torch::nn.
class MonotoneNet : public ::torch::nn::ModuleHolder<MonotoneNetImpl> {
 public:
  using ::torch::nn::ModuleHolder<MonotoneNetImpl>::ModuleHolder;
  using Impl = MonotoneNetImpl;
};

}  // namespace implicit::torch
