#pragma once
// A map's derivatives at one point, sharing what they have in common.
//
// A map f(theta, z) may offer, besides the per-call members of
// parametric.hpp, a member
//
//   template <class T>
//   Linearization<T> linearize(const VectorX<T>& theta, const VectorX<T>& z) const;
//
// returning an object (any type) with any of
//
//   jacobian_z(), jvp_z(v), vjp_z(u), jvp_theta(dtheta), vjp_theta(u)
//
// all at that one point. Why: an implicit derivative takes many products at
// the same z* (a GMRES adjoint: tens of (df/dz)^T u), and each per-call
// member recomputes what depends on z alone. For tanh(W z + x) that is the
// slope 1 - f(z)^2, an f evaluation per product, so a linearization halves
// the cost of every product (one matrix-vector product instead of two). The
// object may hold references into theta, which outlives it.
//
// Who uses it: the adjoint products of fixed_point_vjp / root_vjp
// (adjoint/adjoint_products.hpp), fixed_point_jvp, and Newton's step on
// Eigen vectors (through BoundTheta::linearize). A member the linearization
// lacks falls back to the map's per-call member, then to AD, as before.

#include <optional>
#include <type_traits>
#include <utility>

#include "implicit/diff/autodiff.hpp"

namespace implicit::internal {

template <class Map, class T, class = void>
struct has_linearize : std::false_type {};
template <class Map, class T>
struct has_linearize<Map, T,
                     std::void_t<decltype(std::declval<const Map&>().linearize(
                         std::declval<const VectorX<T>&>(), std::declval<const VectorX<T>&>()))>>
    : std::true_type {};

template <class Map, class T, bool = has_linearize<Map, T>::value>
struct LinearizationOf {
  using type = void;
};
template <class Map, class T>
struct LinearizationOf<Map, T, true> {
  using type = std::decay_t<decltype(std::declval<const Map&>().linearize(
      std::declval<const VectorX<T>&>(), std::declval<const VectorX<T>&>()))>;
};

// Which point members a linearization L has (L = void: none).
template <class L, class T, class = void>
struct point_jacobian_z : std::false_type {};
template <class L, class T>
struct point_jacobian_z<L, T, std::void_t<decltype(std::declval<const L&>().jacobian_z())>>
    : std::true_type {};
#define IMPLICIT_DETECT_POINT_PRODUCT(member)                                             \
  template <class L, class T, class = void>                                               \
  struct point_##member : std::false_type {};                                             \
  template <class L, class T>                                                             \
  struct point_##member<                                                                  \
      L, T, std::void_t<decltype(std::declval<const L&>().member(std::declval<const VectorX<T>&>()))>> \
      : std::true_type {};
IMPLICIT_DETECT_POINT_PRODUCT(jvp_z)
IMPLICIT_DETECT_POINT_PRODUCT(vjp_z)
IMPLICIT_DETECT_POINT_PRODUCT(jvp_theta)
IMPLICIT_DETECT_POINT_PRODUCT(vjp_theta)
#undef IMPLICIT_DETECT_POINT_PRODUCT

// The map's linearization at (theta, z), made on first use (it usually
// costs one evaluation of f) and kept. theta and z are held by reference.
template <class Map, class T>
class PointLinearization {
 public:
  using Linearization = typename LinearizationOf<Map, T>::type;
  static constexpr bool kAny = has_linearize<Map, T>::value;
  static constexpr bool kJacobianZ = point_jacobian_z<Linearization, T>::value;
  static constexpr bool kJvpZ = point_jvp_z<Linearization, T>::value;
  static constexpr bool kVjpZ = point_vjp_z<Linearization, T>::value;
  static constexpr bool kJvpTheta = point_jvp_theta<Linearization, T>::value;
  static constexpr bool kVjpTheta = point_vjp_theta<Linearization, T>::value;

  PointLinearization(const Map& map, const VectorX<T>& theta, const VectorX<T>& z)
      : map_(map), theta_(theta), z_(z) {}

  // Only called where the matching k* flag holds.
  const auto& get() const {
    if constexpr (kAny) {
      if (!value_) value_.emplace(map_.linearize(theta_, z_));
      return *value_;
    } else {
      return map_;  // never used: every k* flag is false
    }
  }

 private:
  const Map& map_;
  const VectorX<T>& theta_;
  const VectorX<T>& z_;
  mutable std::conditional_t<kAny, std::optional<Linearization>, std::optional<char>> value_;
};

}  // namespace implicit::internal
