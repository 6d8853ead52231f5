#pragma once
// Runs a method of system/ over the standard problem sets and checks every
// status against the returned point itself.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "implicit.hpp"
#include "implicit/problems/nonlinear_systems.hpp"

namespace implicit::testing {

struct SetScore {
  int runs = 0;
  int solved = 0;        // ||g(x)||_2 <= 1e-8 on the returned x (the MGH benchmarks' criterion)
  int dishonest = 0;     // ok() but the caller's own check ||g(x)|| <= abs_tol fails
  long evaluations = 0;  // g evaluations over the solved runs
  std::vector<std::string> failed;
};

// Every instance from each start factor (MINPACK's 1, 10, 100 x x0).
template <class Method>
SetScore score(const Method& method, const std::vector<SystemInstance>& set,
               const std::vector<double>& factors) {
  SystemOptions options;
  options.abs_tol = 1e-10;
  options.max_function_evaluations = 1000;
  SetScore s;
  for (const auto& instance : set)
    for (double factor : factors) {
      const auto r = solve_root(instance.g, scaled_start(instance, factor), method, options);
      ++s.runs;
      const double check = instance.g(r.x).norm();  // the caller's own check
      // The promise: converged means the returned x meets the tolerance, and
      // residual_norm is ||g(x)|| of that x.
      if (r.ok() && !(check <= options.abs_tol)) ++s.dishonest;
      EXPECT_EQ(check, r.residual_norm)
          << instance.name << " x" << factor << ": " << r.brief_report();
      if (check <= 1e-8) {
        ++s.solved;
        s.evaluations += r.function_evaluations;
      } else {
        s.failed.push_back(instance.name + " x" + std::to_string(static_cast<int>(factor)) + " (" +
                           to_string(r.status) + ")");
      }
    }
  return s;
}

inline std::string list(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

}  // namespace implicit::testing
