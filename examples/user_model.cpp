// A user's own model, written once as a plain templated functor with no
// derivative members: a market of 20 goods whose prices z solve
// z = demand(theta, z), with 820 parameters. The gradient of a loss on the
// equilibrium prices comes from the IFT, with (df/dtheta)^T u by one reverse
// sweep of a tape of f (Sacado), whatever the parameter count. Built and run
// by the test suite, which checks it against finite differences.
#include <cmath>
#include <iostream>

#include "implicit.hpp"

// demand_i = sum_j a_ij / (1 + exp(b_ij z_j - c_i)); theta = [vec(a); vec(b); c].
struct Market {
  int goods;
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
                                  const implicit::VectorX<T>& z) const {
    using std::exp;
    const int n = goods;
    implicit::VectorX<T> demand(n);
    for (int i = 0; i < n; ++i) {
      T sum = T(0);
      for (int j = 0; j < n; ++j)
        sum = sum + theta[i * n + j] /
                        (T(1) + exp(theta[n * n + i * n + j] * z[j] - theta[2 * n * n + i]));
      demand[i] = sum;
    }
    return demand;
  }
};

int main() {
  const Market market{20};
  Eigen::VectorXd theta(2 * 20 * 20 + 20);
  for (Eigen::Index i = 0; i < theta.size(); ++i) theta[i] = 0.1 + 0.05 * std::sin(0.9 * i);
  auto equilibrium = [&](const Eigen::VectorXd& th) {
    return implicit::solve_fixed_point(implicit::bind_theta(market, th),
                                       Eigen::VectorXd(Eigen::VectorXd::Zero(20)),
                                       implicit::Anderson(), implicit::FixedPointOptions{});
  };
  const auto solve = equilibrium(theta);
  if (!solve.ok()) return std::cerr << solve.brief_report() << '\n', 1;

  // L = sum(z*): dL/dtheta for all 820 parameters at once.
  const Eigen::VectorXd zbar = Eigen::VectorXd::Ones(20);
  const auto grad = implicit::fixed_point_vjp(market, theta, solve.x, zbar);
  if (!grad.ok()) return std::cerr << grad.brief_report() << '\n', 1;

  // Check one direction against central differences of re-solved equilibria.
  Eigen::VectorXd v(theta.size());
  for (Eigen::Index i = 0; i < v.size(); ++i) v[i] = std::cos(0.37 * i);
  const double h = 1e-6;
  const double fd =
      (equilibrium(theta + h * v).x.sum() - equilibrium(theta - h * v).x.sum()) / (2 * h);
  const double error = std::abs(grad.value.dot(v) - fd);
  std::cout << solve.brief_report() << "\n"
            << grad.brief_report() << "\ndL/dtheta . v = " << grad.value.dot(v)
            << ", central differences " << fd << ", error " << error << " (reverse mode "
            << (IMPLICIT_HAVE_REVERSE ? "on" : "off") << ")\n";
  // Forward solves stop at ~1e-10, so the difference quotient carries
  // ~1e-10 / h = 1e-4 of noise at worst; 1e-5 relative is typical.
  return error <= 1e-4 * std::max(1.0, std::abs(fd)) ? 0 : 1;
}
