// implicit monotone-inverse: the inverse x* = Rinv(y) of the monotone network
// of docs/reference-systems.md section 2 and its gradients by the implicit function theorem.
//
// With --input: JSON in ({"w", "v", "b", "y"}), JSON out (x, dx/dy,
// dx/dtheta per y, statuses, evaluation counts; one schema on both
// backends, success or failure: README.md, "The command-line program").
// Without: a readable report
// on the reproducible H = 10 network comparing TOMS 748 with bisection, the
// round trip, and IFT gradients of L = Rinv(y)^3 with central differences.
//
// --backend eigen (default) differentiates with the dense network's
// closed-form derivatives; --backend torch copies the parameters into
// implicit::torch::MonotoneNet and takes dx/dy and dx/dtheta by autograd
// through its IFT backward, so the two can be checked against each other.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "commands.hpp"
#include "implicit/models/monotone_net.hpp"
#include "implicit/root/options.hpp"
#include "implicit/status.hpp"

#ifdef IMPLICIT_WITH_TORCH
#include <torch/torch.h>

#include "implicit/torch/monotone_net.hpp"
#endif

namespace implicit::cli {
namespace {

using Vec = Eigen::VectorXd;
using Net = MonotoneNet<double>;

// What `implicit monotone-inverse` was asked, as parsed from the command line.
struct MonotoneArgs {
  std::string input;  // empty: the H = 10 report
  std::string method = "toms748";
  int max_iter = ScalarRootOptions{}.max_iter;
  Backend backend = Backend::kEigen;
  JsonStyle json;
};

ScalarRootOptions options_for(const std::string& method, int max_iter) {
  ScalarRootOptions options;
  options.max_iter = max_iter;
  if (method == "toms748") {
    options.method = ScalarRootMethod::kToms748;
  } else if (method == "bisection") {
    options.method = ScalarRootMethod::kBisection;
  } else if (method == "newton") {
    options.method = ScalarRootMethod::kNewton;  // R and R' together (MonotoneNet::value_and_slope)
  } else {
    throw std::invalid_argument("--method must be toms748, bisection or newton, got '" + method +
                                "'");
  }
  return options;
}

nlohmann::json vector_or_null(const Vec& values, const std::vector<bool>& keep) {
  nlohmann::json out = nlohmann::json::array();
  for (Eigen::Index i = 0; i < values.size(); ++i)
    out.push_back(keep[static_cast<std::size_t>(i)] ? nlohmann::json(values[i]) : nlohmann::json());
  return out;
}

nlohmann::json rows_or_null(const Eigen::MatrixXd& rows, const std::vector<bool>& keep) {
  nlohmann::json out = nlohmann::json::array();
  for (Eigen::Index i = 0; i < rows.rows(); ++i)
    out.push_back(keep[static_cast<std::size_t>(i)] ? to_json(Vec(rows.row(i).transpose()))
                                                    : nlohmann::json());
  return out;
}

// What both backends produce per target, before it becomes JSON.
struct InverseRows {
  std::string method;
  Vec x, dx_dy;
  Eigen::MatrixXd dx_dtheta;         // columns w | v | b
  std::vector<bool> solved;          // forward converged: x is meaningful
  std::vector<bool> differentiated;  // and R'(x*) usable: the derivatives are
  std::vector<Status> status;        // the forward status, or the IFT's where the forward converged
  nlohmann::json evaluations;        // g evaluations per target
  std::vector<std::string> messages;
};

InverseRows eigen_rows(const Net& net, const Vec& y, const ScalarRootOptions& options) {
  const auto forward = net.inverse_batched(y, options);
  const auto grads = net.inverse_gradients(forward);
  InverseRows rows;
  rows.method = to_string(options.method);
  rows.x = forward.x;
  rows.dx_dy = grads.dx_dy;
  rows.dx_dtheta = grads.dx_dtheta;
  rows.evaluations = nlohmann::json::array();
  for (std::size_t i = 0; i < forward.results.size(); ++i) {
    const auto& r = forward.results[i];
    rows.solved.push_back(r.ok());
    rows.differentiated.push_back(grads.status[i] == Status::kConverged);
    // A converged root with R'(x*) = 0 has no derivative: report the IFT
    // status in place of the forward one.
    rows.status.push_back(r.ok() ? grads.status[i] : r.status);
    rows.evaluations.push_back(r.function_evaluations);
    rows.messages.push_back(r.ok() ? (grads.status[i] == Status::kConverged ? "" : grads.message)
                                   : r.message);
  }
  return rows;
}

#ifdef IMPLICIT_WITH_TORCH
namespace tt = implicit::torch;

at::Tensor tensor_of(const Vec& v) {
  return at::from_blob(const_cast<double*>(v.data()), {v.size()}, at::kDouble).clone();
}

Vec vector_of(const at::Tensor& t) {
  const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
  return Eigen::Map<const Vec>(c.data_ptr<double>(), c.numel());
}

// dx/dtheta, one row (one backward pass with a unit cotangent) per target.
Eigen::MatrixXd parameter_jacobian_rows(tt::MonotoneNet& net, const at::Tensor& x) {
  const int64_t n = x.numel(), h = net->w.numel();
  Eigen::MatrixXd out(n, 3 * h);
  for (int64_t k = 0; k < n; ++k) {
    at::Tensor e = at::zeros_like(x);
    e.select(0, k).fill_(1.0);
    const auto g = ::torch::autograd::grad({x}, {net->w, net->v, net->b}, {e},
                                           /*retain_graph=*/true, /*create_graph=*/false,
                                           /*allow_unused=*/true);
    for (int p = 0; p < 3; ++p) {  // undefined: x does not depend on that parameter
      if (g[p].defined())
        out.block(k, p * h, 1, h) = vector_of(g[p]).transpose();
      else
        out.block(k, p * h, 1, h).setZero();
    }
  }
  return out;
}

InverseRows torch_rows(const Net& dense, const Vec& y, const ScalarRootOptions& scalar) {
  const Eigen::Index n = y.size(), h = dense.hidden();
  tt::MonotoneNet net(h, 0);
  {
    // The module draws its own reference parameters; overwrite them with the
    // input's (leaf parameters: in place only without autograd recording).
    at::NoGradGuard no_grad;
    net->w.copy_(tensor_of(dense.w()));
    net->v.copy_(tensor_of(dense.v()));
    net->b.copy_(tensor_of(dense.b()));
  }
  tt::RootOptions options;
  options.max_iter = scalar.max_iter;
  options.raise_on_failure = false;  // statuses go into the JSON, as on the dense path
  options.backward.raise_on_failure = false;
  const at::Tensor yt = tensor_of(y).requires_grad_(true);
  const auto solved = net->inverse(yt, options, scalar.method);
  const tt::PassInfo forward = solved.info->forward;

  // The IFT is elementwise in y, so one backward with ones gives every
  // dx_i/dy_i = 1 / R'(x_i), and fills the per-row backward statuses.
  const at::Tensor dx_dy = ::torch::autograd::grad({solved.x}, {yt}, {at::ones_like(solved.x)},
                                                   /*retain_graph=*/true)[0];
  const tt::PassInfo backward = solved.info->backward;

  InverseRows rows;
  rows.method = forward.method;
  rows.x = vector_of(solved.x);
  rows.dx_dy = vector_of(dx_dy);
  rows.evaluations = nlohmann::json::array();
  std::vector<int64_t> good;
  for (Eigen::Index i = 0; i < n; ++i) {
    const bool solved_i = forward.status[i] == Status::kConverged;
    const bool differentiated_i = solved_i && backward.status[i] == Status::kConverged;
    rows.solved.push_back(solved_i);
    rows.differentiated.push_back(differentiated_i);
    rows.status.push_back(solved_i ? backward.status[i] : forward.status[i]);
    // The tensor layer reports g evaluations per target only (its steps
    // inside the bracket are not kept), so that is what both backends print.
    rows.evaluations.push_back(forward.iterations[i]);
    rows.messages.push_back(differentiated_i ? "" : solved_i ? backward.message : forward.message);
    if (differentiated_i) good.push_back(i);
  }

  // dx/dtheta. A row whose IFT failed has u = NaN, and the parameters are
  // shared, so its NaN would reach every row's dx/dtheta: differentiate a
  // re-solve of the good rows alone when there are failed ones.
  rows.dx_dtheta = Eigen::MatrixXd::Constant(n, 3 * h, std::nan(""));
  if (good.empty()) return rows;
  at::Tensor x_good = solved.x;
  if (static_cast<Eigen::Index>(good.size()) < n)
    x_good = net->inverse(yt.detach().index_select(0, at::tensor(good)), options, scalar.method).x;
  const Eigen::MatrixXd jacobian = parameter_jacobian_rows(net, x_good);
  for (std::size_t k = 0; k < good.size(); ++k) rows.dx_dtheta.row(good[k]) = jacobian.row(k);
  return rows;
}
#endif  // IMPLICIT_WITH_TORCH

int run_json(const MonotoneArgs& args) {
  const Backend backend = args.backend;
  const nlohmann::json input = read_json_file(args.input);
  if (!input.is_object())
    throw std::invalid_argument("--input must hold an object with \"w\", \"v\", \"b\" and \"y\"");
  for (const char* key : {"w", "v", "b", "y"})
    if (!input.contains(key))
      throw std::invalid_argument(std::string("--input has no \"") + key +
                                  "\" (expected \"w\", \"v\", \"b\" of length H and \"y\")");
  const Vec w = to_vector(input["w"], "w");
  const Vec v = to_vector(input["v"], "v");
  const Vec b = to_vector(input["b"], "b");
  const Vec y = to_vector(input["y"], "y");
  const Net net(w, v, b);  // throws naming 'v' or 'b' when the lengths differ
  const ScalarRootOptions options = options_for(args.method, args.max_iter);

  InverseRows rows;
#ifdef IMPLICIT_WITH_TORCH
  if (backend == Backend::kTorch) rows = torch_rows(net, y, options);
#endif
  if (backend == Backend::kEigen) rows = eigen_rows(net, y, options);

  bool all_ok = true;
  nlohmann::json status = nlohmann::json::array();
  std::vector<std::string> messages;
  for (std::size_t i = 0; i < rows.status.size(); ++i) {
    const Status s = rows.status[i];
    all_ok = all_ok && s == Status::kConverged;
    status.push_back(to_string(s));
    if (s == Status::kConverged) continue;
    // The tensor layer has one message for all its failed rows: say it once.
    const std::string& why = rows.messages[i];
    const bool said = std::find(rows.messages.begin(), rows.messages.begin() + i, why) !=
                      rows.messages.begin() + i;
    messages.push_back("y[" + std::to_string(i) +
                       "] = " + internal::format_number(y[static_cast<Eigen::Index>(i)]) + ": " +
                       to_string(s) +
                       (why.empty() ? ""
                        : said      ? " (as above)"
                                    : ": " + why));
  }
  Eigen::MatrixXd dx_dw = rows.dx_dtheta.leftCols(net.hidden());
  Eigen::MatrixXd dx_dv = rows.dx_dtheta.middleCols(net.hidden(), net.hidden());
  Eigen::MatrixXd dx_db = rows.dx_dtheta.rightCols(net.hidden());
  const nlohmann::json out = {{"ok", all_ok},
                              {"backend", to_string(backend)},
                              {"method", rows.method},
                              {"x", vector_or_null(rows.x, rows.solved)},
                              {"dx_dy", vector_or_null(rows.dx_dy, rows.differentiated)},
                              {"dx_dtheta",
                               {{"w", rows_or_null(dx_dw, rows.differentiated)},
                                {"v", rows_or_null(dx_dv, rows.differentiated)},
                                {"b", rows_or_null(dx_db, rows.differentiated)}}},
                              {"status", status},
                              {"function_evaluations", rows.evaluations},
                              {"messages", messages}};
  print_json(out, args.json);
  return all_ok ? 0 : 1;
}

// L(y, theta) = Rinv(y; theta)^3 by a fresh solve (NaN if it fails).
double inverse_cube(const Net& net, double y) {
  auto r = net.inverse(y);
  return r.ok() ? r.x * r.x * r.x : std::numeric_limits<double>::quiet_NaN();
}

int run_report() {
  const Net net = make_reference_monotone_net(10, kReferenceMonotoneSeed);
  const Eigen::Index h = net.hidden();
  const double kink = -net.b()[h - 1] / std::exp(net.w()[h - 1]);
  Vec y(5);
  y << 0.01, 0.5, 2.0, 5.0, 10.0;

  std::printf(
      "monotone network of docs/reference-systems.md section 2, H = %ld, theta ~ N(0, 1) (seed "
      "%llu)\n",
      static_cast<long>(h), static_cast<unsigned long long>(kReferenceMonotoneSeed));
  std::printf(
      "R(x) = exp(v)^T reloid(exp(w) x + b) - exp(v)^T reloid(b); relu kink at x = %.4f\n\n", kink);

  ScalarRootOptions toms_options;
  ScalarRootOptions bisect_options;
  bisect_options.method = ScalarRootMethod::kBisection;
  const auto toms = net.inverse_batched(y, toms_options);
  const auto bisect = net.inverse_batched(y, bisect_options);
  bool ok = toms.ok() && bisect.ok();

  std::printf(
      "inverse x* = Rinv(y), stop at bracket width <= 4 eps |x| (about adjacent doubles)\n");
  std::printf("%8s  %22s  %22s  %9s  %11s  %12s\n", "y", "x* TOMS 748", "x* bisection", "|diff|",
              "evals t / b", "|R(x*)-y|/y");
  double worst_round_trip = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const auto& t = toms.results[static_cast<std::size_t>(i)];
    const auto& s = bisect.results[static_cast<std::size_t>(i)];
    const double round_trip = std::abs(net.value(t.x) - y[i]) / y[i];
    worst_round_trip = std::max(worst_round_trip, round_trip);
    std::printf("%8.3g  %22.17g  %22.17g  %9.2e  %5d / %3d  %12.2e\n", y[i], t.x, s.x,
                std::abs(t.x - s.x), t.function_evaluations, s.function_evaluations, round_trip);
    if (!t.ok()) std::printf("  TOMS 748: %s\n", t.brief_report().c_str());
    if (!s.ok()) std::printf("  bisection: %s\n", s.brief_report().c_str());
  }
  std::printf("mean g evaluations per inverse: TOMS 748 %.1f, bisection %.1f\n",
              toms.mean_evaluations(), bisect.mean_evaluations());

