#pragma once
// What one solver step reports back to its driver loop (fixed_point/solve.hpp,
// system/solve.hpp): whether it went fine and what it cost.

#include <string>
#include <vector>

#include "implicit/status.hpp"

namespace implicit {

struct StepReport {
  Status status = Status::kConverged;  // kConverged: the step went fine
  std::string message;                 // why it failed, when it did
  int function_evaluations = 0;        // extra f calls made inside the step
  int jacobian_evaluations = 0;        // Jacobians formed inside the step (dense, n x n)
  int jacobian_products = 0;           // products J v or J^T u without a Jacobian (Krylov)
  // Batched steps only: when not empty, the failure (status, message)
  // concerns these samples alone; the step went fine for every other one.
  std::vector<long> failed_samples;
};

}  // namespace implicit
