#pragma once
// Unrolled differentiation: reverse mode through every step of forward
// iteration z_{k+1} = f(theta, z_k), the reference the implicit (IFT)
// gradients are tested against.
//
// The forward pass records every iterate z_0 .. z_K (memory O(K n), which is
// the cost the IFT path avoids); the backward pass runs
//
//     a <- zbar;  for k = K .. 0:  thetabar += (df/dtheta)(z_k)^T a,
//                                   a        <- (df/dz)(z_k)^T a
//
// and returns thetabar and z0bar = a. This is the exact derivative of the
// truncated iteration, so it matches the IFT gradient up to the forward
// solver's residual (both converge to dz*/dtheta at the same linear rate).

#include <string>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/parametric.hpp"
#include "implicit/fixed_point/forward_iteration.hpp"
#include "implicit/fixed_point/solve.hpp"

namespace implicit {

template <class T>
struct [[nodiscard]] UnrolledVjpResult {
  FixedPointResult<VectorX<T>> forward;  // the solve that was differentiated
  VectorX<T> theta_bar;                  // dL/dtheta through every iteration
  VectorX<T> z0_bar;                     // dL/dz0
  std::size_t tape_bytes = 0;            // memory held by the recorded iterates
  bool ok() const { return forward.ok(); }
};

// Differentiates L(z_K) with dL/dz_K = zbar after forward iteration from z0.
// The forward status is reported as is; a non-converged solve still yields
// the exact derivative of the iterations that ran (that is the point of
// unrolling), and the caller decides whether it is meaningful.
template <class Map, class T>
UnrolledVjpResult<T> unrolled_vjp(const Map& map, const VectorX<T>& theta, const VectorX<T>& z0,
                                  const VectorX<T>& zbar, const FixedPointOptions& options = {}) {
  const auto f_of_z = bind_theta(map, theta);
  std::vector<VectorX<T>> tape;
  auto recording = [&](const VectorX<T>& z) -> VectorX<T> {
    tape.push_back(z);
    return f_of_z(z);
  };
  UnrolledVjpResult<T> out{
      solve_fixed_point(recording, z0, ForwardIteration(), options), {}, {}, 0};
  if (zbar.size() != z0.size())
    throw std::invalid_argument("unrolled_vjp: zbar has size " + std::to_string(zbar.size()) +
                                ", expected " + std::to_string(z0.size()));
  // The returned point is one of the recorded iterates z_j (z_K when it
  // converged, the best iterate otherwise): the calls that produced z_1 ..
  // z_j are the links of the chain, and the calls after it are not.
  std::size_t j = tape.size();  // x = tape[j - 1] after the search, i.e. x = z_{j-1}
  while (j > 0 && !(tape[j - 1] == out.forward.x)) --j;
  VectorX<T> a = zbar;
  out.theta_bar = VectorX<T>::Zero(theta.size());
  for (std::size_t i = j > 0 ? j - 1 : 0; i-- > 0;) {  // the calls at z_{j-2}, ..., z_0
    out.theta_bar += internal::checked_size(vjp(bind_state(map, tape[i]), theta, a), theta.size(),
                                            "unrolled_vjp", "(df/dtheta)^T a");
    a = internal::checked_size(vjp(f_of_z, tape[i], a), z0.size(), "unrolled_vjp", "(df/dz)^T a");
  }
  out.z0_bar = std::move(a);
  out.tape_bytes = tape.size() * static_cast<std::size_t>(z0.size()) * sizeof(T);
  return out;
}

}  // namespace implicit