  // Round trip over many x: Rinv(R(x)) = x.
  double worst_x = 0;
  for (int k = 0; k <= 1000; ++k) {
    const double x = std::pow(10.0, -8.0 + 10.0 * k / 1000);
    auto r = net.inverse(net.value(x), toms_options);
    ok = ok && r.ok();
    worst_x = std::max(worst_x, std::abs(r.x - x) / x);
  }
  std::printf(
      "round trip over 1001 x in [1e-8, 100]: max |Rinv(R(x)) - x| / x = %.2e "
      "(max |R(x*) - y| / y above %.2e)\n\n",
      worst_x, worst_round_trip);

  // IFT gradients of L = x*^3 against central differences of re-solves.
  const auto grads = net.inverse_gradients(toms);
  ok = ok && grads.ok();
  const Vec theta = net.theta();
  const double step = 1e-6;
  auto net_at = [&](const Vec& t) { return Net(t.head(h), t.segment(h, h), t.tail(h)); };
  std::printf(
      "gradients of L = Rinv(y)^3: IFT (dx/dy = 1/R', dx/dtheta = -dR/dtheta / R') vs\n"
      "central differences of re-solved inverses, step %.0e\n",
      step);
  std::printf("%8s  %14s  %14s  %9s  %24s\n", "y", "dL/dy IFT", "dL/dy FD", "|diff|",
              "max |dL/dtheta diff| (3H)");
  double worst = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const double dl_dx = 3 * toms.x[i] * toms.x[i];
    const double ift_y = dl_dx * grads.dx_dy[i];
    const double fd_y =
        (inverse_cube(net, y[i] + step) - inverse_cube(net, y[i] - step)) / (2 * step);
    double worst_theta = 0;
    for (Eigen::Index j = 0; j < theta.size(); ++j) {
      Vec plus = theta, minus = theta;
      plus[j] += step;
      minus[j] -= step;
      const double fd =
          (inverse_cube(net_at(plus), y[i]) - inverse_cube(net_at(minus), y[i])) / (2 * step);
      const double diff = std::abs(dl_dx * grads.dx_dtheta(i, j) - fd);
      worst_theta = std::max(worst_theta, std::isnan(diff) ? std::numeric_limits<double>::infinity()
                                                           : diff / std::max(1.0, std::abs(fd)));
    }
    const double diff_y = std::abs(ift_y - fd_y);
    worst = std::max({worst, diff_y / std::max(1.0, std::abs(fd_y)), worst_theta});
    std::printf("%8.3g  %14.8g  %14.8g  %9.2e  %24.2e\n", y[i], ift_y, fd_y, diff_y, worst_theta);
  }
  // Central differences with step 1e-6 are good to ~1e-9 here (truncation
  // 1e-12, rounding eps |L| / step); 1e-5 flags a real disagreement.
  const bool gradients_agree = worst < 1e-5;
  std::printf("max relative difference IFT vs finite differences: %.2e (%s)\n", worst,
              gradients_agree ? "ok" : "MISMATCH");
  return ok && gradients_agree ? 0 : 1;
}

}  // namespace

