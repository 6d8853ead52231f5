#pragma once
// Levenberg-Marquardt for g(x) = 0 (Levenberg 1944, Marquardt 1963), with
// Marquardt's scaling and Nielsen's damping update (Nielsen, "Damping
// parameter in Marquardt's method", IMM DTU 1999; Madsen, Nielsen &
// Tingleff, "Methods for non-linear least squares problems", 2004).
//
// Each step solves the damped normal equations
//
//     (J^T J + lambda D) p = -J^T g ,   D = diag of the running max of diag(J^T J),
//
// by a Cholesky factorisation, and with rho = actual / predicted decrease
// of 1/2 ||g||^2 (predicted = 1/2 p^T (lambda D p - J^T g)):
//   rho > 1e-4: accept, lambda *= max(1/3, 1 - (2 rho - 1)^3), nu = 2;
//   otherwise:  reject, lambda *= nu, nu *= 2.
// Large lambda turns the step into short scaled steepest descent, small
// lambda into Gauss-Newton, so it never needs J to be nonsingular: the
// most robust of the methods here, at the price of linear convergence near
// a singular root.
//
// Cost per step: one g evaluation, plus one Jacobian and an n^3/6
// factorisation per accepted step (rejected steps refactor with the same
// J). Fails: kStalled when the gradient J^T g vanishes at a point that is
// not a root, or the step falls below x_tol (||x|| + x_tol).

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/jacobian.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"

namespace implicit {

struct LevenbergMarquardtOptions {
  // lambda_0 = initial_damping * max diag(J^T J) at x0.
  double initial_damping = 1e-3;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "LevenbergMarquardtOptions") const {
    if (!(initial_damping > 0) || !std::isfinite(initial_damping))
      throw std::invalid_argument(owner + "::initial_damping must be finite and > 0, got " +
                                  std::to_string(initial_damping));
  }
};

class LevenbergMarquardt {
 public:
  explicit LevenbergMarquardt(LevenbergMarquardtOptions options = {}) : options_(options) {}

  const char* name() const { return "levenberg_marquardt"; }

  void validate() const { options_.validate(); }

  template <class T>
  struct State {
    MatrixX<T> J;
    MatrixX<T> normal;    // J^T J
    VectorX<T> gradient;  // J^T g
    VectorX<T> scale;     // D
    double lambda = -1;   // < 0: not set yet
    double nu = 2;
    bool fresh_jacobian = false;
    SystemPoint<T> trial;
  };

  template <class G, class T>
  State<T> init(const G&, const SystemPoint<T>& p) const {
    State<T> s;
    s.scale = VectorX<T>::Zero(p.x.size());
    return s;
  }

  template <class G, class T>
  StepReport step(const G& g, State<T>& s, SystemPoint<T>& p, const SystemOptions& options) const {
    StepReport report;
    if (!s.fresh_jacobian) {
      if (!internal::system_jacobian(g, p, options.jacobian, s.J, report)) return report;
      s.normal.noalias() = s.J.transpose() * s.J;
      s.gradient.noalias() = s.J.transpose() * p.gx;
      s.scale = s.scale.cwiseMax(s.normal.diagonal());
      if (s.lambda < 0)
        s.lambda =
            options_.initial_damping * std::fmax(static_cast<double>(s.scale.maxCoeff()), 1e-300);
      s.fresh_jacobian = true;
      const double gradient_norm =
          static_cast<double>(s.gradient.template lpNorm<Eigen::Infinity>());
      const double floor = std::numeric_limits<T>::epsilon() *
                           static_cast<double>(s.J.template lpNorm<Eigen::Infinity>()) * p.norm;
      if (!(gradient_norm > floor)) {
        report.status = Status::kStalled;
        report.message = internal::stalled_message(p, "the gradient J^T g vanishes");
        return report;
      }
    }
    // Floor D so that a zero column of J still gets damped.
    const T scale_floor = static_cast<T>(1e-12) * std::max(s.scale.maxCoeff(), T(1e-300));
    MatrixX<T> damped = s.normal;
    damped.diagonal() += static_cast<T>(s.lambda) * s.scale.cwiseMax(scale_floor);
    const Eigen::LLT<MatrixX<T>> llt(damped);
    VectorX<T> step;
    if (llt.info() == Eigen::Success) step = llt.solve(-s.gradient);
    if (llt.info() != Eigen::Success || !step.allFinite()) {
      s.lambda *= s.nu;
      s.nu *= 2;
      return check_damping(s, p, report);
    }
    const double predicted =
        0.5 * static_cast<double>(step.dot(static_cast<T>(s.lambda) *
                                               s.scale.cwiseMax(scale_floor).cwiseProduct(step) -
                                           s.gradient));
    s.trial.x = p.x + step;
    internal::evaluate_at(g, s.trial);
    ++report.function_evaluations;
    const double actual = 0.5 * (p.norm * p.norm - s.trial.norm * s.trial.norm);
    const double rho = predicted > 0 ? actual / predicted : -1;
    if (rho > 1e-4 && s.trial.norm < p.norm) {
      const double r = 2 * rho - 1;
      s.lambda *= std::max(1.0 / 3.0, 1 - r * r * r);
      s.nu = 2;
      std::swap(p, s.trial);
      s.fresh_jacobian = false;
      return report;
    }
    s.lambda *= s.nu;
    s.nu *= 2;
    const double step_norm = static_cast<double>(step.norm());
    const double x_norm = static_cast<double>(p.x.norm());
    if (step_norm <= options.x_tol * (x_norm + options.x_tol)) {
      report.status = Status::kStalled;
      report.message = internal::stalled_message(p, "the damped step shrank to rounding level");
      return report;
    }
    return check_damping(s, p, report);
  }

 private:
  template <class T>
  static StepReport& check_damping(State<T>& s, const SystemPoint<T>& p, StepReport& report) {
    if (!std::isfinite(s.lambda) || s.lambda > 1e300 || s.nu > 1e300) {
      report.status = Status::kStalled;
      report.message = internal::stalled_message(p, "the damping grew without bound");
    }
    return report;
  }

  LevenbergMarquardtOptions options_;
};

}  // namespace implicit
