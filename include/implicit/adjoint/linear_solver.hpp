#pragma once
// The linear solvers implicit differentiation can use, as values: the set a
// chain (AdjointOptions::solvers) is made of. Each is a value type with its
// own options (linear/linear_system.hpp says what it provides); adding one
// is its header plus one entry in this list.

#include <string>
#include <type_traits>
#include <variant>

#include "implicit/fixed_point/linear_iteration.hpp"
#include "implicit/linear/bicgstab.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"
#include "implicit/linear/sparse_lu.hpp"

namespace implicit {

using LinearSolver =
    std::variant<DenseLU, SparseLU, Gmres, BiCGStab, FixedPointIteration, AndersonIteration>;

inline std::string to_string(const LinearSolver& solver) {
  return std::visit([](const auto& s) { return std::string(s.name()); }, solver);
}

// Whether the solver needs a fixed-point system u = K u + b.
inline bool needs_fixed_point_form(const LinearSolver& solver) {
  return std::holds_alternative<FixedPointIteration>(solver) ||
         std::holds_alternative<AndersonIteration>(solver);
}

template <class Solver>
bool chain_has(const std::vector<LinearSolver>& chain) {
  for (const LinearSolver& s : chain)
    if (std::holds_alternative<Solver>(s)) return true;
  return false;
}

}  // namespace implicit
