#pragma once
// Limited-memory ("good") Broyden on g(z) = f(z) - z, as used by
// deep-equilibrium models.
//
// Keeps an approximation B of the inverse Jacobian of g in low-rank form,
// B = -I + sum_i u_i v_i^T (B_0 = -I: the inverse Jacobian of g when
// df/dz = 0, so the first step is plain forward iteration), steps
// z <- z - B g, and after each step applies the Sherman-Morrison form of
// Broyden's good update with dz = z_{k+1} - z_k, dg = g_{k+1} - g_k:
//
//     B <- B + (dz - B dg) (dz^T B) / (dz^T B dg).
//
// When `memory` pairs are stored the oldest is overwritten. Cost per step:
// about 4 m dot products / axpys of length n. Workspace: 2m + 4 vectors.
// An update whose denominator vanishes is skipped (B stays as it is), per
// sample in a batch.

#include <cmath>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/internal/per_sample.hpp"

namespace implicit {

struct BroydenOptions {
  int memory = 30;  // rank-one pairs kept before the oldest is overwritten
  // Hand the final inverse estimate to the backward pass
  // (FixedPointResult::inverse_estimate, as in SHINE). Off by default:
  // on tanh(W z + x) at n = 100 GMRES preconditioned by it did not reach the
  // adjoint tolerance within AdjointOptions::reuse_max_iter = 20 products,
  // where plain GMRES takes 39 (bench/dense_peers), so the attempt was
  // wasted; the estimate is exact only on the directions the steps explored.
  bool keep_inverse_estimate = false;

  // Throws std::invalid_argument naming the field and its value.
  void validate(const std::string& owner = "BroydenOptions") const {
    if (memory < 1)
      throw std::invalid_argument(owner + "::memory must be >= 1, got " + std::to_string(memory));
  }
};

class Broyden {
 public:
  explicit Broyden(BroydenOptions options = {}) : options_(options) {}

  const char* name() const { return "broyden"; }

  void validate() const { options_.validate(); }

  template <class Vector>
  struct State {
    std::vector<Vector> u, v;  // B = -I + sum u_i v_i^T
    int filled = 0, next = 0;
    bool has_previous = false;
    Vector z_prev, g_prev, dz, dg, b_dg, bt_dz;
  };

  template <class F, class Vector>
  State<Vector> init(const F&, const Vector& z0) const {
    using Ops = VectorOps<Vector>;
    State<Vector> s;
    s.u.assign(options_.memory, Ops::zeros_like(z0));
    s.v.assign(options_.memory, Ops::zeros_like(z0));
    s.z_prev = s.g_prev = s.dz = s.dg = s.b_dg = s.bt_dz = Ops::zeros_like(z0);
    return s;
  }

  // (I - df/dz)^{-T} u ~ -B^T u: B estimates the inverse Jacobian of
  // g = f(z) - z, i.e. -(I - df/dz)^{-1}. Only as good as the secant
  // information gathered: exact on the directions the steps explored. The
  // transposed solve only: a preconditioner for the adjoint, too rough to
  // refine against A for the forward-sensitivity check (those answers are
  // not checked, as for GMRES without one).
  template <class Vector>
  InverseOperators<Vector> inverse_estimate(State<Vector>&& s) const {
    if (!options_.keep_inverse_estimate) return {};
    auto kept = std::make_shared<const State<Vector>>(std::move(s));
    const Broyden solver = *this;
    InverseOperators<Vector> estimate;
    estimate.solve_transposed = [kept, solver](const Vector& u) {
      Vector out;
      solver.apply(*kept, u, out, /*transpose=*/true);
      VectorOps<Vector>::scale(-1.0, out);
      return out;
    };
    return estimate;
  }

  template <class F, class Vector>
  StepReport step(const F&, State<Vector>& s, Vector& z, const Vector&, const Vector& g) const {
    using Ops = VectorOps<Vector>;
    if (s.has_previous) {
      Ops::lincomb(1.0, z, -1.0, s.z_prev, s.dz);
      Ops::lincomb(1.0, g, -1.0, s.g_prev, s.dg);
      apply(s, s.dg, s.b_dg, /*transpose=*/false);
      apply(s, s.dz, s.bt_dz, /*transpose=*/true);
      // Per sample: a vanishing or non-finite denominator gives a zero
      // coefficient, so that sample's update is a no-op.
      const auto denom = Ops::dot(s.dz, s.b_dg);
      const auto scale = internal::sqrt_each(Ops::dot(s.dz, s.dz) * Ops::dot(s.b_dg, s.b_dg));
      const auto inverse = internal::guarded_reciprocal(denom, 1e-12 * scale);
      if (internal::any_nonzero(inverse)) {
        const int slot = s.next;
        Ops::lincomb(inverse, s.dz, -inverse, s.b_dg, s.u[slot]);  // (dz - B dg) / denom
        s.v[slot] = s.bt_dz;                                       // B^T dz
        s.next = (slot + 1) % options_.memory;
        s.filled = std::min(s.filled + 1, options_.memory);
      }
    }
    s.z_prev = z;
    s.g_prev = g;
    // z <- z - B g = z + g - sum u_i (v_i . g)
    apply(s, g, s.dz, /*transpose=*/false);
    Ops::axpy(-1.0, s.dz, z);
    s.has_previous = true;
    return {};
  }

 private:
  // out = B x (or B^T x) with B = -I + sum u_i v_i^T.
  template <class Vector>
  void apply(const State<Vector>& s, const Vector& x, Vector& out, bool transpose) const {
    using Ops = VectorOps<Vector>;
    Ops::lincomb(-1.0, x, 0.0, x, out);
    for (int i = 0; i < s.filled; ++i) {
      if (transpose)
        Ops::axpy(Ops::dot(s.u[i], x), s.v[i], out);
      else
        Ops::axpy(Ops::dot(s.v[i], x), s.u[i], out);
    }
  }

  BroydenOptions options_;
};

}  // namespace implicit
