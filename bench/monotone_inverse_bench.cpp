// Batched inverse of the H = 10 reference monotone network (docs/reference-systems.md
// section 2, docs/peers.md): x = Rinv(y) for 10^5 targets y evenly spread over
// [0, 10), by TOMS 748, bisection and safeguarded Newton, with and without
// the IFT gradient, beside Boost.Math's newton_raphson_iterate on a
// hand-written R and R' (the peer of docs/peers.md) in the same binary.
//
//   BM_REval/<count>                 the bare reference: R(x) at the roots x*
//   BM_REvalAndSlope/<count>         R and R' together (value_and_slope), what Newton evaluates
//   BM_PeerREvalAndSlope/<count>     the peer's hand-written R and R'
//   BM_MonotoneInverse/<method>/<count>           inverse_batched
//   BM_MonotoneInverseGradient/<method>/<count>   inverse_batched + inverse_gradients
//   BM_MonotoneNewton/<backend>/<count>           inverse_newton_into (arrays reused)
//   BM_MonotoneNewtonGradient/<backend>/<count>   + inverse_gradients_into (reused)
//   BM_MonotoneNewtonFresh/<count>               inverse_newton + inverse_gradients, fresh results
//   BM_BoostNewton/<start>/<count>                the peer; start "naive" (y / R'(0) in
//                                                 [0, bound], docs/peers.md) or "table"
//                                                 (implicit's start and bracket)
//   BM_BoostNewtonGradient/naive/<count>          the peer + its gradient into a reused matrix
//   BM_Ratios/<count>      all of the above contenders timed in turn inside each
//                          iteration (so load drift hits them alike): the counters
//                          are the ratios the targets are stated in
//
// Counters: "inverses_per_second" (a rate), "f_evals_per_inverse" (R
// evaluations per target, bracket growth included), "max_rel_error" (against
// the TOMS 748 roots, which are within 4 eps of the true root), and for the
// bare loops "evals_per_second". The solver's overhead over its own
// evaluations is
//
//     (1 / inverses_per_second) / (f_evals_per_inverse / evals_per_second).

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <boost/math/tools/roots.hpp>
#include <cmath>
#include <cstdint>
#include <ctime>
#include <limits>
#include <stdexcept>
#include <utility>
#include <vector>

#include "implicit/models/monotone_net.hpp"

namespace {

using implicit::ScalarRootMethod;
using Net = implicit::MonotoneNet<double>;
using Vector = Net::Vector;
using Matrix = Eigen::MatrixXd;

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

// The TOMS 748 roots, the accuracy reference.
const Vector& reference_roots(Eigen::Index count) {
  static Eigen::Index cached_count = -1;
  static Vector x;
  if (cached_count != count) {
    x = net().inverse_batched(targets(count), options(ScalarRootMethod::kToms748)).x;
    cached_count = count;
  }
  return x;
}

double max_rel_error(const Vector& x) {
  const Vector& ref = reference_roots(x.size());
  double worst = 0;
  for (Eigen::Index i = 0; i < x.size(); ++i)
    worst = std::max(worst, std::abs(x[i] - ref[i]) / std::max(ref[i], 1e-300));
  return worst;
}

void rate(benchmark::State& state, Eigen::Index count, const char* name = "inverses_per_second") {
  state.counters[name] =
      benchmark::Counter(static_cast<double>(state.iterations()) * static_cast<double>(count),
                         benchmark::Counter::kIsRate);
}

void report(benchmark::State& state, const implicit::MonotoneInverseBatch<double>& batch,
            Eigen::Index count) {
  rate(state, count);
  state.counters["f_evals_per_inverse"] = batch.mean_evaluations();
}

// ---- implicit ----------------------------------------------------------

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
  state.counters["max_rel_error"] = max_rel_error(probe.x);
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

// Which kernel inverse_newton runs: the best the machine has, AVX2 or SSE4
// forced (4 and 2 lanes; SSE2-width is what Eigen arrays vectorise to under
// the project's generic x86-64 flags), or the scalar loop (inverse(y,
// kNewton) per target, what runs without Highway).
enum class Backend { kBest, kAvx2, kSse4, kScalar };

struct BackendScope {
  explicit BackendScope(Backend b) {
#ifdef IMPLICIT_MONOTONE_SIMD
    using implicit::internal::MonotoneSimdLimit;
    implicit::internal::monotone_simd_limit(b == Backend::kAvx2   ? MonotoneSimdLimit::kAvx2
                                            : b == Backend::kSse4 ? MonotoneSimdLimit::kSse4
                                                                  : MonotoneSimdLimit::kBest);
#else
    (void)b;
#endif
  }
  ~BackendScope() {
#ifdef IMPLICIT_MONOTONE_SIMD
    implicit::internal::monotone_simd_limit(implicit::internal::MonotoneSimdLimit::kBest);
#endif
  }
};

void newton_scalar_into(const Vector& y, implicit::MonotoneNewtonBatch<double>& out) {
  out.x.resize(y.size());
  out.evaluations.resize(static_cast<std::size_t>(y.size()));
  const auto o = options(ScalarRootMethod::kNewton);
  for (Eigen::Index i = 0; i < y.size(); ++i) {
    const auto r = net().inverse(y[i], o);
    out.x[i] = r.x;
    out.evaluations[static_cast<std::size_t>(i)] = r.function_evaluations;
  }
}

void run_newton(Backend backend, const Vector& y, implicit::MonotoneNewtonBatch<double>& out) {
  if (backend == Backend::kScalar)
    newton_scalar_into(y, out);
  else
    net().inverse_newton_into(y, out);
}

void BM_MonotoneNewton(benchmark::State& state, Backend backend) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  BackendScope scope(backend);
  implicit::MonotoneNewtonBatch<double> out;
  net().inverse_newton_into(y, out);
  if (!out.ok()) state.SkipWithError("a Newton inverse did not converge");
  state.SetLabel(backend == Backend::kScalar ? "scalar" : Net::batch_backend());
  for (auto _ : state) {
    run_newton(backend, y, out);
    benchmark::DoNotOptimize(out.x.data());
  }
  rate(state, count);
  state.counters["f_evals_per_inverse"] = out.mean_evaluations();
  state.counters["max_rel_error"] = max_rel_error(out.x);
}

