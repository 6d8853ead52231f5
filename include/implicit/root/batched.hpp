#pragma once
// Many independent increasing scalar roots at once: each element gets its
// own bracket, its own iteration count and its own status, so one element
// that fails (no bracket, NaN) is reported on its own row instead of hiding
// in a batch-wide norm (see docs/peers.md on batched fixed points). Serial on
// purpose: one root costs well under a microsecond, and threading belongs to
// the caller, who knows the machine.

#include <cstddef>
#include <vector>

#include "implicit/root/find_root.hpp"
#include "implicit/root/options.hpp"
#include "implicit/root/result.hpp"
#include "implicit/status.hpp"

namespace implicit {

// For i = 0 .. count-1, the root x_i >= lower of the increasing function
// x -> g(i, x) with g(i, lower) <= 0, exactly as find_root_increasing would
// find it one at a time (same evaluations, same result).
// g: callable (std::size_t i, T x) -> T.
// Cost: count independent find_root_increasing solves; one allocation for
// the returned vector.
// Fails per element through its status (see find_root_increasing); the
// other elements are unaffected. Throws std::invalid_argument for invalid
// options or a NaN lower (before any g evaluation).
template <class T, class G>
std::vector<ScalarRootResult<T>> find_roots_increasing(G&& g, T lower, std::size_t count,
                                                       const ScalarRootOptions& options = {}) {
  options.validate();
  internal::require_not_nan(lower, "lower");
  std::vector<ScalarRootResult<T>> results;
  results.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    results.push_back(find_root_increasing([&g, i](T x) { return g(i, x); }, lower, options));
  return results;
}

// True when every result converged.
template <class T>
bool all_converged(const std::vector<ScalarRootResult<T>>& results) {
  for (const auto& r : results)
    if (!r.ok()) return false;
  return true;
}

}  // namespace implicit
