#pragma once
// Newton's method on g(z) = f(z) - z:  z <- z + (I - J_f(z))^{-1} (f(z) - z).
//
// Quadratic convergence near z* (5-6 steps on the reference problem against
// ~40 for forward iteration) at the price of a Jacobian per step. The
// Newton system is solved by the value `linear_solver` names
// (linear/inner_solver.hpp):
//   DenseLU:  J_f from the map's jacobian() or forward-mode AD (n JVPs, ~ n f
//             evaluations), then a dense LU (n^3/3 flops);
//   Gmres, BiCGStab: matrix-free on JVPs (one dual-number f pass each), for
//             large n where forming J_f costs too much;
//   none named (the default): DenseLU for n <= dense_max_size, GMRES above.
// f must be callable on dual numbers (templated on the scalar type) or
// provide jacobian(z) / jvp(z, v). A singular Newton system stops the solve
// with kLinearSolveFailed. With NewtonOptions::line_search the step is
// globalised by the same backtracking search as solve_root's Newton;
// without it (the default) Newton can diverge from a poor start, which the
// driver reports as kDiverged.

#include <cmath>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <variant>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/linearization.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"
#include "implicit/linear/inner_solver.hpp"
#include "implicit/linear/inverse_operators.hpp"
#include "implicit/system/line_search.hpp"
#include "implicit/system/sparse_newton.hpp"

namespace implicit {

struct NewtonOptions {
  // Globalise the step with the backtracking line search of system/ on
  // 1/2 ||f(z) - z||^2 (Eigen vectors; the batched tensor path ignores it).
  // Off by default: the search's accepted trial point is evaluated once more
  // by the driver, so each step costs one extra f evaluation; turn it on
  // from poor starts, where plain Newton diverges.
  bool line_search = false;
  LineSearchOptions line_search_options;
  // The Newton system's solver: DenseLU, Gmres or BiCGStab; empty: DenseLU
  // for n <= dense_max_size, else Gmres{gmres_restart}. Batched tensors
  // always solve matrix-free (BiCGStab when named, else GMRES).
  std::optional<InnerLinearSolver> linear_solver;
  int dense_max_size = 200;
  // The nonzero pattern of df/dz (Eigen vectors): when given, each step
  // evaluates df/dz by colouring (one forward pass per colour group, never
  // n x n; f templated on the scalar) and solves with a sparse LU of
  // I - df/dz, at any n (system/sparse_newton.hpp); `sparse_lu` names its
  // library. linear_solver must then be empty. Batches solve matrix-free:
  // there it is an error.
  SparsityPattern sparsity;
  SparseLU sparse_lu;
  // Inexact Newton: the Krylov solve (GMRES or BiCGStab) stops at
  // ||A d - g|| <= gmres_rel_tol ||g||, within gmres_max_iter products.
  double gmres_rel_tol = 1e-6;
  int gmres_restart = 30;
  int gmres_max_iter = 200;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "NewtonOptions") const {
    if (dense_max_size < 0)
      throw std::invalid_argument(owner + "::dense_max_size must be >= 0, got " +
                                  std::to_string(dense_max_size));
    (void)GmresOptions::inexact_newton(owner, gmres_rel_tol, gmres_restart, gmres_max_iter);
    if (linear_solver)
      std::visit([&](const auto& s) { s.validate(owner + "::linear_solver"); }, *linear_solver);
    if (sparsity.size() > 0 && linear_solver)
      throw std::invalid_argument(owner + "::sparsity is given, so the Newton system is solved by "
                                          "the sparse LU (" + owner + "::sparse_lu): leave " +
                                  owner + "::linear_solver empty");
    sparse_lu.validate(owner + "::sparse_lu");
    line_search_options.validate(owner.c_str());
  }
};

namespace internal {
// The type of linearize(z) of a unary map z -> f(z) on Eigen vectors, or
// void (diff/linearization.hpp; BoundTheta forwards the map's).
template <class F, class T, class = void>
struct unary_linearization {
  using type = void;
};
template <class F, class T>
struct unary_linearization<
    F, T,
    std::void_t<decltype(std::declval<const F&>().linearize(std::declval<const VectorX<T>&>()))>> {
  using type =
      std::decay_t<decltype(std::declval<const F&>().linearize(std::declval<const VectorX<T>&>()))>;
};

// An inner GMRES that stopped short of gmres_rel_tol (out of products, or
// stagnated) but reduced ||A d - g|| below ||g||: d is still a descent
// step for inexact Newton. NaN never is.
inline bool useful_inexact_step(Status status, double residual, double g_norm) {
  return (status == Status::kMaxIterations || status == Status::kLinearSolveFailed) &&
         std::isfinite(residual) && residual < g_norm;
}
}  // namespace internal

