#pragma once
// How implicit differentiation solves its linear system, and what it reports.
//
// Kept apart from the forward solver's options (optimistix's `adjoint=`):
// the forward solve may use Anderson at 1e-6 while the backward solve uses a
// dense LU, and the backward pass reports its own status: a silently failed
// adjoint solve would hand the caller a wrong gradient.

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/adjoint/linear_solver.hpp"
#include "implicit/diff/derivative_mode.hpp"
#include "implicit/diff/sparsity_detection.hpp"
#include "implicit/fixed_point/anderson.hpp"
#include "implicit/linear/certified_solve.hpp"
#include "implicit/status.hpp"

namespace implicit {

// Deprecated shorthand for one solver of AdjointOptions::solvers (kept one
// release): kDenseLU is {DenseLU{}}, kGmres {Gmres{gmres_restart}},
// kFixedPointIteration {FixedPointIteration{}}, kAnderson
// {AndersonIteration{anderson}}; kAuto (the default) the size rule below.
enum class AdjointMethod {
  kAuto,                 // dense LU first when n <= dense_first_max_size (cheap products)
                         // or dense_max_size (AD products; VJPs of a map without vjp_z:
                         // dense_max_size_automatic), else GMRES first
  kDenseLU,              // form I - df/dz (or dg/dx) and factorise: n JVPs + n^3/3 flops
  kGmres,                // matrix-free Krylov on VJP/JVP products
  kFixedPointIteration,  // u <- (df/dz)^T u + zbar: converges iff f is a contraction at z*
  kAnderson,             // the same iteration, Anderson-accelerated (fixed points only)
};

inline const char* to_string(AdjointMethod method) {
  switch (method) {
    case AdjointMethod::kAuto:
      return "auto";
    case AdjointMethod::kDenseLU:
      return "dense_lu";
    case AdjointMethod::kGmres:
      return "gmres";
    case AdjointMethod::kFixedPointIteration:
      return "fixed_point_iteration";
    case AdjointMethod::kAnderson:
      return "anderson";
  }
  return "unknown";
}

struct AdjointOptions {
  // The linear solvers to try, in order (adjoint/linear_solver.hpp: DenseLU,
  // Gmres, BiCGStab, FixedPointIteration, AndersonIteration); each answer is
  // certified (below) and the first certified one is kept. Empty (the
  // default): chosen by `method`, whose default kAuto picks by size and
  // product cost (dense_first_max_size below; the tensor layer starts with
  // a plain-iteration probe instead). With `fallback`, GMRES and then the
  // dense LU (n <= dense_max_size) follow when not in the chain.
  std::vector<LinearSolver> solvers;
  // Deprecated: one solver by name; `solvers` takes precedence when set.
  AdjointMethod method = AdjointMethod::kAuto;
  // The nonzero pattern of the map's Jacobian in its state (df/dz for a
  // fixed point, dg/dx for a root; n x n, values ignored), when known: the
  // system matrix is then formed sparse by column colouring
  // (diff/sparse_jacobian.hpp), and the automatic chain starts with
  // SparseLU at any n. Empty (the default): for a root (root_vjp,
  // root_jvp) whose g is templated on the scalar and has no hand-written
  // state derivatives, traced from g when detect_sparsity's rule says so
  // (n >= 250 and at most 5 % of n nonzeros in every row); otherwise dense
  // or matrix-free. Fixed points are never traced: their adjoint iterates.
  SparsityPattern sparsity;
  SparsityDetection detect_sparsity;
  // Largest n for which kAuto and the fallback use a dense LU.
  int dense_max_size = 200;
  // Largest n for which kAuto tries the dense LU first when the products are
  // cheap: the map's hand-written vjp_z (jvp_z for JVPs) or linearization
  // (diff/linearization.hpp), ~1 f each. Above it GMRES goes first and the
  // dense LU stays the fallback up to dense_max_size. Measured on
  // tanh(W z + x) (bench/dense_peers, forward iteration + each adjoint, in
  // f evaluations): n = 35 LU 134 / GMRES 138; n = 50 LU 79 / GMRES 75;
  // n = 100 LU 139 / GMRES 95. An LU costs ~n^3/3 flops at well under the
  // speed of a matrix-vector product, GMRES ~30 products of 2 n^2 flops.
  // With AD products (a dual pass or a tape sweep each) the dense LU stays
  // first up to dense_max_size (dense_max_size_automatic).
  int dense_first_max_size = 40;
  // The same for a VJP of a map without a hand-written vjp_z: each GMRES
  // product is then a reverse sweep of f's tape (~100-600 f for a dense
  // layer) while the dense df/dz costs ceil(n / 8) forward passes (~4 f per
  // row). Measured at n = 1000 (reverse_bench, tanh(W z + x)): GMRES on the
  // tape 33,542 f, the dense LU ~4,000 f.
  int dense_max_size_automatic = 1000;
  // The linear system A u = b counts as solved when the recomputed residual
  // satisfies
  //   ||A u - b|| <= abs_tol + rel_tol ||b|| + 16 eps (||b|| + ||A|| ||u||)
  // (the last term: rounding of a backward-stable solve; ||A|| is the
  // lower bound max(||A b|| / ||b||, ||b|| / ||u||), one extra product) ...
  double abs_tol = 1e-12;
  double rel_tol = 1e-10;
  // ... and the condition number it implies, cond(A) >= ||A|| ||u|| / ||b||,
  // is at most max_condition. Beyond it the gradient would be huge and carry
  // about log10(1 / (eps cond)) correct digits or none (I - df/dz nearly
  // singular): the solve is refused as kLinearSolveFailed ("ill-conditioned")
  // instead of certified.
  double max_condition = 1e12;
  // ... and the answer does not move by more than max_forward_sensitivity
  // (relative) when the forward point moves by one Newton correction
  // (diff/forward_sensitivity.hpp): beyond it the derivative follows the
  // forward tolerance, not the problem (a fold, where none exists), and is
  // refused as kLinearSolveFailed ("sensitive to the forward solve's own
  // error"). 0.1: the answer would have less than one correct digit.
  // Checked by every entry point (VJPs, JVPs, full Jacobians) whose
  // accepted solve has solves with A and A^T: a dense or sparse LU, or the
  // forward solve's reused factorisation refined against A (two solves and
  // one product at the corrected point more); infinity turns it off.
  double max_forward_sensitivity = 0.1;
  // Products with A (iterative methods).
  int max_iter = 1000;
  int gmres_restart = 30;
  AndersonOptions anderson;
  // fixed_point_vjp(map, theta, forward, zbar) with a forward result that
  // carries an estimate M of (I - df/dz)^{-T} (FixedPointResult::
  // inverse_estimate: Newton's last dense LU, Broyden's inverse
  // estimate): first solve A u = b by GMRES on A M y = b, u = M y, in at
  // most reuse_max_iter products. With Newton's LU (taken one step before
  // z*) that is 1-3 products instead of a new factorisation or tens of
  // GMRES products. Certified as every solve; when it fails the method
  // chain above runs as if it had not been tried (both in the message).
  bool reuse_forward = true;
  int reuse_max_iter = 20;
  // When the chosen method fails: try GMRES, then a dense LU if
  // n <= dense_max_size, and report every attempt in the message.
  bool fallback = true;
  // How the products with f's derivatives are computed when f has no
  // hand-written vjp_z / vjp_theta (adjoint/adjoint_products.hpp): kAuto
  // records one reverse tape when that is cheaper, kForward never does,
  // kReverse always does (and throws when Sacado is unavailable).
  DerivativeMode derivatives = DerivativeMode::kAuto;
  // The implicit function theorem holds only at a solution, so every entry
  // point first checks the point it is given (one evaluation of f, which the
  // size check makes anyway):
  //   fixed points  ||f(theta, z) - z|| <= solution_tol * max(1, ||z||)
  //   roots         ||g(theta, x)||     <= solution_tol * max(1, ||x||)
  // and otherwise returns Status::kNotASolution with NaN values. The error
  // of the derivative is of the order of that residual times the condition
  // of I - df/dz (dg/dx), so the default admits loose forward solves (the
  // 1e-4 relative of training) but never a point that is no solution.
  double solution_tol = 1e-4;
  // Refuse (std::invalid_argument) to differentiate a map without the
  // hand-written members the derivative would use: vjp_z and vjp_theta for
  // VJPs, jvp_z and jvp_theta for JVPs. For code that must take the fast
  // path; derivative_members<Map> (diff/parametric.hpp) says what was found.
  bool require_hand_written = false;

