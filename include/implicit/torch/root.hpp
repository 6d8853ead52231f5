#pragma once
// Differentiable elementwise roots on tensors: for an increasing,
// elementwise g, x* >= lower with g(x*) = 0 in every entry, each entry with
// its own bracket, iteration count and status. The backward pass is the
// scalar IFT per entry,
//
//     xbar -> u = xbar / g'(x*),   paramsbar = -(dg/dparams)^T u,
//
// certified: an entry where g'(x*) is 0 or not finite fails (raise or NaN,
// as BackwardOptions::raise_on_failure says), never a silent gradient.

#include <ATen/ATen.h>

#include <memory>
#include <vector>

#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch {

struct RootOptions {
  // Bracket: [lower, lower + initial_step * growth^k], k = 0, 1, ... until
  // g > 0 at the right end; an entry with no sign change by max_growth_steps
  // fails with kInvalidBracket (so does one with g(lower) > 0: no root >= lower).
  double initial_step = 1.0;
  double growth = 2.0;
  int max_growth_steps = 1100;
  // Stops an entry when its bracket is narrower than x_abs_tol + x_rel_tol |x|
  // (x_rel_tol floored at 4 epsilons of the dtype) or g(x) == 0.
  double x_abs_tol = 0.0;
  double x_rel_tol = 0.0;
  int max_iter = 200;  // Illinois / bisection steps per entry
  bool raise_on_failure = true;
  BackwardOptions backward;  // raise_on_failure applies to the IFT backward
  void validate() const;
};

struct RootOutput {
  at::Tensor x;                     // x*, differentiable w.r.t. params
  std::shared_ptr<SolveInfo> info;  // per entry (flattened order)
};

// Solves g(x) = 0 elementwise for x >= lower (a tensor, broadcast to the
// shape g works on). The safeguarded method is Illinois false position with
// a bisection step whenever a step fails to halve the bracket.
RootOutput root(const Map& g, const at::Tensor& lower, const std::vector<at::Tensor>& params,
                const RootOptions& options = {});

// Attaches the IFT gradient of g(x*) = 0 to roots found by other means (the
// monotone network's double-precision TOMS 748). `info` receives the
// backward report.
at::Tensor attach_root_gradient(const Map& g, const at::Tensor& x_star,
                                const std::vector<at::Tensor>& params,
                                const std::shared_ptr<SolveInfo>& info,
                                const BackwardOptions& options);

}  // namespace implicit::torch
