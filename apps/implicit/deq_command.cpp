// implicit deq: the reference deep-equilibrium layer z* = tanh(W z* + x) of
// SPEC.md section 1, its solve by each solver, and the gradients of
// L = sum(z*) by implicit differentiation, by unrolling, and by central
// finite differences.
//
// --backend eigen (default) runs the dense core on Eigen vectors; --backend
// torch runs the same computation through implicit::torch on a (1, n)
// float64 tensor, so the two can be checked against each other.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <stdexcept>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "implicit.hpp"

#ifdef IMPLICIT_WITH_TORCH
#include <torch/torch.h>

#include "implicit/fixed_point/solve_batched.hpp"
#include "implicit/torch/fixed_point.hpp"
#include "implicit/torch/tensor_ops.hpp"
#endif

namespace implicit::cli {
namespace {

using Vec = Eigen::VectorXd;

// The solver names, one set everywhere (the dense solvers' name(), reports,
// the tensor layer): forward_iteration, anderson, newton, broyden.
// "fixed_point" is accepted as the alias it was released as.
std::string canonical_solver(const std::string& solver) {
  return solver == "fixed_point" ? "forward_iteration" : solver;
}

FixedPointResult<Vec> solve_with(const std::string& name, const TanhLayer& layer,
                                 const Vec& theta, const FixedPointOptions& options) {
  const auto f = bind_theta(layer, theta);
  const Vec z0 = Vec::Zero(layer.size());
  const std::string solver = canonical_solver(name);
  if (solver == "forward_iteration") return solve_fixed_point(f, z0, ForwardIteration(), options);
  if (solver == "anderson") return solve_fixed_point(f, z0, Anderson(), options);
  if (solver == "newton") return solve_fixed_point(f, z0, Newton(), options);
  if (solver == "broyden") return solve_fixed_point(f, z0, Broyden(), options);
  throw std::invalid_argument(
      "--solver must be forward_iteration, anderson, newton or broyden, got '" + name + "'");
}

// Why an unrolled gradient is printed without a comparison: unrolling
// differentiates the iterations that ran, which is dz*/dtheta only when
// forward iteration converged to z*.
// Empty when the unrolled gradient describes the same z* as the implicit one.
std::string unrolled_not_comparable(Status status, const Vec& z_unrolled, const Vec& z_star,
                                    double tol) {
  if (status != Status::kConverged)
    return std::string("forward iteration did not converge (") + to_string(status) +
           "): the unrolled gradient is the derivative of the truncated iteration, not of z*, "
           "and is not comparable with the implicit gradient";
  const double gap = (z_unrolled - z_star).norm();
  // Two solves of one fixed point to relative tolerance tol agree to about
  // tol / (1 - L); 1e4 tol leaves room for L up to 0.9999.
  if (gap > 1e4 * std::fmax(tol, 1e-14) * (1 + z_star.norm())) {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "forward iteration converged to another fixed point (||z_unrolled - z*|| = "
                  "%.3e): the two gradients describe different z* and are not comparable",
                  gap);
    return buf;
  }
  return "";
}

FixedPointOptions options_for(double tol) {
  if (!(tol > 0) || !std::isfinite(tol))
    throw std::invalid_argument("--tol must be a positive number");
  FixedPointOptions options;
  options.rel_tol = tol;
  options.abs_tol = 1e-2 * tol;
  options.max_iter = 10000;
  return options;
}

// dL/dtheta for L = sum(z*) by central differences, re-solving with Newton
// to near machine precision at each perturbed theta.
Vec finite_difference_gradient(const TanhLayer& layer, const Vec& theta, double step) {
  const FixedPointOptions tight = options_for(1e-14);
  auto loss = [&](const Vec& t) { return solve_with("newton", layer, t, tight).x.sum(); };
  return central_difference_gradient(loss, theta, step);
}

nlohmann::json gradient_json(const TanhLayer& layer, const Vec& theta_bar) {
  const Eigen::Index n = layer.size();
  return {{"grad_W", to_json(Eigen::MatrixXd(layer.weights(theta_bar)))},
          {"grad_x", to_json(Vec(theta_bar.tail(n)))}};
}

// The JSON document and the exit code of one --input run.
struct JsonRun {
  nlohmann::json out;
  int code = 0;
};

// Dense path: the core solvers on Eigen vectors, the TanhLayer's
// hand-written derivatives for the IFT and the unrolled gradient.
JsonRun eigen_json(const Eigen::MatrixXd& w, const Vec& x, const std::string& solver,
                   const FixedPointOptions& options, bool with_unrolled) {
  const TanhLayer layer(x.size());
  const Vec theta = layer.pack(w, x);
  const auto result = solve_with(solver, layer, theta, options);
  JsonRun run;
  nlohmann::json& out = run.out;
  out = {{"solver", solver},
         {"z_star", to_json(result.x)},
         {"iterations", result.iterations},
         {"function_evaluations", result.function_evaluations},
         {"residual", result.residual_norm},
         {"status", to_string(result.status)}};
  if (!result.message.empty()) out["message"] = result.message;
  run.code = result.ok() ? 0 : 1;
  if (!result.ok()) return run;
  const Vec zbar = Vec::Ones(layer.size());
  // The forward solve converged to the user's --tol, so its point is a
  // fixed point to that accuracy (which the gradient then carries): the
  // IFT's own check (AdjointOptions::solution_tol) admits it.
  AdjointOptions adjoint;
  adjoint.solution_tol =
      std::max(adjoint.solution_tol, 2 * result.residual_norm / std::max(1.0, result.x.norm()));
  const auto ift = fixed_point_vjp(layer, theta, result.x, zbar, adjoint);
  out["gradient"] = {{"method", "implicit"},
                     {"adjoint_solver", ift.method},
                     {"adjoint_status", to_string(ift.status)},
                     {"adjoint_residual", ift.residual_norm}};
  if (ift.ok()) {
    out.update(gradient_json(layer, ift.value));
  } else {
    out["gradient"]["message"] = ift.message;
    run.code = 1;
  }
  if (with_unrolled) {
    const auto unrolled = unrolled_vjp(layer, theta, Vec(Vec::Zero(layer.size())), zbar, options);
    nlohmann::json u = gradient_json(layer, unrolled.theta_bar);
    u["iterations"] = unrolled.forward.iterations;
    u["status"] = to_string(unrolled.forward.status);
    const std::string note = unrolled_not_comparable(unrolled.forward.status, unrolled.forward.x,
                                                     result.x, options.rel_tol);
    if (!note.empty())
      u["note"] = note;
    else if (ift.ok())
      u["max_abs_difference_to_implicit"] = (unrolled.theta_bar - ift.value).cwiseAbs().maxCoeff();
    out["unrolled"] = u;
    if (!unrolled.ok()) run.code = 1;
  }
  return run;
}

#ifdef IMPLICIT_WITH_TORCH
namespace tt = implicit::torch;

using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

at::Tensor tensor_of(const Eigen::MatrixXd& m) {
  RowMajor r = m;  // LibTorch's default layout is row-major, Eigen's column-major
  return at::from_blob(r.data(), {r.rows(), r.cols()}, at::kDouble).clone();
}

Eigen::MatrixXd matrix_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const RowMajor>(c.data_ptr<double>(), c.size(0), c.size(1));
}

