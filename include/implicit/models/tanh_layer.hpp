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

  // The layer's derivatives at one point (diff/linearization.hpp): the
  // slope s = 1 - f(theta, z)^2 computed once, so each product below is one
  // matrix-vector product (or outer product) and never evaluates f again.
  // Holds a view of theta's W: theta must outlive it.
  template <class T>
  class Linearization {
   public:
    Linearization(const TanhLayer& layer, const VectorX<T>& theta, const VectorX<T>& z)
        : w_(layer.weights(theta)), z_(z), slope_(layer.slope(theta, z)) {}

    // diag(s) W.
    MatrixX<T> jacobian_z() const { return slope_.asDiagonal() * w_; }
    VectorX<T> jvp_z(const VectorX<T>& v) const { return slope_.cwiseProduct(w_ * v); }
    VectorX<T> vjp_z(const VectorX<T>& u) const {
      return w_.transpose() * slope_.cwiseProduct(u);
    }
    // d/dtheta: dW contributes s .* (dW z), dx contributes s .* dx.
    VectorX<T> jvp_theta(const VectorX<T>& dtheta) const {
      const Eigen::Index n = z_.size();
      const Eigen::Map<const MatrixX<T>> dw(dtheta.data(), n, n);
      return slope_.cwiseProduct(dw * z_ + dtheta.tail(n));
    }
    // thetabar = [vec(r z^T); r] with r = s .* u.
    VectorX<T> vjp_theta(const VectorX<T>& u) const {
      const Eigen::Index n = z_.size();
      const VectorX<T> r = slope_.cwiseProduct(u);
      VectorX<T> out(n * n + n);
      Eigen::Map<MatrixX<T>>(out.data(), n, n).noalias() = r * z_.transpose();
      out.tail(n) = r;
      return out;
    }

   private:
    Eigen::Map<const MatrixX<T>> w_;
    VectorX<T> z_;
    VectorX<T> slope_;
  };

  // Throws std::invalid_argument on wrong sizes, as operator() does.
  template <class T>
  Linearization<T> linearize(const VectorX<T>& theta, const VectorX<T>& z) const {
    return Linearization<T>(*this, theta, z);
  }

  // The per-call members: each is one linearization and one product, so it
  // evaluates f once (use linearize() for many products at one point).
  template <class T>
  MatrixX<T> jacobian_z(const VectorX<T>& theta, const VectorX<T>& z) const {
    return linearize(theta, z).jacobian_z();
  }
  template <class T>
  VectorX<T> jvp_z(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& v) const {
    return linearize(theta, z).jvp_z(v);
  }
  template <class T>
  VectorX<T> vjp_z(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& u) const {
    return linearize(theta, z).vjp_z(u);
  }
  template <class T>
  VectorX<T> jvp_theta(const VectorX<T>& theta, const VectorX<T>& z,
                       const VectorX<T>& dtheta) const {
    return linearize(theta, z).jvp_theta(dtheta);
  }
  template <class T>
  VectorX<T> vjp_theta(const VectorX<T>& theta, const VectorX<T>& z, const VectorX<T>& u) const {
    return linearize(theta, z).vjp_theta(u);
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
