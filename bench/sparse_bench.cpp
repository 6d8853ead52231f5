// Large sparse systems: NonlinearSolve.jl's 2-D Brusselator (2 N^2
// unknowns) solved by implicit's default solve_root with nothing but the
// tolerance set (the pattern traced from g, then Newton with a
// colouring-compressed AD Jacobian and a sparse LU: KLU with AMD ordering
// where the build has SuiteSparse), its gradient by the default root_vjp
// (traced again; sparse LU on (dg/dx)^T), and KINSOL (SUNDIALS 6.4,
// line-search Newton with its KLU solver, with SUNDIALS' default COLAMD
// ordering and with AMD) given the same Jacobian, in one binary. Every time is a median in this process,
// printed beside a bare loop of g evaluations (the floor), so the ratios
// hold on a drifting machine.
//
// With --problem bratu, the same for PETSc's SNES tutorial ex5 (the 2-D
// Bratu problem, N^2 unknowns, problems/bratu.hpp). Where the build found
// PETSc, its SNES (newtonls with LU, and with GMRES + ILU(0)) runs beside.
//
// Usage: sparse_bench [--problem brusselator|bratu] [--sizes 16,32,64,128,256]
//                     [--dense-max 32] [--kinsol-max 256] [--crossover] [--backends]
//   --dense-max: also the dense Newton (DenseLU) up to this N.
//   --kinsol-max: KINSOL up to this N (at N = 512 it takes ~20 minutes).
//   --crossover: instead, the default solve with the traced sparse path
//     against the dense polyalgorithm (SystemOptions::detect_sparsity's
//     min_size) at small N.
//   --backends: instead, the sparse LU's libraries (UMFPACK, KLU, Eigen's
//     SparseLU) side by side: factorisation and Newton's whole solve.

#include <kinsol/kinsol.h>
#include <nvector/nvector_serial.h>
#include <sunlinsol/sunlinsol_klu.h>
#include <sunmatrix/sunmatrix_sparse.h>
#include <sys/resource.h>
#ifdef IMPLICIT_BENCH_PETSC
#include <petscsnes.h>
#endif

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "implicit.hpp"
#include "implicit/problems/bratu.hpp"
#include "implicit/problems/brusselator.hpp"
#include "timing.hpp"

namespace {

using Eigen::VectorXd;
using implicit::Bratu2D;
using implicit::Brusselator2D;

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;
}

// ||g|| cannot go below the rounding of its largest terms: alpha / dx^2 =
// 10 (N - 1)^2 times |u| ~ 5, i.e. ~ 1e-14 (N - 1)^2 per entry, times
// sqrt(n) for the 2-norm. The tolerance: 100 times that floor, at least the
// default 1e-10 (1e-10 itself is below the floor from N = 32 on, where
// the dense default stalled: issue 20).
double tolerance(const Brusselator2D& problem) {
  const int N = problem.N;
  const double floor = 1e-14 * (N - 1.0) * (N - 1.0) * std::sqrt(2.0 * N * N);
  return std::fmax(1e-10, 100 * floor);
}

// Bratu's rows are scaled by h^2 (entries O(1)): the 1e-8 holds far
// above its rounding.
double tolerance(const Bratu2D&) { return 1e-8; }

// What a peer's callbacks see: the problem, its parameters, the sparse AD
// Jacobian they are given, and their g and Jacobian counts.
template <class Problem>
struct PeerData {
  const Problem* problem;
  const VectorXd* theta;
  implicit::SparseJacobian<double>* jacobian;
  long f = 0, j = 0;
};

template <class Problem>
int kinsol_system(N_Vector u, N_Vector fval, void* user) {
  auto* d = static_cast<PeerData<Problem>*>(user);
  const long n = d->problem->size();
  const VectorXd x = Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), n);
  Eigen::Map<VectorXd>(N_VGetArrayPointer(fval), n) = (*d->problem)(*d->theta, x);
  ++d->f;
  return 0;
}