Vec vector_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const Vec>(c.data_ptr<double>(), c.numel());
}

// The CLI's solver names (the dense path's) to the tensor layer's.
tt::Solver torch_solver(const std::string& name) {
  const std::string solver = canonical_solver(name);
  if (solver == "forward_iteration") return tt::Solver::kForwardIteration;
  if (solver == "anderson") return tt::Solver::kAnderson;
  if (solver == "newton") return tt::Solver::kNewton;
  if (solver == "broyden") return tt::Solver::kBroyden;
  throw std::invalid_argument(
      "--solver must be forward_iteration, anderson, newton or broyden, got '" + name + "'");
}

// z -> tanh(z W^T + x) on a batch of rows: for the single row z^T it is
// the dense path's tanh(W z + x).
tt::Map tanh_map(const at::Tensor& w, const at::Tensor& x) {
  return [w, x](const at::Tensor& z) { return at::tanh(at::matmul(z, w.t()) + x); };
}

nlohmann::json tensor_gradient_json(const at::Tensor& w, const at::Tensor& x) {
  return {{"grad_W", to_json(matrix_of(w.grad()))}, {"grad_x", to_json(vector_of(x.grad()))}};
}

double max_abs_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

// Tensor path: the same layer through implicit::torch on a (1, n) float64
// batch, gradients of sum(z*) by autograd (the fixed point's backward is
// the certified IFT adjoint solve).
JsonRun torch_json(const Eigen::MatrixXd& w_in, const Vec& x_in, const std::string& solver,
                   const FixedPointOptions& options, bool with_unrolled) {
  const int64_t n = x_in.size();
  const at::Tensor w = tensor_of(w_in).requires_grad_(true);
  const at::Tensor x = tensor_of(x_in.transpose()).requires_grad_(true);  // (1, n)
  tt::Options o;
  o.forward.solver = torch_solver(solver);
  o.forward.stop = options;
  o.forward.raise_on_failure = false;  // statuses go into the JSON, as on the dense path
  // The dense path's adjoint tolerances (1e-12 absolute, 1e-10 relative),
  // tighter than the tensor layer's training defaults: the two backends'
  // gradients are compared to 1e-8.
  o.backward.adjoint = AdjointOptions{};
  o.backward.raise_on_failure = false;
  const auto result = tt::fixed_point(tanh_map(w, x), at::zeros({1, n}, at::kDouble), {w, x}, o);
  const tt::PassInfo& forward = result.info->forward;

  JsonRun run;
  nlohmann::json& out = run.out;
  out = {{"solver", solver},
         {"z_star", to_json(vector_of(result.z))},
         {"iterations", forward.iterations[0]},
         {"function_evaluations", forward.evaluations},
         {"residual", forward.residual[0]},
         {"status", to_string(forward.status[0])}};
  if (!forward.message.empty()) out["message"] = forward.message;
  run.code = forward.ok() ? 0 : 1;
  if (!forward.ok()) return run;
  result.z.sum().backward();
  const tt::PassInfo& backward = result.info->backward;
  out["gradient"] = {{"method", "implicit"},
                     {"adjoint_solver", backward.method},
                     {"adjoint_status", to_string(backward.status[0])},
                     {"adjoint_residual", backward.residual[0]}};
  if (backward.ok()) {
    out.update(tensor_gradient_json(w, x));
  } else {
    out["gradient"]["message"] = backward.message;
    run.code = 1;
  }
  if (with_unrolled) {
    // Backpropagation through every forward-iteration step: the batched
    // driver the tensor layer solves with, run with autograd recording, so
    // it stops at the same step as the dense path's unrolled_vjp.
    const at::Tensor wu = w.detach().clone().requires_grad_(true);
    const at::Tensor xu = x.detach().clone().requires_grad_(true);
    const auto unrolled = solve_fixed_point_batched(
        tanh_map(wu, xu), at::zeros({1, n}, at::kDouble), ForwardIteration(), options);
    unrolled.x.sum().backward();
    nlohmann::json u = tensor_gradient_json(wu, xu);
    u["iterations"] = unrolled.iterations[0];
    u["status"] = to_string(unrolled.status[0]);
    const std::string note =
        unrolled_not_comparable(unrolled.status[0], vector_of(unrolled.x.detach()),
                                vector_of(result.z.detach()), options.rel_tol);
    if (!note.empty())
      u["note"] = note;
    else if (backward.ok())
      u["max_abs_difference_to_implicit"] = std::max(max_abs_difference(wu.grad(), w.grad()),
                                                     max_abs_difference(xu.grad(), x.grad()));
    out["unrolled"] = u;
    if (!unrolled.ok()) run.code = 1;
  }
  return run;
}
#endif  // IMPLICIT_WITH_TORCH

