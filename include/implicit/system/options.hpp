#pragma once
// Stopping rules of the driver for square systems g(x) = 0 (system/solve.hpp),
// shared by every method.

#include <cmath>
#include <stdexcept>
#include <string>

#include "implicit/diff/sparsity_detection.hpp"
#include "implicit/internal/progress.hpp"
#include "implicit/types.hpp"

namespace implicit {

// Where the Jacobian dg/dx comes from, for the methods that need one.
enum class JacobianMethod {
  // g's own `jacobian(x)` member when it has one, else forward-mode AD
  // (g templated on the scalar type): exact, about n/8 dual passes of g.
  kAutomatic,
  // Forward differences, h_j = sqrt(eps) max(|x_j|, 1): n extra g
  // evaluations (counted in function_evaluations), about half the digits.
  kFiniteDifference,
};

inline const char* to_string(JacobianMethod method) {
  switch (method) {
    case JacobianMethod::kAutomatic:
      return "automatic";
    case JacobianMethod::kFiniteDifference:
      return "finite_difference";
  }
  return "unknown";
}

// Options of the driver loop, common to all methods for g(x) = 0.
//
// The solve has converged when the returned point x satisfies
//
//     ||g(x)||_2 <= abs_tol + rel_tol * ||g(x0)||_2 ,
//
// evaluated at that very x (result.residual_norm is exactly ||g(x)||_2), so
// `converged` is a promise the caller can check. No other test yields
// `converged`: a step too small to make progress is kStalled, never a
// success. On every failure the result holds the point with the smallest
// ||g|| seen and that norm.
struct SystemOptions {
  // Absolute part of the rule above.
  double abs_tol = 1e-10;
  // Relative part, against the starting residual. 0 by default: a relative
  // test alone would accept a large ||g|| from a start where ||g|| is huge.
  double rel_tol = 0;
  // Most steps of the method (accepted or rejected trial steps).
  int max_iter = 200;
  // Most evaluations of g, line searches and finite differences included.
  int max_function_evaluations = 2000;
  // A method stops with kStalled when its step (trust radius, line-search
  // step) falls below x_tol * (||x|| + x_tol): rounding then hides any
  // further decrease of ||g||.
  double x_tol = 1e-14;
  // With progress_window > 0: kStalled when the best ||g|| has not fallen
  // below progress_factor times its value progress_window steps earlier (a
  // method crawling through a region it cannot leave). 0 turns it off; the
  // polyalgorithm sets it for its attempts so that a crawling method leaves
  // its budget to the next one.
  int progress_window = 0;
  double progress_factor = 0.5;
  // kDiverged when ||g(x_k)|| > divergence_ratio * min_{j<k} ||g(x_j)||: only
  // non-monotone methods (Newton without line search) can get there.
  double divergence_ratio = 1e8;
  JacobianMethod jacobian = JacobianMethod::kAutomatic;
  // The nonzero pattern of dg/dx (n x n; its structure, values ignored),
  // when known. Newton then forms a sparse Jacobian by column colouring and
  // forward-mode AD (diff/sparse_jacobian.hpp: ~2 dual passes of g for a
  // stencil, whatever n) and factorises it sparsely (linear/sparse_lu.hpp),
  // never an n x n dense matrix, and the default polyalgorithm runs only
  // Newton and Newton-Raphson (its other methods are dense). Empty (the
  // default): the pattern is traced from g (diff/sparsity_detection.hpp)
  // when detect_sparsity's rule says so, at n >= 250 with at most 5 % of n
  // nonzeros in every row, by the default polyalgorithm and by Newton when
  // it has no linear solver named; else dense Jacobians. Needs the
  // implicit::precompiled target (IMPLICIT_SPARSE: the colouring is
  // ColPack's); without it nothing is traced.
  SparsityPattern sparsity;
  SparsityDetection detect_sparsity;
  // Keep ||g(x_k)|| of every accepted point in the result.
  bool record_history = true;

  // Throws std::invalid_argument naming the first field that makes no sense.
  void validate() const {
    detect_sparsity.validate("SystemOptions::detect_sparsity");
    if (!(abs_tol >= 0) || !std::isfinite(abs_tol))
      throw std::invalid_argument("SystemOptions::abs_tol must be finite and >= 0, got " +
                                  std::to_string(abs_tol));
    if (!(rel_tol >= 0) || !std::isfinite(rel_tol))
      throw std::invalid_argument("SystemOptions::rel_tol must be finite and >= 0, got " +
                                  std::to_string(rel_tol));
    if (abs_tol == 0 && rel_tol == 0)
      throw std::invalid_argument(
          "SystemOptions: abs_tol and rel_tol are both 0; the solve could never converge");
    if (max_iter < 0)
      throw std::invalid_argument("SystemOptions::max_iter must be >= 0, got " +
                                  std::to_string(max_iter));
    if (max_function_evaluations < 1)
      throw std::invalid_argument("SystemOptions::max_function_evaluations must be >= 1, got " +
                                  std::to_string(max_function_evaluations));
    if (!(x_tol >= 0) || !std::isfinite(x_tol))
      throw std::invalid_argument("SystemOptions::x_tol must be finite and >= 0, got " +
                                  std::to_string(x_tol));
    internal::validate_progress_rule("SystemOptions", progress_window, progress_factor);
    if (!(divergence_ratio > 1))
      throw std::invalid_argument("SystemOptions::divergence_ratio must be > 1, got " +
                                  std::to_string(divergence_ratio));
    if (jacobian != JacobianMethod::kAutomatic && jacobian != JacobianMethod::kFiniteDifference)
      throw std::invalid_argument("SystemOptions::jacobian is not a JacobianMethod, got " +
                                  std::to_string(static_cast<int>(jacobian)));
  }
};

}  // namespace implicit
