#pragma once
// The closed form of the monotone network (docs/reference-systems.md
// section 2), written once for every backend: R(x), R'(x) and dR/dtheta
// from theta-only coefficients, over an arithmetic that is a scalar T
// (MonotoneNet<T>, the tensor layer's autograd function) or a SIMD vector
// (src/models/monotone_inverse.cpp). The formulas themselves are in
// monotone_formula-inl.hpp; this header gives them their scalar
// arithmetic.
//
// Why no cancellation. Written literally, R(x) = exp(v)^T reloid(exp(w) x +
// b) - exp(v)^T reloid(b) subtracts two sums of size ~ sum(exp(v)), and
// dR/dv_i = exp(v_i) (reloid(a_i) - reloid(b_i)) and dR/db_i = exp(v_i)
// (reloid'(a_i) - reloid'(b_i)) subtract per unit; where d = exp(w) x is
// below one ulp of b's terms (w = -40, a target of 1e-20), where a sigmoid
// is saturated, or where b is huge (relu(1e308 + d) - relu(1e308) = 0 in
// double), the difference is lost entirely. Every quantity here is instead
// a product of positive factors (times a sign), each with full relative
// accuracy, using e = exp(-d) and 1 - e from one exponential
// (exp_and_complement) and sigmoid(b + d) = p / (p + q e), p = sigmoid(b),
// q = sigmoid(-b), since exp(-b) = q / p.

#include <cmath>

namespace implicit::internal {

// e = exp(-d) and 1 - e for d >= 0, both to full relative accuracy from one
// exponential: expm1 where 1 - e would cancel (d < ln 2, e > 1/2), exp
// where e itself would lose digits as 1 + expm1 (e <= 1/2).
template <class T>
void exp_and_complement(T d, T& e, T& one_minus_e) {
  if (d < T(0.693147180559945309)) {
    const T em = std::expm1(-d);
    e = 1 + em;
    one_minus_e = -em;
  } else {
    e = std::exp(-d);
    one_minus_e = 1 - e;
  }
}

// The theta-only terms of a network with H units, as arrays over the H - 1
// sigmoid units and scalars for the relu unit: what the formulas read. A
// view: the arrays belong to the network (MonotoneNet::coefficients()).
template <class T>
struct MonotoneCoefficients {
  int sigmoids = 0;               // H - 1
  const T* ew = nullptr;          // exp(w_i)
  const T* ev = nullptr;          // exp(v_i)
  const T* b = nullptr;           // b_i
  const T* p = nullptr;           // sigmoid(b_i)
  const T* q = nullptr;           // sigmoid(-b_i)
  const T* value_coef = nullptr;  // exp(v_i) p_i q_i
  const T* slope_coef = nullptr;  // exp(v_i + w_i) p_i q_i
  T relu_ew = 0, relu_b = 0, relu_ev = 0;
  T relu_slope = 0;  // exp(v_H) exp(w_H)
};

// The arithmetic of the formulas for one scalar type T. An arithmetic has a
// Value type with + - * / and: set(T) (a constant), mul_add(a, b, c) = a b
// + c, exp_and_complement(d, e, 1 - e) for d >= 0, greater(a, b) (a mask),
// select(mask, yes, no) and abs. The SIMD kernel's (Highway vectors, one
// target per lane width) is in src/models/monotone_inverse.cpp.
template <class T>
struct ScalarArithmetic {
  using Value = T;
  static T set(T c) { return c; }
  // Not std::fma: without hardware FMA in the target flags it is a libm
  // call, ~10x slower than the multiply and add.
  static T mul_add(T a, T b, T c) { return a * b + c; }
  static void exp_and_complement(T d, T& e, T& one_minus_e) {
    internal::exp_and_complement(d, e, one_minus_e);
  }
  static bool greater(T a, T b) { return a > b; }
  static T select(bool mask, T yes, T no) { return mask ? yes : no; }
  static T abs(T a) { return std::abs(a); }
};

#include "implicit/models/monotone_formula-inl.hpp"  // IWYU pragma: export

}  // namespace implicit::internal
