#pragma once
// What a scalar root solve returns: the root, the final bracket around it,
// and why it stopped.

#include <string>

#include "implicit/root/options.hpp"
#include "implicit/status.hpp"

namespace implicit {

template <class T>
struct [[nodiscard]] ScalarRootResult {
  // The estimate of the root: whichever end of the final bracket has the
  // smaller |g| (an exact zero when one was hit). On failure, the best point
  // known so far (lower when no bracket was ever formed).
  T x = T(0);
  Status status = Status::kMaxIterations;
  // Steps inside the bracket (one g evaluation each); bracket growth and the
  // evaluations at the two given ends are not steps.
  int iterations = 0;
  // Every call of g: the given ends, bracket growth and the steps.
  int function_evaluations = 0;
  // Trial right ends tried by find_root_increasing (0 for find_root).
  int bracket_expansions = 0;
  // Final bracket: the root lies in [lower, upper] when status is kConverged
  // or kMaxIterations (lower == upper == x after an exact zero).
  T lower = T(0);
  T upper = T(0);
  // g(x) (NaN if x was never evaluated, as after an invalid bracket).
  T residual = T(0);
  ScalarRootMethod method = ScalarRootMethod::kToms748;
  // Why it stopped, with the numbers (empty is never returned on failure).
  std::string message;

  bool ok() const { return status == Status::kConverged; }

  // One line: method, status, counts, x, residual, bracket and the message.
  std::string brief_report() const {
    std::string s = std::string(to_string(method)) + ": " + to_string(status) + " after " +
                    std::to_string(iterations) + " iterations (" +
                    std::to_string(function_evaluations) +
                    " g evaluations), x = " + internal::format_number(x) +
                    ", g(x) = " + internal::format_number(residual) + ", bracket [" +
                    internal::format_number(lower) + ", " + internal::format_number(upper) + "]";
    return message.empty() ? s : s + ": " + message;
  }
};

}  // namespace implicit