void BM_MonotoneNewtonGradient(benchmark::State& state, Backend backend) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  BackendScope scope(backend);
  implicit::MonotoneNewtonBatch<double> out;
  implicit::MonotoneInverseGradients<double> gradients;
  net().inverse_newton_into(y, out);
  net().inverse_gradients_into(out, gradients);
  if (!out.ok() || !gradients.ok()) state.SkipWithError("a Newton inverse or gradient failed");
  state.SetLabel(backend == Backend::kScalar ? "scalar" : Net::batch_backend());
  for (auto _ : state) {
    run_newton(backend, y, out);
    net().inverse_gradients_into(out.x, gradients);
    benchmark::DoNotOptimize(gradients.dx_dtheta.data());
  }
  rate(state, count);
  state.counters["f_evals_per_inverse"] = out.mean_evaluations();
}

void BM_MonotoneNewtonFresh(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  for (auto _ : state) {
    auto out = net().inverse_newton(y);
    auto gradients = net().inverse_gradients(out);
    benchmark::DoNotOptimize(gradients.dx_dtheta.data());
  }
  rate(state, count);
}

// ---- the peer: Boost.Math newton_raphson_iterate, hand-written R, R' ------

// R and R' in plain scalar C++ from the textbook formula (one exp per
// sigmoid unit, theta-only terms precomputed, the constant exp(v)^T
// reloid(b) subtracted at the end), what a user of Boost would write.
struct PeerNet {
  std::vector<double> ew, ev, evw, b;
  double offset = 0;  // exp(v)^T reloid(b)
  double relu_slope = 0, relu_bound = 0;

  explicit PeerNet(const Net& n) {
    const Eigen::Index h = n.hidden();
    for (Eigen::Index i = 0; i < h; ++i) {
      ew.push_back(std::exp(n.w()[i]));
      ev.push_back(std::exp(n.v()[i]));
      evw.push_back(ev.back() * ew.back());
      b.push_back(n.b()[i]);
      offset += ev.back() * (i + 1 < h ? 1 / (1 + std::exp(-b.back())) : std::max(b.back(), 0.0));
    }
    relu_slope = evw.back();
    // R(x) >= exp(v_H) (relu(exp(w_H) x + b_H) - relu(b_H)) >= relu_slope x - exp(v_H) |b_H|.
    relu_bound = ev.back() * std::abs(b.back());
  }

  std::pair<double, double> value_and_slope(double x) const {
    const std::size_t last = ew.size() - 1;
    double r = 0, s = 0;
    for (std::size_t i = 0; i < last; ++i) {
      const double sig = 1 / (1 + std::exp(-(ew[i] * x + b[i])));
      r += ev[i] * sig;
      s += evw[i] * sig * (1 - sig);
    }
    const double a = ew[last] * x + b[last];
    if (a > 0) {
      r += ev[last] * a;
      s += evw[last];
    }
    return {r - offset, s};
  }