template <class Problem>
int kinsol_jacobian(N_Vector u, N_Vector, SUNMatrix J, void* user, N_Vector, N_Vector) {
  auto* d = static_cast<PeerData<Problem>*>(user);
  const long n = d->problem->size();
  const VectorXd x = Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), n);
  const auto g = implicit::bind_theta(*d->problem, *d->theta);
  const Eigen::SparseMatrix<double>& a = d->jacobian->evaluate(g, x);
  ++d->j;
  sunindextype* col = SUNSparseMatrix_IndexPointers(J);
  sunindextype* row = SUNSparseMatrix_IndexValues(J);
  double* value = SUNSparseMatrix_Data(J);
  for (long c = 0; c <= n; ++c) col[c] = a.outerIndexPtr()[c];
  for (long k = 0; k < a.nonZeros(); ++k) {
    row[k] = a.innerIndexPtr()[k];
    value[k] = a.valuePtr()[k];
  }
  return 0;
}

void silent(int, const char*, const char*, char*, void*) {}

struct KinsolRun {
  VectorXd x;
  int flag = 0;
  long f = 0, j = 0;
};

// ordering: KLU's fill-reducing order, SUNDIALS' default 1 (COLAMD) or 0
// (AMD, what KLU itself defaults to and implicit's sparse LU uses).
template <class Problem>
KinsolRun kinsol_solve(const Problem& problem, const VectorXd& theta, double tol,
                       int ordering = SUNKLU_ORDERING_DEFAULT) {
  SUNContext context;
  SUNContext_Create(nullptr, &context);
  const long n = problem.size();
  implicit::SparseJacobian<double> jacobian(problem.sparsity());
  PeerData<Problem> d{&problem, &theta, &jacobian};
  N_Vector u = N_VNew_Serial(n, context);
  N_Vector scale = N_VNew_Serial(n, context);
  Eigen::Map<VectorXd>(N_VGetArrayPointer(u), n) = problem.initial_state();
  N_VConst(1.0, scale);
  void* memory = KINCreate(context);
  SUNMatrix J = SUNSparseMatrix(n, n, problem.sparsity().nonZeros(), CSC_MAT, context);
  SUNLinearSolver klu = SUNLinSol_KLU(u, J, context);
  int flag = SUNLinSol_KLUSetOrdering(klu, ordering);
  if (flag == KIN_SUCCESS) flag = KINSetErrHandlerFn(memory, silent, nullptr);
  if (flag == KIN_SUCCESS) flag = KINInit(memory, kinsol_system<Problem>, u);
  if (flag == KIN_SUCCESS) flag = KINSetUserData(memory, &d);
  // KINSOL stops on the max norm of g: tol / sqrt(n) makes its 2-norm at most tol.
  if (flag == KIN_SUCCESS) flag = KINSetFuncNormTol(memory, tol / std::sqrt(double(n)));
  if (flag == KIN_SUCCESS) flag = KINSetScaledStepTol(memory, 1e-14);
  if (flag == KIN_SUCCESS) flag = KINSetMaxSetupCalls(memory, 1);  // a Jacobian every step
  if (flag == KIN_SUCCESS) flag = KINSetLinearSolver(memory, klu, J);
  if (flag == KIN_SUCCESS) flag = KINSetJacFn(memory, kinsol_jacobian<Problem>);
  if (flag == KIN_SUCCESS) flag = KINSol(memory, u, KIN_LINESEARCH, scale, scale);
  KinsolRun run;
  run.x = Eigen::Map<const VectorXd>(N_VGetArrayPointer(u), n);
  run.flag = flag;
  run.f = d.f;
  run.j = d.j;
  KINFree(&memory);
  SUNLinSolFree(klu);
  SUNMatDestroy(J);
  N_VDestroy(u);
  N_VDestroy(scale);
  SUNContext_Free(&context);
  return run;
}

