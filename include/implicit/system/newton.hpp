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
// Linear solver (linear/inner_solver.hpp): DenseLU (the Jacobian from
// SystemOptions::jacobian, then a partial-pivoting LU: ~n/8 dual passes of
// g + n^3/3 flops per step) or Gmres / BiCGStab (Newton-Krylov: matrix-free
// on JVPs, one dual pass each, for large n; inexact steps with
// ||J d + g|| <= gmres_rel_tol ||g||); none named: dense for
// n <= dense_max_size, GMRES above.
// Fails: kStalled when the line search finds no decrease (a local minimum
// of ||g|| that is not a root); kLinearSolveFailed when GMRES makes no
// progress at all.

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/sparse_jacobian.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"
#include "implicit/linear/inner_solver.hpp"
#include "implicit/linear/inverse_operators.hpp"
#include "implicit/linear/sparse_lu.hpp"
#include "implicit/step_report.hpp"
#include "implicit/system/jacobian.hpp"
#include "implicit/system/line_search.hpp"
#include "implicit/system/options.hpp"
#include "implicit/system/point.hpp"
#include "implicit/system/result.hpp"
#include "implicit/system/sparse_newton.hpp"

namespace implicit {

// The solvers of a root's Newton system: the Newtons' inner solvers, and a
// sparse LU of the sparse Jacobian (SystemOptions::sparsity).
using RootLinearSolver = std::variant<DenseLU, SparseLU, Gmres, BiCGStab>;

struct LineSearchNewtonOptions {
  // DenseLU, SparseLU, Gmres or BiCGStab; empty: SparseLU when
  // SystemOptions::sparsity is given, else DenseLU for n <= dense_max_size
  // and Gmres{gmres_restart} above.
  std::optional<RootLinearSolver> linear_solver;
  int dense_max_size = 500;
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
    if (linear_solver)
      std::visit([&](const auto& s) { s.validate(owner + "::linear_solver"); }, *linear_solver);
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
    // The sparse path: the colouring and the symbolic analysis, once per
    // solve (shared: a State is copied by value).
    std::shared_ptr<internal::SparseNewtonSystem<T>> sparse;
    // The pattern traced from g (SystemOptions::detect_sparsity), decided
    // at the first step.
    bool traced = false;
    std::shared_ptr<const SparsityPattern> traced_pattern;
  };

  template <class G, class T>
  State<T> init(const G&, const SystemPoint<T>&) const {
    return {};
  }

  // SystemResult::jacobian_solves: the last sparse LU (of J at the step
  // before the root); empty on the dense path.
  template <class T>
  InverseOperators<VectorX<T>> jacobian_solves(State<T>&& s) const {
    return s.sparse ? s.sparse->last_solves() : InverseOperators<VectorX<T>>{};
  }

  template <class G, class T>
  StepReport step(const G& g, State<T>& state, SystemPoint<T>& p,
                  const SystemOptions& options) const {
    StepReport report;
    const Eigen::Index n = p.x.size();
    const SparsityPattern* pattern = options.sparsity.size() > 0 ? &options.sparsity : nullptr;
    if (!pattern && !options_.linear_solver && options.jacobian == JacobianMethod::kAutomatic) {
      if (!state.traced) {
        state.traced = true;
        std::string note;
        SparsityPattern traced =
            internal::automatic_sparsity(g, VectorX<T>(p.x), options.detect_sparsity, note);
        if (traced.size() > 0)
          state.traced_pattern = std::make_shared<const SparsityPattern>(std::move(traced));
      }
      pattern = state.traced_pattern.get();
    }
    const bool has_pattern = pattern != nullptr;
    const RootLinearSolver solver =
        options_.linear_solver ? *options_.linear_solver
        : has_pattern          ? RootLinearSolver(SparseLU{})
                               : internal::inner_solver_for<RootLinearSolver>(
                            std::nullopt, n, options_.dense_max_size, options_.gmres_restart);
    const bool dense = std::holds_alternative<DenseLU>(solver);
    VectorX<T> d;
    double slope;  // phi'(0) = (J^T g) . d
    if (std::holds_alternative<SparseLU>(solver)) {
      if (!sparse_step(g, state, p, pattern, std::get<SparseLU>(solver), d, slope, report))
        return report;
    } else if (dense) {
      if (!internal::system_jacobian(g, p, options.jacobian, state.J, report)) return report;
      const MatrixX<T>& J = state.J;
      const VectorX<T> gradient = J.transpose() * p.gx;  // of phi = 1/2 ||g||^2
      Eigen::PartialPivLU<MatrixX<T>> lu(J);
      if (static_cast<double>(lu.rcond()) >= std::get<DenseLU>(solver).rcond_floor<T>()) {
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
      auto solve = internal::inexact_krylov(solver, apply, VectorX<T>(-p.gx), gopt);
      report.jacobian_products += solve.iterations;
      if (!(solve.residual_norm < p.norm) || !solve.x.allFinite()) {
        report.status = Status::kLinearSolveFailed;
        report.message = "Newton-Krylov: " +
                         std::visit([](const auto& v) { return std::string(v.name()); }, solver) +
                         " made no progress on J d = -g: " + solve.brief_report();
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
  // d = -J^{-1} g with J sparse (the given or traced pattern), and the
  // slope (J^T g) . d. False, with the report filled, on failure.
  template <class G, class T>
  bool sparse_step(const G& g, State<T>& state, const SystemPoint<T>& p,
                   const SparsityPattern* pattern, const SparseLU& solver, VectorX<T>& d,
                   double& slope, StepReport& report) const {
    const Eigen::Index n = p.x.size();
    if (!pattern)
      throw std::invalid_argument(
          "LineSearchNewtonOptions::linear_solver = SparseLU needs SystemOptions::sparsity (the "
          "nonzero pattern of dg/dx)");
    if (pattern->rows() != n || pattern->cols() != n)
      throw std::invalid_argument("SystemOptions::sparsity is " + std::to_string(pattern->rows()) +
                                  " x " + std::to_string(pattern->cols()) + ", expected " +
                                  std::to_string(n) + " x " + std::to_string(n));
    if (!state.sparse) state.sparse = std::make_shared<internal::SparseNewtonSystem<T>>();
    const std::string what = "Newton system J d = -g";
    if (!state.sparse->factor(g, p.x, *pattern, solver, /*identity_minus=*/false, what, report) ||
        !state.sparse->solve(VectorX<T>(-p.gx), d, what, report))
      return false;
    slope = static_cast<double>(p.gx.dot(state.sparse->matrix(false) * d));  // (J^T g) . d
    return true;
  }

  GmresOptions gmres_options() const {
    return GmresOptions::inexact_newton("LineSearchNewtonOptions", options_.gmres_rel_tol,
                                        options_.gmres_restart, options_.gmres_max_iter);
  }

  LineSearchNewtonOptions options_;
};

}  // namespace implicit
