#pragma once
// Anderson acceleration (type II, as in docs/reference-systems.md section 1
// and the DEQ tutorial).
//
// Keeps the last m pairs (f(z_i), g_i = f(z_i) - z_i) and mixes them with
// weights alpha from the bordered least-squares system
//
//     [ 0   1^T              ] [ mu    ]   [ 1 ]
//     [ 1   G G^T + lam_eff I] [ alpha ] = [ 0 ]
//
// (minimise ||sum alpha_i g_i||^2 + lam_eff ||alpha||^2 s.t. sum alpha_i = 1),
// then z_{k+1} = beta sum alpha_i f(z_i) + (1 - beta) sum alpha_i z_i.
//
// Regularisation: with a fixed lam = 1e-4 the weights collapse to a plain
// average once ||g||^2 drops below lam, and Anderson becomes slower than
// forward iteration at tight tolerances (docs/peers.md: 58 vs 38 f calls at
// n = 10). So the default scales lam by max_i ||g_i||^2; kAbsolute keeps the
// reference behaviour.
//
// Cost per step: m dot products of length n (the new row of G G^T), one
// (m+1)x(m+1) dense solve, and one m-term linear combination. Workspace:
// 2m vectors, allocated once.

#include <Eigen/Dense>
#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/backend/eigen.hpp"
#include "implicit/fixed_point/solve.hpp"
#include "implicit/internal/per_sample.hpp"

namespace implicit {

enum class AndersonRegularization {
  kScaled,    // lam_eff = lam * max_i ||g_i||^2 (default; see the header comment)
  kAbsolute,  // lam_eff = lam, the reference formula (docs/reference-systems.md)
};

struct AndersonOptions {
  int memory = 5;     // m: how many past (f(z_i), g_i) pairs are mixed
  double lam = 1e-4;  // Tikhonov regularisation of G G^T
  double beta = 1.0;  // mixing: 1 uses only f(z_i), 0 only z_i
  AndersonRegularization regularization = AndersonRegularization::kScaled;

  // Throws std::invalid_argument naming the first field that makes no
  // sense; `owner` prefixes the field's name where these options are part
  // of another struct (AdjointOptions::anderson).
  void validate(const std::string& owner = "AndersonOptions") const {
    if (memory < 1)
      throw std::invalid_argument(owner + "::memory must be >= 1, got " + std::to_string(memory));
    if (!(lam >= 0) || !std::isfinite(lam))
      throw std::invalid_argument(owner + "::lam must be finite and >= 0, got " +
                                  std::to_string(lam));
    if (!(beta > 0 && beta <= 1))
      throw std::invalid_argument(owner + "::beta must be in (0, 1], got " + std::to_string(beta));
    if (regularization != AndersonRegularization::kScaled &&
        regularization != AndersonRegularization::kAbsolute)
      throw std::invalid_argument(owner +
                                  "::regularization is not an AndersonRegularization, got " +
                                  std::to_string(static_cast<int>(regularization)));
  }
};

namespace internal {

// One sample's mixing weights: alpha = y / 1^T y with
// (G G^T / s + lam I) y = 1, s the largest diagonal entry of G G^T (lam / s
// for kAbsolute). Solving that form on the normalised G G^T keeps the
// weights accurate when ||g||^2 is ~1e-20 near convergence, where the
// bordered matrix mixes entries of 1 and 1e-20 and a pivoted LU of it
// loses the small block entirely. A degenerate history (NaN from f in this
// sample, or g == 0) gets a plain forward step: all weight on the newest
// pair.
//
// The system is symmetric positive definite whenever lam > 0, so it is
// first factorised by an unpivoted k x k Cholesky written out here: ~60 ns
// at k = 5, against ~260 ns for Eigen's LLT and ~320 ns for its LDLT on a
// dynamic 5 x 5 (measured 2026-12-02; both pay for blocking meant for large
// matrices), and a batched solve runs it B times per step. A pivot that is
// not positive (lam = 0 with a rank-deficient history, or rounding) hands
// the sample to Eigen's pivoted LDLT.
//
// Shared by Anderson::step (below) and the tensor layer's kernel loop
// (src/torch/fixed_point.cpp), so both mix with the same weights.
class AndersonWeights {
 public:
  AndersonWeights() = default;
  explicit AndersonWeights(int memory) { resize(memory); }

