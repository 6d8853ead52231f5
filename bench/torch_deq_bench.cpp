// The LibTorch path (implicit::torch) on the problem of the plain-PyTorch
// baseline bench/python/deq_baseline.py, built identically so that
// compare_python.py can divide one by the other:
//
//   torch::manual_seed(0); W = randn(n, n) / sqrt(n), rescaled to spectral
//   norm 0.9; x = randn(64, n); f(z) = tanh(z W^T + x); loss = z*.sum();
//   float64, one thread, per-sample rule 1e-10 + 1e-8 ||f(z)||, max_iter 500.
//
//   BM_Deq/<solver>_<adjoint>/<n>   fixed_point forward, then loss.backward()
//       solver: forward (iteration) | anderson (memory 5, scaled lam: the
//       defaults); adjoint: fpi (kFixedPointIteration, the Python hook's
//       method) | gmres. n = 10, 100, 256, 1024.
//       Counters vs_floor (forward + backward over the floor, measured
//       alternately in the same benchmark), fwd_vs_floor and bwd_vs_floor
//       (each pass over its share of the floor) and floor_ms.
//   BM_DeqFloor/<solver>/<n>   the kernels of BM_Deq/<solver>_fpi/<n> alone (f
//       evaluations and VJPs in a plain loop): the time no solver overhead
//       could beat.
//   BM_ForcedIft/<K>/<n>, BM_ForcedUnrolled/<K>/<n>
//       exactly K evaluations of f, no stopping test, then the IFT backward
//       (K - 1 steps without a graph, then fixed_point with max_iter = 0,
//       which evaluates f once more and attaches z_K) or backpropagation
//       through all K recorded steps. K = 10, 30, 100; n = 256, 1024.
//   BM_CrossoverDense/<adjoint>/<n>, BM_CrossoverTensor/<adjoint>/<n>
//       one sample (B = 1), Anderson forward + IFT backward: the Eigen dense
//       path (solve_fixed_point + fixed_point_vjp with the TanhLayer's
//       hand-written derivatives) against the tensor path. adjoint: auto
//       (each path's default choice: dense LU up to n = 200 / GMRES) or
//       gmres on both. n = 10, 30, 100, 300, 1000, 3000.
//
// Every benchmark uses manual time (steady clock, as Python's perf_counter)
// and reports the iteration time = forward + backward; the counters fwd_ms
// and bwd_ms split it the way the baseline does (forward: everything the
// layer's forward runs; backward: loss.backward() alone; building the loss
// and cloning fresh leaves W, x are outside both).
//
// Counters: fwd_evals (batched f calls of the forward solve, = the
// baseline's forward_iterations), fwd_iters (solver steps of the slowest
// sample), bwd_products (VJPs of the adjoint solve including the one that
// certifies it, = the baseline's backward_iterations + 1). held_bytes /
// peak_bytes: CPU tensor bytes allocated by one untimed forward + backward
// and still live after the forward (what autograd holds for the backward,
// plus z*) / at the high-water mark; counted by a wrapper around LibTorch's
// CPU allocator, armed only around that one call.
//
// `torch_deq_bench --memory <unrolled|ift_forced> N K` is the baseline's
// memory child: in a fresh process, the growth of peak RSS over one forward
// + backward (VmHWM reset through /proc/self/clear_refs), as one JSON line.
// `torch_deq_bench --ops N <forward|anderson> <fpi|gmres>` profiles one
// BM_Deq run by LibTorch operator: calls and time per operator, per phase.

#include <ATen/record_function.h>
#include <benchmark/benchmark.h>
#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "implicit.hpp"
#include "implicit/torch/fixed_point.hpp"

