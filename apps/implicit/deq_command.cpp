// implicit deq: the reference deep-equilibrium layer z* = tanh(W z* + x) of
// docs/reference-systems.md section 1, its solve by each solver, and the gradients of
// L = sum(z*) by implicit differentiation, by unrolling, and by central
// finite differences.
//
// --backend eigen (default) runs the dense core on Eigen vectors; --backend
// torch runs the same computation through implicit::torch on a (1, n)
// float64 tensor, so the two can be checked against each other.
//
// The JSON of --input has one schema on both backends, success or failure
// (README.md, "The command-line program"): every key always present, null
// where there is no value; --plot draws each solver's residual history.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>
#include <utility>
#include <vector>
#include <stdexcept>
#include <string>

#include "cli.hpp"
#include "commands.hpp"
#include "implicit.hpp"
#include "plot.hpp"

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

constexpr int kDefaultMaxIter = 10000;

// What `implicit deq` was asked, as parsed from the command line.
struct DeqArgs {
  std::string input;  // empty: the n = 10 report
  std::string solver = "anderson";
  double tol = 1e-10;
  int max_iter = kDefaultMaxIter;
  bool unrolled = false;
  Backend backend = Backend::kEigen;
  std::string plot;  // empty: no plot
  JsonStyle json;
};

FixedPointOptions options_for(double tol, int max_iter) {
  if (!(tol > 0) || !std::isfinite(tol))
    throw std::invalid_argument("--tol must be a positive number");
  FixedPointOptions options;
  options.rel_tol = tol;
  options.abs_tol = 1e-2 * tol;
  options.max_iter = max_iter;
  return options;
}

// dL/dtheta for L = sum(z*) by central differences, re-solving with Newton
// to near machine precision at each perturbed theta.
Vec finite_difference_gradient(const TanhLayer& layer, const Vec& theta, double step) {
  const FixedPointOptions tight = options_for(1e-14, kDefaultMaxIter);
  auto loss = [&](const Vec& t) { return solve_with("newton", layer, t, tight).x.sum(); };
  return central_difference_gradient(loss, theta, step);
}

nlohmann::json gradient_json(const TanhLayer& layer, const Vec& theta_bar) {
  const Eigen::Index n = layer.size();
  return {{"grad_W", to_json(Eigen::MatrixXd(layer.weights(theta_bar)))},
          {"grad_x", to_json(Vec(theta_bar.tail(n)))}};
}

// The JSON document, the exit code and the residual history of one
// --input run. The document starts as the full schema filled with null;
// each backend fills in what it has, so the key set cannot differ.
struct JsonRun {
  nlohmann::json out;
  int code = 0;
  std::vector<std::string> messages;  // why the run failed, one line each
  std::vector<double> residual_history;
};

JsonRun empty_run(const std::string& solver, bool with_unrolled) {
  JsonRun run;
  run.out = {{"ok", false},
             {"backend", nullptr},
             {"solver", canonical_solver(solver)},
             {"status", nullptr},
             {"iterations", nullptr},
             {"function_evaluations", nullptr},
             {"residual", nullptr},
             {"z_star", nullptr},
             {"gradient",
              {{"method", "implicit"},
               {"adjoint_solver", nullptr},
               {"adjoint_status", nullptr},
               {"adjoint_residual", nullptr}}},
             {"grad_W", nullptr},
             {"grad_x", nullptr},
             {"unrolled", nullptr},
             {"plot", nullptr},
             {"messages", nlohmann::json::array()}};
  if (with_unrolled)
    run.out["unrolled"] = {{"status", nullptr},
                           {"iterations", nullptr},
                           {"grad_W", nullptr},
                           {"grad_x", nullptr},
                           {"note", nullptr},
                           {"max_abs_difference_to_implicit", nullptr}};
  return run;
}

// Sets the keys of `values` that the schema has; a key it lacks is a bug
// here, not in the input, so it throws std::logic_error.
void fill(nlohmann::json& document, const nlohmann::json& values) {
  for (auto it = values.begin(); it != values.end(); ++it) {
    if (!document.contains(it.key()))
      throw std::logic_error("deq JSON: '" + it.key() + "' is not in the schema");
    document[it.key()] = it.value();
  }
}

