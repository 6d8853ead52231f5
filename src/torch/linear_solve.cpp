#include "linear_solve.hpp"

#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/solve_batched.hpp"
#include "implicit/internal/certificate.hpp"
#include "implicit/linear/gmres.hpp"
#include "batched_solve.hpp"
#include "implicit/torch/tensor_ops.hpp"

namespace implicit::torch::internal {

namespace {

using Ops = VectorOps<at::Tensor>;
using Mask = Ops::Mask;

struct Attempt {
  at::Tensor x;
  std::vector<Status> status;   // what the method itself claims, per sample
  int products = 0;             // batched products with K
  std::vector<int> iterations;  // per sample: its own iterations (iteration methods) or products
  std::string message;
};

// u <- K u + b (or Anderson on it) from u = 0, stopped per sample by the
// certificate's own rule ||u - K u - b|| <= abs_tol + rel_tol ||b||.
Attempt run_iteration(const LinearMap& apply_k, const at::Tensor& b, const Eigen::ArrayXd& b_norm,
                      const AdjointOptions& options, bool anderson) {
  auto map = [&](const at::Tensor& u) { return apply_k(u) + b; };
  FixedPointOptions fp;
  fp.max_iter = options.max_iter;
  fp.abs_tol = options.abs_tol;
  fp.rel_tol = options.rel_tol;
  fp.record_history = false;
  // A non-contractive adjoint iteration grows geometrically: give up at 1e4
  // times the best residual (not the forward default 1e8) so the fallback
  // starts after tens of products, not hundreds.
  fp.divergence_ratio = 1e4;
  const at::Tensor u0 = at::zeros_like(b);
  auto r = anderson ? solve_batched(map, u0, options.anderson, fp, &b_norm)
                    : solve_batched(map, u0, ForwardIterationOptions{}, fp, &b_norm);
  return {r.x, r.status, r.function_evaluations, r.iterations, r.message};
}

Attempt run_gmres(const LinearMap& apply_k, const at::Tensor& b, const AdjointOptions& options) {
  GmresOptions g;
  g.restart = options.gmres_restart;
  g.max_iter = options.max_iter;
  g.abs_tol = options.abs_tol;
  g.rel_tol = options.rel_tol;
  auto apply_a = [&](const at::Tensor& u) { return u - apply_k(u); };
  auto r = gmres(apply_a, b, at::zeros_like(b), g);
  // One Krylov loop for the batch: every sample rides it to the end.
  return {r.x, std::vector<Status>(b.size(0), r.status), r.iterations,
          std::vector<int>(b.size(0), r.iterations), r.message};
}

// K as B dense n x n matrices from n products with unit vectors, then one
// batched LU solve of (I - K) u = b.
Attempt run_dense(const LinearMap& apply_k, const at::Tensor& b) {
  const int64_t batch = b.size(0);
  const int64_t n = b.numel() / batch;
  at::Tensor k = at::empty({batch, n, n}, b.options());
  at::Tensor unit = at::zeros({batch, n}, b.options());
  for (int64_t i = 0; i < n; ++i) {
    unit.select(1, i).fill_(1);
    k.select(2, i).copy_(apply_k(unit.view(b.sizes())).reshape({batch, n}));
    unit.select(1, i).fill_(0);
  }
  at::Tensor a = at::eye(n, b.options()).expand({batch, n, n}) - k;
  auto [x, info] = at::linalg_solve_ex(a, b.reshape({batch, n, 1}));
  Attempt out{x.view(b.sizes()), std::vector<Status>(batch, Status::kConverged),
              static_cast<int>(n), std::vector<int>(batch, static_cast<int>(n)), ""};
  const at::Tensor info_cpu = info.to(at::kCPU, at::kLong).contiguous();
  for (int64_t s = 0; s < batch; ++s)
    if (info_cpu.data_ptr<int64_t>()[s] != 0) {
      out.status[s] = Status::kLinearSolveFailed;
      if (out.message.empty()) out.message = "I - K exactly singular";
    }
  return out;
}

}  // namespace

CertifiedSolve solve_fixed_point_system(const LinearMap& apply_k, const at::Tensor& b,
                                        const AdjointOptions& options) {
  options.validate();
  const int64_t batch = b.size(0);
  const int64_t n = b.numel() / batch;
  const double eps = Ops::epsilon(b);
  const double rel_tol = std::fmax(options.rel_tol, 8 * eps);
  AdjointOptions effective = options;
  effective.rel_tol = rel_tol;

  AdjointMethod first =
      options.method == AdjointMethod::kAuto ? AdjointMethod::kGmres : options.method;
  std::vector<AdjointMethod> attempts{first};
  if (options.fallback) {
    if (first != AdjointMethod::kGmres && first != AdjointMethod::kDenseLU)
      attempts.push_back(AdjointMethod::kGmres);
    if (first != AdjointMethod::kDenseLU && n <= options.dense_max_size)
      attempts.push_back(AdjointMethod::kDenseLU);
  }

  const Eigen::ArrayXd b_norm = Ops::norm(b);
  CertifiedSolve out;
  out.x = at::full_like(b, std::nan(""));
  out.info.ran = true;
  out.info.status.assign(batch, Status::kLinearSolveFailed);
  out.info.iterations.assign(batch, 0);
  out.info.residual.assign(batch, std::nan(""));
  Mask accepted = Mask::Constant(batch, false);
  std::string history;
  std::string first_refusal;    // why the first refused sample was refused
  Eigen::ArrayXd a_norm_probe;  // per sample ||A b|| / ||b||, for the condition bound
  int total_products = 0;
  std::vector<int> spent(batch, 0);  // per sample, over the attempts it needed
  bool any_failure = false;

  for (AdjointMethod method : attempts) {
    Attempt attempt;
    switch (method) {
      case AdjointMethod::kFixedPointIteration:
      case AdjointMethod::kAnderson:
        attempt =
            run_iteration(apply_k, b, b_norm, effective, method == AdjointMethod::kAnderson);
        break;
      case AdjointMethod::kGmres:
      case AdjointMethod::kAuto:
        attempt = run_gmres(apply_k, b, effective);
        break;
      case AdjointMethod::kDenseLU:
        attempt = run_dense(apply_k, b);
        break;
    }
    total_products += attempt.products;
    // Certify every sample, whatever the method claims.
    const at::Tensor residual_vector = attempt.x - apply_k(attempt.x) - b;
    ++total_products;
    const Eigen::ArrayXd residual = Ops::norm(residual_vector);
    const Eigen::ArrayXd x_norm = Ops::norm(attempt.x);
    if (a_norm_probe.size() == 0) {  // ||A b|| / ||b|| per sample, once
      a_norm_probe = Ops::norm(b - apply_k(b)) / b_norm.max(1e-300);
      ++total_products;
    }
    Mask take = Mask::Constant(batch, false);
    int failed = 0;
    double worst = 0;
    for (int64_t s = 0; s < batch; ++s) {
      if (accepted[s]) continue;
      spent[s] += attempt.iterations[s];
      const ::implicit::internal::CertificateVerdict verdict =
          ::implicit::internal::certify_linear_solution(residual[s], x_norm[s], b_norm[s],
                                                        a_norm_probe[s], options.abs_tol, rel_tol,
                                                        eps, options.max_condition);
      if (verdict.accepted) {
        take[s] = accepted[s] = true;
        out.info.status[s] = Status::kConverged;
        out.info.residual[s] = residual[s];
        out.info.iterations[s] = spent[s];
      } else {
        ++failed;
        worst = std::isfinite(residual[s]) ? std::fmax(worst, residual[s]) : residual[s];
        if (first_refusal.empty()) first_refusal = verdict.why;
        out.info.status[s] = attempt.status[s] == Status::kConverged ? Status::kLinearSolveFailed
                                                                     : attempt.status[s];
        out.info.residual[s] = residual[s];
        out.info.iterations[s] = spent[s];
      }
    }
    any_failure = any_failure || failed > 0;
    if (take.any()) out.x = Ops::where(take, attempt.x, out.x);
    out.info.method = to_string(method);
    if (!history.empty()) history += "; then ";
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s: %d of %ld samples uncertified (worst residual %.3e)",
                  to_string(method), failed, static_cast<long>(batch), worst);
    history += buf;
    if (!attempt.message.empty()) history += " (" + attempt.message + ")";
    if (failed > 0 && !first_refusal.empty()) history += " [" + first_refusal + "]";
    first_refusal.clear();
    if (accepted.all()) break;
  }
  out.info.evaluations = total_products;
  // The attempt log is worth reading only when some attempt left samples
  // uncertified.
  if (any_failure) out.info.message = history;
  return out;
}

}  // namespace implicit::torch::internal
