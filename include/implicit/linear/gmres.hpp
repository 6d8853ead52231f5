#pragma once
// Restarted GMRES(m) for A x = b with A given only as a product v -> A v.
//
// Generic over the vector type through VectorOps, so the dense path and a
// tensor backend share it (Eigen's unsupported GMRES needs an Eigen matrix
// type). Modified Gram-Schmidt Arnoldi, Givens rotations on the (m+1) x m
// Hessenberg matrix, which is kept in double whatever the vector scalar.
//
// Batched backends solve B independent systems at once: every sample has
// its own Hessenberg matrix and rotations, and the solve stops when every
// sample is at its target (result.residual_norm is then the worst sample's).
//
// Stops when ||A x - b|| <= abs_tol + rel_tol ||b||. The final residual is
// recomputed with one more product (the recurrence's estimate can drift),
// and that recomputed value decides the status.
//
// Cost: one product per iteration plus O(m n) for orthogonalisation.
// Workspace: m + 1 basis vectors.

#include <Eigen/Dense>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/internal/per_sample.hpp"
#include "implicit/linear/linear_system.hpp"
#include "implicit/linear/result.hpp"

namespace implicit {

struct GmresOptions {
  int restart = 30;        // Krylov dimension m before a restart
  int max_iter = 1000;     // total products with A
  double abs_tol = 1e-14;  // ||A x - b|| <= abs_tol + rel_tol ||b||
  double rel_tol = 1e-10;

