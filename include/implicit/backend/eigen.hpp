#pragma once
// Vector operations the solvers are written against, for Eigen dense vectors.
//
// Every algorithm in fixed_point/, linear/ and diff/ touches vectors only
// through VectorOps<V>, so a tensor backend (LibTorch) reuses the same
// algorithms by specialising this one struct. Reductions return `Scalars`:
// a double here, one double per sample for a batched backend
// (internal/per_sample.hpp). The solvers' small dense subproblems
// (Anderson's bordered system, GMRES's Hessenberg matrix) are solved in
// double whatever the vector's scalar is.

#include <Eigen/Core>
#include <cmath>

#include "implicit/internal/scalar.hpp"

namespace implicit {

template <class Vector>
struct VectorOps;  // specialised per backend

template <class T>
struct VectorOps<Eigen::Matrix<T, Eigen::Dynamic, 1>> {
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using Scalar = T;
  using Scalars = double;  // per-sample reductions: one sample (internal/per_sample.hpp)
  using Mask = Eigen::Array<bool, Eigen::Dynamic, 1>;  // one entry: the one sample

  static Eigen::Index batch_size(const Vector&) { return 1; }
  static Eigen::Index size(const Vector& v) { return v.size(); }
  static bool same_shape(const Vector& a, const Vector& b) { return a.size() == b.size(); }
  static double epsilon(const Vector&) {
    return internal::value(Eigen::NumTraits<T>::epsilon());
  }
  static Vector zeros_like(const Vector& v) { return Vector::Zero(v.size()); }
  static double dot(const Vector& a, const Vector& b) { return internal::value(a.dot(b)); }
  static double norm(const Vector& v) { return internal::value(v.norm()); }
  // y += a * x
  static void axpy(double a, const Vector& x, Vector& y) { y += static_cast<T>(a) * x; }
  // out = a * x + b * y (out may alias x or y)
  static void lincomb(double a, const Vector& x, double b, const Vector& y, Vector& out) {
    out = static_cast<T>(a) * x + static_cast<T>(b) * y;
  }
  static void scale(double a, Vector& x) { x *= static_cast<T>(a); }
  static void set_zero(Vector& x) { x.setZero(); }
  // Every entry `value`, shaped like `like`.
  static Vector filled_like(const Vector& like, double value) {
    return Vector::Constant(like.size(), static_cast<T>(value));
  }
  // Per sample: a where mask, else b.
  static Vector where(const Mask& mask, const Vector& a, const Vector& b) {
    return mask.size() > 0 && mask[0] ? a : b;
  }
  static bool all_finite(const Vector& v) {
    for (Eigen::Index i = 0; i < v.size(); ++i)
      if (!std::isfinite(internal::value(v[i]))) return false;
    return true;
  }
};

}  // namespace implicit
