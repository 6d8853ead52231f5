#pragma once
// Whether a solver can turn its final state into an estimate of the
// inverse transposed Jacobian of its problem: (I - df/dz)^{-T} for a fixed
// point (FixedPointResult::transposed_inverse), (dg/dx)^{-T} for a root
// (SystemResult::transposed_inverse). Both drivers ask the same question of
// their solvers when a solve converges; the IFT entry points precondition
// the adjoint solve with the answer (AdjointOptions::reuse_forward).

#include <type_traits>
#include <utility>

namespace implicit::internal {

template <class Solver, class State, class = void>
struct keeps_inverse_estimate : std::false_type {};
template <class Solver, class State>
struct keeps_inverse_estimate<Solver, State,
                              std::void_t<decltype(std::declval<const Solver&>().transposed_inverse(
                                  std::declval<State&&>()))>> : std::true_type {};

}  // namespace implicit::internal
