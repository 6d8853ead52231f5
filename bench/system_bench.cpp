// Square nonlinear systems g(x) = 0: implicit's solve_root (the default
// polyalgorithm and each method alone) beside MINPACK (cminpack: hybrj,
// lmder, hybrd) and SUNDIALS KINSOL 6.4 (Newton with and without a line
// search), on the same problems, from the same starts, judged by the same
// rule.
//
// Problems (problems/nonlinear_systems.hpp): the 19 MINPACK-1 instances from
// scaled_start factors 1, 10 and 100 (57 "MGH" runs) and the 23 test_nonlin
// problems from their standard starts.
//
// Solved: ||g(x)||_2 <= 1e-8, recomputed here at the x each solver returns,
// whatever the solver reported. Each solver's own claim of success is kept
// apart ("claimed"), and "false" counts the claims the recomputed residual
// refutes; for implicit such a claim (ok() with ||g(x)|| > abs_tol) is a bug
// and makes this program exit with status 1.
//
// Settings, one budget of 1000 g evaluations for everyone:
//   implicit  SystemOptions abs_tol = 1e-10, max_function_evaluations = 1000,
//             max_iter = 1000 (so that, as for the peers, the evaluation
//             budget binds; the polyalgorithm still caps each attempt at its
//             attempt_max_iter = 200), other fields at their defaults;
//             Jacobians by forward-mode AD.
//   MINPACK   hybrj, lmder: the same AD Jacobian (implicit::jacobian);
//             xtol = 1e-10 (lmder also ftol = 1e-10, gtol = 0), maxfev = 1000,
//             mode 1, factor 100. hybrd: forward differences (epsfcn = 0,
//             ml = mu = n - 1), its maxfev counting the difference
//             evaluations too, as implicit's finite-difference path does.
//             MINPACK never tests ||F||, so hybrj_s / lmder_s add that test
//             in the callback (stop at ||F||_2 <= 1e-10, keep that point):
//             the stopping rule implicit and KINSOL use.
//   KINSOL    dense linear solver (SUNLinSol_Dense) with the AD Jacobian,
//             fresh every iteration (KINSetMaxSetupCalls 1: exact Newton, not
//             KINSOL's default modified Newton), fnormtol = 1e-10 (on
//             ||F||_inf), scsteptol = 1e-14, mxiter = 1000, unit scaling; its
//             system function refuses (returns -1) after 1000 evaluations,
//             since KINSOL itself bounds only iterations.
// "claimed": implicit ok(); hybrj/hybrd info 1; lmder info 1-3; KINSOL
// KIN_SUCCESS or KIN_INITIAL_GUESS_OK (KIN_STEP_LT_STPTOL, a stop on a small
// step, is not counted as a claim).
//
// F and J are counted by the callbacks here (F: calls of g in double;
// J: Jacobians formed; for hybrd the finite-difference Jacobians, whose n
// evaluations each are inside F). Time per solve: the median over repeats
// (at least 5 and 5 ms of solving) of the whole solve, allocation and setup
// included, on the calling thread. "vs hybrj" columns: over the runs both
// that method and hybrj solve, mean F of each and the ratio of mean times.
//
// Usage: system_bench prints the tables; --statuses adds every solver's
// status on each run it did not both solve and claim. With any --benchmark...
// argument it then also runs the Google Benchmark entries BM_<Method>/<runs>
// (all runs of one set, 57 or 23, per iteration) and
// BM_BareLoop/<Method>/<runs> (as many plain g evaluations as that method
// used on those runs); the exit status stays that of the table's check.

#include <benchmark/benchmark.h>
#include <cminpack.h>
#include <kinsol/kinsol.h>
#include <nvector/nvector_serial.h>
#include <sundials/sundials_context.h>
#include <sunlinsol/sunlinsol_dense.h>
#include <sunmatrix/sunmatrix_dense.h>

#include <Eigen/Core>
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/problems/nonlinear_systems.hpp"
#include "implicit/system/polyalgorithm.hpp"