Command add_monotone_inverse_command(CLI::App& program) {
  auto args = std::make_shared<MonotoneArgs>();
  CLI::App* command = program.add_subcommand(
      "monotone-inverse",
      "inverse of a monotone network and its gradients (docs/reference-systems.md section 2)");
  command->footer(
      std::string("Inverts the monotone network R by a bracketing root solve, x* = Rinv(y), "
                  "and gives dx*/dy\nand dx*/dtheta by the implicit function theorem. Without "
                  "--input: a reproducible H = 10\nreport comparing TOMS 748 with bisection, "
                  "the round trip Rinv(R(x)) = x, and the gradients\nagainst finite "
                  "differences.\n\n") +
      kExitCodes);
  CLI::Option* input = command->add_option(
      "--input", args->input,
      "JSON file {\"w\": [...], \"v\": [...], \"b\": [...] (H each), \"y\": [...] "
      "(targets)}: invert every y and print one JSON document (its keys: README.md, \"The "
      "command-line program\")");
  input->type_name("FILE.json");
  command
      ->add_option("--method", args->method,
                   "the bracketing method: toms748 (Alefeld-Potra-Shi, ~8 g evaluations per "
                   "inverse), bisection (~55-60) or newton (safeguarded Newton with the "
                   "analytic R', ~2.6 evaluations of R and R'); both backends run the same "
                   "solve (the tensor layer calls the dense inverse); the report runs toms748 "
                   "and bisection")
      ->type_name("toms748|bisection|newton")
      ->capture_default_str()
      ->check(one_of({"toms748", "bisection", "newton"}))
      ->needs(input);
  command
      ->add_option("--max-iter", args->max_iter,
                   "most steps inside the bracket per target (ScalarRootOptions::max_iter), 1 to "
                   "100000; a target that needs more gets status max_iterations (exit 1)")
      ->type_name("N")
      ->capture_default_str()
      ->transform(integer_in(1, 100000))
      ->needs(input);
  add_backend_option(*command, args->backend);
  add_json_style_options(*command, args->json, input);
  return {command, [args, input]() {
            if (input->count() > 0) return run_json(*args);
            if (args->backend != Backend::kEigen)
              throw std::invalid_argument(
                  "--backend torch needs --input (the report runs the dense path)");
            return run_report();
          }};
}

}  // namespace implicit::cli
