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
// Cost (automatic path, f of cost c, x of size n, f(x) of size m):
//   jvp       one pass of 1-wide duals, ~3-25 c (25 c when f is dominated by
//             a dense product, which duals cannot vectorise).
//   vjp       n <= 32 (or kForward): the Jacobian by ceil(n / 8) passes of
//             8-wide duals (~5-30 c each), then J^T u.
//             n > 32 with reverse mode (kAuto, or kReverse): one recording
//             of f on a tape and one reverse sweep, whatever n is, costing
//             what the tape costs: 11-15 c for a scalar-heavy f, 120-1100 c
//             for f dominated by a dense product (bench/README.md, "Reverse
//             mode"). Memory: one tape of f, ~60 bytes per scalar operation.
//   jacobian  ceil(n / 8) passes of 8-wide duals; or, when the rows are far
//             fewer than the columns (8 (m + 1) < n / 8), one recording and
//             m reverse sweeps.
// Every function takes a DerivativeMode (default kAuto) to force a mode.

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <unsupported/Eigen/AutoDiff>
#include <utility>

#include "implicit/diff/dual_math.hpp"
#include "implicit/diff/reverse.hpp"
#include "implicit/types.hpp"

namespace implicit {

// Dual number carrying N tangent directions.
template <class T, int N>
using Dual = Eigen::AutoDiffScalar<Eigen::Matrix<T, N, 1>>;

namespace internal {

// A parameter whose type is fixed by the others (C++20's type_identity): the
// scalar is deduced from one argument, and the rest accept anything that
// converts, such as Eigen::VectorXd::Ones(n).
template <class V>
struct NonDeducedType {
  using type = V;
};
template <class V>
using NonDeduced = typename NonDeducedType<V>::type;

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

// Throws std::invalid_argument naming `who`, the argument and the first
// entry that is NaN or Inf with its index: user data with NaN is a
// programming error, never a status (docs/failure-policy.md).
template <class Derived>
void require_finite(const Eigen::DenseBase<Derived>& v, const char* who, const char* name) {
  if (v.allFinite()) return;
  Eigen::Index i = 0;
  while (i + 1 < v.size() && std::isfinite(static_cast<double>(v.derived().coeff(i)))) ++i;
  throw std::invalid_argument(
      std::string(who) + ": " + name + " has a NaN or Inf entry (" + name + "[" +
      std::to_string(i) + "] = " + std::to_string(static_cast<double>(v.derived().coeff(i))) + ")");
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
VectorX<T> jvp(const F& f, const VectorX<T>& x, const internal::NonDeduced<VectorX<T>>& v) {
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

namespace internal {

// f recorded on the reverse tape: called with a vector of Rad variables.
template <class F, class T>
auto recordable(const F& f) {
  using Var = RadVar<T>;
  return [&f](const VectorX<Var>& x) { return VectorX<Var>(f(x)); };
}

template <class F, class T>
MatrixX<T> forward_jacobian(const F& f, const VectorX<T>& x) {
  constexpr int kChunk = kJacobianChunk;
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
    if (yd.size() != J.rows()) throw_size_mismatch("jacobian", "f(x)", yd.size(), J.rows());
    for (Eigen::Index i = 0; i < yd.size(); ++i)
      if (yd[i].derivatives().size())
        J.row(i).segment(start, width) = yd[i].derivatives().head(width).transpose();
    for (Eigen::Index j = 0; j < width; ++j) xd[start + j].derivatives()[j] = T(0);
    if (n == 0) break;
  }
  return J;
}

}  // namespace internal

// The dense Jacobian df/dx (m x n): kJacobianChunk columns per forward pass,
// or one row per reverse sweep when m is far smaller than n (see above).
template <class F, class T>
MatrixX<T> jacobian(const F& f, const VectorX<T>& x, DerivativeMode mode = DerivativeMode::kAuto) {
  if constexpr (internal::has_jacobian<F, VectorX<T>>::value) {
    return f.jacobian(x);
  } else {
    constexpr bool available = internal::reverse_available<T>;
    // kReverse: rows (throws when unavailable). kAuto: only a wide Jacobian
    // can favour rows, and learning its height costs one f call.
    const bool rows = mode == DerivativeMode::kReverse
                          ? internal::use_reverse_for_vjp(mode, available, x.size())
                          : mode == DerivativeMode::kAuto && available && x.size() > 64 &&
                                internal::reverse_rows_pay_off(f(x).size(), x.size());
    if (rows) {
      if constexpr (available) {
        const internal::ReverseTape<T> tape(internal::recordable<F, T>(f), x, "jacobian");
        const Eigen::Index m = tape.output_size();
        MatrixX<T> J(m, x.size());
        VectorX<T> e = VectorX<T>::Zero(m);
        for (Eigen::Index i = 0; i < m; ++i) {
          e[i] = T(1);
          J.row(i) = tape.pullback(e).transpose();
          e[i] = T(0);
        }
        return J;
      }
    }
    return internal::forward_jacobian(f, x);
  }
}

namespace internal {
// The Jacobian of a map R^n -> R^n (fixed points, roots, Newton steps): the
// hand-written member or forward mode, never a tape (rows are as many as
// columns, so reverse mode cannot pay), and f is never instantiated on
// reverse-mode variables.
template <class F, class T>
MatrixX<T> square_jacobian(const F& f, const VectorX<T>& x) {
  if constexpr (has_jacobian<F, VectorX<T>>::value) {
    return f.jacobian(x);
  } else {
    return forward_jacobian(f, x);
  }
}
}  // namespace internal

// J(x)^T u: by the hand-written vjp member, or forward or reverse mode by
// the cost model above.
template <class F, class T>
VectorX<T> vjp(const F& f, const VectorX<T>& x, const internal::NonDeduced<VectorX<T>>& u,
               DerivativeMode mode = DerivativeMode::kAuto) {
  if constexpr (internal::has_vjp<F, VectorX<T>>::value) {
    return f.vjp(x, u);
  } else {
    if (internal::use_reverse_for_vjp(mode, internal::reverse_available<T>, x.size())) {
      if constexpr (internal::reverse_available<T>) {
        const internal::ReverseTape<T> tape(internal::recordable<F, T>(f), x, "vjp");
        if (tape.output_size() != u.size())
          internal::throw_size_mismatch("vjp", "f(x)", tape.output_size(), u.size());
        return tape.pullback(u);
      }
    }
    const MatrixX<T> J = internal::forward_jacobian(f, x);
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