namespace {

using Eigen::MatrixXd;
using Eigen::VectorXd;
using implicit::NonlinearSystem;

constexpr double kSolvedTol = 1e-8;    // the one criterion: ||g(x)||_2 at the returned x
constexpr double kAbsTol = 1e-10;      // implicit abs_tol, KINSOL fnormtol
constexpr double kXTol = 1e-10;        // MINPACK xtol (and lmder ftol)
constexpr double kStepTol = 1e-14;     // KINSOL scsteptol
constexpr int kMaxEvaluations = 1000;  // every solver's g budget

// One solve from one start, as the benchmark sees it.
struct Run {
  std::string set;  // "mgh" or "test_nonlin"
  std::string name;
  NonlinearSystem g;
  VectorXd x0;
};

std::vector<Run> make_runs() {
  std::vector<Run> runs;
  for (const auto& inst : implicit::more_garbow_hillstrom_instances())
    for (double factor : {1.0, 10.0, 100.0})
      runs.push_back({"mgh", inst.name + " x" + std::to_string(static_cast<int>(factor)), inst.g,
                      implicit::scaled_start(inst, factor)});
  for (const auto& inst : implicit::test_nonlin_instances())
    runs.push_back({"test_nonlin", inst.name, inst.g, inst.x0});
  return runs;
}

// What one solver returned, with the evaluations counted by our callbacks.
struct Attempt {
  VectorXd x;
  bool claimed = false;       // the solver's own verdict: success
  long f = 0;                 // g evaluations (double)
  long j = 0;                 // Jacobians formed
  long reported_f = -1;       // the solver's own count of g evaluations
  double reported_norm = -1;  // implicit only: result.residual_norm
  std::string status;         // the solver's status, in its own words
};

using SolveFn = std::function<Attempt(const NonlinearSystem&, const VectorXd&)>;

struct Method {
  std::string name;     // in the summary table
  std::string column;   // in the per-run table
  std::string bm_name;  // BM_<bm_name>
  bool is_implicit;
  SolveFn solve;
};

double residual_norm(const NonlinearSystem& g, const VectorXd& x) {
  if (!x.allFinite()) return std::numeric_limits<double>::infinity();
  const VectorXd y = g(x);
  const double norm = y.norm();
  return std::isfinite(norm) ? norm : std::numeric_limits<double>::infinity();
}

// ----- implicit -----------------------------------------------------------

// g with a count of its double evaluations (the dual-number passes of the
// AD Jacobian are Jacobian evaluations, counted by the solver).
struct CountingSystem {
  const NonlinearSystem* g;
  long* evaluations;
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& x) const {
    if constexpr (std::is_same_v<T, double>) ++*evaluations;
    return (*g)(x);
  }
};

implicit::SystemOptions implicit_options() {
  implicit::SystemOptions options;
  options.abs_tol = kAbsTol;
  options.max_function_evaluations = kMaxEvaluations;
  options.max_iter = kMaxEvaluations;
  return options;
}

template <class Solve>
Attempt implicit_attempt(const NonlinearSystem& g, const VectorXd& x0, const Solve& solve) {
  Attempt a;
  const CountingSystem counted{&g, &a.f};
  auto r = solve(counted, x0);
  a.x = std::move(r.x);
  a.claimed = r.ok();
  a.j = r.jacobian_evaluations;
  a.reported_f = r.function_evaluations;
  a.reported_norm = r.residual_norm;
  a.status = r.method + ": " + implicit::to_string(r.status);
  return a;
}

template <class M>
SolveFn implicit_method(M method) {
  return [method](const NonlinearSystem& g, const VectorXd& x0) {
    return implicit_attempt(g, x0, [&](const CountingSystem& c, const VectorXd& x) {
      return implicit::solve_root(c, x, method, implicit_options());
    });
  };
}

SolveFn implicit_default() {
  return [](const NonlinearSystem& g, const VectorXd& x0) {
    return implicit_attempt(g, x0, [](const CountingSystem& c, const VectorXd& x) {
      return implicit::solve_root(c, x, implicit_options());
    });
  };
}

// ----- MINPACK (cminpack) -------------------------------------------------

struct MinpackData {
  const NonlinearSystem* g = nullptr;
  // MINPACK has no test on ||F||: hybrj stops on the step (xtol), lmder on
  // the step or the relative decrease. With stop_at_tolerance the callback
  // ends the solve (returns -1, as MINPACK allows) at the first F with
  // ||F||_2 <= abs_tol and keeps that point, since MINPACK then returns its
  // previous accepted iterate: the residual rule implicit and KINSOL use.
  bool stop_at_tolerance = false;
  bool stopped = false;
  VectorXd stop_x;
  long f = 0;
  long j = 0;
  long difference_evaluations = 0;  // hybrd: calls with iflag = 2 (fdjac1)
};

void evaluate_into(const NonlinearSystem& g, int n, const double* x, double* out) {
  const VectorXd y = g(VectorXd(Eigen::Map<const VectorXd>(x, n)));
  Eigen::Map<VectorXd>(out, n) = y;
}

void jacobian_into(const NonlinearSystem& g, int n, const double* x, double* fjac, int ldfjac) {
  const MatrixXd J = implicit::jacobian(g, VectorXd(Eigen::Map<const VectorXd>(x, n)));
  Eigen::Map<MatrixXd, 0, Eigen::OuterStride<>>(fjac, n, n, Eigen::OuterStride<>(ldfjac)) = J;
}

