#pragma once
// Fixtures of the LibTorch tests: the tanh layer of docs/reference-systems.md on tensors and
// central finite differences of a scalar function of one tensor.

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <functional>

#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch::testing {

inline at::TensorOptions f64() { return at::TensorOptions().dtype(at::kDouble); }

// tanh(z W^T + x) with W ~ N(0, 1/n) rescaled to spectral norm `contraction`,
// so every sample converges and the adjoint iteration does too.
struct TanhProblem {
  at::Tensor w, x;
  Map map() const {
    return [w = w, x = x](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
  }
};

inline TanhProblem make_tanh_problem(int64_t batch, int64_t n, uint64_t seed = 0,
                                     double contraction = 0.9, at::ScalarType dtype = at::kDouble) {
  ::torch::manual_seed(seed);
  at::Tensor w = ::torch::randn({n, n}, f64()) / std::sqrt(static_cast<double>(n));
  w = w * (contraction / at::linalg_matrix_norm(w, 2));
  at::Tensor x = ::torch::randn({batch, n}, f64());
  return {w.to(dtype).requires_grad_(true), x.to(dtype).requires_grad_(true)};
}

// Options tight enough that solver error sits far below what the
// finite-difference checks resolve.
inline Options tight_options(Solver solver = Solver::kAnderson) {
  Options o;
  o.forward.solver = solver;
  o.forward.stop.abs_tol = 1e-14;
  o.forward.stop.rel_tol = 1e-13;
  o.forward.stop.max_iter = 2000;
  o.backward.adjoint.abs_tol = 1e-14;
  o.backward.adjoint.rel_tol = 1e-13;
  return o;
}

// d loss / d p by central differences, entry by entry (float64).
inline at::Tensor central_difference(const std::function<double()>& loss, at::Tensor p,
                                     double h = 1e-6) {
  at::NoGradGuard no_grad;
  at::Tensor out = at::zeros_like(p);
  auto flat = p.view(-1);
  auto flat_out = out.view(-1);
  for (int64_t i = 0; i < flat.numel(); ++i) {
    const double saved = flat[i].item<double>();
    flat[i] = saved + h;
    const double up = loss();
    flat[i] = saved - h;
    const double down = loss();
    flat[i] = saved;
    flat_out[i] = (up - down) / (2 * h);
  }
  return out;
}

inline double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

}  // namespace implicit::torch::testing