class Newton {
 public:
  explicit Newton(NewtonOptions options = {}) : options_(options) {}

  const char* name() const { return "newton"; }

  void validate() const { options_.validate(); }

  // The last dense factorisation of I - df/dz (Eigen vectors, dense steps):
  // kept for the backward pass (inverse_estimate), not reallocated by the
  // next step (PartialPivLU::compute reuses its storage).
  template <class Vector, class = void>
  struct State {};
  template <class T>
  struct State<VectorX<T>> {
    std::shared_ptr<DenseFactorization<T>> last;
    MatrixX<T> a;  // I - df/dz of the last dense step
    std::shared_ptr<internal::SparseNewtonSystem<T>> sparse;  // NewtonOptions::sparsity
  };

  template <class F, class Vector>
  State<Vector> init(const F&, const Vector&) const {
    return {};
  }

  // Solves with I - df/dz(z_k), either way, by the factorisation of the last
  // step (dense or sparse LU), z_k the iterate before the returned one;
  // empty after GMRES steps.
  template <class T>
  InverseOperators<VectorX<T>> inverse_estimate(State<VectorX<T>>&& s) const {
    if (s.sparse) return s.sparse->last_solves();
    if (!s.last || !s.last->ok()) return {};
    return inverse_operators<VectorX<T>>(
        std::shared_ptr<const DenseFactorization<T>>(std::move(s.last)));
  }

  template <class F, class T>
  StepReport step(const F& f, State<VectorX<T>>& state, VectorX<T>& z, const VectorX<T>& /*fz*/,
                  const VectorX<T>& g) const {
    const Eigen::Index n = z.size();
    StepReport report;
    if (options_.sparsity.size() > 0) {
      if (!state.sparse) state.sparse = std::make_shared<internal::SparseNewtonSystem<T>>();
      const std::string what = "Newton system (I - df/dz) d = f(z) - z";
      VectorX<T> d;
      if (!state.sparse->factor(f, z, options_.sparsity, options_.sparse_lu,
                                /*identity_minus=*/true, what, report) ||
          !state.sparse->solve(g, d, what, report))
        return report;
      return take_step(f, z, g, std::move(d), report);
    }
    const InnerLinearSolver solver = internal::inner_solver_for(
        options_.linear_solver, n, options_.dense_max_size, options_.gmres_restart);
    const bool dense = std::holds_alternative<DenseLU>(solver);
    // With a linearization (diff/linearization.hpp), every product of this
    // step shares its work at z (TanhLayer: the slope, so a JVP is one
    // matrix-vector product instead of an f evaluation and one).
    using Linearization = typename internal::unary_linearization<F, T>::type;
    constexpr bool kLinearJacobian = internal::point_jacobian_z<Linearization, T>::value;
    constexpr bool kLinearJvp = internal::point_jvp_z<Linearization, T>::value;
    std::optional<std::conditional_t<kLinearJvp || kLinearJacobian, Linearization, char>> at_z;
    if constexpr (kLinearJvp || kLinearJacobian) at_z.emplace(f.linearize(z));
    LinearSolveResult<VectorX<T>> solve;
    if (dense) {
      MatrixX<T>& a = state.a;
      if constexpr (kLinearJacobian)
        a = internal::checked_shape(MatrixX<T>(at_z->jacobian_z()), n, n,
                                    "solve_fixed_point (Newton)", "df/dz");
      else
        a = internal::checked_shape(internal::square_jacobian(f, z), n, n,
                                    "solve_fixed_point (Newton)", "df/dz");
      a = -a;
      a.diagonal().array() += T(1);  // I - df/dz, in place
      if (!state.last) state.last = std::make_shared<DenseFactorization<T>>();
      ++report.jacobian_evaluations;
      factor_dense_lu_into<T>(a, *state.last, std::get<DenseLU>(solver).rcond_floor<T>());
      solve = solve_factored(a, *state.last, g);
    } else {
      state.last.reset();  // a GMRES step leaves no factorisation
      const GmresOptions gopt = gmres_options();
      auto apply = [&](const VectorX<T>& v) -> VectorX<T> {
        if constexpr (kLinearJvp)
          return v - internal::checked_size(at_z->jvp_z(v), n, "solve_fixed_point (Newton)",
                                            "(df/dz) v");
        else
          return v -
                 internal::checked_size(jvp(f, z, v), n, "solve_fixed_point (Newton)", "(df/dz) v");
      };
      solve = internal::inexact_krylov(solver, apply, g, gopt);
      report.jacobian_products += solve.iterations;
      // An inexact step that reduced the residual is still a useful step,
      // whether GMRES ran out of products or stagnated after progress (in
      // float32 an ill-conditioned system stagnates at its rounding floor
      // above gmres_rel_tol); the driver judges the step by f anyway.
      if (internal::useful_inexact_step(solve.status, solve.residual_norm,
                                        static_cast<double>(g.norm())))
        solve.status = Status::kConverged;
    }
    if (!solve.ok()) {
      report.status = Status::kLinearSolveFailed;
      report.message = "Newton system (I - df/dz) d = f(z) - z: " + solve.brief_report();
      return report;
    }
    return take_step(f, z, g, std::move(solve.x), report);
  }