// iflag 1: F into fvec; 2: the Jacobian into fjac (column-major); 0: print.
int hybrj_callback(void* p, int n, const double* x, double* fvec, double* fjac, int ldfjac,
                   int iflag) {
  auto& d = *static_cast<MinpackData*>(p);
  if (iflag == 1) {
    ++d.f;
    evaluate_into(*d.g, n, x, fvec);
    if (d.stop_at_tolerance && Eigen::Map<const VectorXd>(fvec, n).norm() <= kAbsTol) {
      d.stopped = true;
      d.stop_x = Eigen::Map<const VectorXd>(x, n);
      return -1;
    }
  } else if (iflag == 2) {
    ++d.j;
    jacobian_into(*d.g, n, x, fjac, ldfjac);
  }
  return 0;
}

int lmder_callback(void* p, int m, int n, const double* x, double* fvec, double* fjac, int ldfjac,
                   int iflag) {
  (void)m;  // m == n: the square system as a least-squares problem
  return hybrj_callback(p, n, x, fvec, fjac, ldfjac, iflag);
}

int hybrd_callback(void* p, int n, const double* x, double* fvec, int iflag) {
  auto& d = *static_cast<MinpackData*>(p);
  if (iflag == 0) return 0;
  ++d.f;
  if (iflag == 2) ++d.difference_evaluations;
  evaluate_into(*d.g, n, x, fvec);
  return 0;
}

constexpr int kMode = 1;         // MINPACK scales by the Jacobian's column norms
constexpr double kFactor = 100;  // initial step bound factor

// After a MINPACK call: its claim, counts and info code, and the point the
// callback kept when it stopped the solve.
void record_outcome(const MinpackData& d, int info, int nfev, bool claimed, Attempt& a) {
  a.claimed = claimed;
  a.f = d.f;
  a.j = d.j;
  a.reported_f = nfev;
  a.status = "info " + std::to_string(info);
  if (!d.stopped) return;
  a.x = d.stop_x;
  a.claimed = true;
  a.status += " (callback stop: ||F||_2 <= abs_tol)";
}

Attempt hybrj_attempt(const NonlinearSystem& g, const VectorXd& x0, bool stop_at_tolerance) {
  const int n = static_cast<int>(x0.size());
  const int lr = n * (n + 1) / 2;
  std::vector<double> fvec(n), fjac(n * n), diag(n), r(lr), qtf(n), wa1(n), wa2(n), wa3(n), wa4(n);
  Attempt a;
  a.x = x0;
  MinpackData d;
  d.g = &g;
  d.stop_at_tolerance = stop_at_tolerance;
  int nfev = 0, njev = 0;
  const int info = hybrj(hybrj_callback, &d, n, a.x.data(), fvec.data(), fjac.data(), n, kXTol,
                         kMaxEvaluations, diag.data(), kMode, kFactor, 0, &nfev, &njev, r.data(),
                         lr, qtf.data(), wa1.data(), wa2.data(), wa3.data(), wa4.data());
  record_outcome(d, info, nfev, info == 1, a);
  return a;
}

Attempt lmder_attempt(const NonlinearSystem& g, const VectorXd& x0, bool stop_at_tolerance) {
  const int n = static_cast<int>(x0.size());
  std::vector<double> fvec(n), fjac(n * n), diag(n), qtf(n), wa1(n), wa2(n), wa3(n), wa4(n);
  std::vector<int> ipvt(n);
  Attempt a;
  a.x = x0;
  MinpackData d;
  d.g = &g;
  d.stop_at_tolerance = stop_at_tolerance;
  int nfev = 0, njev = 0;
  const int info = lmder(lmder_callback, &d, n, n, a.x.data(), fvec.data(), fjac.data(), n, kXTol,
                         kXTol, 0.0, kMaxEvaluations, diag.data(), kMode, kFactor, 0, &nfev, &njev,
                         ipvt.data(), qtf.data(), wa1.data(), wa2.data(), wa3.data(), wa4.data());
  // 1-3: ftol / xtol satisfied; 4: gradient orthogonal to F (a stationary
  // point of ||F||^2, no root); 5: maxfev; 6-8: tolerances too small.
  record_outcome(d, info, nfev, info >= 1 && info <= 3, a);
  return a;
}

