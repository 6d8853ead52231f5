#pragma once
// The certificate of a solved linear system A u = b, one rule for the dense
// path (adjoint/adjoint_solve.hpp) and for each sample of the tensor path
// (src/torch/linear_solve.cpp): whatever a method claims, the recomputed
// residual must satisfy
//
//     ||A u - b|| <= abs_tol + rel_tol ||b|| + 16 eps (||b|| + ||A|| ||u||)
//
// (the last term: the rounding of a backward-stable solve), and the
// condition number the solution implies must be at most max_condition,
// else the system is refused as ill-conditioned: a huge u from a nearly
// singular A is no gradient, even when its residual is small.

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>

namespace implicit::internal {

// A lower bound on cond(A) = ||A|| ||A^{-1}|| from a solved system:
// ||A^{-1}|| >= ||u|| / ||b|| and ||A|| >= max(||A b|| / ||b||, ||b|| / ||u||)
// (`a_norm_probe` = ||A b|| / ||b||, one extra product). Being a lower bound,
// it never refuses a well-conditioned system.
inline double certified_condition_lower_bound(double a_norm_probe, double u_norm, double b_norm) {
  if (!(b_norm > 0)) return u_norm > 0 ? std::numeric_limits<double>::infinity() : 1.0;
  if (!(u_norm > 0)) return 1.0;
  return std::fmax(a_norm_probe, b_norm / u_norm) * u_norm / b_norm;
}

// The residual the certificate allows for an answer u of A u = b, given a
// lower bound a_norm_probe on ||A||.
inline double certified_residual_tolerance(double u_norm, double b_norm, double a_norm_probe,
                                           double abs_tol, double rel_tol, double eps) {
  const double a_norm =
      b_norm > 0 && u_norm > 0 ? std::fmax(a_norm_probe, b_norm / u_norm) : a_norm_probe;
  return abs_tol + rel_tol * b_norm + 16 * eps * (b_norm + a_norm * u_norm);
}

// Whether a sharper bound on ||A|| could still get a refused residual
// accepted: the allowance 16 eps ||A|| ||u|| covers it only if ||A|| >=
// residual / (16 eps ||u||), and then cond(A) >= residual / (16 eps ||b||),
// which must not exceed max_condition. A residual beyond that is no
// rounding error whatever ||A|| is (a wrong answer, an unconverged one).
inline bool residual_within_rounding_reach(double residual, double b_norm, double eps,
                                           double max_condition) {
  return std::isfinite(residual) && residual > 0 &&
         residual <= 16 * eps * max_condition * b_norm;
}

struct CertificateVerdict {
  bool accepted = false;
  std::string why;  // when refused: the numbers
};

inline CertificateVerdict certify_linear_solution(double residual, double u_norm, double b_norm,
                                                  double a_norm_probe, double abs_tol,
                                                  double rel_tol, double eps,
                                                  double max_condition) {
  CertificateVerdict v;
  char buf[220];
  if (!std::isfinite(residual) || !std::isfinite(u_norm)) {
    v.why = "solution or residual has NaN or Inf";
    return v;
  }
  const double tolerance =
      certified_residual_tolerance(u_norm, b_norm, a_norm_probe, abs_tol, rel_tol, eps);
  if (!(residual <= tolerance)) {
    std::snprintf(buf, sizeof buf, "recomputed residual %.3e above tolerance %.3e", residual,
                  tolerance);
    v.why = buf;
    return v;
  }
  const double condition = certified_condition_lower_bound(a_norm_probe, u_norm, b_norm);
  if (!(condition <= max_condition)) {
    std::snprintf(buf, sizeof buf,
                  "ill-conditioned: condition number >= %.2e (||u|| = %.3e for ||b|| = %.3e) "
                  "exceeds max_condition = %.1e",
                  condition, u_norm, b_norm, max_condition);
    v.why = buf;
    return v;
  }
  v.accepted = true;
  return v;
}

}  // namespace implicit::internal