  // Workspace for up to `memory` slots.
  void resize(int memory) {
    system_.resize(memory, memory);
    chol_.assign(static_cast<size_t>(memory) * memory, 0.0);
    inverse_pivot_.assign(static_cast<size_t>(memory), 0.0);
    solution_.resize(memory);
    ones_ = Eigen::VectorXd::Ones(memory);
  }

  // Entry (i, j) of the sample's G G^T over the k filled slots, to be set
  // before solve().
  double& gram(int i, int j) { return system_(i, j); }

  // alpha[0..k) for the Gram block set through gram(); `newest` is the slot
  // of the newest pair. Plain loops over the k x k block: Eigen's block
  // expressions cost more than the arithmetic at this size (241 ns per
  // call at k = 5 with them, the gram() fill included).
  void solve(const AndersonOptions& options, int k, int newest, double* alpha) {
    double scale = 0;
    bool finite = true;
    for (int j = 0; j < k; ++j) {
      const double d = system_(j, j);
      finite = finite && std::isfinite(d);
      scale = std::max(scale, d);
    }
    bool ok = scale > 0 && finite;  // g == 0 exactly: the driver stops first
    if (ok) {
      double lam = options.lam;
      if (options.regularization == AndersonRegularization::kAbsolute) lam /= scale;
      const double inverse = 1.0 / scale;
      for (int j = 0; j < k; ++j) {
        for (int i = 0; i < k; ++i) system_(i, j) *= inverse;
        system_(j, j) += lam;
      }
      if (!cholesky_solve(k)) {
        if (!factor_) factor_.emplace();
        factor_->compute(
            system_.topLeftCorner(k, k));  // reallocates only while the history fills up
        solution_.head(k) = factor_->solve(ones_.head(k));
      }
      double sum = 0;
      for (int j = 0; j < k; ++j) sum += solution_(j);
      const double normaliser = 1.0 / sum;
      for (int j = 0; j < k; ++j) {
        solution_(j) *= normaliser;
        ok = ok && std::isfinite(solution_(j));
      }
    }
    for (int j = 0; j < k; ++j) alpha[j] = ok ? solution_(j) : (j == newest ? 1.0 : 0.0);
  }

 private:
  // system = L L^T (L in chol_, row-major lower triangle), then
  // solution = system^-1 1; false (solution untouched) if a pivot is not
  // positive.
  bool cholesky_solve(int k) {
    // One division per column (its pivot's reciprocal, kept in
    // inverse_pivot_), multiplications elsewhere: the solve is a chain of
    // dependent operations, and a division costs ~4 multiplications.
    const int m = static_cast<int>(system_.rows());
    double* l = chol_.data();
    double* inverse = inverse_pivot_.data();
    for (int j = 0; j < k; ++j) {
      double d = system_(j, j);
      for (int p = 0; p < j; ++p) d -= l[j * m + p] * l[j * m + p];
      if (!(d > 0) || !std::isfinite(d)) return false;
      inverse[j] = 1.0 / std::sqrt(d);
      for (int i = j + 1; i < k; ++i) {
        double v = system_(i, j);
        for (int p = 0; p < j; ++p) v -= l[i * m + p] * l[j * m + p];
        l[i * m + j] = v * inverse[j];
      }
    }
    for (int i = 0; i < k; ++i) {  // L w = 1
      double v = 1.0;
      for (int p = 0; p < i; ++p) v -= l[i * m + p] * solution_(p);
      solution_(i) = v * inverse[i];
    }
    for (int i = k - 1; i >= 0; --i) {  // L^T y = w
      double v = solution_(i);
      for (int p = i + 1; p < k; ++p) v -= l[p * m + i] * solution_(p);
      solution_(i) = v * inverse[i];
    }
    return true;
  }

  Eigen::MatrixXd system_;
  std::vector<double> chol_;           // L, row-major lower triangle
  std::vector<double> inverse_pivot_;  // 1 / L(j, j)
  Eigen::VectorXd solution_, ones_;
  // Made on the first fallback: an Eigen::LDLT that never ran compute()
  // leaves members uninitialised, so copying or moving one (a State
  // returned by value) reads indeterminate values (UBSan: "load of value
  // ... not a valid value for type 'ComputationInfo'").
  std::optional<Eigen::LDLT<Eigen::MatrixXd>> factor_;
};

}  // namespace internal

class Anderson {
 public:
  explicit Anderson(AndersonOptions options = {}) : options_(options) {}

