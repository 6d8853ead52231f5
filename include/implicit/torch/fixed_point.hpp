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
// The backward pass checks it: a tensor f uses that requires a gradient but
// is not listed (nor reached only through a listed one) is an
// std::invalid_argument naming its shape (BackwardOptions::check_params).
// f must return a tensor of z's shape, dtype and device (else
// std::invalid_argument naming both).

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
  std::string method;  // solver or adjoint method that produced the answer
  // What the pass promises, in words: the stopping rule that held for the
  // converged samples ("certified: ||u - (df/dz)^T u - g|| <= ..."), or
  // "none" with what was returned instead (Jacobian-free, phantom).
  std::string guarantee;
  // Per sample: kConverged (the stated rule holds on the returned values),
  // kApproximate (a Jacobian-free or phantom gradient: finite, nothing
  // solved), or why it failed, e.g. kNotASolution for a backward asked at a
  // sample whose forward solve stopped short of its fixed point.
  std::vector<Status> status;
  // Per sample: f evaluations (forward), or its adjoint iterations
  // summed over the attempts it needed (a batched GMRES or dense attempt
  // counts the batch's products for every sample it carried).
  std::vector<int> iterations;
  // Per sample, the certified residual of the returned values: ||f(z) - z||
  // (forward), ||u - (df/dz)^T u - g|| (backward), |g'(x) u - xbar|
  // (scalar roots). NaN where nothing was measured (kApproximate samples).
  std::vector<double> residual;
  // Per sample, an estimate of the spectral radius of df/dz at z* (power
  // iteration, ForwardOptions::spectral_radius_iterations > 0; empty
  // otherwise). Above 1: z* is a repelling fixed point, forward iteration
  // cannot reach it and the adjoint iteration diverges; near 1: the
  // adjoint is ill-conditioned and training is heading for unstable layers.
  std::vector<double> spectral_radius;
  int evaluations = 0;  // batched calls of f (or of its VJP)
  std::string message;  // why samples failed, every attempt

  // No sample failed: each is kConverged or, when asked for, kApproximate.
  bool ok() const;
  // Every sample is kConverged: the stated tolerance holds on all of them.
  bool certified() const;
  double mean_iterations() const;
  double max_residual() const;  // NaN if any sample's residual is NaN
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

// The stability diagnostic: per sample, an estimate of the spectral radius
// of df/dz at z (power iteration on (df/dz)^T from a fixed-seed start, the
// geometric mean of the step ratios over the second half of `iterations`
// steps; one VJP through f each). What ForwardOptions::
// spectral_radius_iterations fills into SolveInfo::forward.
std::vector<double> spectral_radius(const Map& f, const at::Tensor& z, int iterations = 20);

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
