// Batched inverse of the H = 10 reference monotone network (docs/reference-systems.md
// section 2, docs/peers.md): x = Rinv(y) for 10^5 targets y evenly spread over
// [0, 10), by TOMS 748 and by bisection, with and without the IFT gradient.
//
//   BM_REval/<count>                 the bare reference: R(x) at the roots x*
//   BM_MonotoneInverse/<method>/<count>           inverse_batched
//   BM_MonotoneInverseGradient/<method>/<count>   inverse_batched + inverse_gradients
//
// Counters: "inverses_per_second" (a rate), "f_evals_per_inverse" (R
// evaluations per target, bracket growth included), and for BM_REval
// "evals_per_second". The solver's overhead over its own evaluations is
//
//     (1 / inverses_per_second) / (f_evals_per_inverse / evals_per_second).

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <stdexcept>

#include "implicit/models/monotone_net.hpp"

namespace {

using implicit::ScalarRootMethod;
using Net = implicit::MonotoneNet<double>;
using Vector = Net::Vector;

const Net& net() {
  static const Net n = implicit::make_reference_monotone_net<double>(10);
  return n;
}

// y_i = 10 (i + 0.5) / count: evenly spread over [0, 10), reproducible.
Vector targets(Eigen::Index count) {
  Vector y(count);
  for (Eigen::Index i = 0; i < count; ++i)
    y[i] = 10.0 * (static_cast<double>(i) + 0.5) / static_cast<double>(count);
  return y;
}

implicit::ScalarRootOptions options(ScalarRootMethod method) {
  implicit::ScalarRootOptions o;
  o.method = method;
  return o;
}

void report(benchmark::State& state, const implicit::MonotoneInverseBatch<double>& batch,
            Eigen::Index count) {
  state.counters["inverses_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(count),
                         benchmark::Counter::kIsRate);
  state.counters["f_evals_per_inverse"] = batch.mean_evaluations();
}

void BM_MonotoneInverse(benchmark::State& state, ScalarRootMethod method) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  const auto o = options(method);
  const auto probe = net().inverse_batched(y, o);
  if (!probe.ok()) state.SkipWithError("a monotone inverse did not converge");
  for (auto _ : state) {
    auto batch = net().inverse_batched(y, o);
    benchmark::DoNotOptimize(batch.x.data());
  }
  report(state, probe, count);
}

void BM_MonotoneInverseGradient(benchmark::State& state, ScalarRootMethod method) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  const auto o = options(method);
  const auto probe = net().inverse_batched(y, o);
  if (!probe.ok() || !net().inverse_gradients(probe).ok())
    state.SkipWithError("a monotone inverse or its gradient failed");
  for (auto _ : state) {
    auto batch = net().inverse_batched(y, o);
    auto gradients = net().inverse_gradients(batch);
    benchmark::DoNotOptimize(gradients.dx_dtheta.data());
  }
  report(state, probe, count);
}

// The bare reference: one R evaluation per root x* (the points a solve
// ends at, so the same region of the network).
void BM_REval(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector x = net().inverse_batched(targets(count)).x;
  for (auto _ : state) {
    double sum = 0;
    for (Eigen::Index i = 0; i < count; ++i) sum += net().value(x[i]);
    benchmark::DoNotOptimize(sum);
  }
  state.counters["evals_per_second"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(count),
                         benchmark::Counter::kIsRate);
}

constexpr int kTargets = 100000;

BENCHMARK(BM_REval)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverse, toms748, ScalarRootMethod::kToms748)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverse, bisection, ScalarRootMethod::kBisection)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverseGradient, toms748, ScalarRootMethod::kToms748)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverseGradient, bisection, ScalarRootMethod::kBisection)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);

}  // namespace
