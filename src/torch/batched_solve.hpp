#pragma once
// The batched fixed-point loop of the tensor layer, for forward iteration
// and Anderson: the forward solve and the adjoint's iteration methods.
//
// On CPU tensors of float or double the loop runs as
// implicit::solve_fixed_point_batched does, keeping its samples' books with
// the same class (fixed_point/batched_stopping.hpp: stopping rule,
// per-sample statuses, frozen outputs and best iterates), but every step's
// own work is one pass over the rows of f(z)
// in plain C++ instead of ~45 LibTorch operator calls (the per-sample
// norms, Anderson's Gram row, its B weight solves and its mixing): the
// operator calls cost 2-5 us each whatever the tensor size, i.e. more than
// f itself for n <= 100 (bench/README.md, LibTorch path). Anderson keeps
// its history in buffers of its own ((B, m, n), allocated once); the
// weights are solved per sample by Anderson's own weight solve
// (internal::AndersonWeights in fixed_point/anderson.hpp).
//
// Buffers: the iterate handed to f is a tensor the loop allocated (or
// f's previous output); the loop writes into a tensor only while it holds
// its only reference (use_count 1, storage too), so a map that returns one
// of its captured tensors, or keeps the tensors it is given, sees them
// unchanged. Dot products and norms accumulate in double.
//
// Elsewhere (other devices and dtypes), or with allow_kernel = false, the
// generic solve_fixed_point_batched over VectorOps<at::Tensor> runs.
// The kernel loop records no residual history (the tensor layer's
// PassInfo carries none).

#include <ATen/ATen.h>

#include <functional>

#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/options.hpp"
#include "implicit/fixed_point/solve_batched.hpp"

namespace implicit::torch::internal {

using TensorFn = std::function<at::Tensor(const at::Tensor&)>;
using BatchedResult = BatchedFixedPointResult<at::Tensor>;

// Whether the kernel loop serves z0: a CPU tensor of float or double.
bool kernel_path_applies(const at::Tensor& z0);

// relative_to (per sample, optional): the relative part of the stopping
// rule becomes rel_tol * relative_to[b] instead of rel_tol * ||f(z)_b||.
// The adjoint iteration u <- K u + b stops so by ||b||, the rule its
// certificate checks (internal/certificate.hpp); stopped by ||f(u)|| ~
// ||u|| (up to 1 / (1 - ||K||) times ||b||) its answer fails that
// certificate and the whole attempt is redone by the fallback. Both paths
// take it per sample (solve_fixed_point_batched's relative_to).
BatchedResult solve_batched(const TensorFn& f, const at::Tensor& z0,
                            const ForwardIterationOptions& solver, const FixedPointOptions& stop,
                            const Eigen::ArrayXd* relative_to = nullptr, bool allow_kernel = true);
BatchedResult solve_batched(const TensorFn& f, const at::Tensor& z0, const AndersonOptions& solver,
                            const FixedPointOptions& stop,
                            const Eigen::ArrayXd* relative_to = nullptr, bool allow_kernel = true);

}  // namespace implicit::torch::internal