#ifdef IMPLICIT_BENCH_PETSC
// PETSc 3.18's SNES (newtonls: Newton with a cubic backtracking line
// search) with the same g and the same sparse AD Jacobian (copied into a
// SeqAIJ matrix), stopping at the same 2-norm of g (its abstol; rtol and
// stol off), its linear solve either its own direct LU (KSPPREONLY + PCLU,
// nested-dissection ordering) or GMRES(30) + ILU(0) (its defaults, at most
// 2,000 iterations per step).
template <class Problem>
PetscErrorCode petsc_function(SNES, Vec x, Vec fx, void* user) {
  auto* d = static_cast<PeerData<Problem>*>(user);
  const long n = d->problem->size();
  const PetscScalar* xs = nullptr;
  PetscScalar* fs = nullptr;
  PetscCall(VecGetArrayRead(x, &xs));
  PetscCall(VecGetArray(fx, &fs));
  Eigen::Map<VectorXd>(fs, n) = (*d->problem)(*d->theta, VectorXd(Eigen::Map<const VectorXd>(xs, n)));
  PetscCall(VecRestoreArray(fx, &fs));
  PetscCall(VecRestoreArrayRead(x, &xs));
  ++d->f;
  return 0;
}

template <class Problem>
PetscErrorCode petsc_jacobian(SNES, Vec x, Mat J, Mat, void* user) {
  auto* d = static_cast<PeerData<Problem>*>(user);
  const long n = d->problem->size();
  const PetscScalar* xs = nullptr;
  PetscCall(VecGetArrayRead(x, &xs));
  const VectorXd at = Eigen::Map<const VectorXd>(xs, n);
  PetscCall(VecRestoreArrayRead(x, &xs));
  const auto g = implicit::bind_theta(*d->problem, *d->theta);
  const Eigen::SparseMatrix<double, Eigen::RowMajor> rows = d->jacobian->evaluate(g, at);
  ++d->j;
  for (PetscInt r = 0; r < n; ++r) {
    const PetscInt begin = rows.outerIndexPtr()[r], count = rows.outerIndexPtr()[r + 1] - begin;
    std::vector<PetscInt> columns(rows.innerIndexPtr() + begin, rows.innerIndexPtr() + begin + count);
    PetscCall(MatSetValues(J, 1, &r, count, columns.data(), rows.valuePtr() + begin, INSERT_VALUES));
  }
  PetscCall(MatAssemblyBegin(J, MAT_FINAL_ASSEMBLY));
  PetscCall(MatAssemblyEnd(J, MAT_FINAL_ASSEMBLY));
  return 0;
}

struct PetscRun {
  VectorXd x;
  SNESConvergedReason reason = SNES_CONVERGED_ITERATING;
  PetscErrorCode error = 0;
  long f = 0, j = 0, linear_iterations = 0;
};