  const char* name() const { return "anderson"; }
  const AndersonOptions& options() const { return options_; }

  void validate() const { options_.validate(); }

  template <class Vector>
  struct State {
    using Scalars = typename VectorOps<Vector>::Scalars;
    std::vector<Vector> f_values;   // f(z_i), ring buffer of `memory` slots
    std::vector<Vector> residuals;  // g_i = f(z_i) - z_i
    std::vector<Scalars> gram;      // G G^T over the filled slots, m x m row-major, per sample
    std::vector<Scalars> alpha;     // mixing weights per slot, per sample
    int filled = 0;
    int next = 0;  // slot the next pair goes into
    internal::AndersonWeights weights;
    std::vector<double> sample_alpha;  // one sample's weights, k of them
  };

  template <class F, class Vector>
  State<Vector> init(const F&, const Vector& z0) const {
    const int m = options_.memory;
    State<Vector> s;
    s.f_values.assign(m, VectorOps<Vector>::zeros_like(z0));
    s.residuals.assign(m, VectorOps<Vector>::zeros_like(z0));
    s.weights.resize(m);
    s.sample_alpha.assign(m, 0.0);
    return s;
  }

  template <class F, class Vector>
  StepReport step(const F&, State<Vector>& s, Vector& z, const Vector& fz, const Vector& g) const {
    using Ops = VectorOps<Vector>;
    const int m = options_.memory;
    const int slot = s.next;
    s.f_values[slot] = fz;
    s.residuals[slot] = g;
    s.filled = std::min(s.filled + 1, m);
    s.next = (slot + 1) % m;
    if (s.gram.empty()) {  // sized on the first step, when the per-sample shape is known
      const auto zero = internal::filled_like(Ops::dot(g, g), 0.0);
      s.gram.assign(m * m, zero);
      s.alpha.assign(m, zero);
    }
    for (int j = 0; j < s.filled; ++j) {
      s.gram[slot * m + j] = Ops::dot(s.residuals[slot], s.residuals[j]);
      s.gram[j * m + slot] = s.gram[slot * m + j];
    }
    const int k = s.filled;
    const Eigen::Index batch = internal::sample_count(s.gram[0]);
    for (Eigen::Index b = 0; b < batch; ++b) solve_weights(s, k, slot, b);

    Ops::set_zero(z);
    for (int j = 0; j < k; ++j) {
      Ops::axpy(s.alpha[j], s.f_values[j], z);
      if (options_.beta != 1.0) Ops::axpy(-(1.0 - options_.beta) * s.alpha[j], s.residuals[j], z);
    }
    return {};
  }

 private:
  // Mixing weights of sample b over the k filled slots (internal::AndersonWeights).
  // Defined below the class, not inline, so that IMPLICIT_PRECOMPILED's
  // extern declaration keeps it out of the caller's translation unit.
  template <class Vector>
  void solve_weights(State<Vector>& s, int k, int newest, Eigen::Index b) const;

  AndersonOptions options_;
};

template <class Vector>
void Anderson::solve_weights(State<Vector>& s, int k, int newest, Eigen::Index b) const {
  const int m = options_.memory;
  for (int i = 0; i < k; ++i)
    for (int j = 0; j < k; ++j) s.weights.gram(i, j) = internal::sample(s.gram[i * m + j], b);
  s.weights.solve(options_, k, newest, s.sample_alpha.data());
  for (int j = 0; j < k; ++j) internal::sample(s.alpha[j], b) = s.sample_alpha[j];
}

// The per-sample weight solve does not depend on the map: compiled once in
// implicit::precompiled (src/fixed_point/anderson.cpp) for Eigen vectors.
#ifdef IMPLICIT_PRECOMPILED
extern template void Anderson::solve_weights<Eigen::VectorXd>(Anderson::State<Eigen::VectorXd>&,
                                                              int, int, Eigen::Index) const;
extern template void Anderson::solve_weights<Eigen::VectorXf>(Anderson::State<Eigen::VectorXf>&,
                                                              int, int, Eigen::Index) const;
#endif

}  // namespace implicit
