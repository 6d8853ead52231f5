#include "implicit/torch/monotone_net.hpp"

#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <stdexcept>

#include "implicit/models/monotone_net.hpp"

namespace implicit::torch {

namespace {

namespace autograd = ::torch::autograd;

Eigen::VectorXd to_eigen(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const Eigen::VectorXd>(c.data_ptr<double>(), c.numel());
}

at::Tensor from_eigen(const Eigen::VectorXd& v) {
  return at::from_blob(const_cast<double*>(v.data()), {v.size()}, at::kDouble).clone();
}

// R(x) elementwise, differentiable in x and (w, v, b), by the dense
// network's closed form: value_and_slope and grad_theta_into of
// implicit::MonotoneNet<double> (models/monotone_formula-inl.hpp), the one
// cancellation-free formula every backend runs, in double on the CPU. The
// tensor expression exp(v)^T (sigmoid(a) - sigmoid(b)) loses dR/dv to
// cancellation where exp(w) x is below an ulp of sigmoid(b), or b is huge
// (relu(1e308 + d) - relu(1e308) = 0), and returned dx/dv = 0 there.
// Forward O(n H); when an input requires a gradient it also keeps R'(x_i)
// and the n x 3H rows dR/dtheta(x_i) (the backward is then two products).
// First order only: the backward is not itself differentiable.
class MonotoneValueFunction : public autograd::Function<MonotoneValueFunction> {
 public:
  static at::Tensor forward(autograd::AutogradContext* ctx, const at::Tensor& x,
                            const at::Tensor& w, const at::Tensor& v, const at::Tensor& b) {
    const implicit::MonotoneNet<double> net(to_eigen(w), to_eigen(v), to_eigen(b));
    const at::Tensor xd = x.detach().to(at::kCPU, at::kDouble).contiguous();
    const int64_t n = xd.numel(), h = net.hidden();
    const double* xs = xd.data_ptr<double>();
    at::Tensor r = at::empty({n}, at::kDouble);
    double* rs = r.data_ptr<double>();
    for (int64_t i = 0; i < n; ++i) rs[i] = net.value_and_slope(xs[i]).value;
    const bool differentiable =
        x.requires_grad() || w.requires_grad() || v.requires_grad() || b.requires_grad();
    at::Tensor slope, rows;
    if (differentiable) {
      slope = at::empty({n}, at::kDouble);
      rows = at::empty({n, 3 * h}, at::kDouble);
      double* ss = slope.data_ptr<double>();
      double* gs = rows.data_ptr<double>();
      for (int64_t i = 0; i < n; ++i) ss[i] = net.grad_theta_into(xs[i], gs + i * 3 * h, 1);
    }
    // x, w, v, b for their shapes and options only.
    ctx->save_for_backward({x, w, v, b, slope, rows});
    return r.view(x.sizes()).to(x.options());
  }

  static autograd::variable_list backward(autograd::AutogradContext* ctx,
                                          autograd::variable_list grad_outputs) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor &x = saved[0], &w = saved[1], &v = saved[2], &b = saved[3];
    const at::Tensor &slope = saved[4], &rows = saved[5];
    if (!grad_outputs[0].defined() || !slope.defined()) return {{}, {}, {}, {}};
    const at::Tensor gout = grad_outputs[0].detach().reshape(-1).to(at::kCPU, at::kDouble);
    const int64_t h = w.numel();
    // dL/dx_i = gout_i R'(x_i); dL/dtheta = sum_i gout_i dR/dtheta(x_i).
    const at::Tensor grad_x = (gout * slope).view(x.sizes()).to(x.options());
    const at::Tensor grad_theta = rows.t().matmul(gout);
    return {grad_x, grad_theta.narrow(0, 0, h).view(w.sizes()).to(w.options()),
            grad_theta.narrow(0, h, h).view(v.sizes()).to(v.options()),
            grad_theta.narrow(0, 2 * h, h).view(b.sizes()).to(b.options())};
  }
};

at::Tensor monotone_value(const at::Tensor& w, const at::Tensor& v, const at::Tensor& b,
                          const at::Tensor& x) {
  return MonotoneValueFunction::apply(x, w, v, b);
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

at::Tensor MonotoneNetImpl::forward(const at::Tensor& x) { return monotone_value(w, v, b, x); }

MonotoneInverseOutput MonotoneNetImpl::inverse(const at::Tensor& y, const RootOptions& options,
                                               ScalarRootMethod method) {
  options.validate();
  if (!y.defined() || !at::isFloatingType(y.scalar_type()))
    throw std::invalid_argument("MonotoneNet::inverse: y must be a floating-point tensor");
  if (at::isnan(y).any().item<bool>())
    throw std::invalid_argument("MonotoneNet::inverse: y has a NaN entry");
  const implicit::MonotoneNet<double> net(to_eigen(w), to_eigen(v), to_eigen(b));
  // RootOptions' bracket and tolerances (RootOptions::scalar(), the same
  // mapping torch::root uses), with the caller's method.
  ScalarRootOptions scalar = options.scalar();
  scalar.method = method;
  const auto solved = net.inverse_batched(to_eigen(y), scalar);

  MonotoneInverseOutput out;
  out.info = std::make_shared<SolveInfo>();
  PassInfo& pass = out.info->forward;
  pass.ran = true;
  pass.method = to_string(method);
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
  Map g = [wt, vt, bt, y](const at::Tensor& x) { return monotone_value(wt, vt, bt, x) - y; };
  std::vector<at::Tensor> params{w, v, b};
  if (y.requires_grad()) params.push_back(y);
  out.x = attach_root_gradient(g, x_star, params, out.info, options.backward);
  return out;
}

}  // namespace implicit::torch