  void validate() const {
    if (restart < 1)
      throw std::invalid_argument("GmresOptions::restart must be >= 1, got " +
                                  std::to_string(restart));
    if (max_iter < 1)
      throw std::invalid_argument("GmresOptions::max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    if (!(abs_tol >= 0) || !(rel_tol >= 0) || abs_tol + rel_tol == 0)
      throw std::invalid_argument("GmresOptions: abs_tol and rel_tol must be >= 0 and not both 0");
  }

  // The inner solve of an inexact Newton step (fixed_point/newton.hpp,
  // system/newton.hpp): ||A d - b|| <= rel_tol ||b||, no absolute part.
  // Validated with the names the caller's options give the three fields,
  // e.g. "NewtonOptions::gmres_restart".
  static GmresOptions inexact_newton(const std::string& owner, double rel_tol, int restart,
                                     int max_iter) {
    if (!(rel_tol > 0 && rel_tol < 1))
      throw std::invalid_argument(owner + "::gmres_rel_tol must be in (0, 1), got " +
                                  std::to_string(rel_tol));
    if (restart < 1)
      throw std::invalid_argument(owner + "::gmres_restart must be >= 1, got " +
                                  std::to_string(restart));
    if (max_iter < 1)
      throw std::invalid_argument(owner + "::gmres_max_iter must be >= 1, got " +
                                  std::to_string(max_iter));
    GmresOptions o;
    o.rel_tol = rel_tol;
    o.abs_tol = 0;
    o.restart = restart;
    o.max_iter = max_iter;
    return o;
  }
};

namespace internal {

// One sample's share of a GMRES iteration, for every batched GMRES (the one
// below and the tensor layer's kernel, src/torch/linear_solve.cpp): they
// differ in how they store the Hessenberg matrix, so entries come through
// accessors: h(i) is entry i of the new column j, cs(i), sn(i) the i-th
// rotation, s(i) the rotated right-hand side (all double&).
//
// Applies the earlier rotations to column j, builds rotation j so that it
// annihilates h(j + 1), and returns the new residual estimate s(j + 1).
template <class H, class Cs, class Sn, class S>
double rotate_new_column(int j, H&& h, Cs&& cs, Sn&& sn, S&& s) {
  for (int i = 0; i < j; ++i) {
    double& upper = h(i);
    double& lower = h(i + 1);
    const double t = cs(i) * upper + sn(i) * lower;
    lower = -sn(i) * upper + cs(i) * lower;
    upper = t;
  }
  double& diagonal = h(j);
  double& below = h(j + 1);
  const double r = std::hypot(diagonal, below);
  cs(j) = r == 0 ? 1 : diagonal / r;
  sn(j) = r == 0 ? 0 : below / r;
  diagonal = r;
  below = 0;
  s(j + 1) = -sn(j) * s(j);
  s(j) = cs(j) * s(j);
  return s(j + 1);
}

// The Krylov coefficients y(0..j) from the rotated (upper triangular)
// Hessenberg matrix, r(row, col), and s: H_j y = s. A zero on the diagonal
// means A is singular on the Krylov space: the least-squares minimiser
// then lives in the leading block, and the trailing coefficients are 0.
// triangle (m x m) and rhs (m) are the caller's workspace.
template <class R, class S, class Y>
void solve_rotated_triangle(int j, R&& r, S&& s, Eigen::MatrixXd& triangle, Eigen::VectorXd& rhs,
                            Y&& y) {
  int used = j;
  for (int c = 0; c < j; ++c)
    for (int row = 0; row < j; ++row) triangle(row, c) = row <= c ? r(row, c) : 0.0;
  const double h_scale = j > 0 ? triangle.topLeftCorner(j, j).cwiseAbs().maxCoeff() : 0.0;
  while (used > 0 && !(std::abs(triangle(used - 1, used - 1)) > 1e-14 * h_scale)) --used;
  for (int i = 0; i < used; ++i) rhs(i) = s(i);
  rhs.head(used) = triangle.topLeftCorner(used, used)
                       .template triangularView<Eigen::Upper>()
                       .solve(rhs.head(used));
  for (int i = 0; i < j; ++i) y(i) = i < used ? rhs(i) : 0.0;
}

}  // namespace internal

template <class Vector, class ApplyA>
LinearSolveResult<Vector> gmres(const ApplyA& apply_a, const Vector& b, const Vector& x0,
                                const GmresOptions& options = {}) {
  using Ops = VectorOps<Vector>;
  using Scalars = typename Ops::Scalars;
  using internal::sample;
  options.validate();
  LinearSolveResult<Vector> result;
  result.method = "gmres";
  const int m = options.restart;
  const Scalars b_norm = Ops::norm(b);
  const Scalars target = options.abs_tol + options.rel_tol * b_norm;
  const Eigen::Index batch = internal::sample_count(b_norm);
  const Scalars zero = internal::filled_like(b_norm, 0.0);

  Vector x = x0;
  std::vector<Vector> basis(m + 1, Ops::zeros_like(b));
  Vector w = Ops::zeros_like(b);
  // Hessenberg matrix (column-major, (m+1) x m), rotations and the rotated
  // right-hand side, each entry one value per sample.
  std::vector<Scalars> h((m + 1) * m, zero), cs(m, zero), sn(m, zero), s(m + 1, zero), y(m, zero);
  auto H = [&](int i, int j) -> Scalars& { return h[j * (m + 1) + i]; };
  Eigen::MatrixXd triangle(m, m);
  Eigen::VectorXd rhs(m);

  auto true_residual = [&](Vector& r) {
    r = apply_a(x);
    ++result.iterations;
    Ops::lincomb(1.0, b, -1.0, r, r);  // r = b - A x
    return Scalars(Ops::norm(r));
  };
  auto any_sample = [&](const auto& predicate) {
    for (Eigen::Index k = 0; k < batch; ++k)
      if (predicate(k)) return true;
    return false;
  };

  // Per sample: kMaxIterations while it runs, then its own outcome. A
  // stopped sample (converged, NaN, stagnated) rides along without changing
  // (its coefficients are 0), so one bad sample never ends the others' solve.
  std::vector<Status> status(batch, Status::kMaxIterations);
  std::vector<char> running(batch, 1);
  auto any_running = [&]() { return any_sample([&](Eigen::Index k) { return running[k] != 0; }); };
  auto stop_sample = [&](Eigen::Index k, Status st) {
    status[k] = st;
    running[k] = 0;
  };
  // A stopped sample's new Krylov coefficients are forced to 0.
  auto mask_stopped = [&](Scalars& v) {
    for (Eigen::Index k = 0; k < batch; ++k)
      if (!running[k]) sample(v, k) = 0;
  };

  Scalars beta = true_residual(basis[0]);
  Scalars previous = beta;
  bool first = true;
  while (true) {
    for (Eigen::Index k = 0; k < batch; ++k) {
      if (!running[k]) continue;
      const double bk = sample(beta, k);
      if (!std::isfinite(bk)) {
        stop_sample(k, Status::kNonFinite);
      } else if (!(bk > sample(target, k))) {
        stop_sample(k, Status::kConverged);
      } else if (!first && !(bk < sample(previous, k)) && result.iterations < options.max_iter) {
        stop_sample(k, Status::kLinearSolveFailed);  // stagnated: singular on its Krylov space
      }
    }
    first = false;
    if (!any_running() || result.iterations >= options.max_iter) break;
    // A sample already at its target has beta ~ 0: its basis is zero and
    // it rides along without changing.
    Scalars start = beta;
    mask_stopped(start);
    Ops::scale(internal::guarded_reciprocal(start, zero), basis[0]);
    for (auto& e : s) e = zero;
    s[0] = start;
    int j = 0;
    for (; j < m && result.iterations < options.max_iter; ++j) {
      w = apply_a(basis[j]);
      ++result.iterations;
      for (int i = 0; i <= j; ++i) {
        H(i, j) = Ops::dot(w, basis[i]);
        Ops::axpy(-H(i, j), basis[i], w);
      }
      H(j + 1, j) = Ops::norm(w);
      const Scalars h_next = H(j + 1, j);
      bool all_done = true;
      for (Eigen::Index k = 0; k < batch; ++k) {
        const double estimate = internal::rotate_new_column(
            j, [&](int i) -> double& { return sample(H(i, j), k); },
            [&](int i) -> double& { return sample(cs[i], k); },
            [&](int i) -> double& { return sample(sn[i], k); },
            [&](int i) -> double& { return sample(s[i], k); });
        // happy breakdown or converged estimate
        if (!(sample(h_next, k) == 0 || std::abs(estimate) <= sample(target, k) ||
              !std::isfinite(estimate)))
          all_done = false;
      }
      if (all_done) {
        ++j;
        break;
      }
      Ops::lincomb(internal::guarded_reciprocal(h_next, zero), w, 0.0, w, basis[j + 1]);
    }
    // x += V_j y with H_j y = s (upper triangular after the rotations), per
    // sample.
    for (Eigen::Index k = 0; k < batch; ++k)
      internal::solve_rotated_triangle(
          j, [&](int r, int c) { return sample(H(r, c), k); },
          [&](int i) { return sample(s[i], k); }, triangle, rhs,
          [&](int i) -> double& { return sample(y[i], k); });
    for (int i = 0; i < j; ++i) {
      mask_stopped(y[i]);
      Ops::axpy(y[i], basis[i], x);
    }
    previous = beta;
    beta = true_residual(basis[0]);
  }
  // The batch's status is its first failure, in order of severity.
  auto outcome = internal::krylov_outcome(status, internal::max_of(beta), internal::max_of(target),
                                          result.iterations, "stagnated", ": singular system?");
  result.status = outcome.status;
  result.message = std::move(outcome.message);
  if constexpr (!std::is_same_v<Scalars, double>) {
    result.sample_status = status;
    result.sample_residual.resize(batch);
    for (Eigen::Index k = 0; k < batch; ++k) result.sample_residual[k] = sample(beta, k);
  }
  result.residual_norm = internal::max_of(beta);
  result.x = std::move(x);
  return result;
}

// GMRES(restart) as a linear-solver value (linear/linear_system.hpp), on
// any backend; the tensor layer runs it with its row kernel on CPU tensors
// (src/torch/linear_solve.cpp), the same algorithm.
struct Gmres {
  int restart = 30;  // Krylov dimension before a restart

  const char* name() const { return "gmres"; }
  void validate(const std::string& owner = "Gmres") const {
    if (restart < 1)
      throw std::invalid_argument(owner + "::restart must be >= 1, got " +
                                  std::to_string(restart));
  }
  GmresOptions options(const LinearTarget& target) const {
    GmresOptions g;
    g.restart = restart;
    g.max_iter = target.max_products;
    g.abs_tol = target.abs_tol;
    g.rel_tol = target.rel_tol;
    return g;
  }
  template <class Vector>
  LinearSolveResult<Vector> solve(const LinearSystem<Vector>& system, const Vector& b,
                                  const LinearTarget& target) const {
    return gmres(system.apply_a, b, VectorOps<Vector>::zeros_like(b), options(target));
  }
};

}  // namespace implicit
