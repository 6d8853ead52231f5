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

// Eigen's numeric traits for an AD scalar S carrying values of type V:
// everything as for V except the types, which are S. Sacado's Rad variable
// (diff/reverse.hpp), the sparsity tracer (diff/sparsity_tracer.hpp) and
// reverse_bench's ADOL-C adouble use it.
template <class S, class V>
struct AdScalarNumTraits : Eigen::NumTraits<V> {
  using Real = S;
  using NonInteger = S;
  using Nested = S;
  using Literal = S;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 1,
    AddCost = 3,
    MulCost = 3
  };
};
}  // namespace implicit::internal
