#pragma once
// The Jacobian dg/dx for the methods that need one, from g's own
// `jacobian(x)` member, forward-mode AD, or forward differences
// (SystemOptions::jacobian), with its shape checked.

#include <cmath>
#include <cstdio>
#include <limits>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"

namespace implicit::internal {

// J = dg/dx at p.x (n x n). Counts into `report`: one Jacobian evaluation for
// kAutomatic, n g evaluations for kFiniteDifference. Throws if g's
// derivative has the wrong shape (g returning another size for dual numbers
// than for doubles, a hand-written jacobian of the wrong size). Returns
// false, with report.status kNonFinite, when J has a NaN or Inf entry.
template <class T>
bool jacobian_is_finite(const MatrixX<T>& J, StepReport& report) {
  if (J.allFinite()) return true;
  report.status = Status::kNonFinite;
  report.message = "the Jacobian of g has a NaN or Inf entry";
  return false;
}

template <class G, class T>
bool system_jacobian(const G& g, const SystemPoint<T>& p, JacobianMethod method, MatrixX<T>& J,
                     StepReport& report) {
  const Eigen::Index n = p.x.size();
  if (method == JacobianMethod::kAutomatic) {
    J = implicit::internal::square_jacobian(g, p.x);
    ++report.jacobian_evaluations;
    if (J.rows() != n || J.cols() != n)
      throw std::invalid_argument(
          "solve_root: the Jacobian of g is " + std::to_string(J.rows()) + " x " +
          std::to_string(J.cols()) + " at a point of size " + std::to_string(n) +
          " (does g return another size for dual numbers, or a jacobian member another shape?)");
    return jacobian_is_finite(J, report);
  }
  // Forward differences with h_j = sqrt(eps) max(|x_j|, 1) (Dennis & Schnabel,
  // Algorithm A5.4.1): error O(sqrt(eps)) relative, half the digits of AD.
  J.resize(n, n);
  const double root_eps = std::sqrt(static_cast<double>(std::numeric_limits<T>::epsilon()));
  VectorX<T> xh = p.x;
  for (Eigen::Index j = 0; j < n; ++j) {
    const T xj = p.x[j];
    const T h = static_cast<T>(root_eps * std::fmax(std::fabs(internal::value(xj)), 1.0));
    xh[j] = xj + h;
    const T step = xh[j] - xj;  // the step actually representable
    const VectorX<T> gh = g(xh);
    if (gh.size() != n)
      throw std::invalid_argument("solve_root: g returned a vector of size " +
                                  std::to_string(gh.size()) + " for an input of size " +
                                  std::to_string(n));
    J.col(j) = (gh - p.gx) / step;
    xh[j] = xj;
  }
  report.function_evaluations += static_cast<int>(n);
  return jacobian_is_finite(J, report);
}

// Why a method stopped with kStalled, with the norm it stopped at.
template <class T>
std::string stalled_message(const SystemPoint<T>& p, const char* why) {
  char buf[240];
  std::snprintf(buf, sizeof buf,
                "%s at ||g|| = %.3e: a local minimum of ||g|| that is not a root, or ||g|| at its "
                "rounding floor",
                why, p.norm);
  return buf;
}

}  // namespace implicit::internal
