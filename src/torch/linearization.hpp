#pragma once
// Products with the Jacobian of a LibTorch map at one point, per sample:
// (df/dz)^T u by one backward pass, (df/dz) v by the double-backward trick
// (the VJP is linear in its cotangent w, so differentiating <J^T w, v>
// w.r.t. w gives J v), and (df/dparams)^T u. The graph of f(z) is built
// once and reused by every product.

#include <ATen/ATen.h>

#include <string>
#include <vector>

#include "implicit/torch/fixed_point.hpp"

namespace implicit::torch::internal {

// f(z) must be a tensor of z's shape, dtype and device: throws
// std::invalid_argument naming both otherwise (a float64 map on a float32
// z0 would else fail deep inside ATen, or silently promote the iterates).
void check_map_output(const char* who, const at::Tensor& z, const at::Tensor& fz);
// f(z), with an ATen error inside f (the usual one: z0 float32 against
// float64 weights, "expected scalar type Float but found Double") turned
// into std::invalid_argument that names z's dtype, shape and device and
// carries ATen's message without its C++ stack trace.
at::Tensor call_map(const Map& f, const at::Tensor& z, const char* who);

// A tangent is a direction in parameter space, not an autograd flag: while
// this guard lives, every floating-point params[i] with a defined tangent
// that does not require a gradient does, so that a Linearization built
// meanwhile records f's dependence on it (param_jvp can only follow the
// parameters f's graph reaches). The flags are restored on destruction.
// Only a leaf can lack requires_grad, and a leaf's flag may be set; the
// products use autograd::grad, which never writes the tensor's .grad.
class TrackTangents {
 public:
  TrackTangents(const std::vector<at::Tensor>& params, const std::vector<at::Tensor>& tangents);
  ~TrackTangents();
  TrackTangents(const TrackTangents&) = delete;
  TrackTangents& operator=(const TrackTangents&) = delete;

 private:
  std::vector<at::Tensor> switched_;
};

class Linearization {
 public:
  // create_graph: keep the products themselves differentiable (double
  // backward); z is then used as given instead of a detached copy.
  Linearization(const Map& f, const at::Tensor& z, bool create_graph = false);

  const at::Tensor& value() const { return fz_; }  // f(z)
  at::Tensor vjp(const at::Tensor& u) const;       // (df/dz)^T u
  at::Tensor jvp(const at::Tensor& v) const;       // (df/dz) v
  // (df/dparams)^T u, undefined for a parameter f does not use or that
  // does not require a gradient.
  std::vector<at::Tensor> param_vjp(const std::vector<at::Tensor>& params, const at::Tensor& u,
                                    bool create_graph = false) const;
  // (df/dparams) dparams, the tangents matching params (undefined = zero).
  // A parameter that did not require a gradient when f was linearised is
  // not in f's graph: build the Linearization under TrackTangents.
  at::Tensor param_jvp(const std::vector<at::Tensor>& params,
                       const std::vector<at::Tensor>& tangents) const;
  // The tensors f(z) depends on that require a gradient but are neither z
  // nor in params, nor reached only through them: a walk over the autograd
  // graph of f(z) (linear in its size). Each is described by its shape,
  // e.g. "a leaf of shape [64, 2]"; empty when params is complete.
  std::vector<std::string> unlisted_inputs(const std::vector<at::Tensor>& params) const;

 private:
  at::Tensor z_, fz_;
  bool create_graph_;
  mutable at::Tensor dummy_, transpose_of_dummy_;  // J^T w with w a free variable
};

}  // namespace implicit::torch::internal
