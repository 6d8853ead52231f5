#pragma once
// value(x): the plain floating-point value of a scalar, looking through
// forward-mode AD scalars (Eigen::AutoDiffScalar), so that stopping rules and
// residual norms are computed on values even when a solver runs on dual
// numbers (forward-mode unrolled differentiation).

#include <Eigen/Core>
#include <type_traits>
#include <unsupported/Eigen/AutoDiff>

namespace implicit::internal {

template <class T>
struct ScalarValue {
  static double get(const T& x) { return static_cast<double>(x); }
};

template <class Derivatives>
struct ScalarValue<Eigen::AutoDiffScalar<Derivatives>> {
  static double get(const Eigen::AutoDiffScalar<Derivatives>& x) {
    return ScalarValue<std::decay_t<decltype(x.value())>>::get(x.value());
  }
};

template <class T>
double value(const T& x) {
  return ScalarValue<T>::get(x);
}

}  // namespace implicit::internal
