#pragma once
// The reference deep-equilibrium layer of docs/reference-systems.md section 1:
//
//     f(theta, z) = tanh(W z + x),   theta = [vec(W) (column-major); x].
//
// Works with the generic machinery through operator() alone (forward-mode
// AD supplies every derivative); the hand-written derivatives below are the
// optional speed path, each O(n^2) like one evaluation, and are tested
// against the automatic ones. Without them a VJP w.r.t. theta would cost
// n^2 + n forward-mode directions.

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "implicit/diff/autodiff.hpp"
#include "implicit/internal/random.hpp"

namespace implicit {

class TanhLayer {
 public:
  explicit TanhLayer(Eigen::Index n) : n_(n) {
    if (n < 1) throw std::invalid_argument("TanhLayer: n must be >= 1, got " + std::to_string(n));
  }

  Eigen::Index size() const { return n_; }
  Eigen::Index parameter_size() const { return n_ * n_ + n_; }

  template <class T>
  VectorX<T> operator()(const VectorX<T>& theta, const VectorX<T>& z) const {
    check(theta, z);
    return (weights(theta) * z + bias(theta)).array().tanh().matrix();
  }

  // diag(1 - y^2) W, with y = f(theta, z).
  template <class T>
  MatrixX<T> jacobian_z(const VectorX<T>& theta, const VectorX<T>& z) const {
    return slope(theta, z).asDiagonal() * weights(theta);
  }
  template <class T>
  VectorX<T> jvp_z(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& v) const {
    return slope(theta, z).cwiseProduct(weights(theta) * v);
  }
  template <class T>
  VectorX<T> vjp_z(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& u) const {
    return weights(theta).transpose() * slope(theta, z).cwiseProduct(u);
  }
  // d/dtheta: dW contributes (1 - y^2) .* (dW z), dx contributes (1 - y^2) .* dx.
  template <class T>
  VectorX<T> jvp_theta(const VectorX<T>& theta, const VectorX<T>& z,
                       const VectorX<T>& dtheta) const {
    return slope(theta, z).cwiseProduct(weights(dtheta) * z + bias(dtheta));
  }
  // thetabar = [vec(s z^T); s] with s = (1 - y^2) .* u.
  template <class T>
  VectorX<T> vjp_theta(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& u) const {
    const VectorX<T> s = slope(theta, z).cwiseProduct(u);
    VectorX<T> out(parameter_size());
    Eigen::Map<MatrixX<T>>(out.data(), n_, n_).noalias() = s * z.transpose();
    out.tail(n_) = s;
    return out;
  }

  // Views of theta's blocks (no copy).
  template <class T>
  Eigen::Map<const MatrixX<T>> weights(const VectorX<T>& theta) const {
    return Eigen::Map<const MatrixX<T>>(theta.data(), n_, n_);
  }
  template <class T>
  auto bias(const VectorX<T>& theta) const {
    return theta.tail(n_);
  }

  // theta from W and x.
  template <class T>
  VectorX<T> pack(const MatrixX<T>& w, const VectorX<T>& x) const {
    if (w.rows() != n_ || w.cols() != n_ || x.size() != n_)
      throw std::invalid_argument(
          "TanhLayer::pack: W must be " + std::to_string(n_) + "x" + std::to_string(n_) +
          " and x of size " + std::to_string(n_) + ", got W " + std::to_string(w.rows()) + "x" +
          std::to_string(w.cols()) + " and x of size " + std::to_string(x.size()));
    VectorX<T> theta(parameter_size());
    Eigen::Map<MatrixX<T>>(theta.data(), n_, n_) = w;
    theta.tail(n_) = x;
    return theta;
  }

 private:
  template <class T>
  void check(const VectorX<T>& theta, const VectorX<T>& z) const {
    if (theta.size() != parameter_size() || z.size() != n_)
      throw std::invalid_argument(
          "TanhLayer(n = " + std::to_string(n_) + "): theta must have size " +
          std::to_string(parameter_size()) + " and z size " + std::to_string(n_) + ", got " +
          std::to_string(theta.size()) + " and " + std::to_string(z.size()));
  }
  // 1 - tanh(W z + x)^2, the derivative of tanh at the pre-activation.
  template <class T>
  VectorX<T> slope(const VectorX<T>& theta, const VectorX<T>& z) const {
    const VectorX<T> y = (*this)(theta, z);
    return (T(1) - y.array().square()).matrix();
  }

  Eigen::Index n_;
};

// The reference problem (docs/reference-systems.md section 1): W_ij ~ N(0, 1/n),
// x_i ~ N(0, 1), reproducible from the seed on every platform.
struct TanhProblem {
  TanhLayer layer;
  Eigen::MatrixXd w;
  Eigen::VectorXd x;
  Eigen::VectorXd theta;  // layer.pack(w, x)
};

inline TanhProblem make_reference_tanh_problem(Eigen::Index n, std::uint64_t seed = 0) {
  internal::NormalSampler normal(seed);
  TanhProblem p{TanhLayer(n), Eigen::MatrixXd(n, n), Eigen::VectorXd(n), {}};
  const double stddev = 1.0 / std::sqrt(static_cast<double>(n));
  for (Eigen::Index j = 0; j < n; ++j)
    for (Eigen::Index i = 0; i < n; ++i) p.w(i, j) = normal(0.0, stddev);
  for (Eigen::Index i = 0; i < n; ++i) p.x(i) = normal();
  p.theta = p.layer.pack(p.w, p.x);
  return p;
}

}  // namespace implicit
