// Which training defaults train a DEQ? An experiment, not a unit test: it
// trains implicit::torch::DEQ(TanhCell) classifiers on small problems with
// each backward mode and Jacobian-penalty weight and prints, per setting
// and seed, the test accuracy, the forward cost, how many samples the
// forward left unconverged, how many Adam steps were skipped because the
// backward refused, and the spectral radius of df/dz at z* at the end.
//
// Problems (written here from their usual definitions):
//   spirals  two interleaved spirals (Lang & Witbrock 1988): class k point
//            r (cos t, sin t) (-1)^k, t = 3 pi sqrt(u), r = t / (3 pi),
//            u ~ U(0, 1), plus N(0, 0.02^2) noise; 2000 train / 1000 test.
//   rings    two concentric rings, radii 0.5 and 1.0, N(0, 0.08^2) noise.
//
// Training: TanhCell(2, 64), head Linear(64, 2), Adam lr 1e-2, full batch,
// 300 steps, float32, one thread; forward Anderson with the per-sample rule
// 1e-6 + 1e-4 ||f(z)|| and 50 iterations (raise_on_failure = false), the
// backward at the library's defaults unless the setting says otherwise.
//
// Usage: deq_training [--steps N] [--seeds S] [--train N] [--problem spirals|rings|all]
//                     [--only SUBSTRING-OF-A-SETTING-NAME] [--solver NAME (default anderson)]

#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "implicit/torch/deq.hpp"

namespace itorch = implicit::torch;

