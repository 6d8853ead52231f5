#pragma once
// SparsityTracer: a scalar that carries, beside its value, the set of inputs
// it depends on. Evaluating a templated g once on tracers seeded with input
// j = {j} gives in row i of g(x) the columns dg_i/dx may depend on: the
// nonzero pattern of the Jacobian, in one pass of g whatever n is (the idea
// of Julia's SparseConnectivityTracer, written here for C++ scalars).
//
// What the pattern means. Every operation unites its operands' sets, so a
// dependence that cancels numerically (x - x) is kept: the pattern is a
// superset of the Jacobian's nonzeros at every point where g takes the same
// branches as at the traced x. Comparisons (and so `if`, std::max, Eigen's
// cwiseMax) use the values, i.e. g's branches as taken at that x; the
// functions below whose derivative is zero almost everywhere (floor, ceil,
// round, trunc, sign tests) depend on nothing, and fmin / fmax / min / max /
// fabs keep the inputs of both operands (the pattern of both branches).
// SparseJacobian checks every Jacobian it forms against the pattern, so a
// branch taken later that leaves it is an error, not a wrong derivative.
//
// Cost: set unions of the operands (sorted vectors); with a bound on the
// set sizes (internal::TracerBound), a set that outgrows it aborts the
// evaluation at once, so tracing a dense g costs about bound^2 per output
// rather than n^2.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "implicit/internal/scalar.hpp"

namespace implicit {

namespace internal {
// Thrown out of a traced g when a dependence set outgrows the bound: the
// pattern is then too dense to be worth a sparse Jacobian.
struct TracerBoundExceeded {};

// The largest set a tracer may hold on this thread (0: no bound); set for
// the duration of one traced evaluation by TracerBound.
inline std::size_t& tracer_bound() {
  thread_local std::size_t bound = 0;
  return bound;
}

class TracerBound {
 public:
  explicit TracerBound(std::size_t bound) : previous_(tracer_bound()) { tracer_bound() = bound; }
  ~TracerBound() { tracer_bound() = previous_; }
  TracerBound(const TracerBound&) = delete;
  TracerBound& operator=(const TracerBound&) = delete;

 private:
  std::size_t previous_;
};
}  // namespace internal

class SparsityTracer {
 public:
  using Inputs = std::vector<int>;  // sorted, no repeats

  SparsityTracer() = default;
  // A constant (depends on no input). Implicit, as for a double: g may write
  // T(2), 2 * x or x + 1.0.
  template <class A, class = std::enable_if_t<std::is_arithmetic_v<A>>>
  SparsityTracer(A value) : value_(static_cast<double>(value)) {}  // NOLINT(runtime/explicit)

  // Input j of the traced function, at value v.
  static SparsityTracer input(double v, int j) {
    SparsityTracer t(v);
    t.inputs_.push_back(j);
    return t;
  }

  double value() const { return value_; }
  const Inputs& inputs() const { return inputs_; }

  // --- arithmetic: the value as for doubles, the inputs of both operands ---
  friend SparsityTracer operator+(const SparsityTracer& a, const SparsityTracer& b) {
    return both(a.value_ + b.value_, a, b);
  }
  friend SparsityTracer operator-(const SparsityTracer& a, const SparsityTracer& b) {
    return both(a.value_ - b.value_, a, b);
  }
  friend SparsityTracer operator*(const SparsityTracer& a, const SparsityTracer& b) {
    return both(a.value_ * b.value_, a, b);
  }
  friend SparsityTracer operator/(const SparsityTracer& a, const SparsityTracer& b) {
    return both(a.value_ / b.value_, a, b);
  }
  friend SparsityTracer operator-(const SparsityTracer& a) { return a.with(-a.value_); }
  friend SparsityTracer operator+(const SparsityTracer& a) { return a; }
  SparsityTracer& operator+=(const SparsityTracer& b) { return *this = *this + b; }
  SparsityTracer& operator-=(const SparsityTracer& b) { return *this = *this - b; }
  SparsityTracer& operator*=(const SparsityTracer& b) { return *this = *this * b; }
  SparsityTracer& operator/=(const SparsityTracer& b) { return *this = *this / b; }

  // --- comparisons: on values (the branch g takes at the traced point) ---
  friend bool operator==(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ == b.value_;
  }
  friend bool operator!=(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ != b.value_;
  }
  friend bool operator<(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ < b.value_;
  }
  friend bool operator<=(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ <= b.value_;
  }
  friend bool operator>(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ > b.value_;
  }
  friend bool operator>=(const SparsityTracer& a, const SparsityTracer& b) {
    return a.value_ >= b.value_;
  }

