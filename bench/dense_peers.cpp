// The dense path against the best C++ peer, in one binary (issue
// "Performance ..."): forward solve + IFT gradient of L = sum(z*) w.r.t.
// theta = [vec(W); x] for f = tanh(W z + x), the reference problem of
// docs/reference-systems.md section 1 (W ~ N(0, 1/n), seed 0), z0 = 0,
// float64, one thread. Every time is printed as a multiple of one f
// evaluation timed in this process just before ("f-equivalents"), and
// every row's ratio to the best peer of its size, so the figures hold on a
// busy machine.
//
//   implicit   TanhLayer (hand-written derivatives) with each solver, then
//              fixed_point_vjp(layer, theta, forward, zbar) with the default
//              adjoint (kAuto; after Newton and Broyden, GMRES preconditioned
//              by the forward's inverse estimate first).
//              Stopping: ||f(z) - z||_2 <= 1e-10.
//   KINSOL     SUNDIALS KINSOL (Debian's libsundials-dev), the C++ peer:
//                newton    KIN_NONE, dense linear solver, analytic Jacobian
//                          I - diag(1 - y^2) W every step (exact Newton),
//                fp m=0    KIN_FP without acceleration (Picard),
//                fp m=5    KIN_FP with Anderson, m = 5,
//              each stopping at ||z - f(z)||_inf <= 1e-10 (KINSOL's own
//              norm; no weaker than implicit's 2-norm rule), then an
//              adjoint written by hand the way a KINSOL user would:
//                + LU      (I - diag(s) W)^T a = 1 by Eigen's PartialPivLU
//                + fp      a = W^T (s .* a) + 1 by KIN_FP, m = 5 (matrix-free;
//                          KINSOL has no adjoint of its own)
//              and dL/dW = (s .* a) z^T, dL/dx = s .* a, s = 1 - z^2.
//
// Usage: dense_peers [--quick] [--sizes 10,100,1000] [--only TEXT]
// (--only: just the methods whose name contains TEXT, e.g. for a profile)
// Output: one table per size and a summary of the issue's targets.

#include <kinsol/kinsol.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "common.hpp"
#include "implicit.hpp"
#include "timing.hpp"

