#pragma once
// Forward-mode automatic differentiation of a function x -> f(x) between
// Eigen vectors, with Eigen's AutoDiffScalar as the dual number.
//
// `f` is any callable templated on the scalar type, e.g.
//
//   struct F { template <class T> Eigen::Matrix<T, -1, 1> operator()(
//                  const Eigen::Matrix<T, -1, 1>& x) const; };
//
// or a generic lambda. If f also has members `jvp(x, v)`, `vjp(x, u)` or
// `jacobian(x)` (hand-written derivatives, for speed), those are used
// instead; tests check them against the automatic ones.
//
// Cost (automatic path, f of cost c): jvp ~ 2-3 c; jacobian ~ ceil(n / 8)
// passes of ~ 8-wide duals, about n c in all; vjp builds the Jacobian first
// (forward mode has no cheaper transpose), so supply `vjp` when n is large.

#include <Eigen/Core>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unsupported/Eigen/AutoDiff>
#include <utility>

#include "implicit/diff/dual_math.hpp"

namespace implicit {

template <class T>
using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using MatrixX = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// Dual number carrying N tangent directions.
template <class T, int N>
using Dual = Eigen::AutoDiffScalar<Eigen::Matrix<T, N, 1>>;

namespace internal {

// Width of the dual numbers used to build Jacobians: 8 doubles fill one
// AVX-512 register (two AVX2 ones), so the tangent arithmetic vectorises.
constexpr int kJacobianChunk = 8;

template <class F, class V, class = void>
struct has_jvp : std::false_type {};
template <class F, class V>
struct has_jvp<F, V,
               std::void_t<decltype(std::declval<const F&>().jvp(
                   std::declval<const V&>(), std::declval<const V&>()))>> : std::true_type {};

template <class F, class V, class = void>
struct has_vjp : std::false_type {};
template <class F, class V>
struct has_vjp<F, V,
               std::void_t<decltype(std::declval<const F&>().vjp(
                   std::declval<const V&>(), std::declval<const V&>()))>> : std::true_type {};

template <class F, class V, class = void>
struct has_jacobian : std::false_type {};
template <class F, class V>
struct has_jacobian<
    F, V, std::void_t<decltype(std::declval<const F&>().jacobian(std::declval<const V&>()))>>
    : std::true_type {};

// Every evaluation of a user's function, on every scalar type, has its size
// checked before anything indexes into it: a templated functor with a bug in
// one instantiation (another size for dual numbers than for doubles) or a
// hand-written derivative member of the wrong size would otherwise corrupt
// memory in the linear algebra that follows.
[[noreturn]] inline void throw_size_mismatch(const char* who, const char* what, Eigen::Index got,
                                             Eigen::Index expected) {
  throw std::invalid_argument(std::string(who) + ": " + what + " has size " + std::to_string(got) +
                              ", expected " + std::to_string(expected) +
                              " (does f return another size for dual numbers than for doubles, "
                              "or a hand-written derivative member the wrong size?)");
}

template <class V>
V checked_size(V&& v, Eigen::Index expected, const char* who, const char* what) {
  if (v.size() != expected) throw_size_mismatch(who, what, v.size(), expected);
  return std::forward<V>(v);
}

template <class M>
M checked_shape(M&& m, Eigen::Index rows, Eigen::Index cols, const char* who, const char* what) {
  if (m.rows() != rows || m.cols() != cols)
    throw std::invalid_argument(std::string(who) + ": " + what + " is " + std::to_string(m.rows()) +
                                " x " + std::to_string(m.cols()) + ", expected " +
                                std::to_string(rows) + " x " + std::to_string(cols) +
                                " (does f return another size for dual numbers than for "
                                "doubles, or a hand-written jacobian member the wrong shape?)");
  return std::forward<M>(m);
}

}  // namespace internal

// J(x) v by one pass of single-direction dual numbers.
template <class F, class T>
VectorX<T> jvp(const F& f, const VectorX<T>& x, const VectorX<T>& v) {
  if constexpr (internal::has_jvp<F, VectorX<T>>::value) {
    return f.jvp(x, v);
  } else {
    using D = Dual<T, 1>;
    if (v.size() != x.size())
      internal::throw_size_mismatch("jvp", "the tangent v", v.size(), x.size());
    VectorX<D> xd(x.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) xd[i] = D(x[i], Eigen::Matrix<T, 1, 1>(v[i]));
    const VectorX<D> yd = f(xd);
    VectorX<T> out(yd.size());
    for (Eigen::Index i = 0; i < yd.size(); ++i)
      out[i] = yd[i].derivatives().size() ? yd[i].derivatives()[0] : T(0);
    return out;
  }
}

// The dense Jacobian df/dx (m x n), kJacobianChunk columns per pass.
template <class F, class T>
MatrixX<T> jacobian(const F& f, const VectorX<T>& x) {
  if constexpr (internal::has_jacobian<F, VectorX<T>>::value) {
    return f.jacobian(x);
  } else {
    constexpr int kChunk = internal::kJacobianChunk;
    using D = Dual<T, kChunk>;
    using Tangent = Eigen::Matrix<T, kChunk, 1>;
    const Eigen::Index n = x.size();
    VectorX<D> xd(n);
    for (Eigen::Index i = 0; i < n; ++i) xd[i] = D(x[i], Tangent::Zero());
    MatrixX<T> J;
    for (Eigen::Index start = 0; start < n || (n == 0 && start == 0); start += kChunk) {
      const Eigen::Index width = std::min<Eigen::Index>(kChunk, n - start);
      for (Eigen::Index j = 0; j < width; ++j) xd[start + j].derivatives()[j] = T(1);
      const VectorX<D> yd = f(xd);
      if (start == 0) J.setZero(yd.size(), n);
      if (yd.size() != J.rows())
        internal::throw_size_mismatch("jacobian", "f(x)", yd.size(), J.rows());
      for (Eigen::Index i = 0; i < yd.size(); ++i)
        if (yd[i].derivatives().size())
          J.row(i).segment(start, width) = yd[i].derivatives().head(width).transpose();
      for (Eigen::Index j = 0; j < width; ++j) xd[start + j].derivatives()[j] = T(0);
      if (n == 0) break;
    }
    return J;
  }
}

// J(x)^T u. Automatic path: the dense Jacobian, then one transposed product.
template <class F, class T>
VectorX<T> vjp(const F& f, const VectorX<T>& x, const VectorX<T>& u) {
  if constexpr (internal::has_vjp<F, VectorX<T>>::value) {
    return f.vjp(x, u);
  } else {
    const MatrixX<T> J = jacobian(f, x);
    if (J.rows() != u.size()) internal::throw_size_mismatch("vjp", "f(x)", J.rows(), u.size());
    return J.transpose() * u;
  }
}

// Chain rule for h = g o f: JVP pushes v through f then g; VJP pulls u back
// through g then f. Each factor uses its own hand-written or automatic rule.
template <class G, class F>
struct Composition {
  G g;
  F f;
  template <class V>
  V operator()(const V& x) const {
    return g(V(f(x)));
  }
  template <class T>
  VectorX<T> jvp(const VectorX<T>& x, const VectorX<T>& v) const {
    return implicit::jvp(g, VectorX<T>(f(x)), implicit::jvp(f, x, v));
  }
  template <class T>
  VectorX<T> vjp(const VectorX<T>& x, const VectorX<T>& u) const {
    return implicit::vjp(f, x, implicit::vjp(g, VectorX<T>(f(x)), u));
  }
};

template <class G, class F>
Composition<G, F> compose(G g, F f) {
  return {std::move(g), std::move(f)};
}

}  // namespace implicit
