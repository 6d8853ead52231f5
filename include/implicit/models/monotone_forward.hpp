#pragma once
// R(x; w, v, b) of the monotone network (docs/reference-systems.md section
// 2) generic in one scalar type, the definition that automatic
// differentiation checks the closed form against (monotone_formula.hpp is
// the closed form every backend evaluates), and the shape checks of
// (w, v, b).

#include <Eigen/Core>
#include <cmath>
#include <stdexcept>
#include <string>

#include "implicit/internal/scalar.hpp"

namespace implicit {

template <class S>
using MonotoneVector = Eigen::Matrix<S, Eigen::Dynamic, 1>;

namespace internal {

// sigmoid(a) = 1 / (1 + exp(-a)), with the exponential of a non-positive
// number only, so it never overflows. S may be an Eigen::AutoDiffScalar.
template <class S>
S sigmoid(const S& a) {
  using std::exp;
  if (internal::value(a) >= 0) {
    const S e = exp(-a);
    return S(1 / (1 + e));
  }
  const S e = exp(a);
  return S(e / (1 + e));
}

// sigmoid(b + d) - sigmoid(b) from p = sigmoid(b), q = sigmoid(-b) and d,
// without cancellation (identity in the file comment). P is the parameters'
// scalar, S the input's; S must be able to absorb P (S = P, or S an
// AutoDiffScalar over P).
template <class P, class S>
S sigmoid_difference(const P& p, const P& q, const S& d) {
  using std::tanh;
  const S half_d = d / 2;
  const S t = tanh(half_d);
  const S minus_d = -d;
  const S den = sigmoid<S>(d) * p + sigmoid<S>(minus_d) * q;
  const S num = t * (p * q);
  return S(num / den);
}

// relu(b + d) - relu(b), equal to d itself when both are active (the common
// case for b > 0), so no cancellation there either.
template <class P, class S>
S relu_difference(const P& b, const S& d) {
  const S a = d + b;
  const bool a_on = internal::value(a) > 0;
  const bool b_on = internal::value(b) > 0;
  if (a_on && b_on) return d;
  if (a_on) return a;
  if (b_on) return S(d * 0 - b);  // d * 0 keeps an AutoDiffScalar's derivative size
  return S(d * 0);
}

inline std::string shape_error(const char* name, Eigen::Index size, Eigen::Index expected) {
  return std::string("monotone network: '") + name + "' has length " + std::to_string(size) +
         ", expected " + std::to_string(expected) + " (the length of 'w', H >= 1)";
}

template <class S>
void check_monotone_shapes(const MonotoneVector<S>& w, const MonotoneVector<S>& v,
                           const MonotoneVector<S>& b) {
  if (w.size() < 1) throw std::invalid_argument("monotone network: 'w' is empty; H must be >= 1");
  if (v.size() != w.size()) throw std::invalid_argument(shape_error("v", v.size(), w.size()));
  if (b.size() != w.size()) throw std::invalid_argument(shape_error("b", b.size(), w.size()));
}

}  // namespace internal

// R(x; w, v, b), generic in one scalar type S for parameters and input, so
// that forward-mode AD (Eigen::AutoDiffScalar) can seed any of them.
// Cost: O(H): per unit about 6 exp and 1 tanh.
// Throws std::invalid_argument when w, v, b differ in length or are empty.
template <class S>
S monotone_forward(const MonotoneVector<S>& w, const MonotoneVector<S>& v,
                   const MonotoneVector<S>& b, const S& x) {
  using std::exp;
  internal::check_monotone_shapes(w, v, b);
  const Eigen::Index h = w.size();
  S sum = x * 0;
  for (Eigen::Index i = 0; i + 1 < h; ++i) {
    const S d = exp(w[i]) * x;
    const S minus_b = -b[i];
    const S p = internal::sigmoid<S>(b[i]);
    const S q = internal::sigmoid<S>(minus_b);
    sum += exp(v[i]) * internal::sigmoid_difference<S, S>(p, q, d);
  }
  const S d = exp(w[h - 1]) * x;
  sum += exp(v[h - 1]) * internal::relu_difference<S, S>(b[h - 1], d);
  return sum;
}

}  // namespace implicit