template <class Problem>
PetscErrorCode petsc_solve_impl(const Problem& problem, const VectorXd& theta, double tol,
                                bool gmres_ilu, PetscRun& run) {
  const PetscInt n = problem.size();
  implicit::SparseJacobian<double> jacobian(problem.sparsity());
  PeerData<Problem> d{&problem, &theta, &jacobian};
  const Eigen::SparseMatrix<double, Eigen::RowMajor> pattern = problem.sparsity();
  std::vector<PetscInt> per_row(n);
  for (PetscInt r = 0; r < n; ++r)
    per_row[r] = pattern.outerIndexPtr()[r + 1] - pattern.outerIndexPtr()[r];
  Mat J;
  Vec x, residual;
  SNES snes;
  KSP ksp;
  PC pc;
  PetscCall(MatCreateSeqAIJ(PETSC_COMM_SELF, n, n, 0, per_row.data(), &J));
  PetscCall(VecCreateSeq(PETSC_COMM_SELF, n, &x));
  PetscCall(VecDuplicate(x, &residual));
  PetscScalar* xs = nullptr;
  PetscCall(VecGetArray(x, &xs));
  Eigen::Map<VectorXd>(xs, n) = problem.initial_state();
  PetscCall(VecRestoreArray(x, &xs));
  PetscCall(SNESCreate(PETSC_COMM_SELF, &snes));
  PetscCall(SNESSetType(snes, SNESNEWTONLS));
  PetscCall(SNESSetFunction(snes, residual, petsc_function<Problem>, &d));
  PetscCall(SNESSetJacobian(snes, J, J, petsc_jacobian<Problem>, &d));
  PetscCall(SNESSetTolerances(snes, tol, 0.0, 0.0, 100, 100000));
  PetscCall(SNESGetKSP(snes, &ksp));
  PetscCall(KSPGetPC(ksp, &pc));
  if (gmres_ilu) {
    PetscCall(KSPSetType(ksp, KSPGMRES));
    PetscCall(PCSetType(pc, PCILU));
    // At most 2,000 GMRES iterations per Newton step (PETSc's default
    // 10,000 lets a stagnating solve run for many minutes at N = 256).
    PetscCall(KSPSetTolerances(ksp, PETSC_DEFAULT, PETSC_DEFAULT, PETSC_DEFAULT, 2000));
  } else {
    PetscCall(KSPSetType(ksp, KSPPREONLY));
    PetscCall(PCSetType(pc, PCLU));
  }
  PetscCall(SNESSolve(snes, nullptr, x));
  PetscCall(SNESGetConvergedReason(snes, &run.reason));
  PetscInt linear = 0;
  PetscCall(SNESGetLinearSolveIterations(snes, &linear));
  run.linear_iterations = linear;
  const PetscScalar* result = nullptr;
  PetscCall(VecGetArrayRead(x, &result));
  run.x = Eigen::Map<const VectorXd>(result, n);
  PetscCall(VecRestoreArrayRead(x, &result));
  run.f = d.f;
  run.j = d.j;
  PetscCall(SNESDestroy(&snes));
  PetscCall(VecDestroy(&residual));
  PetscCall(VecDestroy(&x));
  PetscCall(MatDestroy(&J));
  return 0;
}

template <class Problem>
PetscRun petsc_solve(const Problem& problem, const VectorXd& theta, double tol,
                     bool gmres_ilu) {
  PetscRun run;
  run.error = petsc_solve_impl(problem, theta, tol, gmres_ilu, run);
  return run;
}
#endif

std::vector<int> parse_sizes(const char* text) {
  std::vector<int> sizes;
  for (const char* p = text; *p;) {
    sizes.push_back(std::atoi(p));
    while (*p && *p != ',') ++p;
    if (*p == ',') ++p;
  }
  return sizes;
}

}  // namespace

// The default solve_root (and root_vjp) with the pattern traced (min_size
// 0) against the same calls with tracing off (the dense polyalgorithm, the
// dense or GMRES adjoint), at sizes around SystemOptions::detect_sparsity's
// min_size.
int crossover(const std::vector<int>& sizes) {
  const VectorXd theta = Brusselator2D::default_theta();
  std::printf("%6s %6s | %-22s %9s %9s | %-22s %9s %9s | %7s %7s\n", "N", "n", "traced sparse",
              "solve s", "vjp s", "dense (no tracing)", "solve s", "vjp s", "solve x", "vjp x");
  for (int N : sizes) {
    const Brusselator2D problem{N};
    const auto g = implicit::bind_theta(problem, theta);
    const VectorXd x0 = problem.initial_state();
    const VectorXd xbar = VectorXd::Ones(problem.size());
    auto run = [&](Eigen::Index min_size, double& solve_s, double& vjp_s) {
      implicit::SystemOptions options;
      options.abs_tol = tolerance(problem);
      options.detect_sparsity.min_size = min_size;
      implicit::AdjointOptions adjoint;
      adjoint.detect_sparsity.min_size = min_size;
      implicit::SystemResult<VectorXd> root;
      solve_s = bench::median_seconds([&] { root = implicit::solve_root(g, x0, options); }, 1.0);
      implicit::AdjointResult<VectorXd> grad;
      vjp_s = bench::median_seconds(
          [&] { grad = implicit::root_vjp(problem, theta, root, xbar, adjoint); }, 1.0);
      return std::string(implicit::to_string(root.status)) + "/" + implicit::to_string(grad.status);
    };
    double sparse_solve, sparse_vjp, dense_solve, dense_vjp;
    const std::string sparse = run(1, sparse_solve, sparse_vjp);
    const std::string dense = run(0, dense_solve, dense_vjp);
    std::printf("%6d %6ld | %-22s %9.3g %9.3g | %-22s %9.3g %9.3g | %7.1f %7.1f\n", N,
                static_cast<long>(problem.size()), sparse.c_str(), sparse_solve, sparse_vjp,
                dense.c_str(), dense_solve, dense_vjp, dense_solve / sparse_solve,
                dense_vjp / sparse_vjp);
    std::fflush(stdout);
  }
  return 0;
}

