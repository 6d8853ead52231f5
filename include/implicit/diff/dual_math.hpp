#pragma once
// The `<cmath>` functions Eigen's AutoDiffScalar lacks, so that a functor
// templated on the scalar type runs unchanged on dual numbers.
//
// Write calls unqualified, after a using-declaration:
//
//   using std::atan;
//   y = atan(x);      // x double: std::atan; x a dual: Eigen::atan below
//
// The dual overloads live in namespace Eigen, the namespace of
// AutoDiffScalar, so argument-dependent lookup finds them (plain `atan(x)`
// on a dual works too). `std::atan(x)` on a dual does not compile: nothing
// is added to namespace std.
//
// Eigen 3.4 already provides (unsupported/Eigen/src/AutoDiff/AutoDiffScalar.h):
//   abs, abs2, sqrt, exp, log, sin, cos, tan, asin, acos, sinh, cosh, tanh,
//   pow(dual, scalar), atan2(dual, dual), min and max (dual/dual of one
//   type, dual/scalar, scalar/dual).
// This file adds:
//   atan, atanh, asinh, acosh, expm1, log1p, exp2, log2, log10, cbrt,
//   erf, erfc, fabs;
//   hypot, pow, atan2, fmin, fmax for every dual/scalar mix Eigen lacks
//   (hypot and fmin/fmax: dual/dual, dual/scalar, scalar/dual; pow:
//   dual/dual and scalar/dual; atan2: dual/scalar and scalar/dual);
//   atan2 of two duals where either is a plain dual, replacing Eigen's
//   (which returns dynamic-size derivatives and breaks on an empty one);
//   min and max of two duals whose derivative types differ (e.g.
//   `max(x[0], 2.0 * x[1])`, ambiguous between Eigen's overloads);
//   floor, ceil, trunc, round with zero derivative (their derivative
//   almost everywhere; the steps themselves have none);
//   isfinite, isinf, isnan, which test the value only, as AutoDiffScalar's
//   comparison operators do. They also make Eigen's numext::isfinite and
//   friends work on duals.
// With these, Eigen's array methods that forward to the scalar function
// (`x.array().atan()`, `.log1p()`, `.expm1()`, `.log10()`, `.asinh()`, ...)
// work on arrays of duals as well.
//
// Any other function of a dual (lgamma, tgamma, fmod, copysign, fma,
// three-argument hypot, ...) is a compile error of the form
//   no matching function for call to 'lgamma(Eigen::AutoDiffScalar<...>&)'
// listing std::lgamma(double) and friends as candidates: AutoDiffScalar
// has no conversion to its value type, so a missing derivative rule can
// never be dropped silently. Supply the rule here, in the same pattern.
//
// Each function computes its value with the std:: function of the same
// name and its derivatives by the chain rule, f'(x) dx, with the exact
// formula for f' (written next to each). Domain edges follow f': the
// derivative is +-inf where f' is (cbrt at 0, atanh at +-1, log1p at -1,
// ...), NaN where it is undefined (hypot at (0, 0), pow(a, b) with a < 0
// in the direction of b). An input derivative entry that is exactly zero
// gives an exactly zero output entry even there: a direction x does not
// move along has derivative 0, not 0 * inf = NaN (Eigen's own sqrt(0)
// gives NaN in every direction). This keeps pow(x, T(2)) at x < 0 and
// cbrt(x[0]) at x[0] = 0 from poisoning the other Jacobian columns.
//
// Results are plain duals (derivatives evaluated into a vector of the
// argument's kind: fixed size N or dynamic), not the lazy expressions
// Eigen returns: `auto y = atan(x * 2.0)` holds no reference to a
// temporary, and the one N-vector write is what the expression would cost
// when stored anyway. Arguments may be any dual, including Eigen
// expressions such as `x[0] * x[1]` or the result of sin(x). A dual
// with a dynamic-size, empty derivative vector is a constant; two-argument
// functions treat it as zero in every direction, as Eigen's + and * do.
// Cost: the std:: function plus one more std:: call for f' where it needs
// one (exp for expm1, erf, erfc; sqrt, hypot or log for acosh, asinh,
// pow), and one multiply-add per tangent direction.

#include <Eigen/Core>
#include <cmath>
#include <type_traits>
#include <unsupported/Eigen/AutoDiff>

