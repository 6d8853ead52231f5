#pragma once
// Why a solve stopped. Numerical outcomes are statuses the caller must read;
// programming errors (bad shapes, NaN in inputs, invalid options) throw.

#include <ostream>
#include <string>

namespace implicit {

enum class Status {
  kConverged,          // the stopping rule held
  kMaxIterations,      // max_iter reached before the stopping rule held
  kDiverged,           // residual grew past divergence_ratio x its best value
  kNonFinite,          // f (or a residual) produced NaN or Inf
  kLinearSolveFailed,  // an inner linear system was singular or did not converge
  kInvalidBracket,     // a root bracket did not bracket, or none could be found
  kStalled,            // no step can reduce ||g|| any more: a local minimum of ||g||
                       // that is not a root, or a tolerance below rounding level
  kNotASolution,       // an implicit derivative was asked at a point that is no
                       // fixed point (root) to AdjointOptions::solution_tol
  kApproximate,        // an approximation returned by request (a Jacobian-free or
                       // phantom gradient): finite, but nothing was solved, so no
                       // tolerance holds; never reported for a solve
  kRoundingFloor,      // a system solve stalled with ||g|| at the rounding level of g
                       // itself (g's spread under a few-ulp change of x): the
                       // tolerance is below what g resolves there. The point is as
                       // close to a root as g can tell, but the tolerance does not hold
};

inline const char* to_string(Status status) {
  switch (status) {
    case Status::kConverged:
      return "converged";
    case Status::kMaxIterations:
      return "max_iterations";
    case Status::kDiverged:
      return "diverged";
    case Status::kNonFinite:
      return "non_finite";
    case Status::kLinearSolveFailed:
      return "linear_solve_failed";
    case Status::kInvalidBracket:
      return "invalid_bracket";
    case Status::kStalled:
      return "stalled";
    case Status::kNotASolution:
      return "not_a_solution";
    case Status::kApproximate:
      return "approximate";
    case Status::kRoundingFloor:
      return "rounding_floor";
  }
  return "unknown";
}

inline std::ostream& operator<<(std::ostream& os, Status status) { return os << to_string(status); }

}  // namespace implicit
