#pragma once
// A parametric map f(theta, z) seen as a function of z (theta fixed) or of
// theta (z fixed), so the solvers and the AD glue only ever see unary maps.
//
// The user writes f once, templated on the scalar type:
//
//   struct Layer {
//     template <class T>
//     implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
//                                     const implicit::VectorX<T>& z) const;
//   };
//
// and may add hand-written derivatives, each optional and each used by the
// matching binder below when present:
//   jacobian_z(theta, z), jvp_z(theta, z, v), vjp_z(theta, z, u),
//   jacobian_theta(theta, z), jvp_theta(theta, z, v), vjp_theta(theta, z, u).

#include <type_traits>
#include <utility>

#include "implicit/diff/autodiff.hpp"

namespace implicit {

// z -> f(theta, z). Holds references: theta and f must outlive it.
template <class Map, class T>
class BoundTheta {
 public:
  BoundTheta(const Map& map, const VectorX<T>& theta) : map_(map), theta_(theta) {}

  template <class S>
  VectorX<S> operator()(const VectorX<S>& z) const {
    if constexpr (std::is_same_v<S, T>) {
      return map_(theta_, z);
    } else {
      const VectorX<S> theta = theta_.template cast<S>();  // constant w.r.t. z
      return map_(theta, z);
    }
  }

  template <class M = Map>
  auto jacobian(const VectorX<T>& z) const
      -> decltype(std::declval<const M&>().jacobian_z(std::declval<const VectorX<T>&>(), z)) {
    return map_.jacobian_z(theta_, z);
  }
  template <class M = Map>
  auto jvp(const VectorX<T>& z, const VectorX<T>& v) const
      -> decltype(std::declval<const M&>().jvp_z(std::declval<const VectorX<T>&>(), z, v)) {
    return map_.jvp_z(theta_, z, v);
  }
  template <class M = Map>
  auto vjp(const VectorX<T>& z, const VectorX<T>& u) const
      -> decltype(std::declval<const M&>().vjp_z(std::declval<const VectorX<T>&>(), z, u)) {
    return map_.vjp_z(theta_, z, u);
  }

 private:
  const Map& map_;
  const VectorX<T>& theta_;
};

// theta -> f(theta, z). Holds references: z and f must outlive it.
template <class Map, class T>
class BoundState {
 public:
  BoundState(const Map& map, const VectorX<T>& z) : map_(map), z_(z) {}

  template <class S>
  VectorX<S> operator()(const VectorX<S>& theta) const {
    if constexpr (std::is_same_v<S, T>) {
      return map_(theta, z_);
    } else {
      const VectorX<S> z = z_.template cast<S>();  // constant w.r.t. theta
      return map_(theta, z);
    }
  }

  template <class M = Map>
  auto jacobian(const VectorX<T>& theta) const
      -> decltype(std::declval<const M&>().jacobian_theta(theta,
                                                          std::declval<const VectorX<T>&>())) {
    return map_.jacobian_theta(theta, z_);
  }
  template <class M = Map>
  auto jvp(const VectorX<T>& theta, const VectorX<T>& v) const
      -> decltype(std::declval<const M&>().jvp_theta(theta, std::declval<const VectorX<T>&>(), v)) {
    return map_.jvp_theta(theta, z_, v);
  }
  template <class M = Map>
  auto vjp(const VectorX<T>& theta, const VectorX<T>& u) const
      -> decltype(std::declval<const M&>().vjp_theta(theta, std::declval<const VectorX<T>&>(), u)) {
    return map_.vjp_theta(theta, z_, u);
  }

 private:
  const Map& map_;
  const VectorX<T>& z_;
};

template <class Map, class T>
BoundTheta<Map, T> bind_theta(const Map& map, const VectorX<T>& theta) {
  return {map, theta};
}

template <class Map, class T>
BoundState<Map, T> bind_state(const Map& map, const VectorX<T>& z) {
  return {map, z};
}

}  // namespace implicit
