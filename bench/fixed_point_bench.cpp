// Fixed-point solvers on the tanh reference problem (docs/reference-systems.md
// section 1, docs/peers.md): f(z) = tanh(W z + x), W ~ N(0, 1/n), x ~ N(0, 1), z0 = 0,
// stopping at ||f(z) - z|| <= 1e-10 + 1e-8 ||f(z)||.
//
// For every solver BM_<Solver>/<n> (BM_ForwardIteration, BM_Anderson,
// BM_Newton, BM_Broyden) times the whole solve and
// BM_BareLoop/<solver>/<n> times a plain loop z <- f(z) of exactly as many f
// evaluations as that solver used (counted once, before timing), so
//
//     BM_<Solver>/<n> time / BM_BareLoop/<solver>/<n> time
//
// is the solver's cost over the floor of its own evaluation count: its
// overhead factor. Newton's Jacobians (dense, n <= 200) and JVPs (GMRES,
// n > 200) are not f evaluations, so its factor includes them; the counters
// "jacobians" and "jvps" say how many there were.

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <utility>

#include "common.hpp"
#include "implicit.hpp"

namespace {

using implicit::TanhProblem;
using implicit::VectorX;
using Vector = Eigen::VectorXd;

enum class SolverKind { kForwardIteration, kAnderson, kNewton, kBroyden };

using bench::problem;
using bench::tolerance;

// The TanhLayer with call counters, used once per case (untimed) to count
// the Jacobians and JVPs Newton makes besides its f evaluations.
struct CountingTanh {
  const implicit::TanhLayer& layer;
  mutable std::int64_t jacobians = 0;
  mutable std::int64_t jvps = 0;

  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return layer(theta, z);
  }
  template <class T>
  implicit::MatrixX<T> jacobian_z(const VectorX<T>& theta, const VectorX<T>& z) const {
    ++jacobians;
    return layer.jacobian_z(theta, z);
  }
  template <class T>
  VectorX<T> jvp_z(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& v) const {
    ++jvps;
    return layer.jvp_z(theta, z, v);
  }
};

template <class F>
implicit::FixedPointResult<Vector> solve(SolverKind kind, const F& f, const Vector& z0) {
  switch (kind) {
    case SolverKind::kForwardIteration:
      return implicit::solve_fixed_point(f, z0, implicit::ForwardIteration(), tolerance());
    case SolverKind::kAnderson:
      return implicit::solve_fixed_point(f, z0, implicit::Anderson(), tolerance());
    case SolverKind::kNewton:
      return implicit::solve_fixed_point(f, z0, implicit::Newton(), tolerance());
    case SolverKind::kBroyden:
      return implicit::solve_fixed_point(f, z0, implicit::Broyden(), tolerance());
  }
  throw std::logic_error("unknown solver");
}

// What one solve of (kind, n) costs in calls, measured once.
struct Counts {
  int iterations = 0;
  int f_evals = 0;
  int jacobian_evaluations = 0;  // Newton steps
  std::int64_t jacobians = 0;    // dense Jacobians formed
  std::int64_t jvps = 0;         // Jacobian-vector products (GMRES)
  double residual = 0;
};

const Counts& counts(SolverKind kind, int n) {
  static std::map<std::pair<int, int>, Counts> cache;
  const auto key = std::make_pair(static_cast<int>(kind), n);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  const TanhProblem& p = problem(n);
  const CountingTanh counting{p.layer};
  const auto result = solve(kind, implicit::bind_theta(counting, p.theta), Vector(Vector::Zero(n)));
  if (!result.ok())
    throw std::runtime_error("fixed_point_bench: " + result.brief_report() +
                             " (n = " + std::to_string(n) + ")");
  Counts c;
  c.iterations = result.iterations;
  c.f_evals = result.function_evaluations;
  c.jacobian_evaluations = result.jacobian_evaluations;
  c.jacobians = counting.jacobians;
  c.jvps = counting.jvps;
  c.residual = result.residual_norm;
  return cache.emplace(key, c).first->second;
}

void BM_Solver(benchmark::State& state, SolverKind kind) {
  const int n = static_cast<int>(state.range(0));
  const TanhProblem& p = problem(n);
  const Counts& c = counts(kind, n);
  const auto f = implicit::bind_theta(p.layer, p.theta);
  const Vector z0 = Vector::Zero(n);
  for (auto _ : state) {
    auto result = solve(kind, f, z0);
    if (!result.ok()) state.SkipWithError(result.brief_report().c_str());
    benchmark::DoNotOptimize(result.x.data());
  }
  state.counters["iters"] = c.iterations;
  state.counters["f_evals"] = c.f_evals;
  state.counters["residual"] = c.residual;
  if (kind == SolverKind::kNewton) {
    state.counters["jacobians"] = static_cast<double>(c.jacobians);
    state.counters["jvps"] = static_cast<double>(c.jvps);
  }
}

// The floor: as many z <- f(z) as the solver made f evaluations.
void BM_BareLoop(benchmark::State& state, SolverKind kind) {
  const int n = static_cast<int>(state.range(0));
  const TanhProblem& p = problem(n);
  const int evals = counts(kind, n).f_evals;
  const auto f = implicit::bind_theta(p.layer, p.theta);
  const Vector z0 = Vector::Zero(n);
  for (auto _ : state) {
    Vector z = z0;
    for (int k = 0; k < evals; ++k) z = f(z);
    benchmark::DoNotOptimize(z.data());
  }
  state.counters["f_evals"] = evals;
}

// One f evaluation (docs/peers.md's floor table).
void BM_FEval(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const TanhProblem& p = problem(n);
  const auto f = implicit::bind_theta(p.layer, p.theta);
  const Vector z = Vector::Constant(n, 0.1);
  for (auto _ : state) {
    Vector y = f(z);
    benchmark::DoNotOptimize(y.data());
  }
}

#define IMPLICIT_SIZES Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)

void BM_ForwardIteration(benchmark::State& state) {
  BM_Solver(state, SolverKind::kForwardIteration);
}
void BM_Anderson(benchmark::State& state) { BM_Solver(state, SolverKind::kAnderson); }
void BM_Newton(benchmark::State& state) { BM_Solver(state, SolverKind::kNewton); }
void BM_Broyden(benchmark::State& state) { BM_Solver(state, SolverKind::kBroyden); }

BENCHMARK(BM_FEval)->IMPLICIT_SIZES;
BENCHMARK(BM_ForwardIteration)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_BareLoop, ForwardIteration, SolverKind::kForwardIteration)->IMPLICIT_SIZES;
BENCHMARK(BM_Anderson)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_BareLoop, Anderson, SolverKind::kAnderson)->IMPLICIT_SIZES;
BENCHMARK(BM_Newton)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_BareLoop, Newton, SolverKind::kNewton)->IMPLICIT_SIZES;
BENCHMARK(BM_Broyden)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_BareLoop, Broyden, SolverKind::kBroyden)->IMPLICIT_SIZES;

}  // namespace
