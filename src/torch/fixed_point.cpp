// The LibTorch fixed point: the forward solve (through batched_solve.hpp's
// loop or the generic solvers of tensor_ops.hpp), the stability
// diagnostic, and the autograd function whose backward is the certified IFT
// adjoint solve with the failure policy. Options: options.cpp; reports:
// pass_info.cpp; the batched loop: batched_solve.cpp.

#include "implicit/torch/fixed_point.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "batched_solve.hpp"
#include "implicit/fixed_point/solve_batched.hpp"
#include "implicit/fixed_point/stopping.hpp"
#include "implicit/torch/tensor_ops.hpp"
#include "linear_solve.hpp"
#include "linearization.hpp"
#include "row_norms.hpp"

namespace implicit::torch {

// ---- forward solve -----------------------------------------------------------

namespace {

using Ops = VectorOps<at::Tensor>;

// The map as the generic solvers see it; linearize() serves Newton.
struct TensorMap {
  const Map& f;
  at::Tensor operator()(const at::Tensor& z) const {
    at::Tensor fz = internal::call_map(f, z, "implicit::torch::solve");
    internal::check_map_output("implicit::torch::solve", z, fz);
    return fz;
  }
  auto linearize(const at::Tensor& z) const {
    auto lin = std::make_shared<internal::Linearization>(f, z);
    return [lin](const at::Tensor& v) { return lin->jvp(v).detach(); };
  }
};

void check_batch(const char* who, const at::Tensor& z0) {
  if (!z0.defined()) throw std::invalid_argument(std::string(who) + ": z0 is undefined");
  if (z0.dim() < 1 || z0.size(0) < 1)
    throw std::invalid_argument(std::string(who) +
                                ": z0 must have shape (B, ...) with B >= 1, got shape " +
                                c10::str(z0.sizes()));
  if (!at::isFloatingType(z0.scalar_type()))
    throw std::invalid_argument(std::string(who) + ": z0 must be floating point, got " +
                                std::string(c10::toString(z0.scalar_type())));
}

FixedPointOutput report(BatchedFixedPointResult<at::Tensor> r, const ForwardOptions& options) {
  FixedPointOutput out;
  out.z = std::move(r.x);
  out.info = std::make_shared<SolveInfo>();
  PassInfo& p = out.info->forward;
  p.ran = true;
  p.method = r.solver;
  p.status = r.status;
  p.iterations = r.iterations;
  p.residual.assign(r.residual_norm.data(), r.residual_norm.data() + r.residual_norm.size());
  p.evaluations = r.function_evaluations;
  p.message = r.message;
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "converged samples: ||f(z) - z|| <= %.3g + %.3g ||f(z)|| on the returned rows "
                "(rel_tol floored at 8 epsilons of the dtype)",
                options.stop.abs_tol, options.stop.rel_tol);
  p.guarantee = buf;
  return out;
}

}  // namespace

FixedPointOutput solve(const Map& f, const at::Tensor& z0, const ForwardOptions& options) {
  check_batch("implicit::torch::solve", z0);
  at::NoGradGuard no_grad;
  const at::Tensor start = z0.detach();
  const TensorMap map{f};
  // Forward iteration and Anderson: the kernel loop (batched_solve.hpp).
  const internal::TensorFn fn = [&map](const at::Tensor& z) { return map(z); };
  FixedPointOutput out;
  switch (options.solver) {
    case Solver::kForwardIteration:
      out = report(internal::solve_batched(fn, start, options.forward_iteration, options.stop),
                   options);
      break;
    case Solver::kAnderson:
      out = report(internal::solve_batched(fn, start, options.anderson, options.stop), options);
      break;
    case Solver::kBroyden:
      out = report(solve_fixed_point_batched(map, start, Broyden(options.broyden), options.stop),
                   options);
      break;
    case Solver::kNewton:
      out = report(solve_fixed_point_batched(map, start, Newton(options.newton), options.stop),
                   options);
      break;
  }
  out.z = out.z.detach();
  if (options.spectral_radius_iterations > 0)
    out.info->forward.spectral_radius =
        spectral_radius(f, out.z, options.spectral_radius_iterations);
  if (options.raise_on_failure && !out.info->forward.ok())
    throw std::runtime_error("implicit::torch fixed point did not converge: " +
                             out.info->forward.brief_report());
  return out;
}

