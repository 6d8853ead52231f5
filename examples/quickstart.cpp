// The README's quick start, compiled and run by the test suite so it cannot rot.
#include <iostream>

#include "implicit.hpp"

// f(theta, z) = tanh(theta_0 * A z + theta_1 * b): written once, templated on
// the scalar type; every derivative comes from forward-mode AD.
struct SmallLayer {
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
                                  const implicit::VectorX<T>& z) const {
    implicit::MatrixX<T> a(2, 2);
    a << T(0.5), T(-0.3), T(0.2), T(0.4);
    implicit::VectorX<T> b(2);
    b << T(1), T(-1);
    return (theta[0] * (a * z) + theta[1] * b).array().tanh().matrix();
  }
};

int main() {
  const SmallLayer layer;
  const Eigen::VectorXd theta = Eigen::Vector2d(0.9, 0.5);

  // Forward: z* = f(theta, z*) by Anderson acceleration.
  implicit::FixedPointOptions options;  // stop at ||f(z)-z|| <= 1e-10 + 1e-8 ||f(z)||
  auto solve = implicit::solve_fixed_point(implicit::bind_theta(layer, theta),
                                           Eigen::VectorXd(Eigen::VectorXd::Zero(2)),
                                           implicit::Anderson(), options);
  if (!solve.ok()) {
    std::cerr << solve.brief_report() << '\n';
    return 1;
  }

  // Backward: dL/dtheta for L = sum(z*) by the implicit function theorem.
  const Eigen::VectorXd zbar = Eigen::VectorXd::Ones(2);
  auto grad = implicit::fixed_point_vjp(layer, theta, solve.x, zbar);
  if (!grad.ok()) {  // the adjoint solve reports its own status
    std::cerr << grad.brief_report() << '\n';
    return 1;
  }
  std::cout << solve.brief_report() << "\nz* = " << solve.x.transpose()
            << "\ndL/dtheta = " << grad.value.transpose() << "\n"
            << grad.brief_report() << '\n';
  return 0;
}