namespace implicit::internal {

// The derivative vector of a dual, evaluated (DerType may be an
// expression or a reference).
template <class DerType>
using DualDerivatives = typename Eigen::internal::remove_all<DerType>::type::PlainObject;

// A dual whose derivatives are stored in a plain vector.
template <class DerType>
using PlainDual = Eigen::AutoDiffScalar<DualDerivatives<DerType>>;

// The value type of a dual (double in Dual<double, N>).
template <class DerType>
using DualScalar = typename Eigen::internal::remove_all<DerType>::type::Scalar;

// Result derivatives of a function of two duals: the fixed-size kind if
// either argument has one, so Dual<T, N> stays Dual<T, N>.
template <class DerA, class DerB>
using CommonDerivatives =
    std::conditional_t<DualDerivatives<DerA>::SizeAtCompileTime == Eigen::Dynamic,
                       DualDerivatives<DerB>, DualDerivatives<DerA>>;

template <class DerA, class DerB>
using CommonDual = Eigen::AutoDiffScalar<CommonDerivatives<DerA, DerB>>;

constexpr long double kLn2 = 0.693147180559945309417232121458176568L;
constexpr long double kLn10 = 2.302585092994045684017991454684364208L;
constexpr long double kTwoOverSqrtPi = 1.128379167095512573896158903121545172L;

// slope * dx, except that entries where dx is exactly zero stay zero when
// slope is inf or NaN (see the header comment).
template <class Out, class In, class Scalar>
Out scale_tangent(const In& dx, const Scalar& slope) {
  using std::isfinite;
  Out out = dx * slope;
  if (!isfinite(slope)) {
    for (Eigen::Index i = 0; i < out.size(); ++i)
      if (dx.coeff(i) == Scalar(0)) out.coeffRef(i) = Scalar(0);
  }
  return out;
}

// Chain rule for y = f(x): value f(x), derivatives f'(x) dx.
template <class DerType>
PlainDual<DerType> chain(const Eigen::AutoDiffScalar<DerType>& x, const DualScalar<DerType>& value,
                         const DualScalar<DerType>& slope) {
  return PlainDual<DerType>(value, scale_tangent<DualDerivatives<DerType>>(x.derivatives(), slope));
}

// Chain rule for y = f(a, b): value f(a, b), derivatives
// (df/da) da + (df/db) db. An empty dynamic-size derivative vector is a
// constant argument and contributes nothing.
template <class DerA, class DerB>
CommonDual<DerA, DerB> chain(const Eigen::AutoDiffScalar<DerA>& a, const DualScalar<DerA>& slope_a,
                             const Eigen::AutoDiffScalar<DerB>& b, const DualScalar<DerB>& slope_b,
                             const DualScalar<DerA>& value) {
  static_assert(std::is_same_v<DualScalar<DerA>, DualScalar<DerB>>,
                "dual_math: both arguments must be duals over the same scalar type");
  using Der = CommonDerivatives<DerA, DerB>;
  if (a.derivatives().size() == 0)
    return CommonDual<DerA, DerB>(value, scale_tangent<Der>(b.derivatives(), slope_b));
  if (b.derivatives().size() == 0)
    return CommonDual<DerA, DerB>(value, scale_tangent<Der>(a.derivatives(), slope_a));
  return CommonDual<DerA, DerB>(value, scale_tangent<Der>(a.derivatives(), slope_a) +
                                           scale_tangent<Der>(b.derivatives(), slope_b));
}

// A constant y (a step function's value, or the scalar argument fmin
// picked) with zero derivatives of x's size.
template <class DerType>
PlainDual<DerType> constant_like(const Eigen::AutoDiffScalar<DerType>& x,
                                 const DualScalar<DerType>& value) {
  return PlainDual<DerType>(value, DualDerivatives<DerType>::Zero(x.derivatives().size()));
}

// The argument fmin/fmax/min/max chose, as a dual of the common kind; an
// empty (constant) choice gets zero derivatives of the other's size, as in
// chain() above.
template <class DerC, class DerO>
CommonDual<DerC, DerO> pick(const Eigen::AutoDiffScalar<DerC>& chosen,
                            const Eigen::AutoDiffScalar<DerO>& other) {
  using Der = CommonDerivatives<DerC, DerO>;
  if (chosen.derivatives().size() == 0 && other.derivatives().size() != 0)
    return CommonDual<DerC, DerO>(chosen.value(), Der::Zero(other.derivatives().size()));
  return CommonDual<DerC, DerO>(chosen.value(), chosen.derivatives());
}

}  // namespace implicit::internal