Attempt hybrd_attempt(const NonlinearSystem& g, const VectorXd& x0) {
  const int n = static_cast<int>(x0.size());
  const int lr = n * (n + 1) / 2;
  std::vector<double> fvec(n), fjac(n * n), diag(n), r(lr), qtf(n), wa1(n), wa2(n), wa3(n), wa4(n);
  Attempt a;
  a.x = x0;
  MinpackData d;
  d.g = &g;
  int nfev = 0;
  const int info = hybrd(hybrd_callback, &d, n, a.x.data(), fvec.data(), kXTol, kMaxEvaluations,
                         n - 1, n - 1, 0.0, diag.data(), kMode, kFactor, 0, &nfev, fjac.data(), n,
                         r.data(), lr, qtf.data(), wa1.data(), wa2.data(), wa3.data(), wa4.data());
  a.claimed = info == 1;
  a.f = d.f;
  a.j = n > 0 ? d.difference_evaluations / n : 0;
  a.reported_f = nfev;
  a.status = "info " + std::to_string(info);
  return a;
}

// ----- KINSOL -------------------------------------------------------------

// One SUNDIALS context for the whole program (as an application would keep
// one); the solver memory, vectors, matrix and linear solver are made per
// solve, like MINPACK's work arrays.
class SundialsContext {
 public:
  SundialsContext() {
    if (SUNContext_Create(nullptr, &context_) != 0) context_ = nullptr;
  }
  ~SundialsContext() {
    if (context_) SUNContext_Free(&context_);
  }
  SundialsContext(const SundialsContext&) = delete;
  SundialsContext& operator=(const SundialsContext&) = delete;
  SUNContext get() const { return context_; }

 private:
  SUNContext context_ = nullptr;
};

SUNContext sundials_context() {
  static SundialsContext context;
  return context.get();
}

struct KinsolData {
  const NonlinearSystem* g;
  int n;
  long f = 0;
  long j = 0;
};

int kinsol_system(N_Vector u, N_Vector fu, void* p) {
  auto& d = *static_cast<KinsolData*>(p);
  if (d.f >= kMaxEvaluations) return -1;  // the common budget; KINSOL bounds only iterations
  ++d.f;
  evaluate_into(*d.g, d.n, N_VGetArrayPointer(u), N_VGetArrayPointer(fu));
  // A positive return is a recoverable failure: KINSOL shortens the step.
  return Eigen::Map<const VectorXd>(N_VGetArrayPointer(fu), d.n).allFinite() ? 0 : 1;
}

int kinsol_jacobian(N_Vector u, N_Vector /*fu*/, SUNMatrix J, void* p, N_Vector /*tmp1*/,
                    N_Vector /*tmp2*/) {
  auto& d = *static_cast<KinsolData*>(p);
  ++d.j;
  const MatrixXd Jx =
      implicit::jacobian(*d.g, VectorXd(Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), d.n)));
  for (int c = 0; c < d.n; ++c) Eigen::Map<VectorXd>(SUNDenseMatrix_Column(J, c), d.n) = Jx.col(c);
  return 0;
}

void kinsol_quiet(int, const char*, const char*, char*, void*) {}

// KINGetReturnFlagName does not name every KINSol return (it answers "NONE"
// for KIN_SYSFUNC_FAIL), so the ones KINSol can give are spelled out here.
std::string kinsol_flag_name(int flag) {
  switch (flag) {
    case KIN_SUCCESS:
      return "KIN_SUCCESS";
    case KIN_INITIAL_GUESS_OK:
      return "KIN_INITIAL_GUESS_OK";
    case KIN_STEP_LT_STPTOL:
      return "KIN_STEP_LT_STPTOL";
    case KIN_LINESEARCH_NONCONV:
      return "KIN_LINESEARCH_NONCONV";
    case KIN_MAXITER_REACHED:
      return "KIN_MAXITER_REACHED";
    case KIN_MXNEWT_5X_EXCEEDED:
      return "KIN_MXNEWT_5X_EXCEEDED";
    case KIN_LINESEARCH_BCFAIL:
      return "KIN_LINESEARCH_BCFAIL";
    case KIN_LINSOLV_NO_RECOVERY:
      return "KIN_LINSOLV_NO_RECOVERY";
    case KIN_LSETUP_FAIL:
      return "KIN_LSETUP_FAIL";
    case KIN_LSOLVE_FAIL:
      return "KIN_LSOLVE_FAIL";
    case KIN_SYSFUNC_FAIL:
      return "KIN_SYSFUNC_FAIL";
    case KIN_FIRST_SYSFUNC_ERR:
      return "KIN_FIRST_SYSFUNC_ERR";
    case KIN_REPTD_SYSFUNC_ERR:
      return "KIN_REPTD_SYSFUNC_ERR";
  }
  return "KINSol flag " + std::to_string(flag);
}