namespace {

constexpr double kPi = 3.14159265358979323846;

struct Data {
  at::Tensor train_x, train_y, test_x, test_y;
};

at::Tensor spirals(int64_t n, at::Tensor& labels) {
  const at::Tensor u = at::rand({n});
  const at::Tensor t = 3 * kPi * at::sqrt(u);
  const at::Tensor r = t / (3 * kPi);
  labels = at::randint(0, 2, {n}, at::kLong);
  const at::Tensor sign = 1 - 2 * labels.to(at::kFloat);
  at::Tensor x = at::stack({r * at::cos(t) * sign, r * at::sin(t) * sign}, 1);
  return x + 0.02 * at::randn({n, 2});
}

at::Tensor rings(int64_t n, at::Tensor& labels) {
  labels = at::randint(0, 2, {n}, at::kLong);
  const at::Tensor radius = 0.5 + 0.5 * labels.to(at::kFloat);
  const at::Tensor angle = 2 * kPi * at::rand({n});
  at::Tensor x = at::stack({radius * at::cos(angle), radius * at::sin(angle)}, 1);
  return x + 0.08 * at::randn({n, 2});
}

Data make_data(const std::string& problem, int64_t train_size) {
  ::torch::manual_seed(1234);  // the data is the same for every setting and seed
  Data d;
  auto make = problem == "spirals" ? spirals : rings;
  d.train_x = make(train_size, d.train_y);
  d.test_x = make(train_size / 2, d.test_y);
  return d;
}

struct Setting {
  const char* name;
  itorch::Gradient gradient;
  double penalty_weight;  // 0: no Jacobian penalty
  double solution_tol;    // AdjointOptions::solution_tol for the backward
  bool drop = false;      // BackwardOptions::FailedSamples::kDrop
};

struct Outcome {
  double test_accuracy = 0;
  double forward_iterations = 0;  // mean per sample, last step
  double unconverged = 0;         // fraction of samples, mean over steps
  int skipped = 0;                // steps with a non-finite gradient (no Adam step)
  int dropped_steps = 0;          // steps taken with some samples dropped (kDrop)
  std::string first_failure;
  double spectral_radius = 0;     // max over 200 training samples, after training
  double seconds = 0;
};

Outcome train(const Data& data, const Setting& setting, int steps, int seed,
              itorch::Solver solver) {
  ::torch::manual_seed(seed);
  itorch::DEQOptions options;
  options.solve.forward.solver = solver;
  options.solve.forward.stop.rel_tol = 1e-4;
  options.solve.forward.stop.abs_tol = 1e-6;
  options.solve.forward.stop.max_iter = 50;
  options.solve.forward.stop.record_history = false;
  options.solve.forward.raise_on_failure = false;
  options.solve.backward.gradient = setting.gradient;
  options.solve.backward.raise_on_failure = false;
  options.solve.backward.adjoint.solution_tol = setting.solution_tol;
  if (setting.drop) options.solve.backward.failed_samples = itorch::BackwardOptions::FailedSamples::kDrop;
  options.jacobian_penalty = setting.penalty_weight > 0;
  itorch::DEQ deq(std::make_shared<itorch::TanhCellImpl>(2, 64), options);
  ::torch::nn::Linear head(64, 2);
  std::vector<at::Tensor> params = deq->parameters();
  for (auto& p : head->parameters()) params.push_back(p);
  ::torch::optim::Adam adam(params, ::torch::optim::AdamOptions(1e-2));

  Outcome out;
  const auto start = std::chrono::steady_clock::now();
  double unconverged_sum = 0;
  for (int step = 0; step < steps; ++step) {
    adam.zero_grad();
    auto solved = deq->forward(data.train_x);
    at::Tensor loss =
        ::torch::nn::functional::cross_entropy(head->forward(solved.z), data.train_y);
    if (solved.jacobian_penalty.defined()) loss = loss + setting.penalty_weight * solved.jacobian_penalty;
    loss.backward();
    const auto& fwd = solved.info->forward;
    long bad = 0;
    for (auto s : fwd.status) bad += s != implicit::Status::kConverged;
    unconverged_sum += static_cast<double>(bad) / static_cast<double>(fwd.status.size());
    out.forward_iterations = fwd.mean_iterations();
    bool finite = std::isfinite(loss.item<double>());
    for (const auto& p : params)
      if (p.grad().defined() && !at::isfinite(p.grad()).all().item<bool>()) finite = false;
    if (!finite) {
      ++out.skipped;  // NaN gradients: stepping on them would ruin every weight
      if (out.first_failure.empty()) out.first_failure = solved.info->backward.brief_report();
      continue;
    }
    if (!solved.info->backward.ok()) ++out.dropped_steps;
    adam.step();
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.unconverged = unconverged_sum / steps;
  deq->eval();
  at::NoGradGuard no_grad;
  const auto test = deq->forward(data.test_x);
  out.test_accuracy =
      head->forward(test.z).argmax(1).eq(data.test_y).to(at::kDouble).mean().item<double>();
  const at::Tensor probe = data.train_x.slice(0, 0, 200);
  auto cell = deq->cell();
  const auto z = deq->forward(probe).z;
  const auto rho = itorch::spectral_radius(
      [&](const at::Tensor& v) { return cell->forward(v, probe); }, z, 30);
  for (double r : rho) out.spectral_radius = std::max(out.spectral_radius, r);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  at::set_num_threads(1);
  int steps = 300, seeds = 3;
  int64_t train_size = 2000;
  itorch::Solver solver = itorch::Solver::kAnderson;
  std::string problem = "all", only;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--seeds")) seeds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--problem")) problem = argv[i + 1];
    else if (!std::strcmp(argv[i], "--train")) train_size = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    else if (!std::strcmp(argv[i], "--solver")) solver = itorch::solver_from_string(argv[i + 1]);
  }
  const double inf = std::numeric_limits<double>::infinity();
  const std::vector<Setting> settings = {
      {"implicit", itorch::Gradient::kImplicit, 0, 1e-4},
      {"implicit, any forward", itorch::Gradient::kImplicit, 0, inf},
      {"implicit, drop", itorch::Gradient::kImplicit, 0, 1e-4, true},
      {"implicit + penalty 1", itorch::Gradient::kImplicit, 1, 1e-4},
      {"implicit + penalty 1, drop", itorch::Gradient::kImplicit, 1, 1e-4, true},
      {"implicit + penalty 5, drop", itorch::Gradient::kImplicit, 5, 1e-4, true},
      {"implicit + penalty 5", itorch::Gradient::kImplicit, 5, 1e-4},
      {"jacobian_free", itorch::Gradient::kJacobianFree, 0, 1e-4},
      {"jacobian_free + penalty 1", itorch::Gradient::kJacobianFree, 1, 1e-4},
      {"phantom", itorch::Gradient::kPhantom, 0, 1e-4},
      {"phantom + penalty 1", itorch::Gradient::kPhantom, 1, 1e-4},
  };
  std::vector<std::string> problems = {"spirals", "rings"};
  if (problem != "all") problems = {problem};
  std::printf("| problem | setting | seed | test accuracy | forward its | unconverged | "
              "skipped steps | steps with drops | spectral radius | s |\n"
              "|---|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& p : problems) {
    const Data data = make_data(p, train_size);
    for (const auto& s : settings)
      for (int seed = 0; seed < seeds; ++seed) {
        if (!only.empty() && std::string(s.name).find(only) == std::string::npos) continue;
        const Outcome o = train(data, s, steps, seed, solver);
        std::printf("| %s | %s | %d | %.3f | %.1f | %.3f | %d | %d | %.3f | %.1f |\n", p.c_str(),
                    s.name, seed, o.test_accuracy, o.forward_iterations, o.unconverged, o.skipped,
                    o.dropped_steps, o.spectral_radius, o.seconds);
        if (!o.first_failure.empty()) std::fprintf(stderr, "%s: %s\n", s.name, o.first_failure.c_str());
        std::fflush(stdout);
      }
  }
  return 0;
}
