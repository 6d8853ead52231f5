#pragma once
// Shared by the fixed-point and gradient benchmarks: the reference problem of
// docs/reference-systems.md section 1 per size (built once) and docs/peers.md's
// tolerance.

#include <map>

#include "implicit.hpp"

namespace bench {

inline const implicit::TanhProblem& problem(int n) {
  static std::map<int, implicit::TanhProblem> cache;
  auto it = cache.find(n);
  if (it == cache.end()) it = cache.emplace(n, implicit::make_reference_tanh_problem(n, 0)).first;
  return it->second;
}

// About 1e-8 relative / 1e-10 absolute, as the peers were measured.
inline implicit::FixedPointOptions tolerance() {
  implicit::FixedPointOptions options;
  options.rel_tol = 1e-8;
  options.abs_tol = 1e-10;
  return options;
}

}  // namespace bench