// One table: the problem at each N, implicit's defaults beside the peers.
template <class Problem>
int run_sizes(const char* title, const std::vector<int>& sizes, int dense_max, int kinsol_max) {
  const VectorXd theta = Problem::default_theta();
  std::printf(
      "%s, its start, g templated, no hand-written derivatives.\nTimes: medians in this "
      "process; 'g' = one evaluation of g (the floor); ratios = time / g.\n\n",
      title);
  std::printf(
      "%6s %8s %9s | %9s | %-24s %5s %5s %5s %9s %9s %9s | %-12s %9s %9s | %-18s %4s %4s %9s %9s "
      "%9s | %8s\n",
      "N", "n", "tol", "trace s", "implicit default", "g", "J", "col", "||g||", "s", "/g",
      "root_vjp", "s", "/g", "KINSOL+KLU", "g", "J", "||g||", "s", "AMD s", "RSS MB");
  int failures = 0;
  for (int N : sizes) {
    const Problem problem{N};
    const long n = problem.size();
    const auto g = implicit::bind_theta(problem, theta);
    const VectorXd x0 = problem.initial_state();
    const double tol = tolerance(problem);
    const double budget = N >= 128 ? 3.0 : 1.0;
    const double g_s = bench::median_seconds([&] { (void)g(x0); }, 0.3);

    // The pattern traced from g, alone (it is part of both calls below).
    const double trace_s =
        bench::median_seconds([&] { (void)implicit::trace_sparsity(g, x0); }, budget / 3, 1);
    implicit::SystemOptions options;  // the defaults but the tolerance
    options.abs_tol = tol;
    implicit::SystemResult<VectorXd> root;
    const double solve_s =
        bench::median_seconds([&] { root = implicit::solve_root(g, x0, options); }, budget, 1);
    const double residual = g(root.x).norm();
    if (root.ok() && !(residual <= tol)) ++failures;  // a false claim
    implicit::SparseJacobian<double> colouring(problem.sparsity());

    const implicit::AdjointOptions adjoint;  // the defaults
    const VectorXd xbar = VectorXd::Ones(n);
    implicit::AdjointResult<VectorXd> grad;
    const double grad_s = bench::median_seconds(
        [&] { grad = implicit::root_vjp(problem, theta, root, xbar, adjoint); }, budget, 1);

    KinsolRun kin;
    double kin_s = std::nan(""), kin_residual = std::nan("");
    if (N <= kinsol_max) {
      kin_s = bench::median_seconds([&] { kin = kinsol_solve(problem, theta, tol); }, budget, 1);
      kin_residual = g(kin.x).norm();
    }
    // The same with KLU's AMD ordering (the fill-reducing order is most of
    // the factorisation's cost on a 2-D grid).
    KinsolRun kin_amd;
    double kin_amd_s = std::nan("");
    if (N <= kinsol_max)
      kin_amd_s = bench::median_seconds(
          [&] { kin_amd = kinsol_solve(problem, theta, tol, 0); }, budget, 1);

    std::printf(
        "%6d %8ld %9.1e | %9.3g | %-24s %5d %5d %5d %9.2e %9.3g %9.0f | %-12s %9.3g %9.0f | %-18s "
        "%4ld %4ld %9.2e %9.3g %9.3g | %8.0f\n",
        N, n, tol, trace_s, implicit::to_string(root.status), root.function_evaluations,
        root.jacobian_evaluations, colouring.colours(), residual, solve_s, solve_s / g_s,
        implicit::to_string(grad.status), grad_s, grad_s / g_s,
        N > kinsol_max ? "not run" : kin.flag >= 0 ? "success" : "failed", kin.f, kin.j, kin_residual, kin_s, kin_amd_s,
        peak_rss_mb());
#ifdef IMPLICIT_BENCH_PETSC
    if (N <= kinsol_max) {
      for (bool gmres_ilu : {false, true}) {
        PetscRun snes;
        const double snes_s = bench::median_seconds(
            [&] { snes = petsc_solve(problem, theta, tol, gmres_ilu); }, budget, 1);
        const bool converged = snes.error == 0 && snes.reason > 0;
        std::printf("%6s %8s %9s | %9s | PETSc SNES %-13s %-16s g %ld, J %ld, %ld linear its, "
                    "||g|| %.2e, %.3g s, %.3g x implicit\n",
                    "", "", "", "", gmres_ilu ? "GMRES+ILU(0)" : "LU",
                    snes.error != 0 ? "petsc_error"
                    : converged     ? "converged"
                                    : SNESConvergedReasons[snes.reason],
                    snes.f, snes.j,
                    snes.linear_iterations, snes.x.size() == n ? g(snes.x).norm() : std::nan(""),
                    snes_s, snes_s / solve_s);
      }
    }
#endif
    if (N <= dense_max) {
      implicit::SystemOptions dense_options;
      dense_options.abs_tol = tol;
      implicit::LineSearchNewtonOptions dense_newton;
      dense_newton.linear_solver = implicit::DenseLU{};
      implicit::SystemResult<VectorXd> dense;
      const double dense_s = bench::median_seconds(
          [&] {
            dense = implicit::solve_root(g, x0, implicit::LineSearchNewton(dense_newton),
                                         dense_options);
          },
          budget, 1);
      std::printf(
          "%6s %8s %9s | %9s | %-24s %5d %5d %5s %9.2e %9.3g %9.0f   (dense Jacobian + LU)\n", "",
          "", "", "", implicit::to_string(dense.status), dense.function_evaluations,
          dense.jacobian_evaluations, "", g(dense.x).norm(), dense_s, dense_s / g_s);
    }
    std::fflush(stdout);
  }
  return failures;
}

