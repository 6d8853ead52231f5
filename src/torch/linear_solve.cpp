#include "linear_solve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "batched_solve.hpp"
#include "implicit/fixed_point/anderson.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/solve_batched.hpp"
#include "implicit/linear/certified_solve.hpp"
#include "implicit/linear/gmres.hpp"
#include "implicit/torch/tensor_ops.hpp"
#include "row_norms.hpp"

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

// kAuto's first attempt on tensors: plain iteration, kept only while it
// contracts fast. The stall rule with a 10-step window and factor 0.2 lets
// a sample go on while every 10 products cut its residual 5x (contraction
// <= 0.85 per product) and hands it to GMRES otherwise, after 10-20
// products. Measured (n = 100, B = 64, bench/README.md "From Python"): at
// contraction 0.46 and 0.77 plain iteration certified in 26 and 68 products
// and 2.6 and 6.0 ms, GMRES in 26 and 53 products but 9.3 and 17 ms (its
// per-sample Gram-Schmidt costs more than the products at this size); at
// 0.994 plain iteration needs thousands of products, GMRES 182.
constexpr int kProbeWindow = 10;
constexpr double kProbeFactor = 0.2;

// u <- K u + b (or Anderson on it) from u = 0, stopped per sample by the
// certificate's own rule ||u - K u - b|| <= abs_tol + rel_tol ||b||, and by
// the stall rule of `window` / `factor` (FixedPointIteration's; kAuto's
// probe uses kProbeWindow / kProbeFactor).
template <class SolverOptions>
Attempt run_iteration(const LinearMap& apply_k, const at::Tensor& b, const Eigen::ArrayXd& b_norm,
                      const LinearTarget& target, const SolverOptions& solver, int window,
                      double factor, bool allow_kernel) {
  auto map = [&](const at::Tensor& u) { return apply_k(u) + b; };
  FixedPointOptions fp;
  fp.progress_window = window;
  fp.progress_factor = factor;
  fp.max_iter = target.max_products;
  fp.abs_tol = target.abs_tol;
  fp.rel_tol = target.rel_tol;
  fp.record_history = false;
  // A non-contractive adjoint iteration grows geometrically: give up at 1e4
  // times the best residual (not the forward default 1e8) so the fallback
  // starts after tens of products, not hundreds.
  fp.divergence_ratio = 1e4;
  const at::Tensor u0 = at::zeros_like(b);
  auto r = solve_batched(map, u0, solver, fp, &b_norm, allow_kernel);
  return {r.x, r.status, r.function_evaluations, r.iterations, r.message};
}

