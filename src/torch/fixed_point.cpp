// The LibTorch fixed point: batched forward solve through the generic
// solvers (tensor_ops.hpp), and an autograd function whose backward is the
// certified IFT adjoint solve.

#include "implicit/torch/fixed_point.hpp"

#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#include "implicit/fixed_point/solve_batched.hpp"
#include "implicit/torch/tensor_ops.hpp"
#include "linear_solve.hpp"
#include "linearization.hpp"

namespace implicit::torch {

// ---- options ---------------------------------------------------------------

const char* to_string(Solver solver) {
  switch (solver) {
    case Solver::kForwardIteration:
      return "forward_iteration";
    case Solver::kAnderson:
      return "anderson";
    case Solver::kBroyden:
      return "broyden";
    case Solver::kNewton:
      return "newton";
  }
  return "unknown";
}

Solver solver_from_string(const std::string& name) {
  if (name == "forward") return Solver::kForwardIteration;  // the alias it was released as
  for (Solver s : {Solver::kForwardIteration, Solver::kAnderson, Solver::kBroyden, Solver::kNewton})
    if (name == to_string(s)) return s;
  throw std::invalid_argument("unknown solver '" + name +
                              "' (expected forward_iteration, anderson, broyden or newton)");
}

const char* to_string(Gradient gradient) {
  switch (gradient) {
    case Gradient::kImplicit:
      return "implicit";
    case Gradient::kJacobianFree:
      return "jacobian_free";
    case Gradient::kPhantom:
      return "phantom";
  }
  return "unknown";
}

void BackwardOptions::validate() const {
  adjoint.validate();
  if (phantom_steps < 1)
    throw std::invalid_argument("BackwardOptions::phantom_steps must be >= 1, got " +
                                std::to_string(phantom_steps));
  if (!(phantom_damping > 0 && phantom_damping <= 1))
    throw std::invalid_argument("BackwardOptions::phantom_damping must be in (0, 1], got " +
                                std::to_string(phantom_damping));
}

void Options::validate() const {
  forward.stop.validate();
  ForwardIteration(forward.forward_iteration).validate();
  Anderson(forward.anderson).validate();
  Broyden(forward.broyden).validate();
  Newton(forward.newton).validate();
  backward.validate();
}

// ---- reports ---------------------------------------------------------------

bool PassInfo::ok() const {
  return std::all_of(status.begin(), status.end(),
                     [](Status s) { return s == Status::kConverged; });
}

double PassInfo::mean_iterations() const {
  if (iterations.empty()) return 0;
  return std::accumulate(iterations.begin(), iterations.end(), 0.0) / iterations.size();
}

double PassInfo::max_residual() const {
  double worst = 0;
  for (double r : residual) {
    if (std::isnan(r)) return r;
    worst = std::max(worst, r);
  }
  return worst;
}

std::string PassInfo::brief_report() const {
  if (!ran) return "not run";
  const auto converged = std::count(status.begin(), status.end(), Status::kConverged);
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "%s: %ld of %zu samples converged, mean %.1f iterations, worst residual %.3e",
                method.c_str(), static_cast<long>(converged), status.size(), mean_iterations(),
                max_residual());
  return message.empty() ? std::string(buf) : std::string(buf) + "; " + message;
}

std::string SolveInfo::brief_report() const {
  return "forward " + forward.brief_report() + "\nbackward " + backward.brief_report();
}

// ---- forward solve -----------------------------------------------------------

namespace {

using Ops = VectorOps<at::Tensor>;

// The map as the generic solvers see it; linearize() serves Newton.
struct TensorMap {
  const Map& f;
  at::Tensor operator()(const at::Tensor& z) const { return f(z); }
  auto linearize(const at::Tensor& z) const {
    auto lin = std::make_shared<internal::Linearization>(f, z);
    return [lin](const at::Tensor& v) { return lin->jvp(v).detach(); };
  }
};

void check_batch(const char* who, const at::Tensor& z0) {
  if (!z0.defined()) throw std::invalid_argument(std::string(who) + ": z0 is undefined");
  if (z0.dim() < 1 || z0.size(0) < 1)
    throw std::invalid_argument(std::string(who) +
                                ": z0 must have shape (B, ...) with B >= 1, got " +
                                std::to_string(z0.dim()) + " dimensions");
  if (!at::isFloatingType(z0.scalar_type()))
    throw std::invalid_argument(std::string(who) + ": z0 must be floating point, got " +
                                std::string(c10::toString(z0.scalar_type())));
}

template <class Solver>
FixedPointOutput run(const Map& f, const at::Tensor& z0, const Solver& solver,
                     const ForwardOptions& options) {
  auto r = solve_fixed_point_batched(TensorMap{f}, z0, solver, options.stop);
  FixedPointOutput out;
  out.z = r.x;
  out.info = std::make_shared<SolveInfo>();
  PassInfo& p = out.info->forward;
  p.ran = true;
  p.method = r.solver;
  p.status = r.status;
  p.iterations = r.iterations;
  p.residual.assign(r.residual_norm.data(), r.residual_norm.data() + r.residual_norm.size());
  p.evaluations = r.function_evaluations;
  p.message = r.message;
  return out;
}

}  // namespace

