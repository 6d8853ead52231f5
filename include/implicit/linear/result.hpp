#pragma once
// What a linear solve (dense or iterative) returns.

#include <cstdio>
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

}  // namespace implicit
