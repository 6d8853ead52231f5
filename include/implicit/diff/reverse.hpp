#pragma once
// Reverse-mode automatic differentiation of a user's templated function,
// by Trilinos Sacado's Rad (operator overloading onto an in-memory tape).
//
// Why reverse mode: a vector-Jacobian product u^T J by forward mode needs
// one pass per input direction, so for theta with p entries it costs about
// p / 8 evaluations of f in 8-wide dual numbers (n = 100 with p = 10,100:
// ~26,000 f). A reverse sweep over a tape of f gives u^T J for every input
// at once, at a cost independent of p.
//
// Why Sacado's Rad (measured, tanh(W z + x), one thread, as multiples of one
// f evaluation in double; record + first sweep / each further sweep; the
// current tables are in bench/README.md, "Reverse mode", from reverse_bench):
//   n = 10:   Rad 27-37 / 16-21     ADOL-C 107-133 / 23-27
//   n = 100:  Rad 75-208 / 55-150   ADOL-C 173-556 / 30-90
//   n = 1000: Rad 188-725 / 123-530 ADOL-C 186-783 / 44-200
// Rad records 2-4x faster (the cost of a single VJP); ADOL-C replays 2-3x
// faster, but once a tape outgrows its buffers (n = 1000 here) it writes
// ./ADOLC-*.tap into the caller's working directory, where two processes
// using the same tape number overwrite each other's tapes. Rad keeps its
// tape in memory and is header-only.
//
// Cost floor: a tape has one entry per scalar operation of f, and a sweep
// costs ~10-30 ns per entry, while f itself may run its matrix products
// vectorised at < 1 ns per multiply-add. So for f dominated by a dense
// product (W z) a sweep is 15-500 f; for f dominated by scalar functions
// (exp, tanh, ...) it is a few f, reverse mode's textbook bound.
//
// Threads: Rad's tape is one global per scalar type. Every ReverseTape
// holds a process-wide mutex from recording to destruction, so two threads
// differentiating at once get correct answers, one after the other. Inside
// a function being recorded, asking for another reverse-mode derivative
// (nesting) throws std::logic_error instead of deadlocking or corrupting
// the tape.
//
// Reverse mode is available when <Sacado_trad.hpp> can be included (the
// CMake package adds Debian's /usr/include/trilinos); otherwise every
// derivative uses forward mode and kReverse throws std::invalid_argument.

#include <Eigen/Core>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#if !defined(IMPLICIT_DISABLE_REVERSE) && __has_include(<Sacado_trad.hpp>)
#define IMPLICIT_HAVE_REVERSE 1
#include <Sacado_trad.hpp>
#include <cmath>
#else
#define IMPLICIT_HAVE_REVERSE 0
#endif

#include "implicit/diff/derivative_mode.hpp"
#include "implicit/internal/scalar.hpp"

namespace implicit {

namespace internal {

// Reverse mode runs on double and float (Rad's value types here).
template <class T>
constexpr bool reverse_available = IMPLICIT_HAVE_REVERSE &&
                                   (std::is_same_v<T, double> || std::is_same_v<T, float>);

// Cost model, in passes of f (measured above and in bench/reverse_bench):
// a forward pass with 8-wide duals costs about one reverse sweep / 8, so
// below this many inputs a VJP by ceil(n / 8) forward passes is cheaper than
// recording a tape.
constexpr Eigen::Index kForwardVjpMaxInputs = 32;

inline bool use_reverse_for_vjp(DerivativeMode mode, bool available, Eigen::Index inputs) {
  if (mode == DerivativeMode::kReverse) {
    if (!available)
      throw std::invalid_argument(
          "DerivativeMode::kReverse: reverse mode is not available (it needs Trilinos Sacado, "
          "Debian's libtrilinos-sacado-dev, and double or float scalars)");
    return true;
  }
  return mode == DerivativeMode::kAuto && available && inputs > kForwardVjpMaxInputs;
}

// A full Jacobian (m x n) costs ceil(n / 8) forward passes or one recording
// plus m sweeps, a sweep being ~8 forward passes: rows by reverse mode pay
// off when 8 (m + 1) < ceil(n / 8).
inline bool reverse_rows_pay_off(Eigen::Index rows, Eigen::Index cols) {
  return 8 * (rows + 1) < (cols + 7) / 8;
}

// Declared always, so that code naming it in a discarded `if constexpr`
// branch compiles without Sacado.
template <class T>
class ReverseTape;

#if IMPLICIT_HAVE_REVERSE

template <class T>
using RadVar = Sacado::Rad::ADvar<T>;

// value(x) of a tape variable, for code that branches on values.
template <class T>
struct ScalarValue<Sacado::Rad::ADvar<T>> {
  static double get(const Sacado::Rad::ADvar<T>& x) { return static_cast<double>(x.val()); }
};

inline std::mutex& reverse_tape_mutex() {
  static std::mutex mutex;
  return mutex;
}
inline thread_local bool tape_in_use_in_this_thread = false;

// y = fn(x) recorded once; pullback(w) = J^T w by one reverse sweep of the
// tape, without calling fn again. Memory: Rad's tape, about 60 bytes per
// scalar operation of fn (kept by Rad for the next recording), plus x and y.
template <class T>
class ReverseTape {
 public:
  using Var = RadVar<T>;
  using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
  using VarVector = Eigen::Matrix<Var, Eigen::Dynamic, 1>;