namespace Eigen {

// ---- Inverse trigonometric and hyperbolic functions -----------------------

// d atan(x) = dx / (1 + x^2).
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> atan(const AutoDiffScalar<DerType>& x) {
  using std::atan;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, atan(v), Scalar(1) / (Scalar(1) + v * v));
}

// d atanh(x) = dx / (1 - x^2), with 1 - x^2 as (1 - x)(1 + x): no
// cancellation near |x| = 1.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> atanh(const AutoDiffScalar<DerType>& x) {
  using std::atanh;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, atanh(v), Scalar(1) / ((Scalar(1) - v) * (Scalar(1) + v)));
}

// d asinh(x) = dx / sqrt(1 + x^2), as 1 / hypot(1, x): no overflow of x^2.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> asinh(const AutoDiffScalar<DerType>& x) {
  using std::asinh;
  using std::hypot;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, asinh(v), Scalar(1) / hypot(Scalar(1), v));
}

// d acosh(x) = dx / sqrt(x^2 - 1), as 1 / (sqrt(x - 1) sqrt(x + 1)): no
// cancellation near x = 1, no overflow of x^2.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> acosh(const AutoDiffScalar<DerType>& x) {
  using std::acosh;
  using std::sqrt;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, acosh(v),
                                     Scalar(1) / (sqrt(v - Scalar(1)) * sqrt(v + Scalar(1))));
}

// ---- Exponentials and logarithms ------------------------------------------

// d expm1(x) = exp(x) dx.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> expm1(const AutoDiffScalar<DerType>& x) {
  using std::exp;
  using std::expm1;
  return ::implicit::internal::chain(x, expm1(x.value()), exp(x.value()));
}

// d log1p(x) = dx / (1 + x).
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> log1p(const AutoDiffScalar<DerType>& x) {
  using std::log1p;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  return ::implicit::internal::chain(x, log1p(x.value()), Scalar(1) / (Scalar(1) + x.value()));
}

// d exp2(x) = ln(2) 2^x dx.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> exp2(const AutoDiffScalar<DerType>& x) {
  using std::exp2;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar y = exp2(x.value());
  return ::implicit::internal::chain(x, y, Scalar(::implicit::internal::kLn2) * y);
}

// d log2(x) = dx / (ln(2) x).
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> log2(const AutoDiffScalar<DerType>& x) {
  using std::log2;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  return ::implicit::internal::chain(x, log2(x.value()),
                                     Scalar(1) / (Scalar(::implicit::internal::kLn2) * x.value()));
}

// d log10(x) = dx / (ln(10) x).
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> log10(const AutoDiffScalar<DerType>& x) {
  using std::log10;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  return ::implicit::internal::chain(x, log10(x.value()),
                                     Scalar(1) / (Scalar(::implicit::internal::kLn10) * x.value()));
}

// ---- Roots, error functions, absolute value --------------------------------

// d cbrt(x) = dx / (3 cbrt(x)^2); +-inf at x = 0.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> cbrt(const AutoDiffScalar<DerType>& x) {
  using std::cbrt;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar y = cbrt(x.value());
  return ::implicit::internal::chain(x, y, Scalar(1) / (Scalar(3) * y * y));
}

// d erf(x) = (2 / sqrt(pi)) exp(-x^2) dx.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> erf(const AutoDiffScalar<DerType>& x) {
  using std::erf;
  using std::exp;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, erf(v),
                                     Scalar(::implicit::internal::kTwoOverSqrtPi) * exp(-(v * v)));
}

// d erfc(x) = -(2 / sqrt(pi)) exp(-x^2) dx.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> erfc(const AutoDiffScalar<DerType>& x) {
  using std::erfc;
  using std::exp;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar& v = x.value();
  return ::implicit::internal::chain(x, erfc(v),
                                     -Scalar(::implicit::internal::kTwoOverSqrtPi) * exp(-(v * v)));
}

// d fabs(x) = sign(x) dx, with sign(0) = +1 as in Eigen's abs.
template <class DerType>
inline ::implicit::internal::PlainDual<DerType> fabs(const AutoDiffScalar<DerType>& x) {
  using std::fabs;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  return ::implicit::internal::chain(x, fabs(x.value()),
                                     x.value() < Scalar(0) ? Scalar(-1) : Scalar(1));
}

