// Gradients of L = sum(z*) w.r.t. theta = [vec(W); x] on the tanh reference
// problem: implicit differentiation (IFT, fixed_point_vjp with the
// TanhLayer's hand-written derivatives) against backpropagation through
// every forward iteration (unrolled_vjp).
//
// Both start from the same forward iteration (z0 = 0, 1e-10 absolute /
// 1e-8 relative), so the difference between them is the backward pass:
//
//   BM_IftGradient/<method>/<n>   forward iteration + fixed_point_vjp
//   BM_IftBackward/<method>/<n>   fixed_point_vjp alone, at a given z*
//   BM_UnrolledGradient/<n>       unrolled_vjp (forward, tape, backward)
//   BM_BareLoop/<n>               as many z <- f(z) as the forward solve made
//
// and, at n = 100 with the forward iteration forced to run K steps
// (max_iter = K, abs_tol = 1e-300, rel_tol = 0):
//
//   BM_IftGradientAtK/<K>, BM_UnrolledGradientAtK/<K>, BM_BareLoopAtK/<K>
//
// The sweep uses the reference W scaled by 1.4: the driver raises rel_tol
// to 8 machine epsilons, and the reference problem meets that floor after
// 68 steps, so K = 100 and 300 would stop early. Scaled, forward iteration
// contracts at about 0.92 per step and needs 403 steps to reach the floor,
// so every K <= 300 runs exactly K steps (checked).
//
// Memory. "peak_bytes" is measured: the benchmark binary replaces glibc's
// malloc family (Eigen allocates through malloc, not operator new) with
// forwarders that track live and peak bytes, armed only around one untimed
// call per benchmark. It counts everything the call allocates, result
// included (theta_bar alone is (n^2 + n) * 8 bytes). "tape_bytes" is what
// unrolled_vjp reports for its recorded iterates; "held_bytes" is what the
// IFT path must keep between forward and backward: z* (n * 8), plus the
// n x n matrix when the adjoint system is solved by dense LU.

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

#include "common.hpp"
#include "implicit.hpp"

// ---------------------------------------------------------------------------
// Peak-memory accounting by malloc interposition (glibc only; off under
// AddressSanitizer, which owns malloc itself).
#if defined(__GLIBC__) && !defined(__SANITIZE_ADDRESS__)
#define IMPLICIT_BENCH_COUNT_MALLOC 1
#include <malloc.h>

extern "C" {
void* __libc_malloc(std::size_t size);
void __libc_free(void* ptr);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* ptr, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
}

namespace {
std::atomic<bool> g_armed{false};
std::atomic<std::int64_t> g_live{0};
std::atomic<std::int64_t> g_peak{0};

void on_alloc(void* p) {
  if (!p || !g_armed.load(std::memory_order_relaxed)) return;
  const auto bytes = static_cast<std::int64_t>(malloc_usable_size(p));
  const std::int64_t live = g_live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::int64_t peak = g_peak.load(std::memory_order_relaxed);
  while (live > peak && !g_peak.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
}

void on_free(void* p) {
  if (!p || !g_armed.load(std::memory_order_relaxed)) return;
  g_live.fetch_sub(static_cast<std::int64_t>(malloc_usable_size(p)), std::memory_order_relaxed);
}
}  // namespace

extern "C" {
void* malloc(std::size_t size) noexcept {
  void* p = __libc_malloc(size);
  on_alloc(p);
  return p;
}
void free(void* ptr) noexcept {
  on_free(ptr);
  __libc_free(ptr);
}
void* calloc(std::size_t count, std::size_t size) noexcept {
  void* p = __libc_calloc(count, size);
  on_alloc(p);
  return p;
}
void* realloc(void* ptr, std::size_t size) noexcept {
  on_free(ptr);
  void* p = __libc_realloc(ptr, size);
  on_alloc(p ? p : (size == 0 ? nullptr : ptr));  // a failed realloc keeps ptr
  return p;
}
void* memalign(std::size_t alignment, std::size_t size) noexcept {
  void* p = __libc_memalign(alignment, size);
  on_alloc(p);
  return p;
}
void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return memalign(alignment, size);
}
int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0) return 22;  // EINVAL
  void* p = memalign(alignment, size);
  if (!p && size != 0) return 12;  // ENOMEM
  *out = p;
  return 0;
}
}
#endif

