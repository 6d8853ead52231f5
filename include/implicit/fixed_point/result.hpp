#pragma once
// What a fixed-point solve returns: the point and why it stopped.

#include <cstdio>
#include <string>
#include <vector>

#include "implicit/linear/inverse_operators.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class Vector>
struct [[nodiscard]] FixedPointResult {
  Vector x;  // converged: the iterate z_k that passed the test; otherwise the best iterate
  Status status = Status::kMaxIterations;
  int iterations = 0;                    // solver steps taken
  int function_evaluations = 0;          // calls of f (Newton's Jacobian counts separately)
  int jacobian_evaluations = 0;          // dense Jacobians formed (Newton's dense steps)
  int jacobian_products = 0;             // matrix-free products (df/dz) v (Newton's GMRES)
  double residual_norm = 0;              // ||f(x) - x|| at the returned x
  std::vector<double> residual_history;  // r_0, r_1, ... (when recorded)
  std::string solver;                    // which solver produced it
  std::string message;                   // why it stopped, with the numbers
  // Solves with approximately I - df/dz near x, either way, from the
  // solver's own workspace: Newton with a dense LU, its last factorisation
  // (of the step before x); Broyden, minus its inverse estimate (as in
  // SHINE, Ramzi et al. 2022). fixed_point_vjp(map, theta, result, zbar)
  // preconditions the adjoint solve with the transposed solve
  // (AdjointOptions::reuse_forward) and checks the answer's sensitivity to
  // the forward error with both; the answer is certified like any other.
  // Set only when converged, and only by solvers that keep such an
  // estimate; empty otherwise.
  InverseOperators<Vector> inverse_estimate;

  bool ok() const { return status == Status::kConverged; }

  std::string brief_report() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: %s after %d iterations (%d f evaluations), residual %.3e",
                  solver.c_str(), to_string(status), iterations, function_evaluations,
                  residual_norm);
    return message.empty() ? std::string(buf) : std::string(buf) + ": " + message;
  }
};

}  // namespace implicit