namespace {

namespace tt = implicit::torch;
using Clock = std::chrono::steady_clock;

constexpr int64_t kBatch = 64;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------------------
// Bytes of CPU tensor storage, counted by wrapping LibTorch's CPU allocator.
// Disarmed, allocate() forwards untouched; armed, each block's deleter is
// swapped for one that subtracts its size when the block is freed.

std::atomic<bool> g_armed{false};
std::atomic<int64_t> g_live{0};
std::atomic<int64_t> g_peak{0};
std::mutex g_sizes_mutex;
std::unordered_map<void*, int64_t> g_sizes;
c10::DeleterFnPtr g_inner_deleter = nullptr;

void counted_delete(void* ptr) {
  {
    std::lock_guard<std::mutex> lock(g_sizes_mutex);
    auto it = g_sizes.find(ptr);
    if (it != g_sizes.end()) {
      g_live -= it->second;
      g_sizes.erase(it);
    }
  }
  g_inner_deleter(ptr);
}

class CountingAllocator final : public c10::Allocator {
 public:
  explicit CountingAllocator(c10::Allocator* inner) : inner_(inner) {
    g_inner_deleter = inner->raw_deleter();
  }
  c10::DataPtr allocate(size_t bytes) const override {
    c10::DataPtr p = inner_->allocate(bytes);
    // Only blocks whose context is the data pointer (the default CPU
    // allocator's) can take a raw deleter.
    if (!g_armed.load(std::memory_order_relaxed) || p.get() != p.get_context() ||
        !p.compare_exchange_deleter(g_inner_deleter, &counted_delete))
      return p;
    std::lock_guard<std::mutex> lock(g_sizes_mutex);
    g_sizes[p.get()] = static_cast<int64_t>(bytes);
    const int64_t live = g_live += static_cast<int64_t>(bytes);
    g_peak = std::max(g_peak.load(), live);
    return p;
  }
  c10::DeleterFnPtr raw_deleter() const override { return &counted_delete; }

 private:
  c10::Allocator* inner_;
};

void install_counting_allocator() {
  static CountingAllocator allocator(c10::GetDefaultCPUAllocator());
  c10::SetCPUAllocator(&allocator, /*priority=*/100);
  if (c10::GetCPUAllocator() != &allocator) std::fprintf(stderr, "counting allocator refused\n");
}

struct Memory {
  double held_bytes = 0;  // live after the forward
  double peak_bytes = 0;  // high-water mark over forward + backward
};

// run(after_forward) runs one forward + backward and calls after_forward()
// between them.
template <class Run>
Memory count_bytes(Run&& run) {
  Memory m;
  g_live = 0;
  g_peak = 0;
  g_armed = true;
  run([&] { m.held_bytes = static_cast<double>(g_live.load()); });
  g_armed = false;
  m.peak_bytes = static_cast<double>(g_peak.load());
  return m;
}

// ---------------------------------------------------------------------------
// The baseline's problem.

struct Problem {
  at::Tensor w, x;
};

Problem make_problem(int64_t n, int64_t batch) {
  torch::manual_seed(0);
  at::Tensor w = torch::randn({n, n}, at::kDouble) / std::sqrt(static_cast<double>(n));
  // Python's `0.9 / norm` is norm.reciprocal() * 0.9 (Tensor.__rtruediv__);
  // spelled the same way so that W matches it to the last bit.
  w = w * (at::linalg_matrix_norm(w, 2).reciprocal() * 0.9);
  at::Tensor x = torch::randn({batch, n}, at::kDouble);
  return {w, x};
}

const Problem& problem(int64_t n, int64_t batch = kBatch) {
  static std::map<std::pair<int64_t, int64_t>, Problem> cache;
  auto key = std::make_pair(n, batch);
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, make_problem(n, batch)).first;
  return it->second;
}

tt::Map tanh_map(const at::Tensor& w, const at::Tensor& x) {
  return [w, x](const at::Tensor& z) { return at::tanh(z.matmul(w.t()) + x); };
}

// Fresh leaves per run, as the baseline's run_once: no gradient accumulates.
struct Leaves {
  at::Tensor w, x;
  explicit Leaves(const Problem& p)
      : w(p.w.detach().clone().requires_grad_(true)),
        x(p.x.detach().clone().requires_grad_(true)) {}
};

struct Run {
  double forward_s = 0, backward_s = 0;
  std::shared_ptr<tt::SolveInfo> info;
};

