#pragma once
// The 2-D Bratu (solid fuel ignition) problem, as PETSc's SNES tutorial
// ex5 states it: -Laplacian(u) - lambda exp(u) = 0 on the unit square,
// u = 0 on the boundary, on an N x N grid of points including the boundary
// (N^2 unknowns, five nonzeros per interior Jacobian row), with its
// scaling, its boundary rows and its start. Written here from the
// tutorial's formulas, h = 1 / (N - 1):
//
//   interior: (2u - u_W - u_E) + (2u - u_S - u_N) - h^2 lambda exp(u)
//   boundary: 4 u                  (u = 0, as a scaled identity row)
//
// (the tutorial multiplies through by hx hy; with hx = hy the stencil
// weights are 1), start u = lambda / (lambda + 1) sqrt(min(d_x, d_y)) with
// d_x, d_y the distances to the nearest boundary line, 0 on the boundary.
// theta = (lambda), 6 by default; the problem has solutions for lambda up
// to about 6.81.
//
// Unknowns: u(i, j) at i + N j.

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "implicit/types.hpp"

namespace implicit {

struct Bratu2D {
  int N = 16;

  Eigen::Index size() const { return static_cast<Eigen::Index>(N) * N; }

  static VectorX<double> default_theta() { return (VectorX<double>(1) << 6.0).finished(); }

  bool on_boundary(int i, int j) const { return i == 0 || j == 0 || i == N - 1 || j == N - 1; }

  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& u) const {
    using std::exp;
    if (theta.size() != 1 || u.size() != size() || N < 3)
      throw std::invalid_argument("Bratu2D: theta must have 1 entry, the state N^2, N >= 3");
    const double h = 1.0 / (N - 1);
    const T scaled_lambda = theta[0] * (h * h);
    auto at = [&](int i, int j) { return static_cast<Eigen::Index>(i) + static_cast<Eigen::Index>(N) * j; };
    VectorX<T> out(size());
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < N; ++i) {
        const Eigen::Index k = at(i, j);
        if (on_boundary(i, j)) {
          out[k] = 4.0 * u[k];
          continue;
        }
        out[k] = (2.0 * u[k] - u[at(i - 1, j)] - u[at(i + 1, j)]) +
                 (2.0 * u[k] - u[at(i, j - 1)] - u[at(i, j + 1)]) - scaled_lambda * exp(u[k]);
      }
    return out;
  }

  VectorX<double> initial_state(double lambda = 6.0) const {
    const double h = 1.0 / (N - 1), scale = lambda / (lambda + 1);
    VectorX<double> u = VectorX<double>::Zero(size());
    for (int j = 1; j < N - 1; ++j)
      for (int i = 1; i < N - 1; ++i) {
        const double dx = std::min(i, N - 1 - i) * h, dy = std::min(j, N - 1 - j) * h;
        u[i + static_cast<Eigen::Index>(N) * j] = scale * std::sqrt(std::min(dx, dy));
      }
    return u;
  }

  // The nonzero pattern of d(out)/du: the 5-point stencil inside, the
  // diagonal on the boundary.
  SparsityPattern sparsity() const {
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(static_cast<size_t>(5 * size()));
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < N; ++i) {
        const Eigen::Index k = i + static_cast<Eigen::Index>(N) * j;
        entries.emplace_back(k, k, 1.0);
        if (on_boundary(i, j)) continue;
        for (Eigen::Index c : {k - 1, k + 1, k - N, k + N}) entries.emplace_back(k, c, 1.0);
      }
    SparsityPattern pattern(size(), size());
    pattern.setFromTriplets(entries.begin(), entries.end());
    return pattern;
  }
};

}  // namespace implicit
