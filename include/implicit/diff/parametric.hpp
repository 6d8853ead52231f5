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
//   jacobian_theta(theta, z), jvp_theta(theta, z, v), vjp_theta(theta, z, u),
// and linearize(theta, z), the same derivatives at one point sharing their
// common work (diff/linearization.hpp).

#include <string>
#include <type_traits>
#include <utility>

#include "implicit/diff/autodiff.hpp"

namespace implicit {

namespace internal {
// Detection of each hand-written member as the binders call it: on a const
// map, with const VectorX<T>& arguments (has_<member>); and of the same name
// callable only on a non-const map or with non-const arguments
// (has_loose_<member>), a near miss the library would otherwise ignore.
// strict_args / loose_args: the two calls' parenthesised argument lists.
#define IMPLICIT_DETECT_MEMBER(member, strict_args, loose_args)                                    \
  template <class Map, class T, class = void>                                                      \
  struct has_##member : std::false_type {};                                                        \
  template <class Map, class T>                                                                    \
  struct has_##member<Map, T,                                                                      \
                      std::void_t<decltype(std::declval<const Map&>().member strict_args)>>        \
      : std::true_type {};                                                                         \
  template <class Map, class T, class = void>                                                      \
  struct has_loose_##member : std::false_type {};                                                  \
  template <class Map, class T>                                                                    \
  struct has_loose_##member<Map, T, std::void_t<decltype(std::declval<Map&>().member loose_args)>> \
      : std::true_type {};
#define IMPLICIT_ARG std::declval<const VectorX<T>&>()
#define IMPLICIT_LOOSE_ARG std::declval<VectorX<T>&>()
#define IMPLICIT_TWO(a) (a, a)
#define IMPLICIT_THREE(a) (a, a, a)
IMPLICIT_DETECT_MEMBER(jacobian_z, IMPLICIT_TWO(IMPLICIT_ARG), IMPLICIT_TWO(IMPLICIT_LOOSE_ARG))
IMPLICIT_DETECT_MEMBER(jacobian_theta, IMPLICIT_TWO(IMPLICIT_ARG), IMPLICIT_TWO(IMPLICIT_LOOSE_ARG))
IMPLICIT_DETECT_MEMBER(jvp_z, IMPLICIT_THREE(IMPLICIT_ARG), IMPLICIT_THREE(IMPLICIT_LOOSE_ARG))
IMPLICIT_DETECT_MEMBER(vjp_z, IMPLICIT_THREE(IMPLICIT_ARG), IMPLICIT_THREE(IMPLICIT_LOOSE_ARG))
IMPLICIT_DETECT_MEMBER(jvp_theta, IMPLICIT_THREE(IMPLICIT_ARG), IMPLICIT_THREE(IMPLICIT_LOOSE_ARG))
IMPLICIT_DETECT_MEMBER(vjp_theta, IMPLICIT_THREE(IMPLICIT_ARG), IMPLICIT_THREE(IMPLICIT_LOOSE_ARG))
#undef IMPLICIT_DETECT_MEMBER
#undef IMPLICIT_ARG
#undef IMPLICIT_LOOSE_ARG
#undef IMPLICIT_TWO
#undef IMPLICIT_THREE
}  // namespace internal

// Which hand-written derivative members of a map f(theta, z) the library
// detects and uses (for scalar T). A member that exists but is not callable
// as above (e.g. missing `const`) is a compile error, never silently
// ignored; static_assert(derivative_members<Map>::vjp_theta) makes sure a
// fast path is taken.
template <class Map, class T = double>
struct derivative_members {
  static constexpr bool jacobian_z = internal::has_jacobian_z<Map, T>::value;
  static constexpr bool jvp_z = internal::has_jvp_z<Map, T>::value;
  static constexpr bool vjp_z = internal::has_vjp_z<Map, T>::value;
  static constexpr bool jacobian_theta = internal::has_jacobian_theta<Map, T>::value;
  static constexpr bool jvp_theta = internal::has_jvp_theta<Map, T>::value;
  static constexpr bool vjp_theta = internal::has_vjp_theta<Map, T>::value;

  // e.g. "jacobian_z vjp_z vjp_theta", or "none".
  static std::string list() {
    std::string out;
    auto add = [&](bool present, const char* name) {
      if (present) out += (out.empty() ? "" : " ") + std::string(name);
    };
    add(jacobian_z, "jacobian_z");
    add(jvp_z, "jvp_z");
    add(vjp_z, "vjp_z");
    add(jacobian_theta, "jacobian_theta");
    add(jvp_theta, "jvp_theta");
    add(vjp_theta, "vjp_theta");
    return out.empty() ? "none" : out;
  }

