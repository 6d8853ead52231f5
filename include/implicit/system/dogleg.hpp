#pragma once
// Powell's dogleg trust-region method for g(x) = 0, in the style of
// MINPACK's hybrj (Powell 1970, "A hybrid method for nonlinear equations";
// Moré, Garbow & Hillstrom, MINPACK-1 user guide, 1980), with variable
// scaling.
//
// In scaled variables y = D p (D = diag of the running maximum of J's
// column norms, as hybrj's mode 1), each step minimises the linear model
// ||g + J p|| inside ||D p|| <= delta along the dogleg path: the
// Gauss-Newton step p_gn = -J^{-1} g when it fits, else the Cauchy point
// (the model's minimiser along the scaled steepest descent), else the
// point where the segment from the Cauchy point to p_gn leaves the region.
// With rho = actual / predicted decrease of ||g||^2:
//   rho < 0.1                  -> delta = 0.5 delta (and the point is kept
//                                 unless rho >= 1e-4)
//   rho >= 0.5 or |rho-1|<=0.1 -> delta = max(delta, 2 ||D p||)
// Unlike hybrj the Jacobian is re-evaluated after every accepted step
// instead of Broyden-updated (AD makes it exact and cheap at the sizes a
// dense method suits); a rejected step reuses it. A singular J uses the
// minimum-norm least-squares step (complete orthogonal decomposition).
//
// Cost per step: one g evaluation, plus one Jacobian and an n^3 solve per
// accepted step. Fails: kStalled when delta falls below x_tol (||D x|| +
// x_tol), i.e. at a local minimum of ||g|| that is not a root.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/jacobian.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"

namespace implicit {

struct DoglegOptions {
  // Initial radius delta_0 = initial_radius * ||D x0|| (or initial_radius
  // when that is 0), hybrj's `factor`.
  double initial_radius = 100;
  // Scale the variables by D (false: D = I).
  bool scale_variables = true;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "DoglegOptions") const {
    if (!(initial_radius > 0) || !std::isfinite(initial_radius))
      throw std::invalid_argument(owner + "::initial_radius must be finite and > 0, got " +
                                  std::to_string(initial_radius));
  }
};

class PowellDogleg {
 public:
  explicit PowellDogleg(DoglegOptions options = {}) : options_(options) {}

  const char* name() const { return "dogleg"; }

  void validate() const { options_.validate(); }

  template <class T>
  struct State {
    MatrixX<T> J;
    VectorX<T> scale;         // D
    VectorX<T> gauss_newton;  // p_gn at the current point
    VectorX<T> steepest;      // D^{-1} J^T g (gradient of 1/2||g||^2 in y)
    double delta = 0;
    bool fresh_jacobian = false;  // J, p_gn, steepest belong to the current point
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
    const Eigen::Index n = p.x.size();
    if (!s.fresh_jacobian) {
      if (!internal::system_jacobian(g, p, options.jacobian, s.J, report)) return report;
      for (Eigen::Index j = 0; j < n; ++j) {
        const T column = options_.scale_variables ? s.J.col(j).norm() : T(1);
        s.scale[j] = std::max(s.scale[j], column > 0 ? column : T(1));
      }
      if (s.delta == 0) {
        const double dx = static_cast<double>(s.scale.cwiseProduct(p.x).norm());
        s.delta = dx > 0 ? options_.initial_radius * dx : options_.initial_radius;
      }
      Eigen::PartialPivLU<MatrixX<T>> lu(s.J);
      if (static_cast<double>(lu.rcond()) >= default_min_rcond<T>())
        s.gauss_newton = lu.solve(-p.gx);
      else
        s.gauss_newton = s.J.completeOrthogonalDecomposition().solve(-p.gx);
      s.steepest = (s.J.transpose() * p.gx).cwiseQuotient(s.scale);
      s.fresh_jacobian = true;
    }
    // The dogleg point in y = D p, then p = D^{-1} y.
    const VectorX<T> y_gn = s.scale.cwiseProduct(s.gauss_newton);
    const double gn_norm = static_cast<double>(y_gn.norm());
    VectorX<T> y;
    if (gn_norm <= s.delta && std::isfinite(gn_norm)) {
      y = y_gn;
    } else {
      const double grad_norm = static_cast<double>(s.steepest.norm());
      if (!(grad_norm > 0)) {
        report.status = Status::kStalled;
        report.message = internal::stalled_message(
            p, "J^T g = 0: a stationary point of ||g|| that is not a root");
        return report;
      }
      // Cauchy point: minimise ||g - a J D^{-1} s||^2 over a >= 0.
      const VectorX<T> js = s.J * s.steepest.cwiseQuotient(s.scale);
      const double alpha = grad_norm * grad_norm / static_cast<double>(js.squaredNorm());
      const double cauchy_norm = alpha * grad_norm;
      if (!(cauchy_norm < s.delta) || !std::isfinite(gn_norm)) {
        y = static_cast<T>(-s.delta / grad_norm) * s.steepest;
      } else {
        // y = c + tau (y_gn - c) with ||y|| = delta, tau in [0, 1].
        const VectorX<T> c = static_cast<T>(-alpha) * s.steepest;
        const VectorX<T> w = y_gn - c;
        const double ww = static_cast<double>(w.squaredNorm());
        const double cw = static_cast<double>(c.dot(w));
        const double cc = cauchy_norm * cauchy_norm;
        const double disc = cw * cw + ww * (s.delta * s.delta - cc);
        const double tau = (-cw + std::sqrt(std::fmax(disc, 0.0))) / ww;
        y = c + static_cast<T>(std::clamp(tau, 0.0, 1.0)) * w;
      }
    }
    const VectorX<T> step = y.cwiseQuotient(s.scale);
    const double step_norm = static_cast<double>(y.norm());  // ||D p||
    // Predicted decrease of ||g||^2 by the linear model.
    const double model = static_cast<double>((p.gx + s.J * step).squaredNorm());
    const double predicted = p.norm * p.norm - model;

    s.trial.x = p.x + step;
    internal::evaluate_at(g, s.trial);
    ++report.function_evaluations;
    const double actual = p.norm * p.norm - s.trial.norm * s.trial.norm;
    const double rho = predicted > 0 ? actual / predicted : (actual > 0 ? 1.0 : -1.0);

    if (rho < 0.1) {
      s.delta = 0.5 * std::min(s.delta, step_norm);
    } else if (rho >= 0.5 || std::fabs(rho - 1) <= 0.1) {
      s.delta = std::max(s.delta, 2 * step_norm);
    }
    if (rho >= 1e-4 && s.trial.norm < p.norm) {
      std::swap(p, s.trial);
      s.fresh_jacobian = false;
      return report;
    }
    const double dx = static_cast<double>(s.scale.cwiseProduct(p.x).norm());
    if (s.delta <= options.x_tol * (dx + options.x_tol) || !std::isfinite(s.delta)) {
      report.status = Status::kStalled;
      report.message = internal::stalled_message(p, "the trust region shrank to rounding level");
    }
    return report;
  }

 private:
  DoglegOptions options_;
};

}  // namespace implicit