Attempt kinsol_attempt(const NonlinearSystem& g, const VectorXd& x0, int strategy) {
  const int n = static_cast<int>(x0.size());
  SUNContext context = sundials_context();
  Attempt a;
  KinsolData d{&g, n};
  N_Vector u = N_VNew_Serial(n, context);
  N_Vector scale = N_VNew_Serial(n, context);
  Eigen::Map<VectorXd>(N_VGetArrayPointer(u), n) = x0;
  N_VConst(1.0, scale);
  void* memory = KINCreate(context);
  SUNMatrix J = SUNDenseMatrix(n, n, context);
  SUNLinearSolver linear_solver = SUNLinSol_Dense(u, J, context);
  int flag = KINSetErrHandlerFn(memory, kinsol_quiet, nullptr);
  if (flag == KIN_SUCCESS) flag = KINInit(memory, kinsol_system, u);
  if (flag == KIN_SUCCESS) flag = KINSetUserData(memory, &d);
  if (flag == KIN_SUCCESS) flag = KINSetFuncNormTol(memory, kAbsTol);
  if (flag == KIN_SUCCESS) flag = KINSetScaledStepTol(memory, kStepTol);
  if (flag == KIN_SUCCESS) flag = KINSetNumMaxIters(memory, kMaxEvaluations);
  if (flag == KIN_SUCCESS) flag = KINSetMaxSetupCalls(memory, 1);
  if (flag == KIN_SUCCESS) flag = KINSetLinearSolver(memory, linear_solver, J);
  if (flag == KIN_SUCCESS) flag = KINSetJacFn(memory, kinsol_jacobian);
  if (flag == KIN_SUCCESS) {
    flag = KINSol(memory, u, strategy, scale, scale);
  } else {
    std::fprintf(stderr, "system_bench: KINSOL setup failed with flag %d\n", flag);
  }
  a.x = Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), n);
  long nfe = -1;
  if (KINGetNumFuncEvals(memory, &nfe) == KIN_SUCCESS) a.reported_f = nfe;
  a.claimed = flag == KIN_SUCCESS || flag == KIN_INITIAL_GUESS_OK;
  a.f = d.f;
  a.j = d.j;
  a.status = kinsol_flag_name(flag);
  // KINSOL counts the call our budget refused; ours does not.
  if (flag == KIN_SYSFUNC_FAIL && d.f >= kMaxEvaluations) {
    a.status += " (budget of g evaluations spent)";
    --a.reported_f;
  }
  KINFree(&memory);
  SUNLinSolFree(linear_solver);
  SUNMatDestroy(J);
  N_VDestroy(u);
  N_VDestroy(scale);
  return a;
}

std::vector<Method> make_methods() {
  std::vector<Method> m;
  m.push_back(
      {"implicit default (polyalgorithm)", "default", "ImplicitDefault", true, implicit_default()});
  m.push_back({"implicit dogleg", "dogleg", "ImplicitDogleg", true,
               implicit_method(implicit::PowellDogleg())});
  m.push_back({"implicit newton (line search)", "newton", "ImplicitNewton", true,
               implicit_method(implicit::LineSearchNewton())});
  m.push_back({"implicit levenberg_marquardt", "lm", "ImplicitLevenbergMarquardt", true,
               implicit_method(implicit::LevenbergMarquardt())});
  m.push_back({"implicit broyden", "broyden", "ImplicitBroyden", true,
               implicit_method(implicit::LineSearchBroyden())});
  m.push_back(
      {"MINPACK hybrj (AD Jacobian)", "hybrj", "MinpackHybrj", false,
       [](const NonlinearSystem& g, const VectorXd& x0) { return hybrj_attempt(g, x0, false); }});
  m.push_back(
      {"MINPACK lmder (AD Jacobian)", "lmder", "MinpackLmder", false,
       [](const NonlinearSystem& g, const VectorXd& x0) { return lmder_attempt(g, x0, false); }});
  m.push_back(
      {"MINPACK hybrj + stop at abs_tol", "hybrj_s", "MinpackHybrjStop", false,
       [](const NonlinearSystem& g, const VectorXd& x0) { return hybrj_attempt(g, x0, true); }});
  m.push_back(
      {"MINPACK lmder + stop at abs_tol", "lmder_s", "MinpackLmderStop", false,
       [](const NonlinearSystem& g, const VectorXd& x0) { return lmder_attempt(g, x0, true); }});
  m.push_back({"MINPACK hybrd (differences)", "hybrd", "MinpackHybrd", false, hybrd_attempt});
  m.push_back({"KINSOL LINESEARCH (AD Jacobian)", "kin_ls", "KinsolLineSearch", false,
               [](const NonlinearSystem& g, const VectorXd& x0) {
                 return kinsol_attempt(g, x0, KIN_LINESEARCH);
               }});
  m.push_back({"KINSOL NONE (AD Jacobian)", "kin_none", "KinsolNone", false,
               [](const NonlinearSystem& g, const VectorXd& x0) {
                 return kinsol_attempt(g, x0, KIN_NONE);
               }});
  return m;
}