std::vector<double> spectral_radius(const Map& f, const at::Tensor& z, int iterations) {
  check_batch("implicit::torch::spectral_radius", z);
  if (iterations < 1)
    throw std::invalid_argument("implicit::torch::spectral_radius: iterations must be >= 1, got " +
                                std::to_string(iterations));
  const int64_t batch = z.size(0);
  internal::Linearization lin(f, z.detach());
  at::NoGradGuard no_grad;
  // A fixed-seed start: the estimate is reproducible and does not touch
  // the caller's random stream.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(20260901);
  at::Tensor v = at::randn(z.sizes(), generator, z.options().device(at::kCPU)).to(z.device());
  auto per_sample_norm = [batch](const at::Tensor& t) { return t.reshape({batch, -1}).norm(2, 1); };
  auto broadcast = [&](const at::Tensor& s) {
    std::vector<int64_t> shape(z.dim(), 1);
    shape[0] = batch;
    return s.view(shape);
  };
  v = v / broadcast(per_sample_norm(v));
  // rho(J) = rho(J^T) = lim ||(J^T)^k v||^(1/k): the geometric mean of the
  // step ratios over the second half, which also converges when the
  // dominant eigenvalues are a complex pair (where one ratio oscillates).
  at::Tensor log_sum = at::zeros({batch}, z.options().dtype(at::kDouble));
  int counted = 0;
  for (int i = 0; i < iterations; ++i) {
    const at::Tensor w = lin.vjp(v).detach();
    const at::Tensor ratio = per_sample_norm(w);
    if (2 * i >= iterations - 1) {
      log_sum = log_sum + at::log(ratio.to(at::kDouble));
      ++counted;
    }
    v = w / broadcast(at::clamp_min(ratio, 1e-300).to(w.scalar_type()));
  }
  const at::Tensor rho = at::exp(log_sum / counted).to(at::kCPU).contiguous();
  return std::vector<double>(rho.data_ptr<double>(), rho.data_ptr<double>() + batch);
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

std::string format_tol(double abs_tol, double rel_tol) {
  char buf[80];
  std::snprintf(buf, sizeof buf, "%.3g + %.3g", abs_tol, rel_tol);
  return buf;
}

// (B, 1, ..., 1) boolean mask, broadcastable to `like`, true in the rows
// whose flag is set: how a per-sample verdict reaches a batched tensor.
at::Tensor row_mask(const std::vector<char>& flags, const at::Tensor& like) {
  std::vector<int64_t> shape(like.dim(), 1);
  shape[0] = static_cast<int64_t>(flags.size());
  const std::vector<int64_t> values(flags.begin(), flags.end());
  return at::tensor(values, at::kLong).to(like.device()).ne(0).view(shape);
}

// Which samples the backward may differentiate, from the forward's own
// per-sample outcome: a converged sample always (its tolerance is the
// caller's choice); an unconverged one under kImplicit only while
// ||f(z) - z|| <= solution_tol * max(1, ||z||), the rule of the dense IFT
// entry points (the theorem needs a fixed point; the derivative's error is
// of the order of that residual times the adjoint's condition number).
struct ForwardVerdict {
  std::vector<char> refused;  // per sample
  std::string note;           // for the backward's message; empty if all converged
  int64_t batch = 0;

  bool any_refused() const { return std::find(refused.begin(), refused.end(), 1) != refused.end(); }
  // (B, 1, ..., 1) mask of the refused samples, broadcastable to t.
  at::Tensor refused_rows(const at::Tensor& t) const { return row_mask(refused, t); }
  // NaN in the refused samples' rows of u, kNotASolution in their status.
  at::Tensor refuse(const at::Tensor& u, PassInfo& pass) const {
    if (!any_refused()) return u;
    for (int64_t b = 0; b < batch; ++b)
      if (refused[b]) {
        pass.status[b] = Status::kNotASolution;
        pass.residual[b] = std::nan("");
      }
    return at::where(refused_rows(u), at::full_like(u, std::nan("")), u);
  }
};

ForwardVerdict judge_forward(const PassInfo& forward, const at::Tensor& z_star,
                             const BackwardOptions& options) {
  ForwardVerdict v;
  v.batch = z_star.size(0);
  v.refused.assign(v.batch, 0);
  if (static_cast<int64_t>(forward.status.size()) != v.batch) return v;  // no forward report
  if (forward.certified()) return v;  // the common case: nothing to judge, no norm to take
  const Eigen::ArrayXd z_norm = internal::sample_norms(z_star.detach());
  int64_t unconverged = 0, refused = 0;
  double worst = 0;
  for (int64_t b = 0; b < v.batch; ++b) {
    if (forward.status[b] == Status::kConverged) continue;
    ++unconverged;
    const double r = forward.residual[b];
    worst = std::isnan(r) ? r : std::max(worst, r);
    const double bound = options.adjoint.solution_tol * std::max(1.0, z_norm[b]);
    if (options.gradient == Gradient::kImplicit && !(r <= bound)) {
      v.refused[b] = 1;
      ++refused;
    }
  }
  if (unconverged == 0) return v;
  char buf[400];
  if (options.gradient == Gradient::kImplicit)
    std::snprintf(buf, sizeof buf,
                  "%ld of %ld samples' forward solves did not converge (worst residual %.3e): %ld "
                  "refused as not_a_solution (residual above solution_tol %.3g x max(1, ||z||)), "
                  "%ld differentiated at their returned point",
                  static_cast<long>(unconverged), static_cast<long>(v.batch), worst,
                  static_cast<long>(refused), options.adjoint.solution_tol,
                  static_cast<long>(unconverged - refused));
  else
    std::snprintf(buf, sizeof buf,
                  "%ld of %ld samples' forward solves did not converge (worst residual %.3e); "
                  "their approximate gradients are taken at the returned point",
                  static_cast<long>(unconverged), static_cast<long>(v.batch), worst);
  v.note = buf;
  return v;
}

// Per sample: did its pass fail (neither converged nor, when asked for,
// approximate)?
std::vector<char> failed_samples(const PassInfo& pass) {
  std::vector<char> failed(pass.status.size(), 0);
  for (size_t b = 0; b < pass.status.size(); ++b)
    failed[b] = pass.status[b] != Status::kConverged && pass.status[b] != Status::kApproximate;
  return failed;
}

// BackwardOptions::FailedSamples::kDrop: the failed samples' rows of u
// become 0 (they feed no gradient) instead of NaN; their status is kept.
at::Tensor drop_failed(const at::Tensor& u, const PassInfo& pass, const BackwardOptions& options) {
  if (options.failed_samples != BackwardOptions::FailedSamples::kDrop || pass.ok()) return u;
  return at::where(row_mask(failed_samples(pass), u), at::zeros_like(u), u);
}

// BackwardOptions::FailedSamples::kNaN: every parameter gradient a failed
// sample feeds is NaN, as docs/failure-policy.md promises. A NaN row of u
// does that by itself only through products (0 * NaN = NaN); f's backward
// may select instead (relu, where, clamp, max: threshold_backward passes 0
// where the unit is off, whatever the cotangent), and then a shared W got
// a finite gradient from a failed sample. So the NaN is put in explicitly:
// a parameter whose gradient is per sample (a batched input: sample s's
// contribution lies in row s alone) gets NaN in the failed samples' rows,
// any other parameter (a shared weight) NaN everywhere. Which kind a
// (B, ...) parameter is is read off probes, the gradients of single
// samples that did not fail (cotangent 1 on row s, 0 elsewhere), up to
// kProbes of them: per sample when some probe reached it and every probe
// that did stayed in its own row s; otherwise (no probe reached it, or one
// reached another row) shared, which errs towards NaN in more places,
// never in fewer. Costs up to kProbes backward passes through f, only when
// some sample failed.
void poison_fed_parameters(std::vector<at::Tensor>& grads, const std::vector<at::Tensor>& params,
                           const std::vector<char>& failed, const internal::Linearization& lin,
                           const at::Tensor& like) {
  constexpr int kProbes = 4;
  const int64_t batch = static_cast<int64_t>(failed.size());
  if (std::find(failed.begin(), failed.end(), 1) == failed.end()) return;
  std::vector<char> batched(params.size(), 0), reached(params.size(), 0);
  for (size_t i = 0; i < params.size(); ++i)
    batched[i] = grads[i].defined() && grads[i].dim() >= 1 && grads[i].size(0) == batch;
  const bool any_batched = std::find(batched.begin(), batched.end(), 1) != batched.end();
  int probes = 0;
  for (int64_t s = 0; s < batch && any_batched && batch > 1 && probes < kProbes; ++s) {
    if (failed[s]) continue;
    ++probes;
    at::Tensor probe = at::zeros_like(like);
    probe.select(0, s).fill_(1);
    const auto probed = lin.param_vjp(params, probe);
    for (size_t i = 0; i < params.size(); ++i) {
      if (!batched[i] || !probed[i].defined()) continue;
      // Only finite entries count: a failed sample's row can hold NaN (NaN
      // in its input: NaN * 0 is NaN, not 0), which would make a per-sample
      // input look shared and poison every sample's gradient. (Not a mask
      // of the failed rows: a shared W whose first size happens to equal
      // the batch has rows that are not samples.)
      const at::Tensor nonzero =
          ((probed[i] != 0) & at::isfinite(probed[i])).reshape({batch, -1});
      const int64_t total = nonzero.sum().item<int64_t>();
      if (total == 0) continue;
      reached[i] = 1;
      if (nonzero[s].sum().item<int64_t>() != total) batched[i] = 0;  // another row: shared
    }
  }
  for (size_t i = 0; i < params.size(); ++i) {
    at::Tensor& gp = grads[i];
    if (!gp.defined()) continue;
    const bool per_sample = batch > 1 && batched[i] && reached[i];
    // gp + NaN rather than a constant NaN: under create_graph the result
    // stays in the graph, so what differentiates it again meets NaN too.
    const at::Tensor where =
        per_sample ? row_mask(failed, gp) : at::ones({}, gp.options().dtype(at::kBool));
    gp = at::where(where, gp + std::nan(""), gp);
  }
}

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
    const PassInfo forward = closure->info->forward;  // a copy: pass may be the same object later
    pass = PassInfo{};
    pass.ran = true;
    pass.method = to_string(options.gradient);
    const int64_t batch = z_star.size(0);
    if (options.check_params) {
      const auto unlisted = lin.unlisted_inputs(params);
      if (!unlisted.empty())
        throw std::invalid_argument(
            "implicit::torch::fixed_point: f uses " + unlisted.front() +
            (unlisted.size() > 1 ? " (and " + std::to_string(unlisted.size() - 1) + " more)" : "") +
            " that requires a gradient but is not in params, so it would get none: add it to "
            "params, or detach it (BackwardOptions::check_params = false skips this check)");
    }
    const ForwardVerdict verdict = judge_forward(forward, z_star, options);
    at::Tensor u;
    switch (options.gradient) {
      case Gradient::kJacobianFree:
        u = g;
        pass.guarantee =
            "none: Jacobian-free direction u = g (no adjoint solved; a descent "
            "direction when f is contractive, not the gradient)";
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
        pass.evaluations = options.phantom_steps - 1;
        pass.guarantee = "none: " + std::to_string(options.phantom_steps) +
                         "-step phantom gradient (tends to the IFT gradient as the steps grow; "
                         "no adjoint solved)";
        break;
      }
      case Gradient::kImplicit: {
        // Refused samples ride along with a zero cotangent (no work), and
        // get NaN below.
        const at::Tensor g_used =
            verdict.any_refused() ? at::where(verdict.refused_rows(g), at::zeros_like(g), g) : g;
        if (!create_graph) {
          auto solved = internal::solve_fixed_point_system(
              [&](const at::Tensor& v) { return lin.vjp(v); }, g_used.detach(), options.adjoint);
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
          inner.forward.spectral_radius_iterations = 0;
          inner.forward.raise_on_failure = false;  // this backward decides, below
          std::vector<at::Tensor> inner_params{z_leaf, g};
          inner_params.insert(inner_params.end(), params.begin(), params.end());
          auto adjoint_map = [shared_lin, g_used](const at::Tensor& v) {
            return shared_lin->vjp(v) + g_used;
          };
          auto solved = fixed_point(adjoint_map, at::zeros_like(g), inner_params, inner);
          // The inner solve stops by the forward rule ||F(u) - u|| <=
          // abs_tol + rel_tol ||F(u)||, not the adjoint's certificate, and
          // returns its best iterate when it fails: certify u as the plain
          // path does, and give the failed samples NaN rows (the plain
          // path's solve_fixed_point_system does the same), so that the
          // failure policy below sees and treats them alike.
          const PassInfo inner_pass = solved.info->forward;
          pass = internal::certify_fixed_point_system(
              [&](const at::Tensor& v) { return lin.vjp(v).detach(); }, solved.z.detach(),
              g_used.detach(), options.adjoint, inner_pass.status);
          pass.method = inner_pass.method + " (differentiable)";
          pass.iterations = inner_pass.iterations;
          pass.evaluations += inner_pass.evaluations;
          if (!inner_pass.message.empty())
            pass.message += (pass.message.empty() ? "" : "; ") + inner_pass.message;
          u = at::where(row_mask(failed_samples(pass), solved.z),
                        at::full_like(solved.z, std::nan("")), solved.z);
        }
        pass.ran = true;
        pass.guarantee = "certified: per sample ||u - (df/dz)^T u - g|| <= " +
                         format_tol(options.adjoint.abs_tol, options.adjoint.rel_tol) +
                         " ||g||, recomputed on the returned u";
        u = verdict.refuse(u, pass);
        break;
      }
    }
    if (options.gradient != Gradient::kImplicit) {
      // Approximations: finite, or non-finite; never "converged".
      const at::Tensor finite = at::isfinite(u).reshape({batch, -1}).all(1).to(at::kCPU);
      pass.status.assign(batch, Status::kApproximate);
      for (int64_t b = 0; b < batch; ++b)
        if (!finite[b].item<bool>()) pass.status[b] = Status::kNonFinite;
      pass.iterations.assign(batch,
                             options.gradient == Gradient::kPhantom ? options.phantom_steps : 0);
      pass.residual.assign(batch, std::nan(""));  // nothing was solved, nothing measured
    }
    if (!verdict.note.empty()) pass.message += (pass.message.empty() ? "" : "; ") + verdict.note;
    fail_or_report(pass, options);
    u = drop_failed(u, pass, options);
    auto grads = lin.param_vjp(params, u, create_graph);
    if (options.failed_samples == BackwardOptions::FailedSamples::kNaN && !pass.ok())
      poison_fed_parameters(grads, params, failed_samples(pass), lin, u);
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
  // f's graph must reach every parameter with a tangent, whether or not
  // it requires a gradient (the flags come back when this returns).
  const internal::TrackTangents track(params, tangents);
  internal::Linearization lin(f, solved.z);
  BackwardOptions ift = options.backward;
  ift.gradient = Gradient::kImplicit;  // forward mode is always the exact IFT
  const ForwardVerdict verdict = judge_forward(solved.info->forward, solved.z, ift);
  at::Tensor rhs = lin.param_jvp(params, tangents).detach();
  rhs = at::where(verdict.refused_rows(rhs), at::zeros_like(rhs), rhs);
  auto system = internal::solve_fixed_point_system(
      [&](const at::Tensor& v) { return lin.jvp(v).detach(); }, rhs, options.backward.adjoint);
  system.info.guarantee =
      "certified: per sample ||dz - (df/dz) dz - (df/dparams) dparams|| <= " +
      format_tol(options.backward.adjoint.abs_tol, options.backward.adjoint.rel_tol) +
      " ||(df/dparams) dparams||, recomputed on the returned dz";
  const at::Tensor tangent = verdict.refuse(system.x, system.info);
  if (!verdict.note.empty())
    system.info.message += (system.info.message.empty() ? "" : "; ") + verdict.note;
  solved.info->backward = system.info;
  fail_or_report(system.info, options.backward);
  return {solved.z, tangent, solved.info};
}

}  // namespace implicit::torch
