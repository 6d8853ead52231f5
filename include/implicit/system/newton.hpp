#pragma once
// Newton's method for g(x) = 0, globalised by a backtracking line search.
//
// Each step solves J d = -g (J = dg/dx at x) and searches along d on
// phi = 1/2 ||g||^2 (system/line_search.hpp). Near a root with a
// nonsingular J the full step is accepted and convergence is quadratic;
// far from it the line search keeps ||g|| decreasing, which plain Newton
// (fixed_point/newton.hpp) does not. When J is singular to working
// precision the step is the Levenberg-regularised one,
// (J^T J + mu I) d = -J^T g with mu = sqrt(eps) ||J^T J||_1 (Dennis &
// Schnabel, section 6.5), still a descent direction.
//
// Linear solver: kDense (the Jacobian from SystemOptions::jacobian, then a
// partial-pivoting LU: ~n/8 dual passes of g + n^3/3 flops per step) or
// kGmres (Newton-Krylov: matrix-free GMRES on JVPs, one dual pass each, for
// large n; inexact steps with ||J d + g|| <= gmres_rel_tol ||g||); kAuto
// picks dense for n <= dense_max_size.
// Fails: kStalled when the line search finds no decrease (a local minimum
// of ||g|| that is not a root); kLinearSolveFailed when GMRES makes no
// progress at all.

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/jacobian.hpp"
#include "implicit/system/line_search.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"

namespace implicit {

struct LineSearchNewtonOptions {
  enum class LinearSolver { kAuto, kDense, kGmres };
  LinearSolver linear_solver = LinearSolver::kAuto;
  int dense_max_size = 500;  // kAuto's switch from dense LU to GMRES
  // Steps longer than max_step * max(||x||, 1) are shortened first.
  double max_step = 1e3;
  // false: take the full Newton step always (plain Newton-Raphson). It can
  // jump out of the basin of a local minimum of ||g|| that a monotone method
  // is trapped in (Freudenstein-Roth from its standard start), and can also
  // wander off: the driver's divergence test stops it.
  bool use_line_search = true;
  LineSearchOptions line_search;
  // Newton-Krylov: GMRES stops at ||J d + g|| <= gmres_rel_tol ||g||.
  double gmres_rel_tol = 1e-4;
  int gmres_restart = 30;
  int gmres_max_iter = 300;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "LineSearchNewtonOptions") const {
    if (linear_solver != LinearSolver::kAuto && linear_solver != LinearSolver::kDense &&
        linear_solver != LinearSolver::kGmres)
      throw std::invalid_argument(owner + "::linear_solver is not a LinearSolver, got " +
                                  std::to_string(static_cast<int>(linear_solver)));
    if (dense_max_size < 0)
      throw std::invalid_argument(owner + "::dense_max_size must be >= 0, got " +
                                  std::to_string(dense_max_size));
    if (!(max_step > 0))
      throw std::invalid_argument(owner + "::max_step must be > 0, got " +
                                  std::to_string(max_step));
    (void)GmresOptions::inexact_newton(owner, gmres_rel_tol, gmres_restart, gmres_max_iter);
    line_search.validate(owner.c_str());
  }
};

class LineSearchNewton {
 public:
  explicit LineSearchNewton(LineSearchNewtonOptions options = {}) : options_(options) {}

  const char* name() const { return options_.use_line_search ? "newton" : "newton_raphson"; }

  void validate() const { options_.validate(); }

  template <class T>
  struct State {
    MatrixX<T> J;
    SystemPoint<T> trial;
  };

  template <class G, class T>
  State<T> init(const G&, const SystemPoint<T>&) const {
    return {};
  }

  template <class G, class T>
  StepReport step(const G& g, State<T>& state, SystemPoint<T>& p,
                  const SystemOptions& options) const {
    StepReport report;
    const Eigen::Index n = p.x.size();
    const bool dense = options_.linear_solver == LineSearchNewtonOptions::LinearSolver::kDense ||
                       (options_.linear_solver == LineSearchNewtonOptions::LinearSolver::kAuto &&
                        n <= options_.dense_max_size);
    VectorX<T> d;
    double slope;  // phi'(0) = (J^T g) . d
    if (dense) {
      if (!internal::system_jacobian(g, p, options.jacobian, state.J, report)) return report;
      const MatrixX<T>& J = state.J;
      const VectorX<T> gradient = J.transpose() * p.gx;  // of phi = 1/2 ||g||^2
      Eigen::PartialPivLU<MatrixX<T>> lu(J);
      if (static_cast<double>(lu.rcond()) >= default_min_rcond<T>()) {
        d = lu.solve(-p.gx);
      } else {
        MatrixX<T> normal = J.transpose() * J;
        const double mu =
            std::sqrt(static_cast<double>(std::numeric_limits<T>::epsilon())) *
            std::fmax(static_cast<double>(normal.cwiseAbs().colwise().sum().maxCoeff()),
                      static_cast<double>(std::numeric_limits<T>::min()));
        normal.diagonal().array() += static_cast<T>(mu);
        d = normal.llt().solve(-gradient);
      }
      slope = static_cast<double>(gradient.dot(d));
    } else {
      const GmresOptions gopt = gmres_options();
      auto apply = [&](const VectorX<T>& v) -> VectorX<T> {
        return internal::checked_size(jvp(g, p.x, v), n, "solve_root (Newton-Krylov)", "J v");
      };
      auto solve = gmres(apply, VectorX<T>(-p.gx), VectorX<T>(VectorX<T>::Zero(n)), gopt);
      report.jacobian_products += solve.iterations;
      if (!(solve.residual_norm < p.norm) || !solve.x.allFinite()) {
        report.status = Status::kLinearSolveFailed;
        report.message =
            "Newton-Krylov: GMRES made no progress on J d = -g: " + solve.brief_report();
        return report;
      }
      d = std::move(solve.x);
      // phi'(0) = g . (J d), one more JVP: exact even for an inexact d.
      slope = static_cast<double>(
          p.gx.dot(internal::checked_size(jvp(g, p.x, d), n, "solve_root (Newton-Krylov)", "J d")));
      ++report.jacobian_products;
    }
    internal::limit_step(d, p.x, options_.max_step);
    // For an exact Newton step slope = -||g||^2; rounding can only spoil its
    // sign on a hopeless system, where the model slope still makes the
    // search demand a real decrease of ||g||.
    if (!(slope < 0)) slope = -static_cast<double>(p.gx.squaredNorm());
    if (!options_.use_line_search) {
      state.trial.x = p.x + d;
      internal::evaluate_at(g, state.trial);
      ++report.function_evaluations;
      if (!std::isfinite(state.trial.norm)) {
        report.status = Status::kNonFinite;
        report.message = "g has a NaN or Inf entry after a full Newton step";
        return report;
      }
      std::swap(p, state.trial);
      return report;
    }
    const Status searched = internal::backtracking_line_search(
        g, p, d, slope, options.x_tol, options_.line_search, state.trial, report);
    if (searched != Status::kConverged) {
      report.status = searched;
      return report;
    }
    std::swap(p, state.trial);
    return report;
  }

 private:
  GmresOptions gmres_options() const {
    return GmresOptions::inexact_newton("LineSearchNewtonOptions", options_.gmres_rel_tol,
                                        options_.gmres_restart, options_.gmres_max_iter);
  }

  LineSearchNewtonOptions options_;
};

}  // namespace implicit
