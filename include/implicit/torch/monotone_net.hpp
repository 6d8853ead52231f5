#pragma once
// The monotone network of docs/reference-systems.md section 2 as a LibTorch
// module, batched over x:
//
//     R(x) = exp(v)^T reloid(exp(w) x + b) - exp(v)^T reloid(b),
//
// with forward(x) differentiable in x and (w, v, b), and inverse(y) the
// differentiable batched inverse: the roots are found by the core library's
// auto-bracket + TOMS 748 (models/monotone_net.hpp, in double on the CPU,
// one status per target), and gradients flow by the scalar IFT
// (root.hpp's attach_root_gradient).

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <memory>

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

  at::Tensor forward(const at::Tensor& x);  // elementwise R(x), any shape
  // Rinv(y) for y >= 0 elementwise. Throws std::runtime_error naming the
  // first failed target when options.raise_on_failure (a negative y has no
  // root x >= 0: kInvalidBracket).
  MonotoneInverseOutput inverse(const at::Tensor& y, const RootOptions& options = {});

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