// ----- measuring ----------------------------------------------------------

struct Outcome {
  Attempt attempt;
  double norm = 0;  // ||g(x)||_2 recomputed at the returned x
  bool solved = false;
  double seconds = 0;  // median over the repeats
};

Outcome measure(const Method& method, const Run& run) {
  using Clock = std::chrono::steady_clock;
  Outcome out;
  std::vector<double> times;
  // Solves are deterministic: the first gives the counts, all give times.
  // At least 5 repeats and 5 ms of solving (at most 200 repeats), 3 for a
  // solve slower than 20 ms.
  double total = 0;
  for (int k = 0; k < 200; ++k) {
    const auto start = Clock::now();
    Attempt a = method.solve(run.g, run.x0);
    times.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    total += times.back();
    if (k == 0) out.attempt = std::move(a);
    if (k >= 4 && total >= 5e-3) break;
    if (k >= 2 && times.back() > 2e-2) break;
  }
  std::sort(times.begin(), times.end());
  out.seconds = times[times.size() / 2];
  out.norm = residual_norm(run.g, out.attempt.x);
  out.solved = out.norm <= kSolvedTol;
  return out;
}

double mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

std::string fixed(double v, int digits) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

// Mean F, J and time of methods a and b over the runs (of `indices`) both solve.
struct Common {
  int runs = 0;
  double f_a = 0, f_b = 0, j_a = 0, j_b = 0, t_a = 0, t_b = 0, log_ratio = 0;
};

Common common(const std::vector<Outcome>& a, const std::vector<Outcome>& b,
              const std::vector<int>& indices) {
  Common c;
  for (int i : indices) {
    if (!a[i].solved || !b[i].solved) continue;
    ++c.runs;
    c.f_a += static_cast<double>(a[i].attempt.f);
    c.f_b += static_cast<double>(b[i].attempt.f);
    c.j_a += static_cast<double>(a[i].attempt.j);
    c.j_b += static_cast<double>(b[i].attempt.j);
    c.t_a += a[i].seconds;
    c.t_b += b[i].seconds;
    c.log_ratio += std::log(a[i].seconds / b[i].seconds);
  }
  if (c.runs > 0) {
    const double n = c.runs;
    c.f_a /= n, c.f_b /= n, c.j_a /= n, c.j_b /= n, c.t_a /= n, c.t_b /= n;
    c.log_ratio /= n;
  }
  return c;
}

void print_summary(const std::string& title, const std::vector<Method>& methods,
                   const std::vector<std::vector<Outcome>>& out, const std::vector<int>& indices,
                   int hybrj_index, const std::vector<int>& peers) {
  std::printf("\n%s\n", title.c_str());
  std::printf("%-34s %7s %7s %5s %7s %6s %9s | %6s %7s %7s %7s\n", "method", "solved", "claimed",
              "false", "mean F", "mean J", "us/solve", "common", "F", "F hybrj", "t/hybrj");
  const int total = static_cast<int>(indices.size());
  for (std::size_t m = 0; m < methods.size(); ++m) {
    int solved = 0, claimed = 0, refuted = 0;
    std::vector<double> f, j, t;
    for (int i : indices) {
      const Outcome& o = out[m][i];
      claimed += o.attempt.claimed;
      refuted += o.attempt.claimed && !o.solved;
      if (!o.solved) continue;
      ++solved;
      f.push_back(static_cast<double>(o.attempt.f));
      j.push_back(static_cast<double>(o.attempt.j));
      t.push_back(1e6 * o.seconds);
    }
    const Common c = common(out[m], out[hybrj_index], indices);
    const std::string solved_str = std::to_string(solved) + "/" + std::to_string(total);
    std::printf("%-34s %7s %7d %5d %7s %6s %9s | %6d %7s %7s %7s\n", methods[m].name.c_str(),
                solved_str.c_str(), claimed, refuted, fixed(mean(f), 1).c_str(),
                fixed(mean(j), 1).c_str(), fixed(mean(t), 1).c_str(), c.runs,
                fixed(c.runs ? c.f_a : NAN, 1).c_str(), fixed(c.runs ? c.f_b : NAN, 1).c_str(),
                fixed(c.runs ? c.t_a / c.t_b : NAN, 2).c_str());
  }
  for (int peer : peers) {
    const Common c = common(out[0], out[peer], indices);
    std::printf(
        "implicit default vs %s on the %d runs both solve: mean F %.1f vs %.1f, mean J %.1f vs "
        "%.1f, mean time %.1f vs %.1f us (ratio %.2f; geometric mean of per-run ratios %.2f)\n",
        methods[peer].column.c_str(), c.runs, c.f_a, c.f_b, c.j_a, c.j_b, 1e6 * c.t_a, 1e6 * c.t_b,
        c.runs ? c.t_a / c.t_b : NAN, c.runs ? std::exp(c.log_ratio) : NAN);
  }
}