 private:
  // A member found only loosely (see internal::has_loose_*) is refused.
#define IMPLICIT_NO_NEAR_MISS(member, call)                             \
  static_assert(member || !internal::has_loose_##member<Map, T>::value, \
                "implicit: the map's " call                             \
                " cannot be called on a const map with const "          \
                "VectorX<T>& arguments (is it missing `const`?); it would be ignored");
  IMPLICIT_NO_NEAR_MISS(jacobian_z, "jacobian_z(theta, z)")
  IMPLICIT_NO_NEAR_MISS(jvp_z, "jvp_z(theta, z, v)")
  IMPLICIT_NO_NEAR_MISS(vjp_z, "vjp_z(theta, z, u)")
  IMPLICIT_NO_NEAR_MISS(jacobian_theta, "jacobian_theta(theta, z)")
  IMPLICIT_NO_NEAR_MISS(jvp_theta, "jvp_theta(theta, z, v)")
  IMPLICIT_NO_NEAR_MISS(vjp_theta, "vjp_theta(theta, z, u)")
#undef IMPLICIT_NO_NEAR_MISS
};

namespace internal {
// f(theta, z) on vectors of S: a plain-language error when f is not
// templated on the scalar (automatic derivatives call it on dual numbers
// and tape variables), instead of Eigen's "cannot convert".
template <class R, class = void>
struct ScalarOf {
  using type = void;
};
template <class R>
struct ScalarOf<R, std::void_t<typename R::Scalar>> {
  using type = typename R::Scalar;
};
template <class Map, class S, class = void>
struct returns_scalar : std::false_type {};
// Callable, and returns vectors of S: a functor written for double only is
// also "callable" (Eigen's converting constructor accepts any vector), but
// returns doubles.
template <class Map, class S>
struct returns_scalar<
    Map, S, std::enable_if_t<std::is_invocable_v<const Map&, const VectorX<S>&, const VectorX<S>&>>>
    : std::is_same<typename ScalarOf<std::decay_t<std::invoke_result_t<
                       const Map&, const VectorX<S>&, const VectorX<S>&>>>::type,
                   S> {};

template <class Map, class S>
void check_callable_on() {
  static_assert(returns_scalar<Map, S>::value,
                "implicit: f(theta, z) cannot be called on vectors of this scalar type. "
                "Automatic derivatives call it on dual numbers and reverse-mode variables: "
                "write it as `template <class T> implicit::VectorX<T> operator()(const "
                "implicit::VectorX<T>& theta, const implicit::VectorX<T>& z) const`, or give "
                "the map the hand-written members this derivative needs (diff/parametric.hpp)");
}
}  // namespace internal

// z -> f(theta, z). Holds theta by reference (it must outlive the binding)
// and f by reference (MapHolder = const Map&) or, for a temporary f, by
// value (MapHolder = const Map).
template <class Map, class T, class MapHolder = const Map&>
class BoundTheta {
  // Completing the trait runs its near-miss checks.
  static_assert(sizeof(derivative_members<Map, T>) > 0);

 public:
  // Throws std::invalid_argument when theta has a NaN or Inf entry: a NaN
  // parameter is a programming error (README, failure-policy.md), not a
  // non_finite status of whatever solve the binding is handed to. Checked
  // here, once: theta is the caller's and must not change while bound.
  BoundTheta(const Map& map, const VectorX<T>& theta) : map_(map), theta_(theta) {
    internal::require_finite(theta, "bind_theta", "theta");
  }

  template <class S>
  VectorX<S> operator()(const VectorX<S>& z) const {
    internal::check_callable_on<Map, S>();
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
  // The map's linearization at (theta, z) (diff/linearization.hpp).
  template <class M = Map>
  auto linearize(const VectorX<T>& z) const
      -> decltype(std::declval<const M&>().linearize(std::declval<const VectorX<T>&>(), z)) {
    return map_.linearize(theta_, z);
  }

 private:
  MapHolder map_;
  const VectorX<T>& theta_;
};

// theta -> f(theta, z). Holds z by reference and f as BoundTheta does.
template <class Map, class T, class MapHolder = const Map&>
class BoundState {
  // Completing the trait runs its near-miss checks.
  static_assert(sizeof(derivative_members<Map, T>) > 0);

 public:
  // Throws std::invalid_argument when z has a NaN or Inf entry (as BoundTheta).
  BoundState(const Map& map, const VectorX<T>& z) : map_(map), z_(z) {
    internal::require_finite(z, "bind_state", "z");
  }

  template <class S>
  VectorX<S> operator()(const VectorX<S>& theta) const {
    internal::check_callable_on<Map, S>();
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
  MapHolder map_;
  const VectorX<T>& z_;
};

template <class Map, class T>
BoundTheta<Map, T> bind_theta(const Map& map, const VectorX<T>& theta) {
  return {map, theta};
}
// A temporary map (bind_theta(Layer{n}, theta)) is kept by value, so the
// binding may outlive the expression that made it.
template <class Map, class T, class = std::enable_if_t<!std::is_lvalue_reference_v<Map>>>
BoundTheta<std::decay_t<Map>, T, const std::decay_t<Map>> bind_theta(Map&& map,
                                                                     const VectorX<T>& theta) {
  return {map, theta};
}
// theta is held by reference: a temporary theta would dangle as soon as the
// statement ends (bind_theta(f, make_theta()) is a use-after-free), so it
// is refused at compile time. Name the vector first.
template <class Map, class T>
void bind_theta(const Map& map, VectorX<T>&& theta) = delete;
template <class Map, class T, class = std::enable_if_t<!std::is_lvalue_reference_v<Map>>>
void bind_theta(Map&& map, VectorX<T>&& theta) = delete;

template <class Map, class T>
BoundState<Map, T> bind_state(const Map& map, const VectorX<T>& z) {
  return {map, z};
}
template <class Map, class T, class = std::enable_if_t<!std::is_lvalue_reference_v<Map>>>
BoundState<std::decay_t<Map>, T, const std::decay_t<Map>> bind_state(Map&& map,
                                                                     const VectorX<T>& z) {
  return {map, z};
}
// As for bind_theta: a temporary z is refused.
template <class Map, class T>
void bind_state(const Map& map, VectorX<T>&& z) = delete;
template <class Map, class T, class = std::enable_if_t<!std::is_lvalue_reference_v<Map>>>
void bind_state(Map&& map, VectorX<T>&& z) = delete;

}  // namespace implicit