  void validate() const {
    detect_sparsity.validate("AdjointOptions::detect_sparsity");
    if (derivatives != DerivativeMode::kAuto && derivatives != DerivativeMode::kForward &&
        derivatives != DerivativeMode::kReverse)
      throw std::invalid_argument("AdjointOptions::derivatives is not a DerivativeMode, got " +
                                  std::to_string(static_cast<int>(derivatives)));
    if (method != AdjointMethod::kAuto && method != AdjointMethod::kDenseLU &&
        method != AdjointMethod::kGmres && method != AdjointMethod::kFixedPointIteration &&
        method != AdjointMethod::kAnderson)
      throw std::invalid_argument("AdjointOptions::method is not an AdjointMethod, got " +
                                  std::to_string(static_cast<int>(method)));
    if (!(solution_tol > 0))
      throw std::invalid_argument("AdjointOptions::solution_tol must be > 0, got " +
                                  std::to_string(solution_tol));
    if (!(max_condition >= 1))
      throw std::invalid_argument("AdjointOptions::max_condition must be >= 1, got " +
                                  std::to_string(max_condition));
    if (!(max_forward_sensitivity > 0))
      throw std::invalid_argument("AdjointOptions::max_forward_sensitivity must be > 0, got " +
                                  std::to_string(max_forward_sensitivity));
    if (dense_max_size < 0)
      throw std::invalid_argument("AdjointOptions::dense_max_size must be >= 0, got " +
                                  std::to_string(dense_max_size));
    if (dense_first_max_size < 0)
      throw std::invalid_argument("AdjointOptions::dense_first_max_size must be >= 0, got " +
                                  std::to_string(dense_first_max_size));
    if (dense_max_size_automatic < 0)
      throw std::invalid_argument("AdjointOptions::dense_max_size_automatic must be >= 0, got " +
                                  std::to_string(dense_max_size_automatic));
    if (!(abs_tol >= 0) || !(rel_tol >= 0) || abs_tol + rel_tol == 0 ||
        !std::isfinite(abs_tol + rel_tol))
      throw std::invalid_argument(
          "AdjointOptions: abs_tol and rel_tol must be finite, >= 0 and not both 0");
    if (max_iter < 1)
      throw std::invalid_argument("AdjointOptions::max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    if (gmres_restart < 1)
      throw std::invalid_argument("AdjointOptions::gmres_restart must be >= 1, got " +
                                  std::to_string(gmres_restart));
    if (reuse_max_iter < 1)
      throw std::invalid_argument("AdjointOptions::reuse_max_iter must be >= 1, got " +
                                  std::to_string(reuse_max_iter));
    // Checked whatever the method: the fallback chain and a later change of
    // `method` must not meet nonsense options (memory = 0 was accepted).
    anderson.validate("AdjointOptions::anderson");
    for (size_t i = 0; i < solvers.size(); ++i)
      std::visit(
          [&](const auto& s) { s.validate("AdjointOptions::solvers[" + std::to_string(i) + "]"); },
          solvers[i]);
  }
};

namespace internal {
// The chain AdjointOptions asks for at size n: `solvers`, or the one solver
// `method` names, or `automatic` (the caller's kAuto rule), then the
// fallback's GMRES and dense LU where missing.
inline std::vector<LinearSolver> solver_chain(const AdjointOptions& options, long n,
                                              std::vector<LinearSolver> automatic) {
  std::vector<LinearSolver> chain;
  if (!options.solvers.empty()) {
    chain = options.solvers;
  } else {
    switch (options.method) {
      case AdjointMethod::kAuto:
        chain = std::move(automatic);
        break;
      case AdjointMethod::kDenseLU:
        chain = {DenseLU{}};
        break;
      case AdjointMethod::kGmres:
        chain = {Gmres{options.gmres_restart}};
        break;
      case AdjointMethod::kFixedPointIteration:
        chain = {FixedPointIteration{}};
        break;
      case AdjointMethod::kAnderson:
        chain = {AndersonIteration{options.anderson}};
        break;
    }
  }
  if (options.fallback) {
    if (!chain_has<Gmres>(chain)) chain.push_back(Gmres{options.gmres_restart});
    if (!chain_has<DenseLU>(chain) && n <= options.dense_max_size) chain.push_back(DenseLU{});
  }
  return chain;
}

inline CertificateOptions certificate_of(const AdjointOptions& options) {
  CertificateOptions c;
  c.abs_tol = options.abs_tol;
  c.rel_tol = options.rel_tol;
  c.max_condition = options.max_condition;
  return c;
}
inline LinearTarget target_of(const AdjointOptions& options) {
  LinearTarget t;
  t.abs_tol = options.abs_tol;
  t.rel_tol = options.rel_tol;
  t.max_products = options.max_iter;
  return t;
}
}  // namespace internal

// A derivative produced by implicit differentiation, with the certificate of
// the linear solve behind it. When status is not kConverged, `value` is
// filled with NaN, so that an unchecked use cannot pass for a gradient.
template <class Value>
struct [[nodiscard]] AdjointResult {
  Value value;
  Status status = Status::kLinearSolveFailed;
  int iterations = 0;        // products with the system matrix, all attempts
  double residual_norm = 0;  // recomputed ||A u - b|| of the accepted solve
  std::string method;        // the method that produced `value`
  std::string message;       // every attempt and why it failed, when one did

  bool ok() const { return status == Status::kConverged; }
  std::string brief_report() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "adjoint %s: %s after %d iterations, residual %.3e",
                  method.c_str(), to_string(status), iterations, residual_norm);
    return message.empty() ? std::string(buf) : std::string(buf) + ": " + message;
  }
};

}  // namespace implicit
