#pragma once
// How much an implicit derivative moves with the forward solve's own error.
//
// The linear-solve certificate (internal/certificate.hpp) proves that u
// solves A(x) u = b at the point x it was given. But x is only within the
// forward tolerance of the true solution x*, and where A changes fast on that
// scale the certified u can be far from A(x*)^{-1} b. At a fold
// (g(x, t) = x^2 - t at t = 0, where no derivative exists) a forward solve
// to |g| <= 1e-10 stops at x ~ 1e-5, and the IFT "gradient" 1/(2x) is
// 65,536, or 8.4e6 with a tighter tolerance: a number that follows the
// tolerance, not the problem.
//
// The check: take one Newton correction of the point, x' = x - dx with
// dx = J^{-1} r (J = dg/dx and r = g(x) for roots; J = I - df/dz and
// r = z - f(z) for fixed points), and measure what it does to the answer to
// first order:
//
//     du = -A(x)^{-1} (A(x') u - b),   sensitivity = ||du|| / ||u||.
//
// For a regular solution dx is second order in the residual and du is tiny;
// at a fold dx is of the size of x - x* itself and du of the size of u
// (sensitivity 1/2 exactly for g = x^2 - t at t = 0, at any tolerance).
// A sensitivity above AdjointOptions::max_forward_sensitivity is refused.
//
// Cost: with A's factorisation at hand (dense or sparse LU), two solves
// with it, one evaluation of the residual and one product with A at x'.
// Every IFT entry point (VJPs, JVPs and full Jacobians, of roots and fixed
// points) runs it when the chain's accepted attempt has solves with A and
// A^T (InverseOperators, linear/inverse_operators.hpp): a dense or sparse LU
// of A, or, for GMRES preconditioned by the forward solve's factorisation
// (SystemResult::jacobian_solves, FixedPointResult::inverse_estimate), its
// solves refined against A (a few products each; refined_inverse_operators).
// Answers of the iterative methods without a factorisation are not checked
// (each check would be two more Krylov solves).

#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "implicit/types.hpp"

namespace implicit::internal {

// The Newton correction of the forward point, x' = x - dx with
// dx = N^{-1} r, where the Newton matrix N (J for roots, I - J for fixed
// points) is A itself (`a_is_newton_matrix`: a JVP, a full Jacobian) or
// A^T (a VJP). `inverse` solves with A and A^T.
template <class Inverse, class T>
VectorX<T> newton_correction(const Inverse& inverse, const VectorX<T>& newton_residual,
                             bool a_is_newton_matrix) {
  return a_is_newton_matrix ? inverse.solve(newton_residual)
                            : inverse.solve_transposed(newton_residual);
}

// ||du|| / ||u|| with du = -A(x)^{-1} (A(x') u - b), given a_u = A(x') u.
template <class Inverse, class T>
double answer_sensitivity(const Inverse& inverse, const VectorX<T>& a_u, const VectorX<T>& u,
                          const VectorX<T>& b) {
  const VectorX<T> du = -inverse.solve(VectorX<T>(a_u - b));
  return static_cast<double>(du.norm()) / static_cast<double>(u.norm());
}

// Why an answer is refused: the correction is not finite, or the answer
// moves by `sensitivity` > max_sensitivity.
inline std::string non_finite_correction_refusal(double dx_norm) {
  char buf[200];
  std::snprintf(buf, sizeof buf,
                "the Newton correction of the forward point is not finite (||dx|| = %.3e): the "
                "derivative's sensitivity to the forward error is unknown",
                dx_norm);
  return buf;
}
inline std::string sensitivity_refusal(double dx_norm, double x_norm, double sensitivity,
                                       double max_sensitivity) {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "sensitive to the forward solve's own error: one Newton correction of the point "
                "(||dx|| = %.3e against ||x|| = %.3e) moves the derivative by %.3e relative, above "
                "AdjointOptions::max_forward_sensitivity = %g; a fold (no derivative exists "
                "there) or a forward tolerance too loose for this derivative",
                dx_norm, x_norm, sensitivity, max_sensitivity);
  return buf;
}

// `inverse`: solves with A and A^T. `a_at(x', u)` returns A(x') u. Returns
// why the answer u is refused, or nothing when it stands.
template <class Inverse, class T, class ApplyAAt>
std::optional<std::string> forward_sensitivity_refusal(
    const Inverse& inverse, const VectorX<T>& x, const VectorX<T>& newton_residual,
    const VectorX<T>& u, const VectorX<T>& b, const ApplyAAt& a_at, double max_sensitivity,
    bool a_is_newton_matrix = false) {
  if (!std::isfinite(max_sensitivity)) return std::nullopt;  // check turned off
  if (!(u.norm() > 0)) return std::nullopt;                  // b = 0: u = 0 whatever x
  const VectorX<T> dx = newton_correction(inverse, newton_residual, a_is_newton_matrix);
  const VectorX<T> corrected = x - dx;
  const double dx_norm = static_cast<double>(dx.norm());
  if (!corrected.allFinite()) return non_finite_correction_refusal(dx_norm);
  const double sensitivity = answer_sensitivity(inverse, VectorX<T>(a_at(corrected, u)), u, b);
  if (sensitivity <= max_sensitivity) return std::nullopt;
  return sensitivity_refusal(dx_norm, static_cast<double>(x.norm()), sensitivity,
                             max_sensitivity);
}

// Runs the check on a certified chain solve that carries solves with A and
// A^T and turns a refusal into kLinearSolveFailed with the reason: the
// caller then returns NaN values, as for any uncertified solve.
template <class Solve, class T, class ApplyAAt>
void refuse_if_sensitive(Solve& solve, const VectorX<T>& x, const VectorX<T>& newton_residual,
                         const VectorX<T>& b, const ApplyAAt& a_at, double max_sensitivity,
                         bool a_is_newton_matrix = false) {
  if (!solve.ok() || !solve.inverse.both_ways()) return;
  if (auto why = forward_sensitivity_refusal(solve.inverse, x, newton_residual, solve.x, b, a_at,
                                             max_sensitivity, a_is_newton_matrix)) {
    solve.status = Status::kLinearSolveFailed;
    solve.message = solve.message.empty() ? *why : solve.message + "; " + *why;
  }
}

// A VJP whose products with A at the corrected point would need the dense
// n x n Jacobian there (no sparse pattern, no hand-written vjp_z, and a
// reverse tape cannot be recorded beside the solve's), above
// `dense_max_size`: the answer stands unchecked, as for the iterative
// methods, and its message says so and how to get it checked.
template <class Solve>
void note_unchecked(Solve& solve, int dense_max_size) {
  if (!solve.ok() || !solve.inverse.both_ways()) return;
  const std::string note =
      "not checked for its sensitivity to the forward error: above "
      "AdjointOptions::dense_max_size_automatic = " +
      std::to_string(dense_max_size) +
      " unknowns the check needs AdjointOptions::sparsity or a hand-written vjp_z";
  solve.message = solve.message.empty() ? note : solve.message + "; " + note;
}

}  // namespace implicit::internal
