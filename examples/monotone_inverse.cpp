// The inverse of a monotone network (docs/reference-systems.md section 2)
// from C++, as docs/tutorial.md walks through it: R and R', x* = Rinv(y) by
// bracket growth + TOMS 748 (and bisection), the round trip, the gradients
// of L = Rinv(y)^3 by the implicit function theorem against central finite
// differences of re-solved inverses, and the batched inverse.
// Built and run by the test suite; exits 1 if any check fails.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "implicit.hpp"

int main() {
  // H = 10 hidden units, w, v, b ~ N(0, 1) from seed 0.
  const auto net = implicit::make_reference_monotone_net<double>(10);
  std::printf("R(1) = %.12f, R'(1) = %.12f, R(0) = %g\n", net.value(1.0), net.derivative(1.0),
              net.value(0.0));

  // x* = Rinv(y): grow [0, right] until R(right) > y, then TOMS 748 (default)
  // down to a bracket of a few adjacent doubles.
  const double y = 2.0;
  auto root = net.inverse(y);
  if (!root.ok()) {
    std::cerr << root.message << '\n';
    return 1;
  }
  implicit::ScalarRootOptions bisect;
  bisect.method = implicit::ScalarRootMethod::kBisection;
  auto root_b = net.inverse(y, bisect);
  if (!root_b.ok()) return 1;
  std::printf("Rinv(%g) = %.16f (TOMS 748: %d evaluations, %d of them growing the bracket)\n", y,
              root.x, root.function_evaluations, root.bracket_expansions);
  std::printf("            %.16f (bisection: %d evaluations), |R(x*) - y| = %.2e\n", root_b.x,
              root_b.function_evaluations, std::fabs(net.value(root.x) - y));

  // IFT: dx/dy = 1 / R'(x*), dx/dtheta = -(dR/dtheta)(x*) / R'(x*); for
  // L = x*^3, dL/d. = 3 x*^2 dx/d. .
  Eigen::VectorXd x_star(1);
  x_star << root.x;
  auto grads = net.inverse_gradients(x_star);
  if (!grads.ok()) return 1;
  const double dl_dx = 3 * root.x * root.x;
  const double dl_dy = dl_dx * grads.dx_dy[0];
  const Eigen::VectorXd dl_dtheta = dl_dx * grads.dx_dtheta.row(0).transpose();

  // Central differences of re-solved inverses, h = 1e-6.
  const double h = 1e-6;
  auto cube_of_inverse = [](const implicit::MonotoneNet<double>& m, double target) {
    const double x = m.inverse(target).x;
    return x * x * x;
  };
  const double fd_dy = (cube_of_inverse(net, y + h) - cube_of_inverse(net, y - h)) / (2 * h);
  const Eigen::VectorXd theta = net.theta();
  const Eigen::Index hidden = net.hidden();
  auto net_at = [&](const Eigen::VectorXd& t) {
    return implicit::MonotoneNet<double>(t.head(hidden), t.segment(hidden, hidden), t.tail(hidden));
  };
  double theta_diff = 0;
  for (Eigen::Index j = 0; j < theta.size(); ++j) {
    Eigen::VectorXd up = theta, down = theta;
    up[j] += h;
    down[j] -= h;
    const double fd = (cube_of_inverse(net_at(up), y) - cube_of_inverse(net_at(down), y)) / (2 * h);
    theta_diff =
        std::fmax(theta_diff, std::fabs(fd - dl_dtheta[j]) / std::fmax(1.0, std::fabs(fd)));
  }
  std::printf(
      "dL/dy: IFT %.10f, finite differences %.10f; max rel. |dL/dtheta diff| (%ld) = %.2e\n", dl_dy,
      fd_dy, static_cast<long>(theta.size()), theta_diff);

  // Batched: 1000 targets in [0, 10), each with its own bracket, count and
  // status, by the safeguarded Newton (inverse_batched's default; SIMD lanes
  // where Highway is available). Each x is within its converged bracket
  // (4 eps x) of the root, so it matches the one-at-a-time TOMS 748 root to
  // a few ulp.
  const Eigen::VectorXd targets = Eigen::VectorXd::LinSpaced(1000, 0.0, 9.99);
  auto batch = net.inverse_batched(targets);
  auto batch_grads = net.inverse_gradients(batch);  // rows of failed solves: NaN + status
  if (!batch.ok() || !batch_grads.ok()) return 1;
  double round_trip = 0, max_ulps = 0;
  for (Eigen::Index i = 0; i < targets.size(); ++i) {
    round_trip = std::fmax(round_trip, std::fabs(net.value(batch.x[i]) - targets[i]));
    const double one = net.inverse(targets[i]).x;
    const double ulp = std::nextafter(std::fmax(one, 1e-300), HUGE_VAL) - std::fmax(one, 1e-300);
    max_ulps = std::fmax(max_ulps, std::fabs(batch.x[i] - one) / ulp);
  }
  // Both ends within 4 eps x of the root, plus the shift R's rounding gives
  // it (~eps R / R', up to ~x): 16 ulp.
  const bool same = max_ulps <= 16;
  std::printf(
      "batch of %ld (%s): %.2f evaluations per inverse, max |R(x_i) - y_i| = %.2e, "
      "%.0f ulp from one at a time\n",
      static_cast<long>(targets.size()), implicit::to_string(batch.results[0].method),
      batch.mean_evaluations(), round_trip, max_ulps);

  // Tolerances: x* is exact to ~1e-16 relative, so the IFT derivative is
  // exact to rounding; finite differences with h = 1e-6 of a function of
  // size ~1-10 carry ~1e-9 relative error.
  if (std::fabs(root.x - root_b.x) > 1e-14 || std::fabs(dl_dy - fd_dy) > 1e-7 * std::fabs(fd_dy) ||
      theta_diff > 1e-6 || round_trip > 1e-13 || !same) {
    std::cerr << "a check failed\n";
    return 1;
  }
  std::cout << "OK: round trip, IFT gradients vs finite differences, batched = one at a time\n";
  return 0;
}