// ---- Steps: derivative zero (almost everywhere) -----------------------------

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> floor(const AutoDiffScalar<DerType>& x) {
  using std::floor;
  return ::implicit::internal::constant_like(x, floor(x.value()));
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> ceil(const AutoDiffScalar<DerType>& x) {
  using std::ceil;
  return ::implicit::internal::constant_like(x, ceil(x.value()));
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> trunc(const AutoDiffScalar<DerType>& x) {
  using std::trunc;
  return ::implicit::internal::constant_like(x, trunc(x.value()));
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> round(const AutoDiffScalar<DerType>& x) {
  using std::round;
  return ::implicit::internal::constant_like(x, round(x.value()));
}

// ---- Classification: of the value only --------------------------------------

template <class DerType>
inline bool isfinite(const AutoDiffScalar<DerType>& x) {
  using std::isfinite;
  return isfinite(x.value());
}

template <class DerType>
inline bool isinf(const AutoDiffScalar<DerType>& x) {
  using std::isinf;
  return isinf(x.value());
}

template <class DerType>
inline bool isnan(const AutoDiffScalar<DerType>& x) {
  using std::isnan;
  return isnan(x.value());
}

// ---- hypot: d hypot(a, b) = (a da + b db) / hypot(a, b); NaN at (0, 0) -------

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB> hypot(const AutoDiffScalar<DerA>& a,
                                                          const AutoDiffScalar<DerB>& b) {
  using std::hypot;
  const auto h = hypot(a.value(), b.value());
  return ::implicit::internal::chain(a, a.value() / h, b, b.value() / h, h);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> hypot(
    const AutoDiffScalar<DerType>& a, const ::implicit::internal::DualScalar<DerType>& b) {
  using std::hypot;
  const auto h = hypot(a.value(), b);
  return ::implicit::internal::chain(a, h, a.value() / h);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> hypot(
    const ::implicit::internal::DualScalar<DerType>& a, const AutoDiffScalar<DerType>& b) {
  using std::hypot;
  const auto h = hypot(a, b.value());
  return ::implicit::internal::chain(b, h, b.value() / h);
}

// ---- pow with a dual exponent (Eigen has pow(dual, scalar)) -----------------
// d a^b = b a^(b-1) da + a^b ln(a) db. Where a^b = 0 (a = 0, b > 0) the db
// term is 0, its limit, not 0 * -inf; for a < 0 it is NaN (a^b is real
// only at integer b), and only matters if b moves.

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB> pow(const AutoDiffScalar<DerA>& a,
                                                        const AutoDiffScalar<DerB>& b) {
  using std::log;
  using std::pow;
  using Scalar = ::implicit::internal::DualScalar<DerA>;
  const Scalar p = pow(a.value(), b.value());
  const Scalar slope_b = p == Scalar(0) ? Scalar(0) : p * log(a.value());
  return ::implicit::internal::chain(a, b.value() * pow(a.value(), b.value() - Scalar(1)), b,
                                     slope_b, p);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> pow(
    const ::implicit::internal::DualScalar<DerType>& a, const AutoDiffScalar<DerType>& b) {
  using std::log;
  using std::pow;
  using Scalar = ::implicit::internal::DualScalar<DerType>;
  const Scalar p = pow(a, b.value());
  return ::implicit::internal::chain(b, p, p == Scalar(0) ? Scalar(0) : p * log(a));
}

// ---- atan2: d atan2(y, x) = (x dy - y dx) / (x^2 + y^2); NaN at (0, 0) ------
// With one scalar argument Eigen has no overload. With two duals, Eigen's
// returns dynamic-size derivatives (a heap allocation per call, even for
// Dual<T, N>) and fails an assertion when one argument is a constant with
// an empty dynamic derivative vector. The three dual/dual overloads below
// are more specialised than Eigen's and take every call in which either
// argument is a plain dual; only two expression arguments still reach
// Eigen's.

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> atan2(
    const AutoDiffScalar<DerType>& y, const ::implicit::internal::DualScalar<DerType>& x) {
  using std::atan2;
  const auto& v = y.value();
  return ::implicit::internal::chain(y, atan2(v, x), x / (x * x + v * v));
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> atan2(
    const ::implicit::internal::DualScalar<DerType>& y, const AutoDiffScalar<DerType>& x) {
  using std::atan2;
  const auto& v = x.value();
  return ::implicit::internal::chain(x, atan2(y, v), -y / (v * v + y * y));
}

}  // namespace Eigen

namespace implicit::internal {

template <class DerY, class DerX>
CommonDual<DerY, DerX> dual_atan2(const Eigen::AutoDiffScalar<DerY>& y,
                                  const Eigen::AutoDiffScalar<DerX>& x) {
  using std::atan2;
  const auto& yv = y.value();
  const auto& xv = x.value();
  const auto r2 = xv * xv + yv * yv;
  return chain(y, xv / r2, x, -yv / r2, atan2(yv, xv));
}

}  // namespace implicit::internal

namespace Eigen {

template <class S, int R1, int O1, int M1, int R2, int O2, int M2>
inline ::implicit::internal::CommonDual<Matrix<S, R1, 1, O1, M1, 1>, Matrix<S, R2, 1, O2, M2, 1>>
atan2(const AutoDiffScalar<Matrix<S, R1, 1, O1, M1, 1>>& y,
      const AutoDiffScalar<Matrix<S, R2, 1, O2, M2, 1>>& x) {
  return ::implicit::internal::dual_atan2(y, x);
}

template <class DerY, class S, int R, int O, int M>
inline ::implicit::internal::CommonDual<DerY, Matrix<S, R, 1, O, M, 1>> atan2(
    const AutoDiffScalar<DerY>& y, const AutoDiffScalar<Matrix<S, R, 1, O, M, 1>>& x) {
  return ::implicit::internal::dual_atan2(y, x);
}

template <class S, int R, int O, int M, class DerX>
inline ::implicit::internal::CommonDual<Matrix<S, R, 1, O, M, 1>, DerX> atan2(
    const AutoDiffScalar<Matrix<S, R, 1, O, M, 1>>& y, const AutoDiffScalar<DerX>& x) {
  return ::implicit::internal::dual_atan2(y, x);
}

// ---- fmin, fmax: the derivative of the argument chosen -----------------------
// As std::fmin/fmax: a NaN argument loses to a number. Ties pick the first.

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB> fmin(const AutoDiffScalar<DerA>& a,
                                                         const AutoDiffScalar<DerB>& b) {
  using ::implicit::internal::pick;
  using std::isnan;
  if (isnan(a.value()) || b.value() < a.value()) return pick(b, a);
  return pick(a, b);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> fmin(
    const AutoDiffScalar<DerType>& a, const ::implicit::internal::DualScalar<DerType>& b) {
  using std::isnan;
  if (isnan(a.value()) || b < a.value()) return ::implicit::internal::constant_like(a, b);
  return ::implicit::internal::PlainDual<DerType>(a);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> fmin(
    const ::implicit::internal::DualScalar<DerType>& a, const AutoDiffScalar<DerType>& b) {
  using std::isnan;
  if (isnan(a) || b.value() < a) return ::implicit::internal::PlainDual<DerType>(b);
  return ::implicit::internal::constant_like(b, a);
}

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB> fmax(const AutoDiffScalar<DerA>& a,
                                                         const AutoDiffScalar<DerB>& b) {
  using ::implicit::internal::pick;
  using std::isnan;
  if (isnan(a.value()) || a.value() < b.value()) return pick(b, a);
  return pick(a, b);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> fmax(
    const AutoDiffScalar<DerType>& a, const ::implicit::internal::DualScalar<DerType>& b) {
  using std::isnan;
  if (isnan(a.value()) || a.value() < b) return ::implicit::internal::constant_like(a, b);
  return ::implicit::internal::PlainDual<DerType>(a);
}

template <class DerType>
inline ::implicit::internal::PlainDual<DerType> fmax(
    const ::implicit::internal::DualScalar<DerType>& a, const AutoDiffScalar<DerType>& b) {
  using std::isnan;
  if (isnan(a) || a < b.value()) return ::implicit::internal::PlainDual<DerType>(b);
  return ::implicit::internal::constant_like(b, a);
}

// ---- min, max of duals with different derivative types ----------------------
// Eigen's (min)(dual, T) and (min)(T, dual) both match two such duals and
// the call is ambiguous; this more specialised overload settles it. Same
// rule as Eigen's: min takes a if a < b, max takes a if a >= b. Two duals
// of one type still use Eigen's own overload, which is more specialised.

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB>(min)(const AutoDiffScalar<DerA>& a,
                                                         const AutoDiffScalar<DerB>& b) {
  using ::implicit::internal::pick;
  if (a.value() < b.value()) return pick(a, b);
  return pick(b, a);
}

template <class DerA, class DerB>
inline ::implicit::internal::CommonDual<DerA, DerB>(max)(const AutoDiffScalar<DerA>& a,
                                                         const AutoDiffScalar<DerB>& b) {
  using ::implicit::internal::pick;
  if (a.value() >= b.value()) return pick(a, b);
  return pick(b, a);
}

}  // namespace Eigen
