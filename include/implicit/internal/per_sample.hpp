#pragma once
// Per-sample scalars: what a reduction (dot, norm) of a backend's vector
// returns. For one vector it is a double; for a batch of B independent
// problems (a tensor of shape (B, ...)) it is an Eigen::ArrayXd of length B.
//
// The solvers are written once against `typename VectorOps<V>::Scalars` and
// these few helpers, so that every sample of a batch gets its own mixing
// weights, Broyden update and Krylov coefficients: a batch then behaves as B
// one-at-a-time solves, not as one coupled problem whose whole-batch norm
// hides a sample that never converges (docs/peers.md).
//
// Elementwise arithmetic (+, -, *, /) is written directly: it means the same
// for double and for Eigen arrays.

#include <Eigen/Core>
#include <cmath>

namespace implicit::internal {

inline Eigen::Index sample_count(double) { return 1; }
inline Eigen::Index sample_count(const Eigen::ArrayXd& s) { return s.size(); }

inline double& sample(double& s, Eigen::Index) { return s; }
inline double sample(const double& s, Eigen::Index) { return s; }
inline double& sample(Eigen::ArrayXd& s, Eigen::Index b) { return s[b]; }
inline double sample(const Eigen::ArrayXd& s, Eigen::Index b) { return s[b]; }

// A per-sample value shaped like `like`, every entry `value`.
inline double filled_like(double, double value) { return value; }
inline Eigen::ArrayXd filled_like(const Eigen::ArrayXd& like, double value) {
  return Eigen::ArrayXd::Constant(like.size(), value);
}

inline double sqrt_each(double s) { return std::sqrt(s); }
inline Eigen::ArrayXd sqrt_each(const Eigen::ArrayXd& s) { return s.sqrt(); }

// 1 / denominator where the denominator is finite and |denominator| >
// threshold, else 0. A zero coefficient turns that sample's update into a
// no-op, which is how a batch skips a degenerate step in one sample only.
inline double guarded_reciprocal(double denominator, double threshold) {
  return std::isfinite(denominator) && std::abs(denominator) > threshold ? 1.0 / denominator : 0.0;
}
inline Eigen::ArrayXd guarded_reciprocal(const Eigen::ArrayXd& denominator,
                                         const Eigen::ArrayXd& threshold) {
  Eigen::ArrayXd out(denominator.size());
  for (Eigen::Index b = 0; b < out.size(); ++b)
    out[b] = guarded_reciprocal(denominator[b], threshold[b]);
  return out;
}

inline bool any_nonzero(double s) { return s != 0; }
inline bool any_nonzero(const Eigen::ArrayXd& s) { return (s != 0).any(); }

// The worst sample: the largest entry, or NaN if any entry is NaN (a
// whole-batch summary for reports).
inline double max_of(double s) { return s; }
inline double max_of(const Eigen::ArrayXd& s) {
  double m = -INFINITY;
  for (Eigen::Index b = 0; b < s.size(); ++b) {
    if (std::isnan(s[b])) return s[b];
    if (s[b] > m) m = s[b];
  }
  return m;
}

}  // namespace implicit::internal
