#pragma once
// The two products a reverse (VJP) implicit derivative needs from a map
// f(theta, z): (df/dz)^T u, many times inside the adjoint linear solve, and
// (df/dtheta)^T u, once at the end. Each comes from the map's linearization
// at z* when it has one with that member (diff/linearization.hpp: what the
// products share is computed once), else from its hand-written member (vjp_z,
// vjp_theta; see diff/parametric.hpp), else:
//
//   (df/dz)^T u       the dense df/dz when the solve already formed it (a
//                     dense LU, by forward mode: the better tool for a square
//                     Jacobian); otherwise one sweep of a reverse tape of f
//                     (matrix-free solves: GMRES, the adjoint iterations), so
//                     no dense Jacobian is ever formed for them; with
//                     DerivativeMode::kForward, the dense df/dz. Such sweeps
//                     are dear, so kAuto picks the dense LU up to
//                     AdjointOptions::dense_max_size_automatic (1000).
//   (df/dtheta)^T u   one sweep of the same tape when p > 32 or kReverse;
//                     else forward mode (ceil(p / 8) passes).
//
// The tape records (theta, z) -> f(theta, z) once, at first need, with both
// as inputs, so every product above is one sweep of one recording.

#include <algorithm>
#include <optional>
#include <type_traits>

#include "implicit/adjoint/adjoint_solve.hpp"
#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/derivative_mode.hpp"
#include "implicit/diff/linearization.hpp"
#include "implicit/diff/parametric.hpp"
#include "implicit/diff/reverse.hpp"

namespace implicit::internal {

template <class Map, class T>
class AdjointProducts {
  using StateMap = BoundTheta<Map, T>;      // z -> f(theta, z)
  using ParameterMap = BoundState<Map, T>;  // theta -> f(theta, z)
  using Point = PointLinearization<Map, T>;
  static constexpr bool kReverse = reverse_available<T>;

 public:
  AdjointProducts(const Map& map, const VectorX<T>& theta, const VectorX<T>& z, DerivativeMode mode,
                  const char* who)
      : map_(map),
        theta_(theta),
        z_(z),
        mode_(mode),
        who_(who),
        of_state_(map, theta),
        of_parameters_(map, z),
        point_(map, theta, z),
        jacobian_(of_state_, z) {
    if (mode == DerivativeMode::kReverse) (void)use_reverse_for_vjp(mode, kReverse, 0);
  }

  // (df/dz)^T u.
  VectorX<T> state(const VectorX<T>& u) const {
    if constexpr (Point::kVjpZ) {
      return point_.get().vjp_z(u);
    } else if constexpr (Point::kJacobianZ) {
      return state_jacobian().transpose() * u;
    } else if constexpr (has_vjp<StateMap, VectorX<T>>::value) {
      return of_state_.vjp(z_, u);
    } else {
      if constexpr (kReverse)
        if (!jacobian_.formed() && mode_ != DerivativeMode::kForward)
          return tape().pullback(u, theta_.size(), z_.size());
      return jacobian_.get().transpose() * u;
    }
  }

  // (df/dtheta)^T u.
  VectorX<T> parameters(const VectorX<T>& u) const {
    if constexpr (Point::kVjpTheta) {
      return point_.get().vjp_theta(u);
    } else if constexpr (has_vjp<ParameterMap, VectorX<T>>::value) {
      return of_parameters_.vjp(theta_, u);
    } else {
      if constexpr (kReverse)
        if (tape_ || use_reverse_for_vjp(mode_, kReverse, theta_.size()))
          return tape().pullback(u, 0, theta_.size());
      return vjp(of_parameters_, theta_, u, DerivativeMode::kForward);
    }
  }

  // Whether (df/dz)^T u is the map's own (cheap) member.
  static constexpr bool kHandWrittenState =
      Point::kVjpZ || Point::kJacobianZ || has_vjp<StateMap, VectorX<T>>::value;

  // The options for the adjoint solve: with a cheap (df/dz)^T u GMRES goes
  // first above dense_first_max_size; without a hand-written vjp_z every
  // matrix-free product costs a reverse sweep (or a dense Jacobian anyway),
  // so kAuto keeps the dense LU up to dense_max_size_automatic.
  static AdjointOptions solve_options(AdjointOptions options) {
    if constexpr (!kHandWrittenState)
      options.dense_max_size = std::max(options.dense_max_size, options.dense_max_size_automatic);
    return for_product_cost(options, kHandWrittenState);
  }

  // df/dz (n x n), formed once, by the linearization's or the map's
  // hand-written jacobian_z, or forward mode.
  const MatrixX<T>& state_jacobian() const {
    if constexpr (Point::kJacobianZ) {
      if (!point_jacobian_)
        point_jacobian_ = checked_shape(MatrixX<T>(point_.get().jacobian_z()), z_.size(), z_.size(),
                                        who_, "linearize(theta, z).jacobian_z()");
      return *point_jacobian_;
    } else {
      return jacobian_.get();
    }
  }

 private:
  using Tape = ReverseTape<T>;
  const Tape& tape() const {
    if constexpr (kReverse) {
      if (!tape_) {
        using Var = RadVar<T>;
        const Eigen::Index p = theta_.size(), n = z_.size();
        VectorX<T> inputs(p + n);
        inputs << theta_, z_;
        auto record = [this, p, n](const VectorX<Var>& tz) {
          return VectorX<Var>(map_(VectorX<Var>(tz.head(p)), VectorX<Var>(tz.tail(n))));
        };
        tape_.emplace(record, inputs, who_);
        if (tape_->output_size() != n)
          throw_size_mismatch(who_, "f(theta, z) on reverse-mode variables", tape_->output_size(),
                              n);
      }
    }
    return *tape_;
  }

  const Map& map_;
  const VectorX<T>& theta_;
  const VectorX<T>& z_;
  DerivativeMode mode_;
  const char* who_;
  StateMap of_state_;
  ParameterMap of_parameters_;
  Point point_;
  LazyJacobian<StateMap, T> jacobian_;
  mutable std::optional<MatrixX<T>> point_jacobian_;  // the linearization's jacobian_z
  // Named, not instantiated, without Sacado (then ReverseTape is incomplete).
  mutable std::conditional_t<kReverse, std::optional<Tape>, std::optional<char>> tape_;
};

}  // namespace implicit::internal