  template <class Fn>
  ReverseTape(const Fn& fn, const Vector& x, const char* who) : lock_(acquire(who)) {
    if (dirty()) Sacado::Rad::ADcontext<T>::re_init();  // a recording never swept
    dirty() = true;
    x_.resize(x.size());
    for (Eigen::Index i = 0; i < x.size(); ++i) x_[i] = Var(x[i]);
    const VarVector y = fn(x_);
    // A fresh node per output, so that two outputs that are the same
    // variable (or an output that is an input) each get their own weight.
    y_.resize(y.size());
    value_.resize(y.size());
    for (Eigen::Index i = 0; i < y.size(); ++i) {
      value_[i] = y[i].val();
      y_[i] = Sacado::Rad::ADf1(value_[i], T(1), y[i]);
    }
    y_ptrs_.resize(static_cast<size_t>(y.size()));
    for (Eigen::Index i = 0; i < y.size(); ++i) y_ptrs_[static_cast<size_t>(i)] = &y_[i];
  }
  ReverseTape(const ReverseTape&) = delete;
  ReverseTape& operator=(const ReverseTape&) = delete;

  Eigen::Index input_size() const { return x_.size(); }
  Eigen::Index output_size() const { return y_.size(); }
  const Vector& value() const { return value_; }

  // Entries [first, first + count) of J^T w (count < 0: to the end).
  Vector pullback(const Vector& w, Eigen::Index first = 0, Eigen::Index count = -1) const {
    if (w.size() != y_.size())
      throw std::invalid_argument("reverse-mode pullback: the weight has size " +
                                  std::to_string(w.size()) + ", expected " +
                                  std::to_string(y_.size()));
    if (count < 0) count = x_.size() - first;
    weights_.assign(w.data(), w.data() + w.size());
    Var::Weighted_Gradcomp(y_ptrs_.size(), const_cast<Var**>(y_ptrs_.data()), weights_.data());
    dirty() = false;
    Vector out(count);
    for (Eigen::Index i = 0; i < count; ++i) out[i] = x_[first + i].adj();
    return out;
  }

 private:
  // Set while a tape is alive in this thread: a second one would wait on
  // the mutex this thread holds (or, inside f's recording, corrupt it).
  struct InUseFlag {
    InUseFlag() { tape_in_use_in_this_thread = true; }
    ~InUseFlag() { tape_in_use_in_this_thread = false; }
  };
  static std::unique_lock<std::mutex> acquire(const char* who) {
    if (tape_in_use_in_this_thread)
      throw std::logic_error(std::string(who) +
                             ": a reverse-mode derivative was requested while this thread "
                             "already holds a tape (does f itself take reverse-mode "
                             "derivatives?); nesting is not supported");
    return std::unique_lock<std::mutex>(reverse_tape_mutex());
  }
  // True from a recording until its first sweep: Rad starts a new tape only
  // after a sweep, so a recording abandoned midway (f threw) is cleared.
  static bool& dirty() {
    static bool value = false;
    return value;
  }

  std::unique_lock<std::mutex> lock_;
  InUseFlag in_use_;
  VarVector x_;
  VarVector y_;
  std::vector<Var*> y_ptrs_;
  Vector value_;
  mutable std::vector<T> weights_;
};

#else

// Never used for arithmetic without Sacado (reverse_available is false);
// it only lets the callers' discarded branches name a type.
template <class T>
using RadVar = T;

#endif  // IMPLICIT_HAVE_REVERSE

}  // namespace internal
}  // namespace implicit

#if IMPLICIT_HAVE_REVERSE
// Eigen needs the numeric traits of Rad's variable to build matrices of it.
namespace Eigen {
template <class T>
struct NumTraits<Sacado::Rad::ADvar<T>>
    : implicit::internal::AdScalarNumTraits<Sacado::Rad::ADvar<T>, T> {};
}  // namespace Eigen

#include "implicit/diff/reverse_math.hpp"
#endif
