#pragma once
// A deep-equilibrium layer as a LibTorch module: z* = cell(z*, x), with the
// IFT backward of fixed_point.hpp and, optionally, the Jacobian
// regularisation of Bai et al. (Hutchinson estimate of ||d cell/dz||_F^2 at
// z*), which keeps the cell contractive during training.
//
//   implicit::torch::DEQ deq(std::make_shared<implicit::torch::TanhCellImpl>(64, 100));
//   auto out = deq->forward(x);                 // out.z: (B, 100)
//   loss = criterion(head(out.z), y) + 0.5 * out.jacobian_penalty;

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <memory>

#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch {

// A cell f(z, x) -> z' of the same shape as z; rows of the batch independent.
class CellImpl : public ::torch::nn::Module {
 public:
  virtual at::Tensor forward(const at::Tensor& z, const at::Tensor& x) = 0;
  virtual int64_t hidden_size() const = 0;
};

// f(z, x) = tanh(W z + U x + b): the layer of docs/reference-systems.md
// section 1 with an input injection.
// W starts at spectral norm `initial_contraction`, so the first forward
// solves converge.
class TanhCellImpl : public CellImpl {
 public:
  TanhCellImpl(int64_t input_size, int64_t hidden_size, double initial_contraction = 0.5);
  at::Tensor forward(const at::Tensor& z, const at::Tensor& x) override;
  int64_t hidden_size() const override { return hidden_size_; }

  ::torch::nn::Linear recurrent{nullptr};  // W, no bias
  ::torch::nn::Linear input{nullptr};      // U and b

 private:
  int64_t hidden_size_;
};
// TORCH_MODULE(TanhCell), spelled out: the macro names torch::nn unqualified,
// which inside implicit::torch would mean implicit::torch::nn.
class TanhCell : public ::torch::nn::ModuleHolder<TanhCellImpl> {
 public:
  using ::torch::nn::ModuleHolder<TanhCellImpl>::ModuleHolder;
  using Impl = TanhCellImpl;
};

struct DEQOutput {
  at::Tensor z;                     // z*, (B, hidden)
  at::Tensor jacobian_penalty;      // Hutchinson ||df/dz||_F^2 / hidden, mean over the batch
                                    // (undefined unless enabled and training)
  std::shared_ptr<SolveInfo> info;  // forward now, backward after .backward()
};

// Defaults for training, not for exact sensitivities (use fixed_point(),
// whose default backward is the certified IFT, for those). Chosen on
// bench/deq_training (two spirals and two rings, TanhCell(2, 64), Adam 1e-2;
// tables in bench/README.md "Training defaults"):
//   * forward: Anderson to 1e-6 + 1e-4 ||f(z)|| per sample, at most 50
//     iterations, never raising (a classifier needs z* to a few digits; an
//     unconverged sample is reported in SolveInfo::forward);
//   * backward: the Jacobian-free gradient (Fung et al. 2022). Measured, it
//     trained best and costs no adjoint solve: 86-91% test accuracy on the
//     spirals in 150 steps (91% with jacobian_penalty at weight 1), where the
//     exact IFT gradient reached 55-75% (its training drives the spectral
//     radius of df/dz at z* to 1.4-3.6, past where z* is attracting) and
//     87% only with penalty weight 5. Every sample's status is then
//     `approximate`: nothing is solved, nothing certified;
//   * a failed sample feeds no gradient (FailedSamples::kDrop) and nothing
//     raises, so switching `gradient` to kImplicit still trains: samples
//     whose forward stopped short are refused (not_a_solution) and dropped.
// Watch ForwardOptions::spectral_radius_iterations (the stability
// diagnostic) when changing these.
struct DEQOptions {
  Options solve = training_defaults();
  // Adds the Hutchinson penalty in training mode (costs one VJP per probe).
  // The caller adds weight * out.jacobian_penalty to the loss; weight 1
  // helped the Jacobian-free gradient, the exact one needed 5 or more.
  bool jacobian_penalty = false;
  int hutchinson_probes = 1;

  static Options training_defaults() {
    Options o;
    o.forward.solver = Solver::kAnderson;
    o.forward.stop.abs_tol = 1e-6;
    o.forward.stop.rel_tol = 1e-4;
    o.forward.stop.max_iter = 50;
    o.forward.stop.record_history = false;
    o.forward.raise_on_failure = false;
    o.backward.gradient = Gradient::kJacobianFree;
    o.backward.failed_samples = BackwardOptions::FailedSamples::kDrop;
    o.backward.raise_on_failure = false;
    return o;
  }
};

// The Jacobian regularisation of Bai et al.: the Hutchinson estimate of
// ||df/dz||_F^2 / numel at z_star (mean over the batch), from `probes`
// Gaussian probes, one VJP each, differentiable (create_graph) so that it can
// be added to the loss. What DEQ::forward adds with jacobian_penalty on.
at::Tensor jacobian_penalty(const Map& f, const at::Tensor& z_star, int probes = 1);

class DEQImpl : public ::torch::nn::Module {
 public:
  DEQImpl(std::shared_ptr<CellImpl> cell, DEQOptions options = {});
  DEQOutput forward(const at::Tensor& x);

  DEQOptions& options() { return options_; }
  std::shared_ptr<CellImpl> cell() const { return cell_; }

 private:
  std::shared_ptr<CellImpl> cell_;
  DEQOptions options_;
};
// TORCH_MODULE(DEQ), spelled out: the macro names torch::nn unqualified,
// which inside implicit::torch would mean implicit::torch::nn.
class DEQ : public ::torch::nn::ModuleHolder<DEQImpl> {
 public:
  using ::torch::nn::ModuleHolder<DEQImpl>::ModuleHolder;
  using Impl = DEQImpl;
};

}  // namespace implicit::torch
