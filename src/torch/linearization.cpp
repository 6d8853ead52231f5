#include "linearization.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/grad_mode.h>

namespace implicit::torch::internal {

namespace autograd = ::torch::autograd;

Linearization::Linearization(const Map& f, const at::Tensor& z, bool create_graph)
    : create_graph_(create_graph) {
  at::AutoGradMode enable(true);
  z_ = create_graph ? z : z.detach().requires_grad_(true);
  if (!z_.requires_grad()) z_ = z_.detach().requires_grad_(true);
  fz_ = f(z_);
}

namespace {
at::Tensor or_zeros(const at::Tensor& t, const at::Tensor& like) {
  return t.defined() ? t : at::zeros_like(like);
}
}  // namespace

at::Tensor Linearization::vjp(const at::Tensor& u) const {
  if (!fz_.requires_grad()) return at::zeros_like(z_);  // f does not depend on z
  at::AutoGradMode enable(true);
  auto g = autograd::grad({fz_}, {z_}, {u}, /*retain_graph=*/true, create_graph_,
                          /*allow_unused=*/true);
  return or_zeros(g[0], z_);
}

at::Tensor Linearization::jvp(const at::Tensor& v) const {
  if (!fz_.requires_grad()) return at::zeros_like(fz_);
  at::AutoGradMode enable(true);
  if (!dummy_.defined()) {
    dummy_ = at::zeros_like(fz_).requires_grad_(true);
    auto g = autograd::grad({fz_}, {z_}, {dummy_}, /*retain_graph=*/true, /*create_graph=*/true,
                            /*allow_unused=*/true);
    transpose_of_dummy_ = g[0];
  }
  // J^T w does not depend on w when it is undefined or constant in w (f
  // independent of z): then J = 0.
  if (!transpose_of_dummy_.defined() || !transpose_of_dummy_.requires_grad())
    return at::zeros_like(fz_);
  auto g = autograd::grad({transpose_of_dummy_}, {dummy_}, {v}, /*retain_graph=*/true,
                          create_graph_, /*allow_unused=*/true);
  return or_zeros(g[0], fz_);
}

std::vector<at::Tensor> Linearization::param_vjp(const std::vector<at::Tensor>& params,
                                                 const at::Tensor& u, bool create_graph) const {
  std::vector<at::Tensor> out(params.size());
  std::vector<at::Tensor> wanted;
  std::vector<size_t> where;
  for (size_t i = 0; i < params.size(); ++i)
    if (params[i].defined() && params[i].requires_grad()) {
      wanted.push_back(params[i]);
      where.push_back(i);
    }
  if (wanted.empty() || !fz_.requires_grad()) return out;
  at::AutoGradMode enable(true);
  auto g = autograd::grad({fz_}, wanted, {u}, /*retain_graph=*/true, create_graph,
                          /*allow_unused=*/true);
  for (size_t k = 0; k < where.size(); ++k) out[where[k]] = g[k];
  return out;
}

at::Tensor Linearization::param_jvp(const std::vector<at::Tensor>& params,
                                    const std::vector<at::Tensor>& tangents) const {
  at::AutoGradMode enable(true);
  at::Tensor w = at::zeros_like(fz_).requires_grad_(true);
  auto transposed = param_vjp(params, w, /*create_graph=*/true);
  at::Tensor total;
  for (size_t i = 0; i < params.size(); ++i) {
    if (!transposed[i].defined() || !tangents[i].defined() || !transposed[i].requires_grad())
      continue;
    // d/dw <(df/dp)^T w, dp> = (df/dp) dp
    auto g = autograd::grad({transposed[i]}, {w}, {tangents[i]}, /*retain_graph=*/true,
                            /*create_graph=*/false, /*allow_unused=*/true);
    if (!g[0].defined()) continue;
    total = total.defined() ? total + g[0] : g[0];
  }
  return total.defined() ? total : at::zeros_like(fz_);
}

}  // namespace implicit::torch::internal
