#pragma once
// Certified per-sample solve of u = K u + b (A = I - K) on tensors of shape
// (B, ...), for the IFT adjoint (K = (df/dz)^T) and for forward mode
// (K = df/dz). The methods of AdjointOptions, tried in the fallback order
// (chosen method, GMRES, dense when the per-sample size n <= dense_max_size);
// every sample is certified by recomputing ||u - K u - b|| and only
// certified samples are accepted, so a later attempt redoes just the failed
// ones' answers. A sample no attempt certifies gets NaN and its status.

#include <ATen/ATen.h>

#include <functional>

#include "implicit/adjoint/adjoint_options.hpp"
#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch::internal {

using LinearMap = std::function<at::Tensor(const at::Tensor&)>;

struct CertifiedSolve {
  at::Tensor x;
  PassInfo info;
};

// allow_kernel = false: the generic loops over VectorOps<at::Tensor> even
// where the kernel loops (batched_solve.hpp, kernel_gmres) apply; for
// tests that compare the two.
CertifiedSolve solve_fixed_point_system(const LinearMap& apply_k, const at::Tensor& b,
                                        const AdjointOptions& options, bool allow_kernel = true);

// The same certificate for an x found by other means (the double-backward
// path solves the adjoint as a differentiable fixed point): per sample,
// kConverged where the recomputed ||x - K x - b|| passes
// certify_linear_solution exactly as in solve_fixed_point_system, else the
// failure the solver claimed for it (`claimed`, per sample) or
// kLinearSolveFailed; residual the recomputed norm; the first refusal in
// the message. Costs two products with K. x itself is not changed: the
// caller puts NaN (or 0) into the failed samples' rows.
PassInfo certify_fixed_point_system(const LinearMap& apply_k, const at::Tensor& x,
                                    const at::Tensor& b, const AdjointOptions& options,
                                    const std::vector<Status>& claimed);

}  // namespace implicit::torch::internal
