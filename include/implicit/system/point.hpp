#pragma once
// The state every method for g(x) = 0 shares with the driver: a point, g at
// that point and its norm, always evaluated together so they never disagree.

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "implicit/internal/scalar.hpp"
#include "implicit/types.hpp"

namespace implicit {

template <class T>
struct SystemPoint {
  VectorX<T> x;
  VectorX<T> gx;    // g(x)
  double norm = 0;  // ||g(x)||_2, +inf when g(x) has a NaN or Inf entry
};

namespace internal {

// ||v||_2 in double, +inf when v has a NaN or Inf (so a bad trial point is
// simply a very bad one to every method).
template <class T>
double finite_norm_or_inf(const VectorX<T>& v) {
  const double norm = internal::value(v.norm());
  return std::isfinite(norm) && v.allFinite() ? norm : std::numeric_limits<double>::infinity();
}

// p.gx = g(p.x) and p.norm, with g's output size checked against x's: a
// square system maps R^n to R^n, and a functor that returns another size
// (for one scalar type only, say) is a programming error, never a number.
template <class G, class T>
void evaluate_at(const G& g, SystemPoint<T>& p) {
  p.gx = g(p.x);
  if (p.gx.size() != p.x.size())
    throw std::invalid_argument("solve_root: g returned a vector of size " +
                                std::to_string(p.gx.size()) + " for an input of size " +
                                std::to_string(p.x.size()) + " (the system must be square)");
  p.norm = finite_norm_or_inf(p.gx);
}

// The rounding level of g at p: the largest ||g(x + d_k) - g(x)|| over
// three perturbations d_k = +-eps x_i (one ulp of each x_i), signs
// pseudo-random. g cannot tell x from x + d_k, so a residual of about this
// size is noise of g itself (its terms' rounding, e.g. alpha / dx^2 times u
// on a fine grid), which no step can reduce. Costs three evaluations of g
// (counted by the caller).
template <class G, class T>
double rounding_spread(const G& g, const SystemPoint<T>& p) {
  const double eps = static_cast<double>(std::numeric_limits<T>::epsilon());
  double spread = 0;
  for (int k = 0; k < 3; ++k) {
    VectorX<T> x = p.x;
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      // Signs from the fractional parts of multiples of the golden ratio.
      const double phase =
          std::fmod(0.6180339887498949 * static_cast<double>((i + 1) * (k + 3)), 1.0);
      const T step = static_cast<T>(eps) * x[i];
      x[i] += phase < 0.5 ? step : T(-step);
    }
    const VectorX<T> gx = g(x);
    if (gx.size() != p.gx.size()) return std::numeric_limits<double>::infinity();
    spread = std::fmax(spread, finite_norm_or_inf(VectorX<T>(gx - p.gx)));
  }
  return spread;
}

}  // namespace internal
}  // namespace implicit