// GMRES on CPU float/double tensors: gmres() of linear/gmres.hpp (the same
// restarted Arnoldi with modified Gram-Schmidt, stopping, stagnation and NaN
// rules, and messages; the per-sample rotations and triangular solve are its
// own internal::rotate_new_column and solve_rotated_triangle), with the basis in one
// (m + 1, B, n) buffer and every dot, axpy and norm done per row in plain
// C++: the generic version issues two LibTorch calls and a CPU copy per
// Gram-Schmidt coefficient, i.e. 4 (j + 1) calls for the j-th product
// (72 per product at n = 100, bench/README.md), more than the product.
// Stopped samples' rows are zero, as the generic path leaves them.
template <class T>
Attempt kernel_gmres(const LinearMap& apply_k, const at::Tensor& b_in,
                     const GmresOptions& options) {
  using Row = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
  using ConstRow = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;
  options.validate();
  const at::Tensor b = b_in.contiguous();
  const int64_t batch = b.size(0);
  const int64_t n = b.numel() / batch;
  const int m = options.restart;
  // Uninitialised: every basis vector is written whole before it is read,
  // and only the ones a solve reaches are touched (at B = 64, n = 1024 the
  // 31 vectors are 16 MB; zero-filling them cost page faults for all 31).
  at::Tensor basis = at::empty({m + 1, batch, n}, b.options());
  at::Tensor x = at::zeros({batch, n}, b.options());
  T* basis_p = basis.data_ptr<T>();
  T* x_p = x.data_ptr<T>();
  const T* b_p = b.data_ptr<T>();
  auto v = [&](int j, int64_t k) { return basis_p + (j * batch + k) * n; };
  auto view_of = [&](int j) { return basis.select(0, j).view(b.sizes()); };
  int products = 0;
  // A u = u - K u, row k of the product at `out` (the generic apply_a: u - K u).
  auto apply_a_into = [&](const at::Tensor& u, T* out) {
    at::Tensor ku = apply_k(u);
    ++products;
    ku = ku.to(b.options(), false, false, at::MemoryFormat::Contiguous);
    const T* up = u.data_ptr<T>();
    const T* kp = ku.data_ptr<T>();
    for (int64_t i = 0; i < batch * n; ++i) out[i] = up[i] - kp[i];
  };
  // (the scaled form where squares overflow, as VectorOps<at::Tensor>::norm)
  auto norm_of = [&](const T* row) { return row_norm(row, n); };

  std::vector<double> b_norm(batch), target(batch), beta(batch), previous(batch);
  for (int64_t k = 0; k < batch; ++k) {
    b_norm[k] = norm_of(b_p + k * n);
    target[k] = options.abs_tol + options.rel_tol * b_norm[k];
  }
  std::vector<double> h(static_cast<size_t>(batch * (m + 1) * m)), cs(batch * m), sn(batch * m),
      s(batch * (m + 1)), y(batch * m);
  auto H = [&](int64_t k, int i, int j) -> double& { return h[(k * m + j) * (m + 1) + i]; };
  Eigen::MatrixXd triangle(m, m);
  Eigen::VectorXd rhs(m);
  std::vector<T> a_x(static_cast<size_t>(batch * n));
  std::vector<Status> status(batch, Status::kMaxIterations);
  std::vector<char> running(batch, 1);

  // r = b - A x into basis[0], per sample ||r||.
  auto true_residual = [&]() {
    apply_a_into(x.view(b.sizes()), a_x.data());
    T* r = v(0, 0);
    for (int64_t i = 0; i < batch * n; ++i) r[i] = b_p[i] - a_x[i];
    for (int64_t k = 0; k < batch; ++k) beta[k] = norm_of(v(0, k));
  };
  auto any_running = [&] { return std::find(running.begin(), running.end(), 1) != running.end(); };

  true_residual();
  previous = beta;
  bool first = true;
  while (true) {
    for (int64_t k = 0; k < batch; ++k) {
      if (!running[k]) continue;
      const double bk = beta[k];
      if (!std::isfinite(bk)) {
        status[k] = Status::kNonFinite, running[k] = 0;
      } else if (!(bk > target[k])) {
        status[k] = Status::kConverged, running[k] = 0;
      } else if (!first && !(bk < previous[k]) && products < options.max_iter) {
        status[k] = Status::kLinearSolveFailed, running[k] = 0;  // stagnated
      }
    }
    first = false;
    if (!any_running() || products >= options.max_iter) break;
    std::fill(s.begin(), s.end(), 0.0);
    for (int64_t k = 0; k < batch; ++k) {
      const double start = running[k] ? beta[k] : 0.0;
      const T scale = static_cast<T>(::implicit::internal::guarded_reciprocal(start, 0.0));
      Row(v(0, k), n) *= scale;
      s[k * (m + 1)] = start;
    }
    int j = 0;
    for (; j < m && products < options.max_iter; ++j) {
      T* w = v(j + 1, 0);  // the new direction is built in place of basis[j + 1]
      apply_a_into(view_of(j), w);
      bool all_done = true;
      for (int64_t k = 0; k < batch; ++k) {
        Row wk(w + k * n, n);
        if (!running[k]) {  // zero rows, as in the generic path (h_next = 0: done)
          wk.setZero();
          for (int i = 0; i <= j + 1; ++i) H(k, i, j) = 0;
          continue;
        }
        for (int i = 0; i <= j; ++i) {
          const ConstRow vi(v(i, k), n);
          const double hij = static_cast<double>((wk * vi).sum());
          H(k, i, j) = hij;
          wk += static_cast<T>(-hij) * vi;
        }
        const double h_next = norm_of(wk.data());
        H(k, j + 1, j) = h_next;
        const double estimate = ::implicit::internal::rotate_new_column(
            j, [&](int i) -> double& { return H(k, i, j); },
            [&](int i) -> double& { return cs[k * m + i]; },
            [&](int i) -> double& { return sn[k * m + i]; },
            [&](int i) -> double& { return s[k * (m + 1) + i]; });
        if (!(h_next == 0 || std::abs(estimate) <= target[k] || !std::isfinite(estimate)))
          all_done = false;
        // basis[j + 1] = w / h_next (0 where h_next is 0 or not finite)
        wk *= static_cast<T>(::implicit::internal::guarded_reciprocal(h_next, 0.0));
      }
      if (all_done) {
        ++j;
        break;
      }
    }
    for (int64_t k = 0; k < batch; ++k) {
      ::implicit::internal::solve_rotated_triangle(
          j, [&](int r, int c) { return H(k, r, c); }, [&](int i) { return s[k * (m + 1) + i]; },
          triangle, rhs, [&](int i) -> double& { return y[k * m + i]; });
      if (!running[k])
        for (int i = 0; i < j; ++i) y[k * m + i] = 0.0;
      Row xk(x_p + k * n, n);
      for (int i = 0; i < j; ++i) xk += static_cast<T>(y[k * m + i]) * ConstRow(v(i, k), n);
    }
    previous = beta;
    true_residual();
  }
  const double worst_beta =
      ::implicit::internal::max_of(Eigen::Map<const Eigen::ArrayXd>(beta.data(), batch).eval());
  const double worst_target =
      ::implicit::internal::max_of(Eigen::Map<const Eigen::ArrayXd>(target.data(), batch).eval());
  const auto outcome = ::implicit::internal::krylov_outcome(
      status, worst_beta, worst_target, products, "stagnated", ": singular system?");
  // One Krylov loop for the batch: every sample rides it to the end.
  return {x.view(b.sizes()), std::vector<Status>(batch, outcome.status), products,
          std::vector<int>(batch, products), outcome.message};
}