  // Any other vector type (a batched tensor): matrix-free GMRES on the
  // products of the map's linearisation, `f.linearize(z)` returning a
  // callable v -> (df/dz) v. Batched GMRES keeps a Krylov space per sample.
  template <class F, class Vector>
  StepReport step(const F& f, State<Vector>&, Vector& z, const Vector& /*fz*/,
                  const Vector& g) const {
    using Ops = VectorOps<Vector>;
    if (options_.sparsity.size() > 0)
      throw std::invalid_argument(
          "NewtonOptions::sparsity applies to Eigen vectors; a batch solves matrix-free (leave it "
          "empty)");
    StepReport report;
    report.jacobian_evaluations = 1;  // one linearisation of the batch at z
    const auto jvp_at_z = f.linearize(z);
    const GmresOptions gopt = gmres_options();
    auto apply = [&](const Vector& v) {
      Vector out;
      Ops::lincomb(1.0, v, -1.0, jvp_at_z(v), out);
      return out;
    };
    const InnerLinearSolver solver = options_.linear_solver.value_or(Gmres{options_.gmres_restart});
    auto solve = internal::inexact_krylov(solver, apply, g, gopt);
    report.jacobian_products += solve.iterations;
    // Each sample's inner solve succeeds or fails on its own: an inexact step
    // that reduced its residual is still a useful step (also after a
    // stagnation); a sample whose GMRES made no progress or met NaN fails
    // alone, keeps its iterate, and the others take their steps (one bad
    // sample never changes another's answer).
    const auto g_norm = Ops::norm(g);
    const Eigen::Index batch = internal::sample_count(g_norm);
    Eigen::Array<bool, Eigen::Dynamic, 1> usable(batch);
    for (Eigen::Index k = 0; k < batch; ++k) {  // gmres fills sample_status for any batch
      const Status st = solve.sample_status[k];
      usable[k] =
          st == Status::kConverged ||
          internal::useful_inexact_step(st, solve.sample_residual[k], internal::sample(g_norm, k));
      if (!usable[k]) report.failed_samples.push_back(static_cast<long>(k));
    }
    if (!report.failed_samples.empty()) {
      report.status = Status::kLinearSolveFailed;
      report.message = "Newton system (I - df/dz) d = f(z) - z: " + solve.brief_report();
    }
    if (usable.any()) Ops::axpy(1.0, Ops::where(usable, solve.x, Ops::zeros_like(g)), z);
    return report;
  }

 private:
  // z += d, or, with the line search, the point it accepts along d.
  template <class F, class T>
  StepReport take_step(const F& f, VectorX<T>& z, const VectorX<T>& g, VectorX<T> d,
                       StepReport& report) const {
    if (!options_.line_search) {
      z += d;
      return report;
    }
    // Search along d on phi = 1/2 ||f(z) - z||^2; slope -||g||^2 for the
    // exact Newton direction (the model slope for an inexact GMRES one).
    auto residual_map = [&f](const VectorX<T>& y) -> VectorX<T> { return f(y) - y; };
    SystemPoint<T> at, trial;
    at.x = z;
    at.gx = g;
    at.norm = internal::finite_norm_or_inf(g);
    const Status searched = internal::backtracking_line_search(
        residual_map, at, d, -static_cast<double>(g.squaredNorm()), 1e-14,
        options_.line_search_options, trial, report);
    if (searched != Status::kConverged) {
      report.status = searched;
      report.message = "Newton line search: " + report.message;
      return report;
    }
    z = std::move(trial.x);
    return report;
  }

  GmresOptions gmres_options() const {
    return GmresOptions::inexact_newton("NewtonOptions", options_.gmres_rel_tol,
                                        options_.gmres_restart, options_.gmres_max_iter);
  }

  NewtonOptions options_;
};

}  // namespace implicit
