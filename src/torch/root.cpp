// Elementwise increasing roots on tensors: vectorised bracket growth and
// Illinois false position with bisection safeguards, one status per entry;
// the IFT backward as an autograd function.

#include "implicit/torch/root.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <stdexcept>
#include <string>

#include "implicit/torch/tensor_ops.hpp"
#include "linearization.hpp"

namespace implicit::torch {

void RootOptions::validate() const {
  if (!(initial_step > 0) || !std::isfinite(initial_step))
    throw std::invalid_argument("RootOptions::initial_step must be finite and > 0, got " +
                                std::to_string(initial_step));
  if (!(growth > 1) || !std::isfinite(growth))
    throw std::invalid_argument("RootOptions::growth must be finite and > 1, got " +
                                std::to_string(growth));
  if (max_growth_steps < 0 || max_iter < 1)
    throw std::invalid_argument("RootOptions: max_growth_steps must be >= 0 and max_iter >= 1");
  if (!(x_abs_tol >= 0) || !(x_rel_tol >= 0))
    throw std::invalid_argument("RootOptions: x_abs_tol and x_rel_tol must be >= 0");
  backward.validate();
}

namespace {

namespace autograd = ::torch::autograd;

// Status codes while the solve runs on tensors.
constexpr int64_t kRunning = -1;

Status status_of(int64_t code) { return static_cast<Status>(code); }

void fill_pass(PassInfo& pass, const char* method, const at::Tensor& status,
               const at::Tensor& iterations, const at::Tensor& residual, int evaluations) {
  const at::Tensor s = status.reshape(-1).to(at::kCPU, at::kLong).contiguous();
  const at::Tensor it = iterations.reshape(-1).to(at::kCPU, at::kLong).contiguous();
  const at::Tensor r = residual.reshape(-1).to(at::kCPU, at::kDouble).contiguous();
  pass = PassInfo{};
  pass.ran = true;
  pass.method = method;
  pass.evaluations = evaluations;
  for (int64_t i = 0; i < s.numel(); ++i) {
    pass.status.push_back(status_of(s.data_ptr<int64_t>()[i]));
    pass.iterations.push_back(static_cast<int>(it.data_ptr<int64_t>()[i]));
    pass.residual.push_back(r.data_ptr<double>()[i]);
    if (pass.status.back() != Status::kConverged && pass.message.empty())
      pass.message = std::string(to_string(pass.status.back())) + " at entry " + std::to_string(i);
  }
}

struct RootClosure : ::torch::CustomClassHolder {
  Map g;
  BackwardOptions options;
  std::shared_ptr<SolveInfo> info;
};

class RootFunction : public autograd::Function<RootFunction> {
 public:
  static at::Tensor forward(autograd::AutogradContext* ctx, const at::Tensor& x_star,
                            at::TensorList params, const c10::intrusive_ptr<RootClosure>& closure) {
    std::vector<at::Tensor> saved{x_star.detach()};
    saved.insert(saved.end(), params.begin(), params.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["closure"] = c10::IValue::make_capsule(closure);
    return x_star.detach().clone();
  }

  static autograd::variable_list backward(autograd::AutogradContext* ctx,
                                          autograd::variable_list grad_outputs) {
    auto closure =
        c10::static_intrusive_pointer_cast<RootClosure>(ctx->saved_data["closure"].toCapsule());
    auto saved = ctx->get_saved_variables();
    const std::vector<at::Tensor> params(saved.begin() + 1, saved.end());
    const BackwardOptions& options = closure->options;
    // g at x* with its graph: the one linearisation every tensor backward
    // uses (output checked against x, params checked for completeness).
    const internal::Linearization lin(closure->g, saved[0]);
    if (options.check_params) {
      const auto unlisted = lin.unlisted_inputs(params);
      if (!unlisted.empty())
        throw std::invalid_argument(
            "implicit::torch::root: g uses " + unlisted.front() +
            " that requires a gradient but is not in params, so it would get none: add it to "
            "params, or detach it (BackwardOptions::check_params = false skips this check)");
    }
    // g acts elementwise, so the VJP with ones is the diagonal g'(x*).
    const at::Tensor slope = lin.vjp(at::ones_like(lin.value())).detach();
    // The scalar IFT holds at a root: entries whose forward solve failed
    // are differentiated only while |g(x)| <= solution_tol * max(1, |x|)
    // (the rule of the dense root_* entry points), else refused.
    const PassInfo& forward = closure->info->forward;
    const at::Tensor x_flat = saved[0].detach().reshape(-1).to(at::kCPU, at::kDouble);
    std::vector<int64_t> admitted(x_flat.numel(), 1);
    int64_t unconverged = 0, refused = 0;
    if (static_cast<int64_t>(forward.status.size()) == x_flat.numel())
      for (int64_t i = 0; i < x_flat.numel(); ++i) {
        if (forward.status[i] == Status::kConverged) continue;
        ++unconverged;
        const double bound =
            options.adjoint.solution_tol * std::max(1.0, std::abs(x_flat[i].item<double>()));
        if (!(forward.residual[i] <= bound)) {
          admitted[i] = 0;
          ++refused;
        }
      }
    const at::Tensor admitted_mask =
        at::tensor(admitted, at::kLong).to(slope.device()).ne(0).view(slope.sizes());
    const at::Tensor usable = at::isfinite(slope) & (slope != 0) & admitted_mask;
    const at::Tensor xbar = grad_outputs[0].defined() ? grad_outputs[0] : at::zeros_like(saved[0]);
    const at::Tensor u = at::where(usable, xbar / at::where(usable, slope, at::ones_like(slope)),
                                   at::full_like(slope, std::nan("")));
    // What param_vjp receives: a failed entry's NaN, or 0 under kDrop.
    const at::Tensor u_fed = options.failed_samples == BackwardOptions::FailedSamples::kDrop
                                 ? at::where(usable, u, at::zeros_like(u))
                                 : u;
    // The certificate of the 1 x 1 systems g'(x*) u = xbar: their residual,
    // recomputed (NaN where refused).
    const at::Tensor residual = (slope * u - xbar).abs();
    const auto code = [&](Status st) {
      return at::full_like(slope, static_cast<int64_t>(st), at::kLong);
    };
    fill_pass(closure->info->backward, "scalar_ift",
              at::where(usable, code(Status::kConverged),
                        at::where(admitted_mask, code(Status::kLinearSolveFailed),
                                  code(Status::kNotASolution))),
              at::zeros_like(slope, at::kLong), residual, 1);
    PassInfo& pass = closure->info->backward;
    pass.guarantee =
        "certified: per entry u = xbar / g'(x*) with g'(x*) finite and nonzero, |g'(x*) u - xbar| "
        "recomputed";
    if (unconverged > 0)
      pass.message += std::string(pass.message.empty() ? "" : "; ") + std::to_string(unconverged) +
                      " entries' forward solves did not converge: " + std::to_string(refused) +
                      " refused as not_a_solution (|g| above solution_tol x max(1, |x|))";
    if (!pass.ok()) {
      pass.message += "; linear_solve_failed: g'(x*) is zero or not finite there";
      if (options.raise_on_failure)
        throw std::runtime_error("implicit::torch root backward: " + pass.brief_report());
    }
    autograd::variable_list result(params.size() + 2);
    const auto grads = lin.param_vjp(params, -u_fed);
    for (size_t i = 0; i < params.size(); ++i) result[1 + i] = grads[i];
    return result;
  }
};

}  // namespace

at::Tensor attach_root_gradient(const Map& g, const at::Tensor& x_star,
                                const std::vector<at::Tensor>& params,
                                const std::shared_ptr<SolveInfo>& info,
                                const BackwardOptions& options) {
  auto closure = c10::make_intrusive<RootClosure>();
  closure->g = g;
  closure->options = options;
  closure->info = info;
  return RootFunction::apply(x_star, at::TensorList(params), closure);
}

RootOutput root(const Map& g, const at::Tensor& lower, const std::vector<at::Tensor>& params,
                const RootOptions& options) {
  options.validate();
  if (!lower.defined() || !at::isFloatingType(lower.scalar_type()))
    throw std::invalid_argument("implicit::torch::root: lower must be a floating-point tensor");
  if (!at::isfinite(lower).all().item<bool>())
    throw std::invalid_argument("implicit::torch::root: lower has a NaN or Inf entry");
  const double rel_tol = std::fmax(options.x_rel_tol, 4 * VectorOps<at::Tensor>::epsilon(lower));
  const auto code = [&](Status s) {
    return at::full_like(lower, static_cast<int64_t>(s), at::kLong);
  };

  at::Tensor x_final;
  at::Tensor status, iterations;
  int evaluations = 0;
  {
    at::NoGradGuard no_grad;
    auto eval = [&](const at::Tensor& x) {
      ++evaluations;
      at::Tensor y = internal::call_map(g, x, "implicit::torch::root");
      internal::check_map_output("implicit::torch::root", x, y);
      return y;
    };
    at::Tensor lo = lower.detach().clone();
    at::Tensor g_lo = eval(lo);
    status = at::full_like(lower, kRunning, at::kLong);
    iterations = at::zeros_like(lower, at::kLong);
    status = at::where(at::isnan(g_lo), code(Status::kNonFinite), status);
    status = at::where((g_lo > 0) & (status == kRunning), code(Status::kInvalidBracket), status);
    x_final = at::where(g_lo == 0, lo, at::full_like(lo, std::nan("")));
    status = at::where((g_lo == 0) & (status == kRunning), code(Status::kConverged), status);

    // Grow the right end until g changes sign; lo follows the last end
    // where g was still <= 0.
    at::Tensor step = options.initial_step * at::clamp_min(lower.abs(), 1.0);
    at::Tensor hi = lo + step;
    at::Tensor g_hi = eval(hi);
    for (int k = 0;; ++k) {
      status = at::where(at::isnan(g_hi) & (status == kRunning), code(Status::kNonFinite), status);
      const at::Tensor need = (g_hi <= 0) & (status == kRunning);
      if (!need.any().item<bool>()) break;
      if (k >= options.max_growth_steps) {
        status = at::where(need, code(Status::kInvalidBracket), status);
        break;
      }
      lo = at::where(need, hi, lo);
      g_lo = at::where(need, g_hi, g_lo);
      step = at::where(need, step * options.growth, step);
      hi = at::where(need, lo + step, hi);
      g_hi = at::where(need, eval(hi), g_hi);
    }

    // Illinois false position; a step that would leave the open bracket,
    // and the step after one that failed to halve it, are bisections.
    at::Tensor previous_side = at::zeros_like(lower, at::kLong);  // -1 moved lo, +1 moved hi
    at::Tensor width_before = (hi - lo) * 2;
    at::Tensor force_bisect = at::zeros_like(lower, at::kBool);
    for (int it = 0; it < options.max_iter; ++it) {
      const at::Tensor running = status == kRunning;
      if (!running.any().item<bool>()) break;
      at::Tensor x = (lo * g_hi - hi * g_lo) / (g_hi - g_lo);
      const at::Tensor bisect = force_bisect | ~at::isfinite(x) | (x <= lo) | (x >= hi);
      x = at::where(bisect, 0.5 * (lo + hi), x);
      const at::Tensor gx = eval(x);
      iterations = iterations + running.to(at::kLong);
      status = at::where(at::isnan(gx) & running, code(Status::kNonFinite), status);
      const at::Tensor moves_lo = running & (gx <= 0);
      const at::Tensor moves_hi = running & (gx > 0);
      // Illinois: the end that stays twice in a row has its g halved.
      g_hi = at::where(moves_lo & (previous_side == -1), 0.5 * g_hi, g_hi);
      g_lo = at::where(moves_hi & (previous_side == 1), 0.5 * g_lo, g_lo);
      lo = at::where(moves_lo, x, lo);
      g_lo = at::where(moves_lo, gx, g_lo);
      hi = at::where(moves_hi, x, hi);
      g_hi = at::where(moves_hi, gx, g_hi);
      previous_side = at::where(moves_lo, at::full_like(previous_side, -1),
                                at::where(moves_hi, at::ones_like(previous_side), previous_side));
      const at::Tensor width = hi - lo;
      force_bisect = width > 0.5 * width_before;
      width_before = at::where(running, width, width_before);
      const at::Tensor done = running & (status == kRunning) &
                              ((gx == 0) | (width <= options.x_abs_tol + rel_tol * x.abs()));
      x_final = at::where(done, at::where(gx == 0, x, 0.5 * (lo + hi)), x_final);
      status = at::where(done, code(Status::kConverged), status);
    }
    const at::Tensor unfinished = status == kRunning;
    x_final = at::where(unfinished, 0.5 * (lo + hi), x_final);
    status = at::where(unfinished, code(Status::kMaxIterations), status);
  }

  RootOutput out;
  out.info = std::make_shared<SolveInfo>();
  at::Tensor residual;
  {
    at::NoGradGuard no_grad;
    residual = at::where(at::isnan(x_final), x_final, g(at::nan_to_num(x_final)).abs());
  }
  fill_pass(out.info->forward, "illinois", status, iterations, residual, evaluations);
  if (options.raise_on_failure && !out.info->forward.ok())
    throw std::runtime_error("implicit::torch::root failed: " + out.info->forward.brief_report());
  out.x = attach_root_gradient(g, x_final, params, out.info, options.backward);
  return out;
}

}  // namespace implicit::torch
