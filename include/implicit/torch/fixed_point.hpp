#pragma once
// Differentiable fixed points of LibTorch maps: z* = f(z*) for a batch
// z of shape (B, ...), as an autograd function whose backward is the
// implicit-function-theorem adjoint (memory flat in forward iterations).
//
//   auto f = [&](const torch::Tensor& z) { return torch::tanh(z.matmul(W.t()) + x); };
//   auto out = implicit::torch::fixed_point(f, torch::zeros_like(x), {W, x});
//   out.z.sum().backward();          // W.grad(), x.grad() by IFT
//   std::cout << out.info->brief_report();
//
// `params` must list every tensor f depends on that needs a gradient (module
// parameters, the layer input): gradients reach them only through this list.

#include <ATen/ATen.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "implicit/status.hpp"
#include "implicit/torch/options.hpp"

namespace implicit::torch {

// f(z) -> same shape as z; rows of the batch must not interact.
using Map = std::function<at::Tensor(const at::Tensor&)>;

// One pass (forward solve or backward adjoint solve), per sample.
struct PassInfo {
  bool ran = false;
  std::string method;          // solver or adjoint method that produced the answer
  std::vector<Status> status;  // per sample
  // Per sample: f evaluations (forward), or its adjoint iterations
  // summed over the attempts it needed (a batched GMRES or dense attempt
  // counts the batch's products for every sample it carried).
  std::vector<int> iterations;
  std::vector<double> residual;  // per sample, the certified residual
  int evaluations = 0;           // batched calls of f (or of its VJP)
  std::string message;           // why samples failed, every attempt

  bool ok() const;
  double mean_iterations() const;
  double max_residual() const;
  std::string brief_report() const;
};

struct SolveInfo {
  PassInfo forward;
  PassInfo backward;  // filled when the backward pass runs
  std::string brief_report() const;
};

struct FixedPointOutput {
  at::Tensor z;                     // z*, differentiable w.r.t. params
  std::shared_ptr<SolveInfo> info;  // backward fills info->backward later
};

// The solve alone, no autograd (what the forward pass runs).
FixedPointOutput solve(const Map& f, const at::Tensor& z0, const ForwardOptions& options = {});

// z* = f(z*) with gradients to `params` by options.backward.gradient.
// Double backward (create_graph) is supported for Gradient::kImplicit: the
// adjoint is then itself solved as a differentiable fixed point.
FixedPointOutput fixed_point(const Map& f, const at::Tensor& z0,
                             const std::vector<at::Tensor>& params, const Options& options = {});

// Forward mode: dz* = (I - df/dz)^{-1} (df/dparams) dparams at z*, for
// tangents matching `params` (undefined tensors count as zero). Products
// with df/dz and df/dparams go through the double-backward trick, so f
// needs no forward-AD formulas. Solved with options.adjoint (certified).
struct JvpOutput {
  at::Tensor z;        // z*
  at::Tensor tangent;  // dz*
  std::shared_ptr<SolveInfo> info;
};
JvpOutput fixed_point_jvp(const Map& f, const at::Tensor& z0, const std::vector<at::Tensor>& params,
                          const std::vector<at::Tensor>& tangents, const Options& options = {});

}  // namespace implicit::torch