  // dR/dtheta (w, v, b) and R' at x, into g[0], g[stride], ...
  double gradient(double x, double* g, Eigen::Index stride) const {
    const std::size_t h = ew.size(), last = h - 1;
    double s = 0;
    for (std::size_t i = 0; i < last; ++i) {
      const double sig = 1 / (1 + std::exp(-(ew[i] * x + b[i])));
      const double sig_b = 1 / (1 + std::exp(-b[i]));
      const double slope = sig * (1 - sig);
      g[i * stride] = ev[i] * slope * ew[i] * x;
      g[(h + i) * stride] = ev[i] * (sig - sig_b);
      g[(2 * h + i) * stride] = ev[i] * (slope - sig_b * (1 - sig_b));
      s += evw[i] * slope;
    }
    const double a = ew[last] * x + b[last];
    const double on = a > 0 ? 1 : 0, on_b = b[last] > 0 ? 1 : 0;
    g[last * stride] = ev[last] * on * ew[last] * x;
    g[(h + last) * stride] = ev[last] * (std::max(a, 0.0) - std::max(b[last], 0.0));
    g[(2 * h + last) * stride] = ev[last] * (on - on_b);
    return s + on * evw[last];
  }
};

const PeerNet& peer() {
  static const PeerNet p(net());
  return p;
}

// 52 bits: Boost stops when the last step is below 2^-51 |x|, the accuracy
// of adjacent-double brackets (the measured max_rel_error is printed).
constexpr int kPeerDigits = 52;

struct PeerFunction {
  double y;
  int* evaluations;
  std::pair<double, double> operator()(double x) const {
    ++*evaluations;
    auto v = peer().value_and_slope(x);
    v.first -= y;
    return v;
  }
};

enum class PeerStart { kNaive, kTable };

double peer_inverse(double y, PeerStart start, int& evaluations) {
  if (y == 0) return 0;
  double guess, lo, hi;
  if (start == PeerStart::kTable) {
    const auto s = net().newton_start(y);
    guess = s.x0;
    lo = s.lower;
    hi = s.upper;
  } else {
    static const double slope0 = peer().value_and_slope(0).second;
    lo = 0;
    hi = (y + peer().relu_bound) / peer().relu_slope;
    guess = std::min(y / slope0, hi);
  }
  std::uintmax_t max_iter = 200;
  return boost::math::tools::newton_raphson_iterate(PeerFunction{y, &evaluations}, guess, lo, hi,
                                                    kPeerDigits, max_iter);
}

void peer_batch(const Vector& y, PeerStart start, Vector& x, long& evaluations) {
  int count = 0;
  for (Eigen::Index i = 0; i < y.size(); ++i) x[i] = peer_inverse(y[i], start, count);
  evaluations = count;
}

void peer_gradients(const Vector& x, Vector& dx_dy, Matrix& dx_dtheta) {
  const Eigen::Index n = x.size(), cols = dx_dtheta.cols();
  for (Eigen::Index i = 0; i < n; ++i) {
    const double s = peer().gradient(x[i], dx_dtheta.data() + i, n);
    dx_dy[i] = 1 / s;
    for (Eigen::Index j = 0; j < cols; ++j) dx_dtheta(i, j) = -dx_dtheta(i, j) / s;
  }
}

void BM_BoostNewton(benchmark::State& state, PeerStart start) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  Vector x(count);
  long evaluations = 0;
  for (auto _ : state) {
    peer_batch(y, start, x, evaluations);
    benchmark::DoNotOptimize(x.data());
  }
  rate(state, count);
  state.counters["f_evals_per_inverse"] =
      static_cast<double>(evaluations) / static_cast<double>(count);
  state.counters["max_rel_error"] = max_rel_error(x);
}

void BM_BoostNewtonGradient(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  Vector x(count), dx_dy(count);
  Matrix dx_dtheta(count, 3 * net().hidden());
  long evaluations = 0;
  for (auto _ : state) {
    peer_batch(y, PeerStart::kNaive, x, evaluations);
    peer_gradients(x, dx_dy, dx_dtheta);
    benchmark::DoNotOptimize(dx_dtheta.data());
  }
  rate(state, count);
}

// ---- bare evaluations ----------------------------------------------------

// The bare reference: one R evaluation per root x* (the points a solve
// ends at, so the same region of the network).
void BM_REval(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector& x = reference_roots(count);
  for (auto _ : state) {
    double sum = 0;
    for (Eigen::Index i = 0; i < count; ++i) sum += net().value(x[i]);
    benchmark::DoNotOptimize(sum);
  }
  rate(state, count, "evals_per_second");
}

