#pragma once
// The math functions a user's f may call that Sacado's Rad does not provide
// itself (Rad has + - * /, pow, atan2, min, max, abs, fabs, sqrt, cbrt, exp,
// log, log10, the trigonometric and hyperbolic functions and their
// inverses). The same list as dual_math.hpp gives forward mode, so a
// functor that compiles for one mode compiles for the other. Each is one
// tape node carrying its value and its slope (Rad's ADf1 / ADf2), found by
// argument-dependent lookup from an unqualified call, e.g. `erf(x)` after
// `using std::erf;`. Included by reverse.hpp only when Sacado is there.

#include <cmath>

namespace Sacado {
namespace Rad {

// Unary f(x) with slope s(x): overloads for a variable and for an
// expression node, as Rad declares its own functions.
#define IMPLICIT_RAD_UNARY(name, value_of_v, slope_of_v)                          \
  template <class D>                                                              \
  ADvari<D>& name(const Base<ADvari<D>>& xx) {                                    \
    const ADvari<D>& x = xx.derived();                                            \
    const D v = x.Val;                                                            \
    return ADf1<D>(value_of_v, slope_of_v, x);                                    \
  }                                                                               \
  template <class D>                                                              \
  ADvari<D>& name(const IndepADvar<D>& x) {                                       \
    const D v = x.val();                                                          \
    return ADf1<D>(value_of_v, slope_of_v, x);                                    \
  }

IMPLICIT_RAD_UNARY(expm1, std::expm1(v), std::exp(v))
IMPLICIT_RAD_UNARY(log1p, std::log1p(v), D(1) / (D(1) + v))
IMPLICIT_RAD_UNARY(exp2, std::exp2(v), D(M_LN2) * std::exp2(v))
IMPLICIT_RAD_UNARY(log2, std::log2(v), D(1) / (v * D(M_LN2)))
IMPLICIT_RAD_UNARY(erf, std::erf(v), D(M_2_SQRTPI) * std::exp(-v * v))
IMPLICIT_RAD_UNARY(erfc, std::erfc(v), -D(M_2_SQRTPI) * std::exp(-v * v))
// Piecewise constant: slope 0 (almost everywhere), as for the dual numbers.
IMPLICIT_RAD_UNARY(floor, std::floor(v), D(0))
IMPLICIT_RAD_UNARY(ceil, std::ceil(v), D(0))
IMPLICIT_RAD_UNARY(trunc, std::trunc(v), D(0))
IMPLICIT_RAD_UNARY(round, std::round(v), D(0))

#undef IMPLICIT_RAD_UNARY

template <class D>
bool isfinite(const IndepADvar<D>& x) {
  return std::isfinite(x.val());
}
template <class D>
bool isinf(const IndepADvar<D>& x) {
  return std::isinf(x.val());
}
template <class D>
bool isnan(const IndepADvar<D>& x) {
  return std::isnan(x.val());
}

// hypot(a, b) = sqrt(a^2 + b^2) without overflow; slopes a / h and b / h
// (0 at the origin, where it is not differentiable).
template <class D>
D hypot_slope(D part, D h) {
  return h > 0 ? part / h : D(0);
}
template <class D>
ADvari<D>& hypot(const IndepADvar<D>& a, const IndepADvar<D>& b) {
  const D h = std::hypot(a.val(), b.val());
  return ADf2<D>(h, hypot_slope(a.val(), h), hypot_slope(b.val(), h), a, b);
}
template <class D>
ADvari<D>& hypot(const IndepADvar<D>& a, D b) {
  const D h = std::hypot(a.val(), b);
  return ADf1<D>(h, hypot_slope(a.val(), h), a);
}
template <class D>
ADvari<D>& hypot(D a, const IndepADvar<D>& b) {
  const D h = std::hypot(a, b.val());
  return ADf1<D>(h, hypot_slope(b.val(), h), b);
}

// fmin / fmax: the smaller / larger argument, the other one when one is
// NaN (C's rule), with that argument's derivative.
template <class D>
ADvar<D> fmin(const ADvar<D>& a, const ADvar<D>& b) {
  if (std::isnan(a.val())) return b;
  if (std::isnan(b.val())) return a;
  return b.val() < a.val() ? b : a;
}
template <class D>
ADvar<D> fmin(const ADvar<D>& a, D b) {
  return fmin(a, ADvar<D>(b));
}
template <class D>
ADvar<D> fmin(D a, const ADvar<D>& b) {
  return fmin(ADvar<D>(a), b);
}
template <class D>
ADvar<D> fmax(const ADvar<D>& a, const ADvar<D>& b) {
  if (std::isnan(a.val())) return b;
  if (std::isnan(b.val())) return a;
  return b.val() > a.val() ? b : a;
}
template <class D>
ADvar<D> fmax(const ADvar<D>& a, D b) {
  return fmax(a, ADvar<D>(b));
}
template <class D>
ADvar<D> fmax(D a, const ADvar<D>& b) {
  return fmax(ADvar<D>(a), b);
}

}  // namespace Rad
}  // namespace Sacado