// One forward + backward of the IFT layer on `leaves` (fresh per run, made
// by the caller outside the timing and the byte count, as the baseline's
// W and x are outside its saved bytes), from z0 = start(leaves): zeros, or
// a point reached without a graph. `between` runs untimed after the forward.
template <class Start, class Between>
Run ift_run(const Leaves& leaves, const tt::Options& options, Start&& start, Between&& between) {
  Run r;
  const auto t0 = Clock::now();
  tt::FixedPointOutput out =
      tt::fixed_point(tanh_map(leaves.w, leaves.x), start(leaves), {leaves.w, leaves.x}, options);
  r.forward_s = seconds_since(t0);
  between();
  const at::Tensor loss = out.z.sum();
  const auto t1 = Clock::now();
  loss.backward();
  r.backward_s = seconds_since(t1);
  r.info = out.info;
  return r;
}

tt::Options deq_options(tt::Solver solver, implicit::AdjointMethod adjoint) {
  tt::Options o;  // forward.stop: 1e-10 + 1e-8 ||f(z)||, max_iter 500 (the defaults)
  o.forward.solver = solver;
  o.backward.adjoint.method = adjoint;  // tolerances 1e-10 / 1e-8 (the defaults)
  return o;
}

int max_of(const std::vector<int>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

void set_counters(benchmark::State& state, double forward_s, double backward_s,
                  const tt::SolveInfo& info) {
  using benchmark::Counter;
  state.counters["fwd_ms"] = Counter(1e3 * forward_s, Counter::kAvgIterations);
  state.counters["bwd_ms"] = Counter(1e3 * backward_s, Counter::kAvgIterations);
  state.counters["fwd_evals"] = info.forward.evaluations;
  state.counters["fwd_iters"] = max_of(info.forward.iterations);
  state.counters["bwd_products"] = info.backward.evaluations;
}

void set_memory_counters(benchmark::State& state, const Memory& memory) {
  state.counters["held_bytes"] = memory.held_bytes;
  state.counters["peak_bytes"] = memory.peak_bytes;
}

bool check(benchmark::State& state, const tt::SolveInfo& info, bool forward_must_converge) {
  if ((forward_must_converge && !info.forward.ok()) || !info.backward.ok()) {
    state.SkipWithError(info.brief_report().c_str());
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Solver table.

// Probes the memory and the solve report once, then times forward and
// backward separately; false (and the benchmark skipped) when the probe failed.
template <class Start>
bool time_ift(benchmark::State& state, const Problem& p, const tt::Options& options,
              const Start& start, bool forward_must_converge) {
  Run probe;
  const Leaves probe_leaves(p);
  const Memory memory = count_bytes(
      [&](auto after_forward) { probe = ift_run(probe_leaves, options, start, after_forward); });
  if (!check(state, *probe.info, forward_must_converge)) return false;
  double forward_s = 0, backward_s = 0;
  for (auto _ : state) {
    const Run r = ift_run(Leaves(p), options, start, [] {});
    forward_s += r.forward_s;
    backward_s += r.backward_s;
    state.SetIterationTime(r.forward_s + r.backward_s);
  }
  set_counters(state, forward_s, backward_s, *probe.info);
  set_memory_counters(state, memory);
  return true;
}

// The floor under BM_Deq/<solver>_fpi: the same LibTorch work with no solver
// around it. Forward: fwd_evals plain z <- f(z) without a graph; backward:
// one f with a graph at z (what the adjoint linearises), bwd_products VJPs
// u <- (df/dz)^T u + 1, and the VJP into W and x. What BM_Deq spends above
// this is the library's overhead (Anderson's mixing included); Python /
// floor bounds the ratio any library could reach against the baseline,
// which runs the same kernels.
struct FloorTimes {
  double forward_s = 0, backward_s = 0;
};

FloorTimes floor_run(const Problem& p, int evals, int products) {
  const Leaves leaves(p);
  const tt::Map f = tanh_map(leaves.w, leaves.x);
  const auto t0 = Clock::now();
  at::Tensor z = at::zeros_like(leaves.x);
  {
    at::NoGradGuard no_grad;
    for (int i = 0; i < evals; ++i) z = f(z);
  }
  const double fs = seconds_since(t0);
  const auto t1 = Clock::now();
  const at::Tensor z_leaf = z.requires_grad_(true);
  const at::Tensor fz = f(z_leaf);
  const at::Tensor g = at::ones_like(z);
  at::Tensor u = g;
  for (int i = 0; i < products; ++i)
    u = ::torch::autograd::grad({fz}, {z_leaf}, {u}, /*retain_graph=*/true)[0] + g;
  const auto grads = ::torch::autograd::grad({fz}, {leaves.w, leaves.x}, {u});
  const double bs = seconds_since(t1);
  benchmark::DoNotOptimize(grads[0].data_ptr());
  return {fs, bs};
}

// BM_Deq/<solver>_<adjoint>: after each timed run, one untimed run of the
// floor with the same f evaluations and VJPs, alternating, so the counter
// vs_floor = (forward + backward) / floor is measured under the same load
// (absolute times on a shared machine drift 2-3x; the ratio does not).
void BM_Deq(benchmark::State& state, tt::Solver solver, implicit::AdjointMethod adjoint) {
  const Problem& p = problem(state.range(0));
  auto zeros = [](const Leaves& l) { return at::zeros_like(l.x); };
  const tt::Options options = deq_options(solver, adjoint);
  Run probe;
  const Leaves probe_leaves(p);
  const Memory memory = count_bytes(
      [&](auto after_forward) { probe = ift_run(probe_leaves, options, zeros, after_forward); });
  if (!check(state, *probe.info, /*forward_must_converge=*/true)) return;
  const int evals = probe.info->forward.evaluations;
  const int products = probe.info->backward.evaluations;
  double forward_s = 0, backward_s = 0, floor_forward_s = 0, floor_backward_s = 0;
  for (auto _ : state) {
    const Run r = ift_run(Leaves(p), options, zeros, [] {});
    forward_s += r.forward_s;
    backward_s += r.backward_s;
    state.SetIterationTime(r.forward_s + r.backward_s);
    state.PauseTiming();
    const FloorTimes fl = floor_run(p, evals, products);
    floor_forward_s += fl.forward_s;
    floor_backward_s += fl.backward_s;
    state.ResumeTiming();
  }
  const double floor_s = floor_forward_s + floor_backward_s;
  set_counters(state, forward_s, backward_s, *probe.info);
  set_memory_counters(state, memory);
  using benchmark::Counter;
  state.counters["floor_ms"] = Counter(1e3 * floor_s, Counter::kAvgIterations);
  state.counters["vs_floor"] = floor_s > 0 ? (forward_s + backward_s) / floor_s : 0.0;
  // The same ratio for each pass: where the overhead is.
  state.counters["fwd_vs_floor"] = floor_forward_s > 0 ? forward_s / floor_forward_s : 0.0;
  state.counters["bwd_vs_floor"] = floor_backward_s > 0 ? backward_s / floor_backward_s : 0.0;
}

// The floor alone, with the f evaluations and VJPs of BM_Deq/<solver>_fpi.
void BM_DeqFloor(benchmark::State& state, tt::Solver solver) {
  const Problem& p = problem(state.range(0));
  const tt::Options options = deq_options(solver, implicit::AdjointMethod::kFixedPointIteration);
  const Run probe = ift_run(
      Leaves(p), options, [](const Leaves& l) { return at::zeros_like(l.x); }, [] {});
  if (!check(state, *probe.info, true)) return;
  const int evals = probe.info->forward.evaluations;
  const int products = probe.info->backward.evaluations;
  double forward_s = 0, backward_s = 0;
  for (auto _ : state) {
    const FloorTimes fl = floor_run(p, evals, products);
    forward_s += fl.forward_s;
    backward_s += fl.backward_s;
    state.SetIterationTime(fl.forward_s + fl.backward_s);
  }
  set_counters(state, forward_s, backward_s, *probe.info);
}

// ---------------------------------------------------------------------------
// Forced K: IFT against unrolled backpropagation.

void BM_ForcedIft(benchmark::State& state) {
  const int64_t k = state.range(0);
  const Problem& p = problem(state.range(1));
  tt::Options options =
      deq_options(tt::Solver::kForwardIteration, implicit::AdjointMethod::kFixedPointIteration);
  options.forward.stop.max_iter = 0;  // one evaluation of f: z_K = f(z_{K-1})
  options.forward.raise_on_failure = false;
  // z_K is no fixed point: differentiate it anyway, as the baseline does.
  options.backward.adjoint.solution_tol = std::numeric_limits<double>::infinity();
  auto steps = [&](const Leaves& l) {  // z_{K-1}, no graph (the baseline's no_grad steps)
    at::NoGradGuard no_grad;
    const tt::Map f = tanh_map(l.w, l.x);
    at::Tensor z = at::zeros_like(l.x);
    for (int64_t i = 0; i + 1 < k; ++i) z = f(z);
    return z;
  };
  if (!time_ift(state, p, options, steps, /*forward_must_converge=*/false)) return;
  state.counters["fwd_evals"] = static_cast<double>(k);
  state.counters["fwd_iters"] = static_cast<double>(k);
}

template <class Between>
Run unrolled_run(const Leaves& leaves, int64_t k, Between&& between) {
  Run r;
  const auto t0 = Clock::now();
  const tt::Map f = tanh_map(leaves.w, leaves.x);
  at::Tensor z = at::zeros_like(leaves.x);
  for (int64_t i = 0; i < k; ++i) z = f(z);
  r.forward_s = seconds_since(t0);
  between();
  const at::Tensor loss = z.sum();
  const auto t1 = Clock::now();
  loss.backward();
  r.backward_s = seconds_since(t1);
  return r;
}

void BM_ForcedUnrolled(benchmark::State& state) {
  const int64_t k = state.range(0);
  const Problem& p = problem(state.range(1));
  const Leaves probe_leaves(p);
  const Memory memory =
      count_bytes([&](auto after_forward) { (void)unrolled_run(probe_leaves, k, after_forward); });
  double forward_s = 0, backward_s = 0;
  for (auto _ : state) {
    const Run r = unrolled_run(Leaves(p), k, [] {});
    forward_s += r.forward_s;
    backward_s += r.backward_s;
    state.SetIterationTime(r.forward_s + r.backward_s);
  }
  tt::SolveInfo info;
  info.forward.evaluations = static_cast<int>(k);
  info.forward.iterations = {static_cast<int>(k)};
  info.backward.evaluations = static_cast<int>(k);  // one VJP through each recorded step
  set_counters(state, forward_s, backward_s, info);
  set_memory_counters(state, memory);
}

// ---------------------------------------------------------------------------
// Crossover at B = 1: the Eigen dense path against the tensor path.

implicit::AdjointOptions crossover_adjoint(implicit::AdjointMethod method) {
  implicit::AdjointOptions a = tt::BackwardOptions::default_adjoint();  // 1e-10 / 1e-8
  a.method = method;
  a.dense_max_size = implicit::AdjointOptions{}.dense_max_size;  // the dense path's kAuto
  return a;
}

void BM_CrossoverDense(benchmark::State& state, implicit::AdjointMethod method) {
  const int64_t n = state.range(0);
  const Problem& p = problem(n, 1);
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Eigen::MatrixXd w = Eigen::Map<const RowMajor>(p.w.data_ptr<double>(), n, n);
  const Eigen::VectorXd x = Eigen::Map<const Eigen::VectorXd>(p.x.data_ptr<double>(), n);
  const implicit::TanhLayer layer(n);
  const Eigen::VectorXd theta = layer.pack(w, x);
  const implicit::AdjointOptions adjoint = crossover_adjoint(method);
  const Eigen::VectorXd z0 = Eigen::VectorXd::Zero(n), zbar = Eigen::VectorXd::Ones(n);
  double forward_s = 0, backward_s = 0;
  int evals = 0, iters = 0, products = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    const auto forward = implicit::solve_fixed_point(implicit::bind_theta(layer, theta), z0,
                                                     implicit::Anderson(), {});
    const double fs = seconds_since(t0);
    const auto t1 = Clock::now();
    const auto backward = implicit::fixed_point_vjp(layer, theta, forward.x, zbar, adjoint);
    const double bs = seconds_since(t1);
    benchmark::DoNotOptimize(backward.value.data());
    if (!forward.ok() || !backward.ok()) {
      state.SkipWithError((forward.brief_report() + "; " + backward.brief_report()).c_str());
      return;
    }
    forward_s += fs;
    backward_s += bs;
    state.SetIterationTime(fs + bs);
    evals = forward.function_evaluations;
    iters = forward.iterations;
    products = backward.iterations;
    state.SetLabel(backward.method);
  }
  using benchmark::Counter;
  state.counters["fwd_ms"] = Counter(1e3 * forward_s, Counter::kAvgIterations);
  state.counters["bwd_ms"] = Counter(1e3 * backward_s, Counter::kAvgIterations);
  state.counters["fwd_evals"] = evals;
  state.counters["fwd_iters"] = iters;
  state.counters["bwd_products"] = products;
}

void BM_CrossoverTensor(benchmark::State& state, implicit::AdjointMethod method) {
  const Problem& p = problem(state.range(0), 1);
  tt::Options options;  // Anderson
  options.backward.adjoint = crossover_adjoint(method);
  auto zeros = [](const Leaves& l) { return at::zeros_like(l.x); };
  const Run probe = ift_run(Leaves(p), options, zeros, [] {});
  if (!check(state, *probe.info, true)) return;
  double forward_s = 0, backward_s = 0;
  for (auto _ : state) {
    const Run r = ift_run(Leaves(p), options, zeros, [] {});
    forward_s += r.forward_s;
    backward_s += r.backward_s;
    state.SetIterationTime(r.forward_s + r.backward_s);
  }
  set_counters(state, forward_s, backward_s, *probe.info);
  state.SetLabel(probe.info->backward.method);
}

using implicit::AdjointMethod;
using tt::Solver;

#define DEQ_SIZES \
  Arg(10)->Arg(100)->Arg(256)->Arg(1024)->UseManualTime()->Unit(benchmark::kMillisecond)
BENCHMARK_CAPTURE(BM_Deq, forward_fpi, Solver::kForwardIteration,
                  AdjointMethod::kFixedPointIteration)
    ->DEQ_SIZES;
BENCHMARK_CAPTURE(BM_Deq, forward_gmres, Solver::kForwardIteration, AdjointMethod::kGmres)
    ->DEQ_SIZES;
BENCHMARK_CAPTURE(BM_Deq, anderson_fpi, Solver::kAnderson, AdjointMethod::kFixedPointIteration)
    ->DEQ_SIZES;
BENCHMARK_CAPTURE(BM_Deq, anderson_gmres, Solver::kAnderson, AdjointMethod::kGmres)->DEQ_SIZES;
BENCHMARK_CAPTURE(BM_DeqFloor, forward, Solver::kForwardIteration)->DEQ_SIZES;
BENCHMARK_CAPTURE(BM_DeqFloor, anderson, Solver::kAnderson)->DEQ_SIZES;

#define FORCED_K                            \
  ArgsProduct({{10, 30, 100}, {256, 1024}}) \
      ->ArgNames({"K", "n"})                \
      ->UseManualTime()                     \
      ->Unit(benchmark::kMillisecond)
BENCHMARK(BM_ForcedIft)->FORCED_K;
BENCHMARK(BM_ForcedUnrolled)->FORCED_K;

#define CROSSOVER_SIZES                                                              \
  Arg(10)->Arg(30)->Arg(100)->Arg(300)->Arg(1000)->Arg(3000)->UseManualTime()->Unit( \
      benchmark::kMicrosecond)
BENCHMARK_CAPTURE(BM_CrossoverDense, auto, AdjointMethod::kAuto) -> CROSSOVER_SIZES;
BENCHMARK_CAPTURE(BM_CrossoverTensor, auto, AdjointMethod::kAuto) -> CROSSOVER_SIZES;
BENCHMARK_CAPTURE(BM_CrossoverDense, gmres, AdjointMethod::kGmres)->CROSSOVER_SIZES;
BENCHMARK_CAPTURE(BM_CrossoverTensor, gmres, AdjointMethod::kGmres)->CROSSOVER_SIZES;

// ---------------------------------------------------------------------------
// --memory MODE N K: the baseline's memory child, in this fresh process.

int64_t proc_status_kib(const char* field) {
  std::ifstream status("/proc/self/status");
  std::string line;
  const std::string prefix = std::string(field) + ":";
  while (std::getline(status, line))
    if (line.rfind(prefix, 0) == 0) return std::stoll(line.substr(prefix.size()));
  return -1;
}

bool reset_peak_rss() {
  std::ofstream clear_refs("/proc/self/clear_refs");
  clear_refs << "5";
  clear_refs.flush();
  return static_cast<bool>(clear_refs);
}

int memory_child(const std::string& mode, int64_t n, int64_t k) {
  if (mode != "unrolled" && mode != "ift_forced") {
    std::fprintf(stderr, "--memory: mode must be unrolled or ift_forced, got '%s'\n", mode.c_str());
    return 2;
  }
  const Problem& p = problem(n);
  tt::Options options = deq_options(Solver::kForwardIteration, AdjointMethod::kFixedPointIteration);
  options.forward.stop.max_iter = 0;
  options.forward.raise_on_failure = false;
  options.backward.adjoint.solution_tol = std::numeric_limits<double>::infinity();
  // The leaves are made outside the count, as the baseline excludes W, x.
  auto once = [&](int64_t steps, const Leaves& leaves, auto after_forward) {
    if (mode == "unrolled") return (void)unrolled_run(leaves, steps, after_forward);
    auto start = [&](const Leaves& l) {
      at::NoGradGuard no_grad;
      const tt::Map f = tanh_map(l.w, l.x);
      at::Tensor z = at::zeros_like(l.x);
      for (int64_t i = 0; i + 1 < steps; ++i) z = f(z);
      return z;
    };
    (void)ift_run(leaves, options, start, after_forward);
  };
  once(1, Leaves(p), [] {});  // one-time costs (autograd engine, first kernels), as the baseline
  const Leaves leaves(p);
  const int64_t baseline = proc_status_kib("VmRSS");
  const bool hwm_reset = reset_peak_rss();
  const Memory memory = count_bytes([&](auto after_forward) { once(k, leaves, after_forward); });
  const int64_t peak = proc_status_kib("VmHWM");
  std::printf(
      "{\"peak_rss_growth_kib\": %lld, \"hwm_reset\": %s, \"held_kib\": %.1f, \"peak_kib\": "
      "%.1f}\n",
      static_cast<long long>(peak - baseline), hwm_reset ? "true" : "false",
      memory.held_bytes / 1024, memory.peak_bytes / 1024);
  return 0;
}

// ---------------------------------------------------------------------------
// --ops N SOLVER ADJOINT: where one forward + backward of BM_Deq spends its
// time, as LibTorch operator calls. A RecordFunction callback counts every
// operator call and times the outermost ones (those the library itself
// issues; the nested ones are their implementation).

struct OpStats {
  int64_t calls = 0;
  double seconds = 0;
};
std::map<std::string, OpStats> g_ops;
int64_t g_all_calls = 0;
thread_local int g_depth = 0;

struct OpStart : at::ObserverContext {
  Clock::time_point start;
};

// The autograd engine's call of the fixed point's own backward wraps the
// whole adjoint solve: it is not counted as a level, so that the operators
// the backward issues show up (the VJPs as the engine's nodes of f).
bool transparent(const at::RecordFunction& fn) {
  return std::strstr(fn.name(), "CppNode<implicit::torch::") != nullptr;
}

std::unique_ptr<at::ObserverContext> op_enter(const at::RecordFunction& fn) {
  if (transparent(fn)) return nullptr;
  ++g_all_calls;
  auto ctx = std::make_unique<OpStart>();
  if (g_depth++ == 0) ctx->start = Clock::now();
  return ctx;
}

void op_exit(const at::RecordFunction& fn, at::ObserverContext* ctx) {
  if (transparent(fn) || --g_depth != 0) return;
  OpStats& s = g_ops[fn.name()];
  ++s.calls;
  s.seconds += seconds_since(static_cast<OpStart*>(ctx)->start);
}

void print_ops(const char* phase, double wall_s, int evaluations) {
  std::vector<std::pair<std::string, OpStats>> rows(g_ops.begin(), g_ops.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  int64_t top_calls = 0;
  double top_s = 0;
  for (const auto& r : rows) {
    top_calls += r.second.calls;
    top_s += r.second.seconds;
  }
  std::printf(
      "\n%s: %.3f ms wall (profiled), %d evaluations; %lld outermost operator calls (%.1f per "
      "evaluation), %lld calls in all, %.3f ms inside the outermost calls, %.3f ms outside\n",
      phase, 1e3 * wall_s, evaluations, static_cast<long long>(top_calls),
      evaluations ? static_cast<double>(top_calls) / evaluations : 0.0,
      static_cast<long long>(g_all_calls), 1e3 * top_s, 1e3 * (wall_s - top_s));
  std::printf("  %-36s %8s %10s %10s\n", "operator", "calls", "ms", "us/call");
  const std::string engine = "autograd::engine::evaluate_function: ";
  for (auto& r : rows)  // a VJP's node: "engine: TanhBackward0"
    if (r.first.rfind(engine, 0) == 0) r.first = "engine: " + r.first.substr(engine.size());
  for (const auto& r : rows)
    std::printf("  %-36s %8lld %10.3f %10.2f\n", r.first.c_str(),
                static_cast<long long>(r.second.calls), 1e3 * r.second.seconds,
                1e6 * r.second.seconds / r.second.calls);
  g_ops.clear();
  g_all_calls = 0;
}

int ops_child(int64_t n, const std::string& solver, const std::string& adjoint) {
  const tt::Solver s = tt::solver_from_string(solver);
  implicit::AdjointMethod method;
  if (adjoint == "fpi") {
    method = AdjointMethod::kFixedPointIteration;
  } else if (adjoint == "gmres") {
    method = AdjointMethod::kGmres;
  } else {
    std::fprintf(stderr, "--ops: adjoint must be fpi or gmres, got '%s'\n", adjoint.c_str());
    return 2;
  }
  const Problem& p = problem(n);
  const tt::Options options = deq_options(s, method);
  auto zeros = [](const Leaves& l) { return at::zeros_like(l.x); };
  // Warm-up, and the unprofiled times (medians of 21 runs).
  std::vector<double> forward_s, backward_s;
  Run plain;
  for (int i = 0; i < 21; ++i) {
    plain = ift_run(Leaves(p), options, zeros, [] {});
    forward_s.push_back(plain.forward_s);
    backward_s.push_back(plain.backward_s);
  }
  std::nth_element(forward_s.begin(), forward_s.begin() + 10, forward_s.end());
  std::nth_element(backward_s.begin(), backward_s.begin() + 10, backward_s.end());
  std::printf("unprofiled: forward %.3f ms, backward %.3f ms\n", 1e3 * forward_s[10],
              1e3 * backward_s[10]);
  const Leaves leaves(p);
  auto handle = at::addThreadLocalCallback(at::RecordFunctionCallback(&op_enter, &op_exit));
  // The first call of each operator after adding a callback is slow (up to
  // ~1.6 ms: dispatch tables are rebuilt): one discarded profiled run.
  (void)ift_run(Leaves(p), options, zeros, [] {});
  g_ops.clear();
  g_all_calls = 0;
  Clock::time_point t0;
  const Run r = ift_run(
      leaves, options,
      [&](const Leaves& l) {
        t0 = Clock::now();
        return at::zeros_like(l.x);
      },
      [&] {
        print_ops("forward", seconds_since(t0), plain.info->forward.evaluations);
        t0 = Clock::now();
      });
  print_ops("backward (with building the loss)", seconds_since(t0), r.info->backward.evaluations);
  at::removeCallback(handle);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  torch::set_num_threads(1);
  install_counting_allocator();
  if (argc >= 2 && std::strcmp(argv[1], "--memory") == 0) {
    if (argc != 5) {
      std::fprintf(stderr, "usage: %s --memory <unrolled|ift_forced> N K\n", argv[0]);
      return 2;
    }
    return memory_child(argv[2], std::stoll(argv[3]), std::stoll(argv[4]));
  }
  if (argc >= 2 && std::strcmp(argv[1], "--ops") == 0) {
    if (argc != 5) {
      std::fprintf(stderr, "usage: %s --ops N <forward|anderson> <fpi|gmres>\n", argv[0]);
      return 2;
    }
    return ops_child(std::stoll(argv[2]), argv[3], argv[4]);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