void BM_REvalAndSlope(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector& x = reference_roots(count);
  for (auto _ : state) {
    double sum = 0;
    for (Eigen::Index i = 0; i < count; ++i) {
      const auto v = net().value_and_slope(x[i]);
      sum += v.value + v.slope;
    }
    benchmark::DoNotOptimize(sum);
  }
  rate(state, count, "evals_per_second");
}

void BM_PeerREvalAndSlope(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector& x = reference_roots(count);
  for (auto _ : state) {
    double sum = 0;
    for (Eigen::Index i = 0; i < count; ++i) {
      const auto v = peer().value_and_slope(x[i]);
      sum += v.first + v.second;
    }
    benchmark::DoNotOptimize(sum);
  }
  rate(state, count, "evals_per_second");
}

// ---- the ratios of issue 11, all contenders inside one iteration ---------

// Thread CPU time, as Google Benchmark's own times: on a shared machine the
// wall clock also counts other processes' turns.
struct Clock {
  using time_point = double;
  static double now() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
};

void BM_Ratios(benchmark::State& state) {
  const Eigen::Index count = state.range(0);
  const Vector y = targets(count);
  implicit::MonotoneNewtonBatch<double> out;
  implicit::MonotoneInverseGradients<double> gradients;
  Vector x(count), dx_dy(count);
  Matrix dx_dtheta(count, 3 * net().hidden());
  long evaluations = 0;
  double ours = 0, ours_grad = 0, boost = 0, boost_table = 0, boost_grad = 0;
  auto seconds = [](double a, double b) { return b - a; };
  for (auto _ : state) {
    const auto t0 = Clock::now();
    net().inverse_newton_into(y, out);
    const auto t1 = Clock::now();
    net().inverse_gradients_into(out.x, gradients);
    const auto t2 = Clock::now();
    peer_batch(y, PeerStart::kNaive, x, evaluations);
    const auto t3 = Clock::now();
    peer_gradients(x, dx_dy, dx_dtheta);
    const auto t4 = Clock::now();
    peer_batch(y, PeerStart::kTable, x, evaluations);
    const auto t5 = Clock::now();
    benchmark::DoNotOptimize(gradients.dx_dtheta.data());
    benchmark::DoNotOptimize(dx_dtheta.data());
    ours += seconds(t0, t1);
    ours_grad += seconds(t0, t2);
    boost += seconds(t2, t3);
    boost_grad += seconds(t2, t4);
    boost_table += seconds(t4, t5);
  }
  if (!out.ok() || !gradients.ok()) state.SkipWithError("a Newton inverse or gradient failed");
  const double n = static_cast<double>(count) * static_cast<double>(state.iterations());
  state.SetLabel(Net::batch_backend());
  state.counters["newton_per_s"] = n / ours;
  state.counters["newton_grad_per_s"] = n / ours_grad;
  state.counters["boost_per_s"] = n / boost;
  state.counters["boost_grad_per_s"] = n / boost_grad;
  state.counters["x_boost"] = boost / ours;  // target >= 3.4
  state.counters["x_boost_grad"] = boost_grad / ours_grad;
  state.counters["x_boost_table_start"] = boost_table / ours;
}

constexpr int kTargets = 100000;

BENCHMARK(BM_REval)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_REvalAndSlope)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PeerREvalAndSlope)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverse, toms748, ScalarRootMethod::kToms748)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverse, bisection, ScalarRootMethod::kBisection)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverse, newton, ScalarRootMethod::kNewton)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
// What inverse_batched(y) runs without options (MonotoneNet::batched_options()).
BENCHMARK_CAPTURE(BM_MonotoneInverse, default,
                  implicit::MonotoneNet<double>::batched_options().method)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverseGradient, toms748, ScalarRootMethod::kToms748)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneInverseGradient, bisection, ScalarRootMethod::kBisection)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewton, best, Backend::kBest)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewton, avx2, Backend::kAvx2)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewton, sse4, Backend::kSse4)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewton, scalar, Backend::kScalar)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewtonGradient, best, Backend::kBest)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewtonGradient, avx2, Backend::kAvx2)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_MonotoneNewtonGradient, sse4, Backend::kSse4)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MonotoneNewtonFresh)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BoostNewton, naive, PeerStart::kNaive)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_BoostNewton, table, PeerStart::kTable)
    ->Arg(kTargets)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_BoostNewtonGradient)->Arg(kTargets)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Ratios)->Arg(kTargets)->Unit(benchmark::kMillisecond);

}  // namespace
