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

#include "implicit/root/options.hpp"
#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch {

struct RootOptions {
  // Bracket growth, the rule of the scalar solvers (BracketOptions,
  // root/bracket.hpp): the k-th trial right end is
  // lower + initial_step * growth^(k-1), k = 1 .. max_growth_steps; every
  // trial with g <= 0 moves the entry's left end up to it, g == 0 there is
  // the root, and an entry with no sign change (g stays <= 0, turns NaN or
  // infinite, or the right end overflows) fails with kInvalidBracket, as
  // does one with g(lower) > 0 (no root >= lower).
  double initial_step = 1.0;
  double growth = 2.0;
  int max_growth_steps = 1100;
  // The width rule of the scalar solvers (ScalarRootOptions, root/options.hpp):
  // an entry stops when g(x) == 0 at an evaluated x or its bracket [a, b]
  // has b - a <= x_abs_tol + x_rel_tol_eff * max(|a|, |b|) (x_rel_tol = 0
  // means 4 epsilons of the dtype) or holds no number of the dtype between
  // its ends.
  double x_abs_tol = 0.0;
  double x_rel_tol = 0.0;
  int max_iter = 200;  // Illinois / bisection steps per entry
  bool raise_on_failure = true;
  BackwardOptions backward;  // raise_on_failure applies to the IFT backward
  void validate() const;
  // The same rules as the scalar solvers' options (method aside).
  ScalarRootOptions scalar() const;
};

struct RootOutput {
  at::Tensor x;                     // x*, differentiable w.r.t. params
  std::shared_ptr<SolveInfo> info;  // per entry (flattened order)
};

// Solves g(x) = 0 elementwise for x >= lower (a float32 or float64 tensor of
// the shape g works on). Each entry's bracket is grown by root/'s
// BracketGrowth (all entries' trial ends in one call of g per round); inside
// it, Illinois false position with a bisection step whenever a step fails to
// halve the bracket, stopped by root/'s width rule per entry. Throws
// std::invalid_argument for another dtype or a NaN / Inf in lower.
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