// The sparse LU's libraries (SparseLU::backend) side by side on the
// problem's Jacobian at its start: the analysis, the numeric factorisation
// (median of refactorisations with the kept analysis, as every Newton step
// after the first) and one solve; then Newton's whole solve with that
// library (SystemOptions::sparsity given, LineSearchNewton with
// SparseLU{backend}). Fixes SparseLU::umfpack_min_size.
template <class Problem>
int backends(const std::vector<int>& sizes) {
  std::printf("%6s %8s | %-8s %9s %9s %9s %11s | %9s %5s %9s\n", "N", "n", "library",
              "analyse s", "factor s", "solve s", "||Ax-b||/b", "Newton s", "J", "||g||");
  int failures = 0;
  for (int N : sizes) {
    const Problem problem{N};
    const VectorXd theta = Problem::default_theta();
    const auto g = implicit::bind_theta(problem, theta);
    const VectorXd x0 = problem.initial_state();
    implicit::SparseJacobian<double> jacobian(problem.sparsity());
    const Eigen::SparseMatrix<double> a = jacobian.evaluate(g, x0);
    const VectorXd b = VectorXd::Ones(a.rows());
    const double tol = tolerance(problem);
    const double budget = N >= 256 ? 0.0 : 1.0;
    for (auto backend : {implicit::SparseLUBackend::kUmfpack, implicit::SparseLUBackend::kKlu,
                         implicit::SparseLUBackend::kEigen}) {
      implicit::SparseLU lu;
      lu.backend = backend;
      try {
        lu.validate();
      } catch (const std::invalid_argument&) {
        continue;  // not in this build
      }
      auto f = lu.factorization<double>();
      const auto t0 = std::chrono::steady_clock::now();
      f->factor(a);
      const double first_s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      const double factor_s = bench::median_seconds([&] { f->factor(a); }, budget, 2);
      VectorXd x;
      const double solve_s = bench::median_seconds([&] { x = f->solve(b); }, budget, 3);
      implicit::LineSearchNewtonOptions newton;
      newton.linear_solver = lu;
      implicit::SystemOptions options;
      options.sparsity = problem.sparsity();
      options.abs_tol = tol;
      implicit::SystemResult<VectorXd> root;
      const double newton_s = bench::median_seconds(
          [&] { root = implicit::solve_root(g, x0, implicit::LineSearchNewton(newton), options); },
          budget, 1);
      const double residual = g(root.x).norm();
      if (root.ok() && !(residual <= tol)) ++failures;  // a converged status must hold
      std::printf("%6d %8ld | %-8s %9.3g %9.3g %9.3g %11.2e | %9.3g %5d %9.2e %s\n", N,
                  static_cast<long>(a.rows()), implicit::to_string(backend),
                  std::fmax(first_s - factor_s, 0.0), factor_s, solve_s,
                  f->ok() ? (a * x - b).norm() / b.norm() : std::nan(""), newton_s,
                  root.jacobian_evaluations, residual, implicit::to_string(root.status));
      std::fflush(stdout);
    }
  }
  return failures;
}