FixedPointOutput solve(const Map& f, const at::Tensor& z0, const ForwardOptions& options) {
  check_batch("implicit::torch::solve", z0);
  at::NoGradGuard no_grad;
  const at::Tensor start = z0.detach();
  FixedPointOutput out;
  switch (options.solver) {
    case Solver::kForwardIteration:
      out = run(f, start, ForwardIteration(options.forward_iteration), options);
      break;
    case Solver::kAnderson:
      out = run(f, start, Anderson(options.anderson), options);
      break;
    case Solver::kBroyden:
      out = run(f, start, Broyden(options.broyden), options);
      break;
    case Solver::kNewton:
      out = run(f, start, Newton(options.newton), options);
      break;
  }
  out.z = out.z.detach();
  if (options.raise_on_failure && !out.info->forward.ok())
    throw std::runtime_error("implicit::torch fixed point did not converge: " +
                             out.info->forward.brief_report());
  return out;
}

// ---- autograd ----------------------------------------------------------------

namespace {

namespace autograd = ::torch::autograd;

// What the backward pass needs besides tensors; rides in ctx->saved_data.
struct Closure : ::torch::CustomClassHolder {
  Map f;
  Options options;
  std::shared_ptr<SolveInfo> info;
};

void fail_or_report(const PassInfo& pass, const BackwardOptions& options) {
  if (options.raise_on_failure && !pass.ok())
    throw std::runtime_error("implicit::torch fixed point backward: adjoint solve failed: " +
                             pass.brief_report());
}

// Double backward: the outer backward differentiates f at a detached copy
// z_leaf of z* (a gradient through the saved z* itself would re-enter this
// node while it runs, which autograd forbids). Reattach hands the results
// back with their dependence on z_leaf routed to z*, whose own backward is
// again the IFT: d/dz* of the results is computed later, when the second
// backward pass reaches this node, as a VJP through their graph at z_leaf.
class Reattach : public autograd::Function<Reattach> {
 public:
  static autograd::variable_list forward(autograd::AutogradContext* ctx, const at::Tensor& z_star,
                                         const at::Tensor& z_leaf, at::TensorList values) {
    (void)z_star;
    std::vector<at::Tensor> saved{z_leaf};
    saved.insert(saved.end(), values.begin(), values.end());
    ctx->save_for_backward(saved);
    autograd::variable_list out;
    for (const auto& v : values) out.push_back(v.detach());
    return out;
  }
  static autograd::variable_list backward(autograd::AutogradContext* ctx,
                                          autograd::variable_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    const at::Tensor z_leaf = saved[0];
    std::vector<at::Tensor> values, cotangents;
    for (size_t i = 1; i < saved.size(); ++i)
      if (grad_outputs[i - 1].defined() && saved[i].requires_grad()) {
        values.push_back(saved[i]);
        cotangents.push_back(grad_outputs[i - 1]);
      }
    at::Tensor dz;
    if (!values.empty())
      dz = autograd::grad(values, {z_leaf}, cotangents, /*retain_graph=*/true,
                          at::GradMode::is_enabled(), /*allow_unused=*/true)[0];
    autograd::variable_list result{dz, at::Tensor()};
    result.insert(result.end(), grad_outputs.begin(), grad_outputs.end());
    return result;
  }
};

class FixedPointFunction : public autograd::Function<FixedPointFunction> {
 public:
  static at::Tensor forward(autograd::AutogradContext* ctx, const at::Tensor& z0,
                            at::TensorList params, const c10::intrusive_ptr<Closure>& closure) {
    FixedPointOutput out = solve(closure->f, z0, closure->options.forward);
    closure->info->forward = out.info->forward;
    std::vector<at::Tensor> saved{out.z};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["closure"] = c10::IValue::make_capsule(closure);
    return out.z;
  }

