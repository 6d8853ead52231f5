#include "implicit/torch/monotone_net.hpp"

#include <cmath>
#include <stdexcept>

#include "implicit/models/monotone_net.hpp"

namespace implicit::torch {

namespace {

Eigen::VectorXd to_eigen(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

at::Tensor from_eigen(const Eigen::VectorXd& v) {
  return at::from_blob(const_cast<double*>(v.data()), {v.size()}, at::kDouble).clone();
}

// R(x) elementwise; the hidden units run along a new last dimension.
at::Tensor monotone_value(const at::Tensor& w, const at::Tensor& v, const at::Tensor& b,
                          const at::Tensor& x) {
  const int64_t h = w.size(0);
  const at::Tensor a = at::exp(w) * x.unsqueeze(-1) + b;
  const at::Tensor ev = at::exp(v);
  const at::Tensor sig = at::sigmoid(a.narrow(-1, 0, h - 1)) - at::sigmoid(b.narrow(0, 0, h - 1));
  const at::Tensor relu = at::relu(a.select(-1, h - 1)) - at::relu(b[h - 1]);
  return (sig * ev.narrow(0, 0, h - 1)).sum(-1) + relu * ev[h - 1];
}

}  // namespace

MonotoneNetImpl::MonotoneNetImpl(int64_t hidden, uint64_t seed) {
  // The core library's reference parameters: the tensor and dense paths
  // then describe the same network for the same seed.
  auto reference = make_reference_monotone_net<double>(hidden, seed);
  w = register_parameter("w", from_eigen(reference.w()));
  v = register_parameter("v", from_eigen(reference.v()));
  b = register_parameter("b", from_eigen(reference.b()));
}

at::Tensor MonotoneNetImpl::forward(const at::Tensor& x) {
  return monotone_value(w.to(x.dtype()), v.to(x.dtype()), b.to(x.dtype()), x);
}

MonotoneInverseOutput MonotoneNetImpl::inverse(const at::Tensor& y, const RootOptions& options) {
  options.validate();
  if (!y.defined() || !at::isFloatingType(y.scalar_type()))
    throw std::invalid_argument("MonotoneNet::inverse: y must be a floating-point tensor");
  const implicit::MonotoneNet<double> net(to_eigen(w), to_eigen(v), to_eigen(b));
  const auto solved = net.inverse_batched(to_eigen(y), options.scalar());  // throws on NaN y

  MonotoneInverseOutput out;
  out.info = std::make_shared<SolveInfo>();
  PassInfo& pass = out.info->forward;
  pass.ran = true;
  pass.method = "toms748";
  for (const auto& r : solved.results) {
    pass.status.push_back(r.status);
    pass.iterations.push_back(r.function_evaluations);
    pass.residual.push_back(std::abs(r.residual));
    pass.evaluations += r.function_evaluations;
    if (!r.ok() && pass.message.empty()) pass.message = r.brief_report();
  }
  if (options.raise_on_failure && !pass.ok())
    throw std::runtime_error("MonotoneNet::inverse: " + pass.brief_report());

  const at::Tensor x_star =
      from_eigen(solved.x).view(y.sizes()).to(y.options().requires_grad(false));
  at::Tensor wt = w, vt = v, bt = b;
  Map g = [wt, vt, bt, y](const at::Tensor& x) {
    return monotone_value(wt.to(x.dtype()), vt.to(x.dtype()), bt.to(x.dtype()), x) - y;
  };
  std::vector<at::Tensor> params{w, v, b};
  if (y.requires_grad()) params.push_back(y);
  out.x = attach_root_gradient(g, x_star, params, out.info, options.backward);
  return out;
}

}  // namespace implicit::torch
