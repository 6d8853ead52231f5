#pragma once
// The solver of a Newton system (both Newtons: fixed_point/newton.hpp on
// f(z) - z, system/newton.hpp on g), as a value: DenseLU (the Jacobian
// formed, then an LU), or Gmres / BiCGStab matrix-free on JVPs, inexact
// (stopped at ||A d - b|| <= rel_tol ||b||: Newton needs a descent step, not
// an exact one).

#include <optional>
#include <string>
#include <variant>

#include "implicit/backend/eigen.hpp"
#include "implicit/linear/bicgstab.hpp"
#include "implicit/linear/dense_lu.hpp"
#include "implicit/linear/gmres.hpp"

namespace implicit {

using InnerLinearSolver = std::variant<DenseLU, Gmres, BiCGStab>;

inline std::string to_string(const InnerLinearSolver& solver) {
  return std::visit([](const auto& s) { return std::string(s.name()); }, solver);
}

namespace internal {
// The inner solver a Newton uses at size n: the one named, else DenseLU up
// to dense_max_size and GMRES(restart) above.
template <class Solver = InnerLinearSolver>
Solver inner_solver_for(const std::optional<Solver>& named, long n, int dense_max_size,
                        int restart) {
  if (named) return *named;
  if (n <= dense_max_size) return DenseLU{};
  return Gmres{restart};
}

// The matrix-free inexact solve A d = b of a Newton step by the Krylov
// solver named (BiCGStab, else GMRES; `gmres` carries GMRES's restart and
// the validated tolerance and budget).
template <class Solver, class Vector, class ApplyA>
LinearSolveResult<Vector> inexact_krylov(const Solver& solver, const ApplyA& apply,
                                         const Vector& b, GmresOptions gmres_options) {
  if (std::holds_alternative<BiCGStab>(solver)) {
    BiCGStabOptions o;
    o.max_iter = gmres_options.max_iter;
    o.abs_tol = 0;
    o.rel_tol = gmres_options.rel_tol;
    return bicgstab(apply, b, VectorOps<Vector>::zeros_like(b), o);
  }
  if (const Gmres* g = std::get_if<Gmres>(&solver)) gmres_options.restart = g->restart;
  return gmres(apply, b, VectorOps<Vector>::zeros_like(b), gmres_options);
}
}  // namespace internal

}  // namespace implicit
