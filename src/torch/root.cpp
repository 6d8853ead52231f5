// Elementwise increasing roots on tensors: root/'s bracket growth and width
// rule per entry, with every entry's g evaluated in one call per round;
// Illinois false position with bisection safeguards inside the brackets,
// one status per entry; the IFT backward as an autograd function.

#include "implicit/torch/root.hpp"

#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>

#include "implicit/root/bracket.hpp"
#include "implicit/torch/tensor_ops.hpp"
#include "linearization.hpp"

namespace implicit::torch {

ScalarRootOptions RootOptions::scalar() const {
  ScalarRootOptions o;
  o.x_abs_tol = x_abs_tol;
  o.x_rel_tol = x_rel_tol;
  o.max_iter = max_iter;
  o.bracket.initial_step = initial_step;
  o.bracket.growth_factor = growth;
  o.bracket.max_expansions = max_growth_steps;
  return o;
}

void RootOptions::validate() const {
  // The scalar solvers' checks name their own fields; say which of ours.
  try {
    scalar().validate();
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("RootOptions (initial_step, growth, max_growth_steps, "
                                            "x_abs_tol, x_rel_tol, max_iter): ") +
                                e.what());
  }
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

namespace {

// The solve on the entries of lower, flattened: per entry root/'s
// BracketGrowth and BracketTolerance, on CPU scalars of the tensor's dtype
// T; the Illinois steps on tensors.
struct Solved {
  at::Tensor x, status, iterations;
  int evaluations = 0;
  std::string message;  // why the first entry that failed to bracket failed
};

template <class T>
std::vector<T> to_vector(const at::Tensor& t) {
  const at::Tensor c = t.to(at::kCPU).contiguous();
  return std::vector<T>(c.data_ptr<T>(), c.data_ptr<T>() + c.numel());
}

template <class T>
at::Tensor from_vector(const std::vector<T>& v, const at::Tensor& like) {
  return at::tensor(v, like.options().device(at::kCPU)).to(like.device()).view(like.sizes());
}

template <class T>
Solved solve_entries(const std::function<at::Tensor(const at::Tensor&)>& eval,
                     const at::Tensor& lower, const RootOptions& options) {
  const ScalarRootOptions rule = options.scalar();
  const int64_t count = lower.numel();
  const auto code = [&](Status s) { return static_cast<int64_t>(s); };
  Solved out;
  const std::vector<T> start = to_vector<T>(lower);
  std::vector<T> g_start = to_vector<T>(eval(lower));
  std::vector<int64_t> status(count, kRunning);
  const T nan = std::numeric_limits<T>::quiet_NaN();
  std::vector<T> x(count, nan), lo(start), hi(start), g_lo(g_start), g_hi(g_start);

  // g(lower): NaN is non_finite; > 0 or infinite, no root >= lower
  // (find_root_increasing's rule); exactly 0, the root.
  std::vector<BracketGrowth<T>> growth;
  std::vector<int64_t> growing;  // entry of each growth
  for (int64_t i = 0; i < count; ++i) {
    const T gl = g_start[i];
    if (std::isnan(gl)) {
      status[i] = code(Status::kNonFinite);
    } else if (!std::isfinite(gl) || gl > 0) {
      status[i] = code(Status::kInvalidBracket);
    } else if (gl == 0) {
      status[i] = code(Status::kConverged);
      x[i] = start[i];
    } else {
      growth.emplace_back(start[i], gl, rule.bracket);
      growing.push_back(i);
    }
  }
  // One call of g per round evaluates every growing entry's trial end (the
  // others sit at lower, their value unused).
  for (bool any = !growth.empty(); any;) {
    std::vector<T> trial(start);
    for (size_t k = 0; k < growth.size(); ++k)
      if (growth[k].running()) trial[growing[k]] = growth[k].trial();
    const std::vector<T> g_trial = to_vector<T>(eval(from_vector(trial, lower)));
    any = false;
    for (size_t k = 0; k < growth.size(); ++k) {
      if (!growth[k].running()) continue;
      growth[k].take(g_trial[growing[k]]);
      any = any || growth[k].running();
    }
  }
  for (size_t k = 0; k < growth.size(); ++k) {
    const int64_t i = growing[k];
    const BracketSearch<T>& found = growth[k].result();
    if (!found.found) {
      status[i] = code(Status::kInvalidBracket);
      if (out.message.empty()) out.message = "entry " + std::to_string(i) + ": " + found.message;
    } else if (found.left == found.right) {  // g exactly 0 at a trial end
      status[i] = code(Status::kConverged);
      x[i] = found.right;
    } else {
      lo[i] = found.left;
      hi[i] = found.right;
      g_lo[i] = found.g_left;
      g_hi[i] = found.g_right;
    }
  }

  // Illinois false position; a step that would leave the open bracket,
  // and the step after one that failed to halve it, are bisections. An
  // entry stops on g(x) == 0 or root/'s width rule on its new bracket.
  const ::implicit::internal::BracketTolerance<T> closed(rule);
  at::Tensor st = from_vector(status, lower.to(at::kLong));
  at::Tensor x_final = from_vector(x, lower);
  at::Tensor a = from_vector(lo, lower), b = from_vector(hi, lower);
  at::Tensor ga = from_vector(g_lo, lower), gb = from_vector(g_hi, lower);
  at::Tensor iterations = at::zeros_like(lower, at::kLong);
  const auto full = [&](Status s) { return at::full_like(st, code(s)); };
  at::Tensor previous_side = at::zeros_like(lower, at::kLong);  // -1 moved a, +1 moved b
  at::Tensor width_before = (b - a) * 2;
  at::Tensor force_bisect = at::zeros_like(lower, at::kBool);
  for (int it = 0; it < options.max_iter; ++it) {
    const at::Tensor running = st == kRunning;
    if (!running.any().item<bool>()) break;
    at::Tensor xt = (a * gb - b * ga) / (gb - ga);
    const at::Tensor bisect = force_bisect | ~at::isfinite(xt) | (xt <= a) | (xt >= b);
    xt = at::where(bisect, 0.5 * (a + b), xt);
    const at::Tensor gx = at::where(running, eval(xt), at::zeros_like(xt));
    iterations = iterations + running.to(at::kLong);
    st = at::where(at::isnan(gx) & running, full(Status::kNonFinite), st);
    const at::Tensor moves_a = running & (gx <= 0);
    const at::Tensor moves_b = running & (gx > 0);
    // Illinois: the end that stays twice in a row has its g halved.
    gb = at::where(moves_a & (previous_side == -1), 0.5 * gb, gb);
    ga = at::where(moves_b & (previous_side == 1), 0.5 * ga, ga);
    a = at::where(moves_a, xt, a);
    ga = at::where(moves_a, gx, ga);
    b = at::where(moves_b, xt, b);
    gb = at::where(moves_b, gx, gb);
    previous_side = at::where(moves_a, at::full_like(previous_side, -1),
                              at::where(moves_b, at::ones_like(previous_side), previous_side));
    const at::Tensor width = b - a;
    force_bisect = width > 0.5 * width_before;
    width_before = at::where(running, width, width_before);
    const std::vector<T> a_now = to_vector<T>(a), b_now = to_vector<T>(b);
    std::vector<uint8_t> narrow(count);
    for (int64_t i = 0; i < count; ++i) narrow[i] = closed(a_now[i], b_now[i]);
    const at::Tensor is_narrow = from_vector(narrow, lower.to(at::kByte)).to(at::kBool);
    const at::Tensor done = running & (st == kRunning) & ((gx == 0) | is_narrow);
    x_final = at::where(done, at::where(gx == 0, xt, 0.5 * (a + b)), x_final);
    st = at::where(done, full(Status::kConverged), st);
  }
  const at::Tensor unfinished = st == kRunning;
  out.x = at::where(unfinished, 0.5 * (a + b), x_final);
  out.status = at::where(unfinished, full(Status::kMaxIterations), st);
  out.iterations = iterations;
  return out;
}

}  // namespace

RootOutput root(const Map& g, const at::Tensor& lower, const std::vector<at::Tensor>& params,
                const RootOptions& options) {
  options.validate();
  if (!lower.defined() || (lower.scalar_type() != at::kDouble && lower.scalar_type() != at::kFloat))
    throw std::invalid_argument(
        "implicit::torch::root: lower must be a float32 or float64 tensor, got " +
        std::string(lower.defined() ? c10::toString(lower.scalar_type()) : "undefined"));
  if (!at::isfinite(lower).all().item<bool>())
    throw std::invalid_argument("implicit::torch::root: lower has a NaN or Inf entry");

  Solved solved;
  {
    at::NoGradGuard no_grad;
    int evaluations = 0;
    auto eval = [&](const at::Tensor& x) {
      ++evaluations;
      at::Tensor y = internal::call_map(g, x, "implicit::torch::root");
      internal::check_map_output("implicit::torch::root", x, y);
      return y;
    };
    const at::Tensor start = lower.detach();
    solved = lower.scalar_type() == at::kDouble ? solve_entries<double>(eval, start, options)
                                                : solve_entries<float>(eval, start, options);
    solved.evaluations = evaluations;
  }

  RootOutput out;
  out.info = std::make_shared<SolveInfo>();
  at::Tensor residual;
  {
    // The residual of the returned x itself, whatever the solve saw there.
    at::NoGradGuard no_grad;
    residual = at::where(at::isnan(solved.x), solved.x, g(at::nan_to_num(solved.x)).abs());
  }
  fill_pass(out.info->forward, "illinois", solved.status, solved.iterations, residual,
            solved.evaluations);
  if (!solved.message.empty())
    out.info->forward.message += (out.info->forward.message.empty() ? "" : "; ") + solved.message;
  if (options.raise_on_failure && !out.info->forward.ok())
    throw std::runtime_error("implicit::torch::root failed: " + out.info->forward.brief_report());
  out.x = attach_root_gradient(g, solved.x, params, out.info, options.backward);
  return out;
}

}  // namespace implicit::torch
