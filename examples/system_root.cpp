// g(theta, x) = 0 for a small chemical-equilibrium-like system: solve it with
// the default method, then differentiate the root with respect to theta by
// the implicit function theorem. Built and run by the tests.
#include <cmath>
#include <iostream>

#include "implicit.hpp"

// Two coupled mass-action balances with rate constants theta = (k1, k2):
//   k1 x0^2 + x1 - 1 = 0,   x0 + k2 exp(x1) - 2 = 0.
// Written once, templated on the scalar: AD gives every derivative.
struct Equilibrium {
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
                                  const implicit::VectorX<T>& x) const {
    using std::exp;
    implicit::VectorX<T> g(2);
    g << theta[0] * x[0] * x[0] + x[1] - T(1), x[0] + theta[1] * exp(x[1]) - T(2);
    return g;
  }
};

int main() {
  const Equilibrium g;
  const Eigen::VectorXd theta = Eigen::Vector2d(0.5, 0.8);

  // Forward: the default polyalgorithm (dogleg, then Newton, ...).
  const auto root = implicit::solve_root(implicit::bind_theta(g, theta), Eigen::VectorXd::Zero(2));
  std::cout << root.brief_report() << '\n';
  if (!root.ok()) return 1;

  // Backward: dL/dtheta for L = x0 + x1, one transposed linear solve.
  const auto grad = implicit::root_vjp(g, theta, root, Eigen::VectorXd(Eigen::VectorXd::Ones(2)));
  if (!grad.ok()) {  // refused when the forward solve failed, or J singular
    std::cerr << grad.brief_report() << '\n';
    return 1;
  }
  std::cout << "x* = " << root.x.transpose() << ", dL/dtheta = " << grad.value.transpose() << '\n';

  // The check every example should make: the gradient against central
  // differences of the solution map.
  auto loss = [&](const Eigen::VectorXd& t) {
    return implicit::solve_root(implicit::bind_theta(g, t), root.x).x.sum();
  };
  const Eigen::VectorXd fd = implicit::central_difference_gradient(loss, theta);
  const double error = (grad.value - fd).cwiseAbs().maxCoeff();
  std::cout << "max |IFT - finite differences| = " << error << '\n';
  return error < 1e-6 ? 0 : 1;
}