int run_json(const Args& args, Backend backend) {
  const nlohmann::json input = read_json_file(args.get("input", ""));
  if (!input.is_object() || !input.contains("W") || !input.contains("x"))
    throw std::invalid_argument("--input must hold an object with \"W\" (n x n) and \"x\" (n)");
  const Eigen::MatrixXd w = to_matrix(input["W"], "W");
  const Vec x = to_vector(input["x"], "x");
  if (w.rows() != w.cols() || w.rows() != x.size())
    throw std::invalid_argument("W must be n x n and x of size n; got W " +
                                std::to_string(w.rows()) + "x" + std::to_string(w.cols()) +
                                " and x of size " + std::to_string(x.size()));
  const std::string solver = args.get("solver", "anderson");
  const FixedPointOptions options = options_for(args.get_double("tol", 1e-10));
  const bool with_unrolled = args.has_flag("unrolled");
  JsonRun run;
#ifdef IMPLICIT_WITH_TORCH
  if (backend == Backend::kTorch) run = torch_json(w, x, solver, options, with_unrolled);
#endif
  if (backend == Backend::kEigen) run = eigen_json(w, x, solver, options, with_unrolled);
  run.out["backend"] = to_string(backend);
  std::cout << run.out.dump(2) << '\n';
  return run.code;
}

