#pragma once
// The 2-D Brusselator's steady state on a periodic N x N grid: 2 N^2
// unknowns, six nonzeros per Jacobian row. Written here from the formulas of
// NonlinearSolve.jl's tutorial "Efficiently Solving Large Sparse
// Ill-Conditioned Nonlinear Systems" (its benchmark problem for sparse
// Jacobians, colouring and KLU), with its parameters, forcing and start:
//
//   0 = alpha/dx^2 (u_E + u_W + u_N + u_S - 4u) + B + u^2 v - (A + 1) u + f(x, y)
//   0 = alpha/dx^2 (v_E + v_W + v_N + v_S - 4v) + A u - u^2 v
//
// on x_i = i / (N - 1), y_j = j / (N - 1), periodic neighbours, with
// f = 5 inside the disc of radius 0.1 around (0.3, 0.6), A = 3.4, B = 1,
// alpha = 10, and the start u = 22 (y (1 - y))^1.5, v = 27 (x (1 - x))^1.5.
// theta = (A, B, alpha), so the steady state can be differentiated.
//
// Unknowns: u(i, j) at i + N j, v(i, j) at N^2 + i + N j.

#include <cmath>
#include <stdexcept>
#include <vector>

#include "implicit/types.hpp"

namespace implicit {

struct Brusselator2D {
  int N = 16;

  Eigen::Index size() const { return 2 * static_cast<Eigen::Index>(N) * N; }

  static VectorX<double> default_theta() { return (VectorX<double>(3) << 3.4, 1.0, 10.0).finished(); }

  double coordinate(int k) const { return static_cast<double>(k) / (N - 1); }

  double forcing(int i, int j) const {
    const double x = coordinate(i), y = coordinate(j);
    return (x - 0.3) * (x - 0.3) + (y - 0.6) * (y - 0.6) <= 0.1 * 0.1 ? 5.0 : 0.0;
  }

  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& w) const {
    if (theta.size() != 3 || w.size() != size())
      throw std::invalid_argument("Brusselator2D: theta must have 3 entries and the state 2 N^2");
    const T& a = theta[0];
    const T& b = theta[1];
    const double dx = 1.0 / (N - 1);
    const T diffusion = theta[2] / (dx * dx);
    const Eigen::Index m = static_cast<Eigen::Index>(N) * N;
    auto at = [&](int i, int j) { return static_cast<Eigen::Index>(i) + static_cast<Eigen::Index>(N) * j; };
    VectorX<T> out(size());
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < N; ++i) {
        const int ip = (i + 1) % N, im = (i + N - 1) % N, jp = (j + 1) % N, jm = (j + N - 1) % N;
        const Eigen::Index k = at(i, j);
        const T& u = w[k];
        const T& v = w[m + k];
        const T uuv = u * u * v;
        out[k] = diffusion * (w[at(im, j)] + w[at(ip, j)] + w[at(i, jp)] + w[at(i, jm)] - 4.0 * u) +
                 b + uuv - (a + 1.0) * u + forcing(i, j);
        out[m + k] = diffusion * (w[m + at(im, j)] + w[m + at(ip, j)] + w[m + at(i, jp)] +
                                  w[m + at(i, jm)] - 4.0 * v) +
                     a * u - uuv;
      }
    return out;
  }

  VectorX<double> initial_state() const {
    VectorX<double> w(size());
    const Eigen::Index m = static_cast<Eigen::Index>(N) * N;
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < N; ++i) {
        const double x = coordinate(i), y = coordinate(j);
        w[i + static_cast<Eigen::Index>(N) * j] = 22 * std::pow(y * (1 - y), 1.5);
        w[m + i + static_cast<Eigen::Index>(N) * j] = 27 * std::pow(x * (1 - x), 1.5);
      }
    return w;
  }

  // The nonzero pattern of d(out)/dw: each species' 5-point stencil, plus
  // the other species at the same point.
  SparsityPattern sparsity() const {
    const Eigen::Index m = static_cast<Eigen::Index>(N) * N;
    std::vector<Eigen::Triplet<double>> entries;
    entries.reserve(static_cast<size_t>(12 * m));
    for (int j = 0; j < N; ++j)
      for (int i = 0; i < N; ++i) {
        const Eigen::Index k = i + static_cast<Eigen::Index>(N) * j;
        const Eigen::Index stencil[5] = {k, (i + 1) % N + static_cast<Eigen::Index>(N) * j,
                                         (i + N - 1) % N + static_cast<Eigen::Index>(N) * j,
                                         i + static_cast<Eigen::Index>(N) * ((j + 1) % N),
                                         i + static_cast<Eigen::Index>(N) * ((j + N - 1) % N)};
        for (int s = 0; s < 2; ++s) {
          const Eigen::Index row = s * m + k;
          for (Eigen::Index c : stencil) entries.emplace_back(row, s * m + c, 1.0);
          entries.emplace_back(row, (1 - s) * m + k, 1.0);
        }
      }
    SparsityPattern pattern(2 * m, 2 * m);
    pattern.setFromTriplets(entries.begin(), entries.end());
    return pattern;
  }
};

// The same steady state with the forcing as a per-cell parameter field
// (theta = f, p = N^2 values at u(i, j)'s index i + N j): what a fit of the
// forcing to observations differentiates (examples/fit_brusselator.cpp).
// A, B and alpha stay at the tutorial's values.
struct Brusselator2DForcingField {
  Brusselator2D problem;

  template <class T>
  VectorX<T> operator()(const VectorX<T>& field, const VectorX<T>& w) const {
    const Eigen::Index cells = static_cast<Eigen::Index>(problem.N) * problem.N;
    if (field.size() != cells)
      throw std::invalid_argument("Brusselator2DForcingField: the field must have N^2 entries");
    const VectorX<T> theta = Brusselator2D::default_theta().cast<T>();
    VectorX<T> out = problem(theta, w);
    for (int j = 0; j < problem.N; ++j)
      for (int i = 0; i < problem.N; ++i) {
        const Eigen::Index k = i + static_cast<Eigen::Index>(problem.N) * j;
        out[k] += field[k] - problem.forcing(i, j);
      }
    return out;
  }

  // The tutorial's forcing: 5 inside the disc, 0 elsewhere.
  VectorX<double> tutorial_field() const {
    VectorX<double> field(static_cast<Eigen::Index>(problem.N) * problem.N);
    for (int j = 0; j < problem.N; ++j)
      for (int i = 0; i < problem.N; ++i)
        field[i + static_cast<Eigen::Index>(problem.N) * j] = problem.forcing(i, j);
    return field;
  }
};

}  // namespace implicit