namespace {

// Bytes allocated at the high-water mark of fn(), above what was live
// before it (-1 where the malloc hook is not compiled in).
template <class Fn>
double peak_bytes(Fn&& fn) {
#ifdef IMPLICIT_BENCH_COUNT_MALLOC
  g_live.store(0);
  g_peak.store(0);
  g_armed.store(true);
  fn();
  g_armed.store(false);
  return static_cast<double>(g_peak.load());
#else
  fn();
  return -1;
#endif
}

// ---------------------------------------------------------------------------

using implicit::AdjointMethod;
using implicit::TanhProblem;
using Vector = Eigen::VectorXd;

using bench::problem;
using bench::tolerance;

// Exactly K forward steps: a tolerance that cannot be met before max_iter.
implicit::FixedPointOptions forced(int k) {
  implicit::FixedPointOptions options;
  options.max_iter = k;
  options.abs_tol = 1e-300;
  options.rel_tol = 0;
  return options;
}

implicit::AdjointOptions adjoint(AdjointMethod method) {
  implicit::AdjointOptions options;
  options.method = method;
  return options;
}

// What the IFT path holds between the forward and the backward pass.
double held_bytes(AdjointMethod method, int n) {
  const implicit::AdjointOptions defaults;
  const bool dense = method == AdjointMethod::kDenseLU ||
                     (method == AdjointMethod::kAuto && n <= defaults.dense_max_size);
  const double z = 8.0 * n;
  return dense ? z + 8.0 * n * n : z;
}

// Forward iteration + IFT VJP; throws when either fails to converge (only
// the forced-K forward solves are allowed to stop at max_iter).
struct IftRun {
  implicit::FixedPointResult<Vector> forward;
  implicit::AdjointResult<Vector> backward;
};

IftRun ift_gradient(const TanhProblem& p, const implicit::FixedPointOptions& forward_options,
                    const implicit::AdjointOptions& adjoint_options) {
  const int n = static_cast<int>(p.layer.size());
  const Vector zbar = Vector::Ones(n);
  auto forward =
      implicit::solve_fixed_point(implicit::bind_theta(p.layer, p.theta), Vector(Vector::Zero(n)),
                                  implicit::ForwardIteration(), forward_options);
  auto backward = implicit::fixed_point_vjp(p.layer, p.theta, forward.x, zbar, adjoint_options);
  return {std::move(forward), std::move(backward)};
}

implicit::UnrolledVjpResult<double> unrolled_gradient(
    const TanhProblem& p, const implicit::FixedPointOptions& forward_options) {
  const int n = static_cast<int>(p.layer.size());
  return implicit::unrolled_vjp(p.layer, p.theta, Vector(Vector::Zero(n)), Vector(Vector::Ones(n)),
                                forward_options);
}

void check(benchmark::State& state, bool ok, const std::string& what) {
  if (!ok) state.SkipWithError(what.c_str());
}

// ---------------------------------------------------------------------------
// Gradient at the converged fixed point, n = 10, 100, 1000.

void BM_IftGradient(benchmark::State& state, AdjointMethod method) {
  const TanhProblem& p = problem(static_cast<int>(state.range(0)));
  const auto options = adjoint(method);
  const IftRun probe = ift_gradient(p, tolerance(), options);
  check(state, probe.forward.ok() && probe.backward.ok(),
        probe.forward.brief_report() + "; " + probe.backward.brief_report());
  const double peak =
      peak_bytes([&] { benchmark::DoNotOptimize(ift_gradient(p, tolerance(), options)); });
  for (auto _ : state) {
    IftRun run = ift_gradient(p, tolerance(), options);
    benchmark::DoNotOptimize(run.backward.value.data());
  }
  state.counters["iters"] = probe.forward.iterations;
  state.counters["f_evals"] = probe.forward.function_evaluations;
  state.counters["adjoint_iters"] = probe.backward.iterations;
  state.counters["held_bytes"] = held_bytes(method, static_cast<int>(p.layer.size()));
  state.counters["peak_bytes"] = peak;
  state.SetLabel(probe.backward.method);
}

void BM_IftBackward(benchmark::State& state, AdjointMethod method) {
  const TanhProblem& p = problem(static_cast<int>(state.range(0)));
  const auto options = adjoint(method);
  const IftRun probe = ift_gradient(p, tolerance(), options);
  check(state, probe.forward.ok() && probe.backward.ok(), probe.backward.brief_report());
  const Vector& z_star = probe.forward.x;
  const Vector zbar = Vector::Ones(z_star.size());
  const double peak = peak_bytes([&] {
    benchmark::DoNotOptimize(implicit::fixed_point_vjp(p.layer, p.theta, z_star, zbar, options));
  });
  for (auto _ : state) {
    auto g = implicit::fixed_point_vjp(p.layer, p.theta, z_star, zbar, options);
    benchmark::DoNotOptimize(g.value.data());
  }
  state.counters["adjoint_iters"] = probe.backward.iterations;
  state.counters["peak_bytes"] = peak;
  state.SetLabel(probe.backward.method);
}

// Times unrolled_vjp with `options` and reports its counters; `probe` is one
// untimed run already checked by the caller.
template <class Probe>
void time_unrolled(benchmark::State& state, const TanhProblem& p,
                   const implicit::FixedPointOptions& options, const Probe& probe) {
  const double peak = peak_bytes([&] { benchmark::DoNotOptimize(unrolled_gradient(p, options)); });
  for (auto _ : state) {
    auto g = unrolled_gradient(p, options);
    benchmark::DoNotOptimize(g.theta_bar.data());
  }
  state.counters["iters"] = probe.forward.iterations;
  state.counters["f_evals"] = probe.forward.function_evaluations;
  state.counters["tape_bytes"] = static_cast<double>(probe.tape_bytes);
  state.counters["peak_bytes"] = peak;
}

void BM_UnrolledGradient(benchmark::State& state) {
  const TanhProblem& p = problem(static_cast<int>(state.range(0)));
  const auto probe = unrolled_gradient(p, tolerance());
  check(state, probe.ok(), probe.forward.brief_report());
  time_unrolled(state, p, tolerance(), probe);
}

// The floor: the forward solve's f evaluations as a plain loop.
void BM_BareLoop(benchmark::State& state) {
  const TanhProblem& p = problem(static_cast<int>(state.range(0)));
  const int n = static_cast<int>(p.layer.size());
  const auto f = implicit::bind_theta(p.layer, p.theta);
  const int evals = implicit::solve_fixed_point(f, Vector(Vector::Zero(n)),
                                                implicit::ForwardIteration(), tolerance())
                        .function_evaluations;
  for (auto _ : state) {
    Vector z = Vector::Zero(n);
    for (int k = 0; k < evals; ++k) z = f(z);
    benchmark::DoNotOptimize(z.data());
  }
  state.counters["f_evals"] = evals;
}

// ---------------------------------------------------------------------------
// n = 100, forward iteration forced to K steps.

constexpr int kSweepSize = 100;
constexpr double kSweepScale = 1.4;

const TanhProblem& sweep_problem() {
  static const TanhProblem p = [] {
    TanhProblem q = implicit::make_reference_tanh_problem(kSweepSize, 0);
    q.w *= kSweepScale;
    q.theta = q.layer.pack(q.w, q.x);
    return q;
  }();
  return p;
}

void BM_IftGradientAtK(benchmark::State& state) {
  const TanhProblem& p = sweep_problem();
  const int k = static_cast<int>(state.range(0));
  const auto forward = forced(k);
  const auto options = adjoint(AdjointMethod::kAuto);
  const IftRun probe = ift_gradient(p, forward, options);
  check(state, probe.backward.ok() && probe.forward.iterations == k,
        probe.forward.brief_report() + "; " + probe.backward.brief_report());
  const double peak =
      peak_bytes([&] { benchmark::DoNotOptimize(ift_gradient(p, forward, options)); });
  for (auto _ : state) {
    IftRun run = ift_gradient(p, forward, options);
    benchmark::DoNotOptimize(run.backward.value.data());
  }
  state.counters["iters"] = probe.forward.iterations;
  state.counters["f_evals"] = probe.forward.function_evaluations;
  state.counters["held_bytes"] = held_bytes(AdjointMethod::kAuto, kSweepSize);
  state.counters["peak_bytes"] = peak;
}

void BM_UnrolledGradientAtK(benchmark::State& state) {
  const TanhProblem& p = sweep_problem();
  const int k = static_cast<int>(state.range(0));
  const auto forward = forced(k);
  const auto probe = unrolled_gradient(p, forward);
  check(state, probe.forward.iterations == k, probe.forward.brief_report());
  time_unrolled(state, p, forward, probe);
}

// The floor of the sweep: the K + 1 f evaluations of the forced forward solve.
void BM_BareLoopAtK(benchmark::State& state) {
  const TanhProblem& p = sweep_problem();
  const int evals = static_cast<int>(state.range(0)) + 1;
  const auto f = implicit::bind_theta(p.layer, p.theta);
  for (auto _ : state) {
    Vector z = Vector::Zero(kSweepSize);
    for (int k = 0; k < evals; ++k) z = f(z);
    benchmark::DoNotOptimize(z.data());
  }
  state.counters["f_evals"] = evals;
}

#define IMPLICIT_SIZES Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMicrosecond)
#define IMPLICIT_STEPS Arg(10)->Arg(30)->Arg(100)->Arg(300)->Unit(benchmark::kMicrosecond)

BENCHMARK(BM_BareLoop)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftGradient, auto, AdjointMethod::kAuto) -> IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftGradient, gmres, AdjointMethod::kGmres)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftGradient, fixed_point_iteration, AdjointMethod::kFixedPointIteration)
    ->IMPLICIT_SIZES;
BENCHMARK(BM_UnrolledGradient)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftBackward, auto, AdjointMethod::kAuto) -> IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftBackward, gmres, AdjointMethod::kGmres)->IMPLICIT_SIZES;
BENCHMARK_CAPTURE(BM_IftBackward, fixed_point_iteration, AdjointMethod::kFixedPointIteration)
    ->IMPLICIT_SIZES;
BENCHMARK(BM_BareLoopAtK)->IMPLICIT_STEPS;
BENCHMARK(BM_IftGradientAtK)->IMPLICIT_STEPS;
BENCHMARK(BM_UnrolledGradientAtK)->IMPLICIT_STEPS;

}  // namespace
