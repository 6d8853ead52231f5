#pragma once
// What a linear solve (dense or iterative) returns.

#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "implicit/status.hpp"

namespace implicit {

template <class Solution>
struct [[nodiscard]] LinearSolveResult {
  Solution x;
  Status status = Status::kLinearSolveFailed;
  int iterations = 0;        // matrix-vector products (iterative) or 0 (dense)
  double residual_norm = 0;  // ||A x - b||, computed afresh: the certificate
  std::string method;
  std::string message;
  // Batched solves (GMRES on a tensor of B samples): each sample's own
  // outcome, so that one sample's NaN or stagnation fails that sample only.
  // `status` is then the first failure among them (kConverged when none).
  // Empty for single-vector solves.
  std::vector<Status> sample_status;
  std::vector<double> sample_residual;
  // Per sample, the products it needed, when that differs between samples
  // (an iteration stops each sample on its own); empty: `iterations` each.
  std::vector<int> sample_iterations;

  bool ok() const { return status == Status::kConverged; }
  std::string brief_report() const {
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s: %s after %d iterations, residual %.3e", method.c_str(),
                  to_string(status), iterations, residual_norm);
    return message.empty() ? std::string(buf) : std::string(buf) + ": " + message;
  }
};

namespace internal {

// A batched Krylov solve's outcome from its samples' (gmres, bicgstab and
// the tensor layer's GMRES kernel): the first failure in order of severity
// (kMaxIterations, kLinearSolveFailed, kNonFinite), kConverged when none,
// with the worst sample's numbers in the message. `failure` says what a
// kLinearSolveFailed sample met ("stagnated", "broke down") and `hint`
// what that may mean.
struct KrylovOutcome {
  Status status = Status::kConverged;
  std::string message;
};
inline KrylovOutcome krylov_outcome(const std::vector<Status>& samples, double worst_residual,
                                    double worst_target, int products, const char* failure,
                                    const char* hint) {
  KrylovOutcome out;
  for (Status worst : {Status::kMaxIterations, Status::kLinearSolveFailed, Status::kNonFinite})
    for (Status s : samples)
      if (s == worst) out.status = worst;
  char buf[200];
  if (out.status == Status::kMaxIterations) {
    std::snprintf(buf, sizeof buf, "residual %.3e above %.3e after %d products", worst_residual,
                  worst_target, products);
    out.message = buf;
  } else if (out.status == Status::kLinearSolveFailed) {
    std::snprintf(buf, sizeof buf, "%s at residual %.3e (target %.3e)%s", failure, worst_residual,
                  worst_target, hint);
    out.message = buf;
  } else if (out.status == Status::kNonFinite) {
    out.message = "A x produced NaN or Inf";
  }
  return out;
}

}  // namespace internal

}  // namespace implicit