namespace {

using bench::median_seconds;

using Eigen::MatrixXd;
using Eigen::VectorXd;

constexpr double kTol = 1e-10;

// ----- implicit -------------------------------------------------------------

implicit::FixedPointOptions forward_options() {
  implicit::FixedPointOptions o;
  o.abs_tol = kTol;
  o.rel_tol = 0;
  o.max_iter = 1000;
  o.record_history = false;
  return o;
}

struct Outcome {
  double checksum = std::numeric_limits<double>::quiet_NaN();  // sum of the gradient
  int f_evals = 0;                                              // forward f evaluations
  bool ok = false;
  std::string adjoint;  // implicit: the adjoint method that answered, and its products
};

template <class Solver>
Outcome implicit_gradient(const implicit::TanhProblem& p, const Solver& solver,
                          const implicit::AdjointOptions& adjoint = {}) {
  const Eigen::Index n = p.x.size();
  auto forward = implicit::solve_fixed_point(implicit::bind_theta(p.layer, p.theta),
                                             VectorXd(VectorXd::Zero(n)), solver, forward_options());
  Outcome out;
  out.f_evals = forward.function_evaluations;
  if (!forward.ok()) return out;
  const auto g =
      implicit::fixed_point_vjp(p.layer, p.theta, forward, VectorXd(VectorXd::Ones(n)), adjoint);
  out.ok = g.ok();
  out.checksum = g.value.sum();
  out.adjoint = g.method + " " + std::to_string(g.iterations);
  return out;
}

// ----- KINSOL ---------------------------------------------------------------

struct Layer {
  const MatrixXd* w;
  const VectorXd* x;
  int n;
  int f_evals = 0;
};

Eigen::Map<VectorXd> view(N_Vector v, int n) { return {N_VGetArrayPointer(v), n}; }

// G(z) = tanh(W z + x) for KIN_FP.
int layer_map(N_Vector u, N_Vector gu, void* data) {
  auto& d = *static_cast<Layer*>(data);
  ++d.f_evals;
  view(gu, d.n) = ((*d.w) * view(u, d.n) + *d.x).array().tanh().matrix();
  return 0;
}

// F(z) = z - tanh(W z + x) for KINSOL's Newton.
int layer_residual(N_Vector u, N_Vector fu, void* data) {
  auto& d = *static_cast<Layer*>(data);
  ++d.f_evals;
  const auto z = view(u, d.n);
  view(fu, d.n) = z - ((*d.w) * z + *d.x).array().tanh().matrix();
  return 0;
}

// J = I - diag(1 - y^2) W, written into KINSOL's column-major dense matrix.
int layer_jacobian(N_Vector u, N_Vector /*fu*/, SUNMatrix j, void* data, N_Vector, N_Vector) {
  const auto& d = *static_cast<Layer*>(data);
  const auto z = view(u, d.n);
  const VectorXd y = ((*d.w) * z + *d.x).array().tanh().matrix();
  Eigen::Map<MatrixXd> jm(SUNDenseMatrix_Data(j), d.n, d.n);
  jm.noalias() = -((1.0 - y.array().square()).matrix().asDiagonal() * (*d.w));
  jm.diagonal().array() += 1.0;
  return 0;
}

// The adjoint map a -> W^T (s .* a) + 1 for KIN_FP.
struct AdjointMap {
  const MatrixXd* w;
  const VectorXd* s;
  int n;
};
int adjoint_map(N_Vector u, N_Vector gu, void* data) {
  const auto& d = *static_cast<const AdjointMap*>(data);
  view(gu, d.n) = d.w->transpose() * d.s->cwiseProduct(view(u, d.n));
  view(gu, d.n).array() += 1.0;
  return 0;
}

void quiet(int, const char*, const char*, char*, void*) {}

enum class KinsolSolver { kNewton, kPicard, kAnderson };
enum class KinsolAdjoint { kLu, kFixedPoint };

// One KINSOL solve's memory with the settings every solve here shares
// (quiet, user data, ||F||_inf <= kTol, 1000 iterations), u set to 0, and
// a unit scaling vector; freed on scope exit.
struct KinsolRun {
  void* memory;
  N_Vector scale;
  KinsolRun(SUNContext context, void* data, N_Vector u, int n)
      : memory(KINCreate(context)), scale(N_VNew_Serial(n, context)) {
    N_VConst(1.0, scale);
    N_VConst(0.0, u);
    KINSetErrHandlerFn(memory, quiet, nullptr);
    KINSetUserData(memory, data);
    KINSetFuncNormTol(memory, kTol);
    KINSetNumMaxIters(memory, 1000);
  }
  KinsolRun(const KinsolRun&) = delete;
  KinsolRun& operator=(const KinsolRun&) = delete;
  ~KinsolRun() {
    KINFree(&memory);
    N_VDestroy(scale);
  }
  // KIN_FP with Anderson depth m (0: plain iteration) on G; true on success.
  bool fixed_point(KINSysFn g, N_Vector u, int m) {
    KINSetMAA(memory, m);
    KINInit(memory, g, u);
    return report(KINSol(memory, u, KIN_FP, scale, scale));
  }
  static bool report(int flag) {
    if (flag < 0 && std::getenv("DENSE_PEERS_VERBOSE"))
      std::fprintf(stderr, "KINSOL: %s\n", KINGetReturnFlagName(flag));
    return flag >= 0;
  }
};

// KINSOL's forward solve from z0 = 0; false when it fails. A fresh KINSOL
// memory per call, as a user differentiating one solve would have.
bool kinsol_solve(SUNContext context, KinsolSolver solver, Layer& data, N_Vector u) {
  const int n = data.n;
  if (solver != KinsolSolver::kNewton) {
    KinsolRun run(context, &data, u, n);
    return run.fixed_point(layer_map, u, solver == KinsolSolver::kAnderson ? 5 : 0);
  }
  SUNMatrix jm = SUNDenseMatrix(n, n, context);
  SUNLinearSolver ls = SUNLinSol_Dense(u, jm, context);
  bool ok = false;
  {
    KinsolRun run(context, &data, u, n);  // freed before the solver it uses
    KINInit(run.memory, layer_residual, u);
    KINSetLinearSolver(run.memory, ls, jm);
    KINSetJacFn(run.memory, layer_jacobian);
    KINSetMaxSetupCalls(run.memory, 1);  // a Jacobian every step: exact Newton
    KINSetScaledStepTol(run.memory, 1e-14);
    // The default largest step, 1000 max(||u0||, 1), ends a solve from z0 = 0
    // at n >= 100 with KIN_MXNEWT_5X_EXCEEDED although Newton converges.
    KINSetMaxNewtonStep(run.memory, 1e10);
    ok = KinsolRun::report(KINSol(run.memory, u, KIN_NONE, run.scale, run.scale));
  }
  SUNLinSolFree(ls);
  SUNMatDestroy(jm);
  return ok;
}

Outcome kinsol_gradient(SUNContext context, const implicit::TanhProblem& p, KinsolSolver solver,
                        KinsolAdjoint adjoint) {
  const int n = static_cast<int>(p.x.size());
  Layer data{&p.w, &p.x, n};
  N_Vector u = N_VNew_Serial(n, context);
  Outcome out;
  const bool solved = kinsol_solve(context, solver, data, u);
  out.f_evals = data.f_evals;
  if (solved) {
    const VectorXd z = view(u, n);
    const VectorXd s = (1.0 - z.array().square()).matrix();
    VectorXd a(n);
    bool adjoint_ok = true;
    if (adjoint == KinsolAdjoint::kLu) {
      MatrixXd m = -(s.asDiagonal() * p.w).transpose();
      m.diagonal().array() += 1.0;
      a = m.partialPivLu().solve(VectorXd::Ones(n));
    } else {
      AdjointMap map{&p.w, &s, n};
      N_Vector ua = N_VNew_Serial(n, context);
      {
        KinsolRun run(context, &map, ua, n);
        adjoint_ok = run.fixed_point(adjoint_map, ua, 5);
      }
      a = view(ua, n);
      N_VDestroy(ua);
    }
    const VectorXd sa = s.cwiseProduct(a);
    const MatrixXd grad_w = sa * z.transpose();
    out.ok = adjoint_ok && grad_w.allFinite();
    out.checksum = grad_w.sum() + sa.sum();
  }
  N_VDestroy(u);
  return out;
}

// ----- driver -----------------------------------------------------------------

struct Row {
  std::string name;
  bool peer;
  bool diagnostic;  // a non-default adjoint: shown, not in the summary
  Outcome outcome;
  double seconds;
};

std::vector<int> parse_sizes(const char* text) {
  std::vector<int> sizes;
  for (const char* c = text; *c;) {
    char* end = nullptr;
    const long v = std::strtol(c, &end, 10);
    if (end == c || v < 1) {
      std::fprintf(stderr, "dense_peers: --sizes expects a list like 10,100,1000\n");
      std::exit(2);
    }
    sizes.push_back(static_cast<int>(v));
    c = *end == ',' ? end + 1 : end;
  }
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  std::vector<int> sizes{10, 100, 1000};
  std::string only;  // run only the methods whose name contains this (for profiling)
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--sizes") == 0 && i + 1 < argc) {
      sizes = parse_sizes(argv[++i]);
    } else if (std::strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: dense_peers [--quick] [--sizes 10,100,1000] [--only TEXT]\n");
      return 2;
    }
  }
  const double budget = quick ? 0.15 : 0.6;
  SUNContext context = nullptr;
  SUNContext_Create(nullptr, &context);
  std::printf("dense_peers: forward solve + IFT gradient of sum(z*), tanh(W z + x), float64,\n"
              "one thread; time in f-equivalents (one f timed in this process), medians\n");

  struct Summary {
    int n;
    double best_implicit, best_peer, newton, peer_newton;
  };
  std::vector<Summary> summary;
  for (int n : sizes) {
    const implicit::TanhProblem& p = bench::problem(n);
    volatile double sink = 0;
    const VectorXd z = VectorXd::Constant(n, 0.1);
    const double tf = median_seconds([&] { sink = sink + p.layer(p.theta, z)[0]; }, budget / 4, 50);

    implicit::NewtonOptions dense_newton;
    dense_newton.linear_solver = implicit::DenseLU{};
    std::vector<Row> rows;
    auto add = [&](std::string name, bool peer, const std::function<Outcome()>& run) {
      if (!only.empty() && name.find(only) == std::string::npos) return;
      const bool diagnostic = name.find(" + ") != std::string::npos && !peer;
      Row row{std::move(name), peer, diagnostic, run(), 0};
      row.seconds = median_seconds([&] { sink = sink + run().checksum; }, budget,
                                   n >= 1000 ? 3 : 5);
      rows.push_back(std::move(row));
    };
    add("implicit forward iteration", false,
        [&] { return implicit_gradient(p, implicit::ForwardIteration()); });
    // The backward alone varies here: the same forward solve with each
    // adjoint method forced (diagnostic rows, marked *; the summary counts
    // only the default kAuto).
    for (auto [method, aname] : {std::pair{implicit::AdjointMethod::kDenseLU, "LU"},
                                 std::pair{implicit::AdjointMethod::kGmres, "GMRES"},
                                 std::pair{implicit::AdjointMethod::kFixedPointIteration, "fp"}}) {
      implicit::AdjointOptions adjoint;
      adjoint.method = method;
      add(std::string("implicit forward iteration + ") + aname, false,
          [&, adjoint] { return implicit_gradient(p, implicit::ForwardIteration(), adjoint); });
    }
    add("implicit Anderson", false, [&] { return implicit_gradient(p, implicit::Anderson()); });
    add("implicit Newton (auto)", false, [&] { return implicit_gradient(p, implicit::Newton()); });
    if (n > implicit::NewtonOptions{}.dense_max_size)
      add("implicit Newton (dense LU)", false,
          [&] { return implicit_gradient(p, implicit::Newton(dense_newton)); });
    add("implicit Broyden", false, [&] { return implicit_gradient(p, implicit::Broyden()); });
    for (auto [solver, sname] : {std::pair{KinsolSolver::kNewton, "newton"},
                                 std::pair{KinsolSolver::kPicard, "fp m=0"},
                                 std::pair{KinsolSolver::kAnderson, "fp m=5"}})
      for (auto [adjoint, aname] :
           {std::pair{KinsolAdjoint::kLu, "LU"}, std::pair{KinsolAdjoint::kFixedPoint, "fp"}})
        add(std::string("KINSOL ") + sname + " + " + aname, true,
            [&, s = solver, a = adjoint] { return kinsol_gradient(context, p, s, a); });

    double best_peer = INFINITY, best_implicit = INFINITY, newton = NAN, peer_newton = INFINITY;
    double reference = NAN;  // the checksum every gradient must agree with
    for (const Row& r : rows) {
      if (!r.outcome.ok || r.diagnostic) continue;
      double& best = r.peer ? best_peer : best_implicit;
      best = std::min(best, r.seconds / tf);
      if (std::isnan(reference)) reference = r.outcome.checksum;
      if (r.name == "implicit Newton (auto)") newton = r.seconds / tf;
      if (r.name.rfind("KINSOL newton", 0) == 0) peer_newton = std::min(peer_newton, r.seconds / tf);
    }
    std::printf("\nn = %d   one f = %.3f us\n", n, tf * 1e6);
    std::printf("  %-34s %8s %12s %12s %14s  %s\n", "method", "f evals", "f-equiv", "/ best peer",
                "gradient sum", "adjoint (products)");
    for (const Row& r : rows) {
      const double rel = std::abs(r.outcome.checksum - reference) / std::max(1.0, std::abs(reference));
      std::printf("  %-34s %8d %12.1f %12.2f %14.8f%s", (r.name + (r.diagnostic ? " *" : "")).c_str(), r.outcome.f_evals,
                  r.seconds / tf, r.seconds / tf / best_peer, r.outcome.checksum,
                  !r.outcome.ok ? "  FAILED" : (rel > 1e-6 ? "  DISAGREES" : ""));
      if (!r.outcome.adjoint.empty()) std::printf("  %s\n", r.outcome.adjoint.c_str());
      else std::printf("\n");
    }
    summary.push_back({n, best_implicit, best_peer, newton, peer_newton});
  }
  std::printf("\nsummary (f-equivalents; target: best implicit <= best peer, Newton <= 1.5x "
              "KINSOL's Newton at n = 10)\n");
  std::printf("  %6s %14s %12s %8s %14s %14s %8s\n", "n", "best implicit", "best peer", "ratio",
              "implicit Newton", "KINSOL Newton", "ratio");
  for (const Summary& s : summary)
    std::printf("  %6d %14.1f %12.1f %8.2f %14.1f %14.1f %8.2f\n", s.n, s.best_implicit,
                s.best_peer, s.best_implicit / s.best_peer, s.newton, s.peer_newton,
                s.newton / s.peer_newton);
  SUNContext_Free(&context);
  return 0;
}