void print_runs(const std::vector<Method>& methods, const std::vector<Run>& runs,
                const std::vector<std::vector<Outcome>>& out) {
  std::printf(
      "\nPer run: g evaluations when solved (||g(x)||_2 <= %.0e), '-' when not, '!' when the "
      "solver claimed success and was not\n",
      kSolvedTol);
  std::printf("%-34s", "run");
  for (const Method& m : methods) std::printf(" %8s", m.column.c_str());
  std::printf("\n");
  for (std::size_t i = 0; i < runs.size(); ++i) {
    std::printf("%-34s", (runs[i].set == "mgh" ? runs[i].name : "tn " + runs[i].name).c_str());
    for (std::size_t m = 0; m < methods.size(); ++m) {
      const Outcome& o = out[m][i];
      const std::string cell = o.solved            ? std::to_string(o.attempt.f)
                               : o.attempt.claimed ? "!"
                                                   : "-";
      std::printf(" %8s", cell.c_str());
    }
    std::printf("\n");
  }
}

void register_benchmarks(const std::vector<Method>& methods, const std::vector<Run>& runs,
                         const std::vector<std::vector<Outcome>>& out) {
  for (const char* set : {"mgh", "test_nonlin"}) {
    std::vector<int> indices;
    for (std::size_t i = 0; i < runs.size(); ++i)
      if (runs[i].set == set) indices.push_back(static_cast<int>(i));
    for (std::size_t m = 0; m < methods.size(); ++m) {
      double f = 0, j = 0, solved = 0;
      std::vector<long> evaluations;
      for (int i : indices) {
        f += static_cast<double>(out[m][i].attempt.f);
        j += static_cast<double>(out[m][i].attempt.j);
        solved += out[m][i].solved;
        evaluations.push_back(out[m][i].attempt.f);
      }
      const Method* method = &methods[m];
      const std::vector<Run>* all = &runs;
      const std::string name = "BM_" + method->bm_name;
      benchmark::RegisterBenchmark(name.c_str(),
                                   [=](benchmark::State& state) {
                                     for (auto _ : state)
                                       for (int i : indices) {
                                         Attempt a = method->solve((*all)[i].g, (*all)[i].x0);
                                         benchmark::DoNotOptimize(a.x.data());
                                       }
                                     state.counters["f_evals"] = f;
                                     state.counters["jacobians"] = j;
                                     state.counters["solved"] = solved;
                                   })
          ->Arg(static_cast<int>(indices.size()))
          ->Unit(benchmark::kMicrosecond);
      const std::string bare = "BM_BareLoop/" + method->bm_name;
      benchmark::RegisterBenchmark(bare.c_str(),
                                   [=](benchmark::State& state) {
                                     for (auto _ : state)
                                       for (std::size_t k = 0; k < indices.size(); ++k) {
                                         const Run& run = (*all)[indices[k]];
                                         for (long e = 0; e < evaluations[k]; ++e) {
                                           VectorXd y = run.g(run.x0);
                                           benchmark::DoNotOptimize(y.data());
                                         }
                                       }
                                     state.counters["f_evals"] = f;
                                   })
          ->Arg(static_cast<int>(indices.size()))
          ->Unit(benchmark::kMicrosecond);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (!sundials_context()) {
    std::fprintf(stderr, "system_bench: SUNContext_Create failed\n");
    return 2;
  }
  const std::vector<Run> runs = make_runs();
  const std::vector<Method> methods = make_methods();
  std::vector<std::vector<Outcome>> out(methods.size());
  for (std::size_t m = 0; m < methods.size(); ++m)
    for (const Run& run : runs) out[m].push_back(measure(methods[m], run));

  auto index_of = [&](const std::string& column) {
    for (std::size_t m = 0; m < methods.size(); ++m)
      if (methods[m].column == column) return static_cast<int>(m);
    throw std::logic_error("system_bench: no method " + column);
  };
  const int hybrj_index = index_of("hybrj");
  // implicit's default head to head with these.
  const std::vector<int> peers = {hybrj_index, index_of("lmder"), index_of("hybrj_s"),
                                  index_of("lmder_s")};
  std::vector<int> mgh, tn;
  for (std::size_t i = 0; i < runs.size(); ++i)
    (runs[i].set == "mgh" ? mgh : tn).push_back(static_cast<int>(i));

  std::printf(
      "Square systems g(x) = 0. Solved: ||g(x)||_2 <= %.0e recomputed at the returned x. Budget "
      "%d g evaluations each. F, J: means over solved runs; us/solve: mean over solved runs of "
      "the median of repeated solves; common / F / F hybrj / t/hybrj: over the runs both this "
      "method and hybrj solve, their mean F and the ratio of mean times.\n",
      kSolvedTol, kMaxEvaluations);
  print_summary("MGH: 19 MINPACK-1 instances x starts 1, 10, 100 (57 runs)", methods, out, mgh,
                hybrj_index, peers);
  print_summary("test_nonlin: 23 problems from their standard starts", methods, out, tn,
                hybrj_index, peers);

  // implicit's promise: ok() only when ||g(x)|| <= abs_tol at the returned x.
  int broken = 0;
  std::printf("\nimplicit runs reporting converged with ||g(x)||_2 > abs_tol = %.0e:", kAbsTol);
  for (std::size_t m = 0; m < methods.size(); ++m) {
    if (!methods[m].is_implicit) continue;
    int bad = 0;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const Outcome& o = out[m][i];
      if (o.attempt.claimed && !(o.norm <= kAbsTol)) {
        ++bad;
        std::fprintf(stderr, "system_bench: %s on %s: ok() with ||g(x)|| = %.3e (reported %.3e)\n",
                     methods[m].column.c_str(), runs[i].name.c_str(), o.norm,
                     o.attempt.reported_norm);
      }
    }
    broken += bad;
    std::printf(" %s %d%s", methods[m].column.c_str(), bad,
                m + 1 < methods.size() && methods[m + 1].is_implicit ? "," : "");
  }
  std::printf(" (total %d)\n", broken);

  // Which attempt of the polyalgorithm produced each answer it returned solved.
  std::map<std::string, int> winners;
  for (std::size_t i = 0; i < runs.size(); ++i)
    if (out[0][i].solved)
      ++winners[out[0][i].attempt.status.substr(0, out[0][i].attempt.status.find(':'))];
  std::printf("implicit default, solved runs by the attempt that produced x:");
  for (const auto& [name, count] : winners) std::printf(" %s %d", name.c_str(), count);
  std::printf("\n");

  // Our counts against each solver's own (hybrj/lmder nfev count iflag = 1
  // calls only; KINSOL's nfe; implicit's function_evaluations).
  for (std::size_t m = 0; m < methods.size(); ++m) {
    int differ = 0;
    for (const Outcome& o : out[m])
      differ += o.attempt.reported_f >= 0 && o.attempt.reported_f != o.attempt.f;
    if (differ)
      std::printf("%s: its own evaluation count differs from ours on %d runs\n",
                  methods[m].column.c_str(), differ);
  }
  // Statuses of runs claimed but not solved.
  for (std::size_t m = 0; m < methods.size(); ++m)
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const Outcome& o = out[m][i];
      if (o.attempt.claimed && !o.solved)
        std::printf("%s on %s: %s, claimed but not solved, ||g(x)||_2 = %.3e\n",
                    methods[m].column.c_str(), runs[i].name.c_str(), o.attempt.status.c_str(),
                    o.norm);
    }

  print_runs(methods, runs, out);

  bool statuses = false;
  for (int k = 1; k < argc; ++k) statuses |= std::strcmp(argv[k], "--statuses") == 0;
  if (statuses)
    for (std::size_t m = 0; m < methods.size(); ++m)
      for (std::size_t i = 0; i < runs.size(); ++i) {
        const Outcome& o = out[m][i];
        if (!o.solved || !o.attempt.claimed || o.attempt.reported_f != o.attempt.f)
          std::printf("%-8s %-34s %-40s F %ld (own count %ld) J %ld ||g|| %.3e\n",
                      methods[m].column.c_str(), runs[i].name.c_str(), o.attempt.status.c_str(),
                      o.attempt.f, o.attempt.reported_f, o.attempt.j, o.norm);
      }

  bool run_benchmarks = false;
  for (int k = 1; k < argc; ++k) run_benchmarks |= std::strncmp(argv[k], "--benchmark", 11) == 0;
  if (run_benchmarks) {
    std::fflush(stdout);
    register_benchmarks(methods, runs, out);
    benchmark::Initialize(&argc, argv);
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
  }
  return broken > 0 ? 1 : 0;
}
