#include "implicit/torch/deq.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/init.h>

#include <stdexcept>

namespace implicit::torch {

TanhCellImpl::TanhCellImpl(int64_t input_size, int64_t hidden_size, double initial_contraction)
    : hidden_size_(hidden_size) {
  if (input_size < 1 || hidden_size < 1)
    throw std::invalid_argument("TanhCell: input_size and hidden_size must be >= 1");
  if (!(initial_contraction > 0 && initial_contraction < 1))
    throw std::invalid_argument("TanhCell: initial_contraction must be in (0, 1), got " +
                                std::to_string(initial_contraction));
  recurrent = register_module(
      "recurrent",
      ::torch::nn::Linear(::torch::nn::LinearOptions(hidden_size, hidden_size).bias(false)));
  input = register_module("input", ::torch::nn::Linear(input_size, hidden_size));
  at::NoGradGuard no_grad;
  at::Tensor w = recurrent->weight;
  w.mul_(initial_contraction / at::linalg_matrix_norm(w, 2));
}

at::Tensor TanhCellImpl::forward(const at::Tensor& z, const at::Tensor& x) {
  return at::tanh(recurrent->forward(z) + input->forward(x));
}

DEQImpl::DEQImpl(std::shared_ptr<CellImpl> cell, DEQOptions options)
    : cell_(std::move(cell)), options_(options) {
  if (!cell_) throw std::invalid_argument("DEQ: the cell is null");
  if (options_.hutchinson_probes < 1)
    throw std::invalid_argument("DEQOptions::hutchinson_probes must be >= 1");
  options_.solve.validate();
  register_module("cell", cell_);
}

at::Tensor jacobian_penalty(const Map& f, const at::Tensor& z_star, int probes) {
  if (probes < 1) throw std::invalid_argument("jacobian_penalty: probes must be >= 1");
  // E_eps ||eps^T J||^2 = ||J||_F^2 per sample (Hutchinson), at z*.
  const at::Tensor z = z_star.detach().requires_grad_(true);
  const at::Tensor fz = f(z);
  at::Tensor total = at::zeros({}, fz.options());
  for (int k = 0; k < probes; ++k) {
    const at::Tensor eps = at::randn_like(fz);
    const at::Tensor vjp = ::torch::autograd::grad({fz}, {z}, {eps}, /*retain_graph=*/true,
                                                   /*create_graph=*/true)[0];
    total = total + vjp.pow(2).sum() / static_cast<double>(fz.numel());
  }
  return total / probes;
}

DEQOutput DEQImpl::forward(const at::Tensor& x) {
  if (!x.defined() || x.dim() < 1)
    throw std::invalid_argument("DEQ::forward: x must have shape (B, ...)");
  auto cell = cell_;
  Map f = [cell, x](const at::Tensor& z) { return cell->forward(z, x); };
  std::vector<at::Tensor> params = cell_->parameters();
  if (x.requires_grad()) params.push_back(x);
  const at::Tensor z0 =
      at::zeros({x.size(0), cell_->hidden_size()}, x.options().requires_grad(false));
  FixedPointOutput solved = fixed_point(f, z0, params, options_.solve);
  DEQOutput out{solved.z, at::Tensor(), solved.info};
  if (is_training() && options_.jacobian_penalty)
    out.jacobian_penalty = jacobian_penalty(f, solved.z, options_.hutchinson_probes);
  return out;
}

}  // namespace implicit::torch
