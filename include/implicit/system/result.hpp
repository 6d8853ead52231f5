#pragma once
// What a solve of g(x) = 0 returns: the point, why it stopped, what it cost.

#include <cstdio>
#include <string>
#include <vector>

#include "implicit/linear/inverse_operators.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class Vector>
struct [[nodiscard]] SystemResult {
  Vector x;  // converged: a point with ||g(x)|| <= tolerance; otherwise the best point seen
  Status status = Status::kMaxIterations;
  int iterations = 0;                    // steps of the method (trial steps)
  int function_evaluations = 0;          // calls of g (line searches, finite differences too)
  int jacobian_evaluations = 0;          // dense Jacobians formed (AD or a jacobian member)
  int jacobian_products = 0;             // matrix-free products J v (Newton-Krylov's GMRES)
  double residual_norm = 0;              // ||g(x)||_2 at the returned x
  std::vector<double> residual_history;  // ||g|| at x0 and at every accepted point
  std::string method;                    // the method that produced x
  std::string message;                   // why it stopped, with the numbers; every attempt
  // Solves with dg/dx near x from the solver's own workspace: Newton on the
  // sparse path keeps its last sparse LU (of J at the step before x).
  // root_vjp(g, theta, result, xbar) preconditions its adjoint solve with it
  // (AdjointOptions::reuse_forward) instead of factorising (dg/dx)^T again,
  // and checks the answer's sensitivity to the forward error with it; the
  // answer is certified like any other. Set only when converged, by solvers
  // that keep a factorisation; empty otherwise. It keeps the factors alive
  // as long as the result (about nnz(L + U)).
  InverseOperators<Vector> jacobian_solves;  // with A = dg/dx

  bool ok() const { return status == Status::kConverged; }

  std::string brief_report() const {
    char buf[240];
    std::snprintf(buf, sizeof buf,
                  "%s: %s after %d iterations (%d g evaluations, %d Jacobians, %d Jacobian "
                  "products), ||g(x)|| %.3e",
                  method.c_str(), to_string(status), iterations, function_evaluations,
                  jacobian_evaluations, jacobian_products, residual_norm);
    return message.empty() ? std::string(buf) : std::string(buf) + ": " + message;
  }
};

}  // namespace implicit