  // --- functions, found by argument-dependent lookup (`using std::exp;
  // exp(x)`, and Eigen's numext) ---
#define IMPLICIT_TRACER_UNARY(name) \
  friend SparsityTracer name(const SparsityTracer& a) { return a.with(std::name(a.value_)); }
  IMPLICIT_TRACER_UNARY(abs)
  IMPLICIT_TRACER_UNARY(fabs)
  IMPLICIT_TRACER_UNARY(sqrt)
  IMPLICIT_TRACER_UNARY(cbrt)
  IMPLICIT_TRACER_UNARY(exp)
  IMPLICIT_TRACER_UNARY(exp2)
  IMPLICIT_TRACER_UNARY(expm1)
  IMPLICIT_TRACER_UNARY(log)
  IMPLICIT_TRACER_UNARY(log2)
  IMPLICIT_TRACER_UNARY(log10)
  IMPLICIT_TRACER_UNARY(log1p)
  IMPLICIT_TRACER_UNARY(sin)
  IMPLICIT_TRACER_UNARY(cos)
  IMPLICIT_TRACER_UNARY(tan)
  IMPLICIT_TRACER_UNARY(asin)
  IMPLICIT_TRACER_UNARY(acos)
  IMPLICIT_TRACER_UNARY(atan)
  IMPLICIT_TRACER_UNARY(sinh)
  IMPLICIT_TRACER_UNARY(cosh)
  IMPLICIT_TRACER_UNARY(tanh)
  IMPLICIT_TRACER_UNARY(asinh)
  IMPLICIT_TRACER_UNARY(acosh)
  IMPLICIT_TRACER_UNARY(atanh)
  IMPLICIT_TRACER_UNARY(erf)
  IMPLICIT_TRACER_UNARY(erfc)
  IMPLICIT_TRACER_UNARY(tgamma)
  IMPLICIT_TRACER_UNARY(lgamma)
#undef IMPLICIT_TRACER_UNARY
  // Derivative zero almost everywhere: a constant of the traced point.
#define IMPLICIT_TRACER_STEP(name)                      \
  friend SparsityTracer name(const SparsityTracer& a) { \
    return SparsityTracer(std::name(a.value_));         \
  }
  IMPLICIT_TRACER_STEP(floor)
  IMPLICIT_TRACER_STEP(ceil)
  IMPLICIT_TRACER_STEP(trunc)
  IMPLICIT_TRACER_STEP(round)
#undef IMPLICIT_TRACER_STEP
#define IMPLICIT_TRACER_BINARY(name)                                             \
  friend SparsityTracer name(const SparsityTracer& a, const SparsityTracer& b) { \
    return both(std::name(a.value_, b.value_), a, b);                            \
  }
  IMPLICIT_TRACER_BINARY(pow)
  IMPLICIT_TRACER_BINARY(atan2)
  IMPLICIT_TRACER_BINARY(hypot)
  IMPLICIT_TRACER_BINARY(fmod)
  IMPLICIT_TRACER_BINARY(fmin)
  IMPLICIT_TRACER_BINARY(fmax)
  IMPLICIT_TRACER_BINARY(copysign)
#undef IMPLICIT_TRACER_BINARY
  // Both branches' inputs (see the header comment); the value as std::min.
  friend SparsityTracer min(const SparsityTracer& a, const SparsityTracer& b) {
    return both(std::min(a.value_, b.value_), a, b);
  }
  friend SparsityTracer max(const SparsityTracer& a, const SparsityTracer& b) {
    return both(std::max(a.value_, b.value_), a, b);
  }
  friend SparsityTracer abs2(const SparsityTracer& a) { return a.with(a.value_ * a.value_); }
  friend SparsityTracer conj(const SparsityTracer& a) { return a; }
  friend SparsityTracer real(const SparsityTracer& a) { return a; }
  friend SparsityTracer imag(const SparsityTracer&) { return SparsityTracer(0.0); }
  friend bool isfinite(const SparsityTracer& a) { return std::isfinite(a.value_); }
  friend bool isnan(const SparsityTracer& a) { return std::isnan(a.value_); }
  friend bool isinf(const SparsityTracer& a) { return std::isinf(a.value_); }
  friend bool signbit(const SparsityTracer& a) { return std::signbit(a.value_); }

 private:
  SparsityTracer with(double v) const {
    SparsityTracer t(v);
    t.inputs_ = inputs_;
    return t;
  }

  // The union of two sorted sets, bounded by internal::tracer_bound().
  static SparsityTracer both(double v, const SparsityTracer& a, const SparsityTracer& b) {
    SparsityTracer t(v);
    if (b.inputs_.empty() || &a == &b || a.inputs_ == b.inputs_) {
      t.inputs_ = a.inputs_;
    } else if (a.inputs_.empty()) {
      t.inputs_ = b.inputs_;
    } else {
      t.inputs_.reserve(a.inputs_.size() + b.inputs_.size());
      std::set_union(a.inputs_.begin(), a.inputs_.end(), b.inputs_.begin(), b.inputs_.end(),
                     std::back_inserter(t.inputs_));
    }
    const std::size_t bound = internal::tracer_bound();
    if (bound && t.inputs_.size() > bound) throw internal::TracerBoundExceeded{};
    return t;
  }

  double value_ = 0;
  Inputs inputs_;
};

namespace internal {
template <>
struct ScalarValue<SparsityTracer> {
  static double get(const SparsityTracer& x) { return x.value(); }
};
}  // namespace internal

}  // namespace implicit

namespace Eigen {

template <>
struct NumTraits<implicit::SparsityTracer>
    : implicit::internal::AdScalarNumTraits<implicit::SparsityTracer, double> {};

// Mixed expressions (x * 2.0 on vectors of tracers), as for Eigen's own
// AutoDiffScalar.
template <class BinaryOp>
struct ScalarBinaryOpTraits<implicit::SparsityTracer, double, BinaryOp> {
  using ReturnType = implicit::SparsityTracer;
};
template <class BinaryOp>
struct ScalarBinaryOpTraits<double, implicit::SparsityTracer, BinaryOp> {
  using ReturnType = implicit::SparsityTracer;
};

}  // namespace Eigen