// Dense path: the core solvers on Eigen vectors, the TanhLayer's
// hand-written derivatives for the IFT and the unrolled gradient.
JsonRun eigen_json(const Eigen::MatrixXd& w, const Vec& x, const std::string& solver,
                   const FixedPointOptions& options, bool with_unrolled) {
  const TanhLayer layer(x.size());
  const Vec theta = layer.pack(w, x);
  const auto result = solve_with(solver, layer, theta, options);
  JsonRun run = empty_run(solver, with_unrolled);
  nlohmann::json& out = run.out;
  fill(out, {{"iterations", result.iterations},
             {"function_evaluations", result.function_evaluations},
             {"residual", result.residual_norm},
             {"status", to_string(result.status)}});
  run.residual_history = result.residual_history;
  run.code = result.ok() ? 0 : 1;
  if (!result.ok()) {
    run.messages.push_back(result.message.empty() ? to_string(result.status) : result.message);
    return run;
  }
  out["z_star"] = to_json(result.x);
  const Vec zbar = Vec::Ones(layer.size());
  // The forward solve converged to the user's --tol, so its point is a
  // fixed point to that accuracy (which the gradient then carries): the
  // IFT's own check (AdjointOptions::solution_tol) admits it.
  AdjointOptions adjoint;
  adjoint.solution_tol =
      std::max(adjoint.solution_tol, 2 * result.residual_norm / std::max(1.0, result.x.norm()));
  const auto ift = fixed_point_vjp(layer, theta, result.x, zbar, adjoint);
  fill(out["gradient"], {{"adjoint_solver", ift.method},
                         {"adjoint_status", to_string(ift.status)},
                         {"adjoint_residual", ift.residual_norm}});
  if (ift.ok()) {
    fill(out, gradient_json(layer, ift.value));
  } else {
    run.messages.push_back("adjoint: " + ift.message);
    run.code = 1;
  }
  if (with_unrolled) {
    const auto unrolled = unrolled_vjp(layer, theta, Vec(Vec::Zero(layer.size())), zbar, options);
    nlohmann::json& u = out["unrolled"];
    fill(u, gradient_json(layer, unrolled.theta_bar));
    fill(u, {{"iterations", unrolled.forward.iterations},
             {"status", to_string(unrolled.forward.status)}});
    const std::string note = unrolled_not_comparable(unrolled.forward.status, unrolled.forward.x,
                                                     result.x, options.rel_tol);
    if (!note.empty())
      u["note"] = note;
    else if (ift.ok())
      u["max_abs_difference_to_implicit"] = (unrolled.theta_bar - ift.value).cwiseAbs().maxCoeff();
    if (!unrolled.ok()) {
      run.messages.push_back(std::string("unrolled: forward iteration stopped with ") +
                             to_string(unrolled.forward.status));
      run.code = 1;
    }
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

  JsonRun run = empty_run(solver, with_unrolled);
  nlohmann::json& out = run.out;
  fill(out, {{"iterations", forward.iterations[0]},
             {"function_evaluations", forward.evaluations},
             {"residual", forward.residual[0]},
             {"status", to_string(forward.status[0])}});
  run.code = forward.ok() ? 0 : 1;
  if (!forward.ok()) {
    run.messages.push_back(forward.message.empty() ? to_string(forward.status[0])
                                                   : forward.message);
    return run;
  }
  out["z_star"] = to_json(vector_of(result.z));
  result.z.sum().backward();
  const tt::PassInfo& backward = result.info->backward;
  fill(out["gradient"], {{"adjoint_solver", backward.method},
                         {"adjoint_status", to_string(backward.status[0])},
                         {"adjoint_residual", backward.residual[0]}});
  if (backward.ok()) {
    fill(out, tensor_gradient_json(w, x));
  } else {
    run.messages.push_back("adjoint: " + backward.message);
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
    nlohmann::json& u = out["unrolled"];
    fill(u, tensor_gradient_json(wu, xu));
    fill(u, {{"iterations", unrolled.iterations[0]}, {"status", to_string(unrolled.status[0])}});
    const std::string note =
        unrolled_not_comparable(unrolled.status[0], vector_of(unrolled.x.detach()),
                                vector_of(result.z.detach()), options.rel_tol);
    if (!note.empty())
      u["note"] = note;
    else if (backward.ok())
      u["max_abs_difference_to_implicit"] = std::max(max_abs_difference(wu.grad(), w.grad()),
                                                     max_abs_difference(xu.grad(), x.grad()));
    if (!unrolled.ok()) {
      run.messages.push_back(std::string("unrolled: forward iteration stopped with ") +
                             to_string(unrolled.status[0]));
      run.code = 1;
    }
  }
  return run;
}
#endif  // IMPLICIT_WITH_TORCH

// The residual r_k = ||f(z_k) - z_k|| of each solve against k, on a log
// axis, into path (.png or .svg). A residual of exactly 0 (z_k a fixed
// point to the last bit) has no place on a log axis and is left out.
// Returns the error, empty on success.
std::string write_residual_plot(const std::string& path, const std::string& title,
                                const std::vector<std::pair<std::string, std::vector<double>>>&
                                    histories) {
  apps::LinePlot plot;
  plot.title = title;
  plot.xlabel = "iteration k";
  plot.ylabel = "residual ||f(z_k) - z_k||";
  plot.log_y = true;
  for (const auto& [name, history] : histories) {
    apps::PlotSeries series;
    series.title = name;
    for (std::size_t k = 0; k < history.size(); ++k) {
      if (!(history[k] > 0) || !std::isfinite(history[k])) continue;
      series.x.push_back(static_cast<double>(k));
      series.y.push_back(history[k]);
    }
    if (!series.x.empty()) plot.series.push_back(std::move(series));
  }
  if (plot.series.empty()) return "--plot: no positive finite residual to plot";
  std::string error;
  return apps::write_line_plot(path, plot, &error) ? "" : error;
}

int run_json(const DeqArgs& args) {
  const nlohmann::json input = read_json_file(args.input);
  if (!input.is_object() || !input.contains("W") || !input.contains("x"))
    throw std::invalid_argument("--input must hold an object with \"W\" (n x n) and \"x\" (n)");
  const Eigen::MatrixXd w = to_matrix(input["W"], "W");
  const Vec x = to_vector(input["x"], "x");
  if (w.rows() != w.cols() || w.rows() != x.size())
    throw std::invalid_argument("W must be n x n and x of size n; got W " +
                                std::to_string(w.rows()) + "x" + std::to_string(w.cols()) +
                                " and x of size " + std::to_string(x.size()));
  if (!args.plot.empty() && args.backend != Backend::kEigen)
    throw std::invalid_argument(
        "--plot needs --backend eigen (implicit::torch keeps no residual history)");
  const FixedPointOptions options = options_for(args.tol, args.max_iter);
  JsonRun run;
#ifdef IMPLICIT_WITH_TORCH
  if (args.backend == Backend::kTorch)
    run = torch_json(w, x, args.solver, options, args.unrolled);
#endif
  if (args.backend == Backend::kEigen)
    run = eigen_json(w, x, args.solver, options, args.unrolled);
  run.out["backend"] = to_string(args.backend);
  if (!args.plot.empty()) {
    const std::string error = write_residual_plot(
        args.plot,
        "implicit deq: " + canonical_solver(args.solver) + ", n = " + std::to_string(x.size()),
        {{canonical_solver(args.solver), run.residual_history}});
    if (error.empty()) {
      run.out["plot"] = args.plot;
    } else {
      // Asked for and not drawn: the results still print, the exit code is 2.
      std::cerr << "implicit deq: " << error << '\n';
      run.messages.push_back(error);
      run.code = 2;
    }
  }
  run.out["ok"] = run.code == 0;
  run.out["messages"] = run.messages;
  print_json(run.out, args.json);
  return run.code;
}

int run_report(const DeqArgs& args) {
  const Eigen::Index n = 10;
  const auto problem = make_reference_tanh_problem(n, 0);
  const FixedPointOptions options = options_for(args.tol, args.max_iter);
  std::printf("Reference problem (docs/reference-systems.md section 1): z* = tanh(W z* + x), n = %ld,\n",
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
  // Unrolled at a tighter tolerance than the table above: the derivative of
  // the truncated iteration approaches dz*/dtheta only as fast as the
  // iterates approach z*, so it needs more steps to agree to 1e-7.
  constexpr double kUnrolledTol = 1e-13;
  const auto unrolled = unrolled_vjp(problem.layer, problem.theta, Vec(Vec::Zero(n)), zbar,
                                     options_for(kUnrolledTol, kDefaultMaxIter));
  const double step = 1e-6;
  const Vec fd = finite_difference_gradient(problem.layer, problem.theta, step);
  std::printf("Gradient of L = sum(z*) w.r.t. (W, x): %ld entries\n",
              static_cast<long>(problem.theta.size()));
  std::printf("  implicit (IFT, adjoint by %s): status %s, adjoint residual %.1e\n",
              ift.method.c_str(), to_string(ift.status), ift.residual_norm);
  std::printf(
      "  unrolled (reverse mode through %d forward iterations at tol %.0e, tape %zu bytes)\n",
      unrolled.forward.iterations, kUnrolledTol, unrolled.tape_bytes);
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
  if (!args.plot.empty()) {
    std::vector<std::pair<std::string, std::vector<double>>> histories;
    for (int s = 0; s < 4; ++s) histories.emplace_back(solvers[s], results[s].residual_history);
    const std::string error = write_residual_plot(
        args.plot, "implicit deq: the n = 10 reference problem, z0 = 0", histories);
    if (!error.empty()) {
      std::fprintf(stderr, "implicit deq: %s\n", error.c_str());
      return 2;
    }
    std::printf("residual plot: %s\n", args.plot.c_str());
  }
  return agree ? 0 : 1;
}

}  // namespace

Command add_deq_command(CLI::App& program) {
  auto args = std::make_shared<DeqArgs>();
  CLI::App* deq = program.add_subcommand(
      "deq", "fixed point z* = tanh(W z* + x) and its gradients (docs/reference-systems.md section 1)");
  deq->footer(std::string(
                  "Solves z* = tanh(W z* + x) and differentiates L = sum(z*) with respect to W "
                  "and x by the\nimplicit function theorem. Without --input: a reproducible "
                  "n = 10 report comparing the\nfour solvers, and the implicit gradient with "
                  "unrolled and finite-difference ones.\n\n") +
              kExitCodes);
  CLI::Option* input = deq->add_option(
      "--input", args->input,
      "JSON file {\"W\": [[...], ...] (n x n), \"x\": [...] (n)}: solve it and print one JSON "
      "document (its keys: README.md, \"The command-line program\")");
  input->type_name("FILE.json");
  deq->add_option("--solver", args->solver,
                  "the fixed-point solver (fixed_point is an alias of forward_iteration); the "
                  "report runs all four")
      ->type_name("forward_iteration|anderson|newton|broyden")
      ->capture_default_str()
      ->check(one_of({"forward_iteration", "fixed_point", "anderson", "newton", "broyden"}))
      ->needs(input);
  deq->add_option("--tol", args->tol,
                  "relative tolerance, > 0: stop when ||f(z)-z|| <= tol / 100 + tol ||f(z)||; "
                  "values below 8 machine epsilons (1.8e-15) are raised to that floor")
      ->type_name("T")
      ->capture_default_str();
  deq->add_option("--max-iter", args->max_iter,
                  "most solver steps (FixedPointOptions::max_iter), 1 to 10000000; a solve that "
                  "needs more stops with status max_iterations (exit 1)")
      ->type_name("N")
      ->capture_default_str()
      ->transform(integer_in(1, 10000000));
  deq->add_flag("--unrolled", args->unrolled,
                "also differentiate by reverse mode through the forward iteration (the "
                "\"unrolled\" object)")
      ->needs(input);
  add_backend_option(*deq, args->backend);
  deq->add_option("--plot", args->plot,
                  "draw the residual ||f(z_k) - z_k|| against k, log scale, of each solver run "
                  "(all four in the report, --solver with --input; needs gnuplot and --backend "
                  "eigen) into FILE; .png or .svg by its extension")
      ->type_name("FILE")
      ->check(image_file());
  add_json_style_options(*deq, args->json, input);
  return {deq, [args, input]() {
            if (input->count() > 0) return run_json(*args);
            if (args->backend != Backend::kEigen)
              throw std::invalid_argument(
                  "--backend torch needs --input (the report runs the dense path)");
            return run_report(*args);
          }};
}

}  // namespace implicit::cli