Attempt run_gmres(const LinearMap& apply_k, const at::Tensor& b, const GmresOptions& g,
                  bool allow_kernel) {
  if (allow_kernel && kernel_path_applies(b) && b.numel() > 0) {
    if (b.scalar_type() == at::kDouble) return kernel_gmres<double>(apply_k, b, g);
    return kernel_gmres<float>(apply_k, b, g);
  }
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

// The dtype's rel_tol floor (8 epsilons), as every tensor pass applies it.
double floored_rel_tol(const AdjointOptions& options, const at::Tensor& b) {
  return std::fmax(options.rel_tol, 8 * Ops::epsilon(b));
}

LinearSolveResult<at::Tensor> to_result(Attempt attempt, const char* name) {
  LinearSolveResult<at::Tensor> r;
  r.x = std::move(attempt.x);
  r.sample_status = std::move(attempt.status);
  r.status = ::implicit::internal::overall_status(r.sample_status);
  r.iterations = attempt.products;
  r.sample_iterations = std::move(attempt.iterations);
  r.message = std::move(attempt.message);
  r.method = name;
  return r;
}

LinearSystem<at::Tensor> fixed_point_system(const LinearMap& apply_k) {
  LinearSystem<at::Tensor> system;
  system.apply_k = apply_k;
  system.apply_a = [apply_k](const at::Tensor& u) { return u - apply_k(u); };
  return system;
}

CertificateOptions floored_certificate(const AdjointOptions& options, const at::Tensor& b) {
  CertificateOptions c = ::implicit::internal::certificate_of(options);
  c.rel_tol = floored_rel_tol(options, b);
  return c;
}

PassInfo to_pass_info(CertifiedSolveResult<at::Tensor>&& solved) {
  PassInfo info;
  info.ran = true;
  info.status = std::move(solved.sample_status);
  info.iterations = std::move(solved.sample_iterations);
  info.residual = std::move(solved.sample_residual);
  info.method = solved.method;
  info.evaluations = solved.iterations + solved.certificate_products;
  info.message = std::move(solved.message);
  return info;
}

}  // namespace