int main(int argc, char** argv) {
  std::vector<int> sizes{16, 32, 64, 128, 256};
  int dense_max = 32, kinsol_max = 256;
  bool crossover_only = false, backends_only = false;
  std::string problem = "brusselator";
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--sizes") == 0 && i + 1 < argc)
      sizes = parse_sizes(argv[++i]);
    else if (std::strcmp(argv[i], "--dense-max") == 0 && i + 1 < argc)
      dense_max = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--kinsol-max") == 0 && i + 1 < argc)
      kinsol_max = std::atoi(argv[++i]);
    else if (std::strcmp(argv[i], "--crossover") == 0)
      crossover_only = true;
    else if (std::strcmp(argv[i], "--backends") == 0)
      backends_only = true;
    else if (std::strcmp(argv[i], "--problem") == 0 && i + 1 < argc &&
             (std::strcmp(argv[i + 1], "brusselator") == 0 ||
              std::strcmp(argv[i + 1], "bratu") == 0))
      problem = argv[++i];
    else {
      std::fprintf(stderr,
                   "usage: sparse_bench [--problem brusselator|bratu] [--sizes 16,32,64] "
                   "[--dense-max 32] [--kinsol-max 256] [--crossover] [--backends]\n");
      return 2;
    }
  }
  if (crossover_only) return crossover(sizes);
  if (backends_only)
    return (problem == "bratu" ? backends<Bratu2D>(sizes) : backends<Brusselator2D>(sizes)) == 0
               ? 0
               : 1;
#ifdef IMPLICIT_BENCH_PETSC
  PetscInitializeNoArguments();
#endif
  const int failures =
      problem == "bratu"
          ? run_sizes<Bratu2D>("2-D Bratu (PETSc's SNES tutorial ex5, lambda = 6)", sizes,
                               dense_max, kinsol_max)
          : run_sizes<Brusselator2D>("2-D Brusselator (NonlinearSolve.jl's sparse tutorial)",
                                     sizes, dense_max, kinsol_max);
#ifdef IMPLICIT_BENCH_PETSC
  PetscFinalize();
#endif
  return failures == 0 ? 0 : 1;
}