int run_report(const Args& args) {
  const Eigen::Index n = 10;
  const auto problem = make_reference_tanh_problem(n, 0);
  const FixedPointOptions options = options_for(args.get_double("tol", 1e-10));
  std::printf("Reference problem (SPEC.md section 1): z* = tanh(W z* + x), n = %ld,\n",
              static_cast<long>(n));
  std::printf(
      "W ~ N(0, 1/n), x ~ N(0, 1) (seed 0), z0 = 0, stop at ||f(z)-z|| <= %.0e + %.0e "
      "||f(z)||.\n\n",
      options.abs_tol, options.rel_tol);

  const char* solvers[] = {"forward_iteration", "anderson", "newton", "broyden"};
  FixedPointResult<Vec> results[4];
  for (int s = 0; s < 4; ++s)
    results[s] = solve_with(solvers[s], problem.layer, problem.theta, options);
  std::printf("%-4s", "i");
  for (const char* s : solvers) std::printf(" %17s", s);
  std::printf("\n");
  for (Eigen::Index i = 0; i < n; ++i) {
    std::printf("%-4ld", static_cast<long>(i));
    for (const auto& r : results) std::printf(" %17.12f", r.x[i]);
    std::printf("\n");
  }
  std::printf("%-4s", "its");
  for (const auto& r : results) std::printf(" %17d", r.iterations);
  std::printf("\n%-4s", "f()");
  for (const auto& r : results) std::printf(" %17d", r.function_evaluations);
  std::printf("\n%-4s", "");
  for (const auto& r : results) std::printf(" %17s", to_string(r.status));
  double spread = 0;
  for (const auto& r : results)
    spread = std::fmax(spread, (r.x - results[0].x).cwiseAbs().maxCoeff());
  std::printf("\nmax |z*_solver - z*_forward_iteration| = %.2e\n\n", spread);

  const Vec z_star = results[2].x;  // Newton: the most accurate
  const Vec zbar = Vec::Ones(n);
  const auto ift = fixed_point_vjp(problem.layer, problem.theta, z_star, zbar);
  const auto unrolled =
      unrolled_vjp(problem.layer, problem.theta, Vec(Vec::Zero(n)), zbar, options_for(1e-13));
  const double step = 1e-6;
  const Vec fd = finite_difference_gradient(problem.layer, problem.theta, step);
  std::printf("Gradient of L = sum(z*) w.r.t. (W, x): %ld entries\n",
              static_cast<long>(problem.theta.size()));
  std::printf("  implicit (IFT, adjoint by %s): status %s, adjoint residual %.1e\n",
              ift.method.c_str(), to_string(ift.status), ift.residual_norm);
  std::printf("  unrolled (reverse mode through %d forward iterations, tape %zu bytes)\n",
              unrolled.forward.iterations, unrolled.tape_bytes);
  std::printf("  central finite differences (h = %.0e)\n", step);
  std::printf("  grad_x: %10s %18s %18s %18s\n", "i", "implicit", "unrolled", "finite diff");
  for (Eigen::Index i = 0; i < n; ++i) {
    const Eigen::Index k = n * n + i;
    std::printf("          %10ld %18.12f %18.12f %18.12f\n", static_cast<long>(i), ift.value[k],
                unrolled.theta_bar[k], fd[k]);
  }
  const double ift_vs_unrolled = (ift.value - unrolled.theta_bar).cwiseAbs().maxCoeff();
  const double ift_vs_fd = (ift.value - fd).cwiseAbs().maxCoeff();
  std::printf("  max |implicit - unrolled|    = %.2e  (over all %ld entries)\n", ift_vs_unrolled,
              static_cast<long>(fd.size()));
  std::printf("  max |implicit - finite diff| = %.2e\n", ift_vs_fd);
  // Central differences at h = 1e-6 carry O(h^2) truncation plus
  // O(eps / h) ~ 1e-10 round-off; anything above 1e-7 is a real mismatch.
  const bool agree = ift.ok() && ift_vs_unrolled < 1e-7 && ift_vs_fd < 1e-7 && spread < 1e-8;
  std::printf("\n%s\n",
              agree ? "OK: solvers agree; implicit, unrolled and finite-difference gradients agree."
                    : "MISMATCH: see the numbers above.");
  return agree ? 0 : 1;
}

}  // namespace

int deq_command(int argc, char** argv) {
  const Args args = parse_args(argc, argv, 1, {"input", "solver", "tol", "backend"}, {"unrolled"});
  const Backend backend = backend_from(args);
  if (args.values.count("input")) return run_json(args, backend);
  if (backend != Backend::kEigen)
    throw std::invalid_argument("--backend torch needs --input (the report runs the dense path)");
  return run_report(args);
}

}  // namespace implicit::cli