CertifiedSolve solve_fixed_point_system(const LinearMap& apply_k, const at::Tensor& b,
                                        const AdjointOptions& options, bool allow_kernel) {
  options.validate();
  const int64_t batch = b.size(0);
  const int64_t n = b.numel() / batch;
  const LinearSystem<at::Tensor> system = fixed_point_system(apply_k);
  const CertificateOptions certificate = floored_certificate(options, b);
  LinearTarget target = ::implicit::internal::target_of(options);
  target.rel_tol = certificate.rel_tol;
  const Eigen::ArrayXd b_norm = sample_norms(b);

  // kAuto: plain iteration while it contracts fast (the probe), then GMRES
  // for the samples it left; the fallback adds the dense solve.
  const std::vector<LinearSolver> chain = ::implicit::internal::solver_chain(
      options, n, {FixedPointIteration{kProbeWindow, kProbeFactor}, Gmres{options.gmres_restart}});
  std::vector<ChainAttempt<at::Tensor>> attempts;
  for (const LinearSolver& solver : chain)
    attempts.push_back({to_string(solver), [&, solver](const LinearTarget& t) {
                          return std::visit(
                              [&](const auto& s) -> LinearSolveResult<at::Tensor> {
                                using S = std::decay_t<decltype(s)>;
                                if constexpr (std::is_same_v<S, DenseLU>)
                                  return to_result(run_dense(apply_k, b), s.name());
                                else if constexpr (std::is_same_v<S, Gmres>)
                                  return to_result(run_gmres(apply_k, b, s.options(t), allow_kernel),
                                                   s.name());
                                else if constexpr (std::is_same_v<S, FixedPointIteration>)
                                  return to_result(
                                      run_iteration(apply_k, b, b_norm, t, ForwardIterationOptions{},
                                                    s.progress_window, s.progress_factor,
                                                    allow_kernel),
                                      s.name());
                                else if constexpr (std::is_same_v<S, AndersonIteration>)
                                  return to_result(
                                      run_iteration(apply_k, b, b_norm, t, s.anderson,
                                                    FixedPointOptions{}.progress_window,
                                                    FixedPointOptions{}.progress_factor,
                                                    allow_kernel),
                                      s.name());
                                else if constexpr (std::is_same_v<S, SparseLU>)
                                  throw std::invalid_argument(
                                      "AdjointOptions: sparse_lu solves Eigen systems only, not "
                                      "tensors");
                                else
                                  return s.solve(system, b, t);  // generic over VectorOps
                              },
                              solver);
                        }});
  auto solved = certified_solve(system, b, attempts, certificate, target);
  CertifiedSolve out;
  out.x = std::move(solved.x);
  out.info = to_pass_info(std::move(solved));
  return out;
}

PassInfo certify_fixed_point_system(const LinearMap& apply_k, const at::Tensor& x,
                                    const at::Tensor& b, const AdjointOptions& options,
                                    const std::vector<Status>& claimed) {
  auto checked =
      certify_solution(fixed_point_system(apply_k), x, b, floored_certificate(options, b), claimed);
  PassInfo pass = to_pass_info(std::move(checked));
  pass.method.clear();
  return pass;
}

}  // namespace implicit::torch::internal
