#pragma once
// Shared fixtures of the test suite: the reference problem of docs/reference-systems.md and
// tight solves of it.

#include <gtest/gtest.h>

#include "implicit.hpp"

namespace implicit::testing {

using Vec = Eigen::VectorXd;

// Tolerances tight enough that solver error is far below what the
// derivative checks resolve (1e-13 relative in double).
inline FixedPointOptions tight_options() {
  FixedPointOptions o;
  o.abs_tol = 1e-14;
  o.rel_tol = 1e-13;
  o.max_iter = 2000;
  return o;
}

// z* of the reference problem at theta, by Newton (5-6 steps to 1e-16).
inline Vec newton_fixed_point(const TanhLayer& layer, const Vec& theta) {
  auto r = solve_fixed_point(bind_theta(layer, theta), Vec(Vec::Zero(layer.size())), Newton(),
                             tight_options());
  EXPECT_TRUE(r.ok()) << r.brief_report();
  return r.x;
}

// The same layer with no hand-written derivatives: forces forward-mode AD.
struct AutoDiffTanh {
  TanhLayer layer;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    return layer(theta, z);
  }
};

}  // namespace implicit::testing