  static autograd::variable_list backward(autograd::AutogradContext* ctx,
                                          autograd::variable_list grad_outputs) {
    auto closure =
        c10::static_intrusive_pointer_cast<Closure>(ctx->saved_data["closure"].toCapsule());
    const BackwardOptions& options = closure->options.backward;
    auto saved = ctx->get_saved_variables();
    const at::Tensor z_star = saved[0];
    const std::vector<at::Tensor> params(saved.begin() + 1, saved.end());
    at::Tensor g = grad_outputs[0].defined() ? grad_outputs[0] : at::zeros_like(z_star);
    // create_graph=true on the outer backward call turns grad mode on here.
    const bool create_graph = at::GradMode::is_enabled();

    // Shared: in the double-backward path the adjoint map below keeps
    // using it after this call returns.
    const at::Tensor z_leaf = z_star.detach().requires_grad_(true);
    auto shared_lin = std::make_shared<internal::Linearization>(closure->f, z_leaf, create_graph);
    const internal::Linearization& lin = *shared_lin;
    PassInfo& pass = closure->info->backward;
    pass = PassInfo{};
    pass.ran = true;
    pass.method = to_string(options.gradient);
    const int64_t batch = z_star.size(0);
    at::Tensor u;
    switch (options.gradient) {
      case Gradient::kJacobianFree:
        u = g;
        pass.status.assign(batch, Status::kConverged);
        pass.iterations.assign(batch, 0);
        pass.residual.assign(batch, 0.0);
        break;
      case Gradient::kPhantom: {
        // Backprop through k damped steps from z*: u accumulates
        // damping * sum_i M^T^i g with M = (1 - damping) I + damping df/dz.
        const double d = options.phantom_damping;
        at::Tensor v = g;
        u = at::zeros_like(g);
        for (int i = 0; i < options.phantom_steps; ++i) {
          u = u + d * v;
          if (i + 1 < options.phantom_steps) v = (1 - d) * v + d * lin.vjp(v);
        }
        pass.status.assign(batch, Status::kConverged);
        pass.iterations.assign(batch, options.phantom_steps);
        pass.residual.assign(batch, 0.0);
        pass.evaluations = options.phantom_steps - 1;
        break;
      }
      case Gradient::kImplicit:
        if (!create_graph) {
          auto solved = internal::solve_fixed_point_system(
              [&](const at::Tensor& v) { return lin.vjp(v); }, g.detach(), options.adjoint);
          u = solved.x;
          pass = solved.info;
        } else {
          // Differentiable adjoint: u is itself the fixed point of
          // u -> (df/dz)^T u + g, whose own backward is again IFT.
          Options inner = closure->options;
          inner.forward.solver = Solver::kAnderson;
          inner.forward.stop.abs_tol = options.adjoint.abs_tol;
          inner.forward.stop.rel_tol = options.adjoint.rel_tol;
          inner.forward.stop.max_iter = options.adjoint.max_iter;
          std::vector<at::Tensor> inner_params{z_leaf, g};
          inner_params.insert(inner_params.end(), params.begin(), params.end());
          auto adjoint_map = [shared_lin, g](const at::Tensor& v) {
            return shared_lin->vjp(v) + g;
          };
          auto solved = fixed_point(adjoint_map, at::zeros_like(g), inner_params, inner);
          u = solved.z;
          pass = solved.info->forward;
        }
        fail_or_report(pass, options);
        break;
    }
    auto grads = lin.param_vjp(params, u, create_graph);
    if (create_graph) {
      std::vector<at::Tensor> defined;
      for (auto& gp : grads)
        if (gp.defined()) defined.push_back(gp);
      auto reattached = Reattach::apply(z_star, z_leaf, at::TensorList(defined));
      size_t k = 0;
      for (auto& gp : grads)
        if (gp.defined()) gp = reattached[k++];
    }
    autograd::variable_list result;
    result.reserve(params.size() + 2);
    result.emplace_back();  // z0: z* does not depend on the start
    for (auto& gp : grads) result.push_back(gp);
    result.emplace_back();  // the closure
    return result;
  }
};

}  // namespace

FixedPointOutput fixed_point(const Map& f, const at::Tensor& z0,
                             const std::vector<at::Tensor>& params, const Options& options) {
  check_batch("implicit::torch::fixed_point", z0);
  options.validate();
  for (size_t i = 0; i < params.size(); ++i)
    if (!params[i].defined())
      throw std::invalid_argument("implicit::torch::fixed_point: params[" + std::to_string(i) +
                                  "] is undefined");
  auto closure = c10::make_intrusive<Closure>();
  closure->f = f;
  closure->options = options;
  closure->info = std::make_shared<SolveInfo>();
  at::Tensor z = FixedPointFunction::apply(z0, at::TensorList(params), closure);
  return {z, closure->info};
}

JvpOutput fixed_point_jvp(const Map& f, const at::Tensor& z0, const std::vector<at::Tensor>& params,
                          const std::vector<at::Tensor>& tangents, const Options& options) {
  check_batch("implicit::torch::fixed_point_jvp", z0);
  options.validate();
  if (tangents.size() != params.size())
    throw std::invalid_argument(
        "implicit::torch::fixed_point_jvp: " + std::to_string(tangents.size()) + " tangents for " +
        std::to_string(params.size()) + " params");
  for (size_t i = 0; i < params.size(); ++i)
    if (tangents[i].defined() && tangents[i].sizes() != params[i].sizes())
      throw std::invalid_argument("implicit::torch::fixed_point_jvp: tangents[" +
                                  std::to_string(i) + "] has the wrong shape");
  FixedPointOutput solved = solve(f, z0, options.forward);
  internal::Linearization lin(f, solved.z);
  const at::Tensor rhs = lin.param_jvp(params, tangents).detach();
  auto system = internal::solve_fixed_point_system(
      [&](const at::Tensor& v) { return lin.jvp(v).detach(); }, rhs, options.backward.adjoint);
  solved.info->backward = system.info;
  fail_or_report(system.info, options.backward);
  return {solved.z, system.x, solved.info};
}

}  // namespace implicit::torch
