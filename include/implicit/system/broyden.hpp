#pragma once
// Broyden's ("good") method for g(x) = 0 with a line search and restarts
// (Broyden 1965; Dennis & Schnabel, Algorithm 8.1.1 with Sherman-Morrison).
//
// It keeps H ~ J^{-1}, starting from the inverse of the exact Jacobian
// (SystemOptions::jacobian), steps along d = -H g, and after each accepted
// step with s = x_new - x, y = g_new - g applies the rank-one update
//
//     H <- H + (s - H y) s^T H / (s^T H y),
//
// so most steps cost one g evaluation and O(n^2) work instead of a
// Jacobian and an LU. The step is accepted when ||g|| decreases (a
// backtracking search with the model slope -||g||^2, since the true slope
// needs J); when it does not, or ||g|| falls by less than 10% in three
// steps in a row, or the update is numerically unsafe, the method restarts
// from a fresh Jacobian at the current point.
//
// Fails: kStalled when even a step along a fresh Newton direction finds no
// decrease; kLinearSolveFailed when a fresh Jacobian is singular.

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/jacobian.hpp"
#include "implicit/system/line_search.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"

namespace implicit {

struct LineSearchBroydenOptions {
  // Steps longer than max_step * max(||x||, 1) are shortened first.
  double max_step = 1e3;
  LineSearchOptions line_search{1e-4, 0.1, 0.5, 10};
  // Restart when ||g|| falls by less than this factor ...
  double stagnation_ratio = 0.9;
  // ... in this many accepted steps in a row.
  int stagnation_steps = 3;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "LineSearchBroydenOptions") const {
    if (!(max_step > 0))
      throw std::invalid_argument(owner + "::max_step must be > 0, got " +
                                  std::to_string(max_step));
    if (!(stagnation_ratio > 0 && stagnation_ratio <= 1))
      throw std::invalid_argument(owner + "::stagnation_ratio must be in (0, 1], got " +
                                  std::to_string(stagnation_ratio));
    if (stagnation_steps < 1)
      throw std::invalid_argument(owner + "::stagnation_steps must be >= 1, got " +
                                  std::to_string(stagnation_steps));
    line_search.validate(owner.c_str());
  }
};

class LineSearchBroyden {
 public:
  explicit LineSearchBroyden(LineSearchBroydenOptions options = {}) : options_(options) {}

  const char* name() const { return "broyden"; }

  void validate() const { options_.validate(); }

  template <class T>
  struct State {
    MatrixX<T> H;  // inverse Jacobian estimate
    MatrixX<T> J;
    bool have_inverse = false;
    bool fresh = false;  // H is the exact inverse at the current point
    int slow_steps = 0;
    SystemPoint<T> trial;
  };

  template <class G, class T>
  State<T> init(const G&, const SystemPoint<T>&) const {
    return {};
  }

  template <class G, class T>
  StepReport step(const G& g, State<T>& s, SystemPoint<T>& p, const SystemOptions& options) const {
    StepReport report;
    if (!s.have_inverse) {
      if (!internal::system_jacobian(g, p, options.jacobian, s.J, report)) return report;
      Eigen::PartialPivLU<MatrixX<T>> lu(s.J);
      if (!(static_cast<double>(lu.rcond()) >= default_min_rcond<T>())) {
        char buf[200];
        std::snprintf(buf, sizeof buf,
                      "the Jacobian at ||g|| = %.3e is singular to working precision (rcond "
                      "%.2e); Broyden needs an invertible one",
                      p.norm, static_cast<double>(lu.rcond()));
        report.status = Status::kLinearSolveFailed;
        report.message = buf;
        return report;
      }
      s.H = lu.inverse();
      s.have_inverse = s.fresh = true;
      s.slow_steps = 0;
    }
    VectorX<T> d = -(s.H * p.gx);
    internal::limit_step(d, p.x, options_.max_step);
    // The slope of the model: exact (-||g||^2) when H is the true inverse.
    const double slope = -static_cast<double>(p.gx.squaredNorm());
    StepReport search;
    const Status searched = internal::backtracking_line_search(
        g, p, d, slope, options.x_tol, options_.line_search, s.trial, search);
    report.function_evaluations += search.function_evaluations;
    if (searched != Status::kConverged) {
      if (s.fresh) {  // even the true Newton direction failed
        report.status = searched;
        report.message = search.message;
        return report;
      }
      s.have_inverse = false;  // restart from a fresh Jacobian next step
      return report;
    }
    const VectorX<T> step = s.trial.x - p.x;
    const VectorX<T> change = s.trial.gx - p.gx;
    const VectorX<T> h_change = s.H * change;
    const T denominator = step.dot(h_change);
    if (std::fabs(static_cast<double>(denominator)) >
        1e-12 * static_cast<double>(step.norm() * h_change.norm())) {
      const VectorX<T> row = s.H.transpose() * step;  // (s^T H)^T
      s.H.noalias() += ((step - h_change) / denominator) * row.transpose();
    } else {
      s.have_inverse = false;
    }
    s.fresh = false;
    s.slow_steps = s.trial.norm > options_.stagnation_ratio * p.norm ? s.slow_steps + 1 : 0;
    if (s.slow_steps >= options_.stagnation_steps) s.have_inverse = false;
    std::swap(p, s.trial);
    return report;
  }

 private:
  LineSearchBroydenOptions options_;
};

}  // namespace implicit
