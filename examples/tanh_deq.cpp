// The tanh deep-equilibrium layer (docs/reference-systems.md section 1) from
// C++, as docs/tutorial.md walks through it: z* = tanh(W z* + x) by each of
// the four fixed-point solvers, then the gradient of L = sum(z*) w.r.t.
// theta = [vec(W); x] three ways (implicit function theorem, unrolled
// forward iteration, central finite differences) and the forward-mode JVP.
// Built and run by the test suite; exits 1 if any check fails.
#include <cmath>
#include <cstdio>
#include <iostream>

#include "implicit.hpp"

int main() {
  // W_ij ~ N(0, 1/n), x_i ~ N(0, 1), n = 10, reproducible from seed 0.
  const implicit::TanhProblem p = implicit::make_reference_tanh_problem(10);
  const Eigen::Index n = p.layer.size();
  const Eigen::VectorXd z0 = Eigen::VectorXd::Zero(n);
  const auto f = implicit::bind_theta(p.layer, p.theta);  // z -> tanh(W z + x)

  // Stop at ||f(z) - z|| <= abs_tol + rel_tol ||f(z)|| (docs/stopping-rules.md).
  implicit::FixedPointOptions options;
  options.abs_tol = 1e-12;
  options.rel_tol = 1e-10;

  // One driver loop, four solvers.
  auto forward = implicit::solve_fixed_point(f, z0, implicit::ForwardIteration(), options);
  auto anderson = implicit::solve_fixed_point(f, z0, implicit::Anderson(), options);
  auto newton = implicit::solve_fixed_point(f, z0, implicit::Newton(), options);
  auto broyden = implicit::solve_fixed_point(f, z0, implicit::Broyden(), options);
  bool ok = true;
  for (const auto* r : {&forward, &anderson, &newton, &broyden}) {
    std::cout << r->brief_report() << '\n';
    ok = ok && r->ok();
  }
  if (!ok) return 1;
  // Each r.residual_history holds r_0, r_1, ...: what `implicit deq --plot` draws.
  const double spread = std::fmax((anderson.x - forward.x).cwiseAbs().maxCoeff(),
                                  std::fmax((newton.x - forward.x).cwiseAbs().maxCoeff(),
                                            (broyden.x - forward.x).cwiseAbs().maxCoeff()));
  std::printf("max |z*_solver - z*_forward| = %.2e\n", spread);

  // Gradient of L = sum(z*): zbar = dL/dz* = 1.
  const Eigen::VectorXd zbar = Eigen::VectorXd::Ones(n);

  // 1. Implicit function theorem: solve u = (df/dz)^T u + zbar at z*, then
  //    thetabar = (df/dtheta)^T u. Only z* is used.
  auto ift = implicit::fixed_point_vjp(p.layer, p.theta, anderson.x, zbar);
  std::cout << ift.brief_report() << '\n';
  if (!ift.ok()) return 1;

  // 2. Unrolled: reverse mode through every forward iteration from z0. Its
  //    error is that of the truncated iteration, which shrinks at the same
  //    linear rate as the forward residual, so it runs to a tighter tolerance.
  implicit::FixedPointOptions tight = options;
  tight.abs_tol = 1e-14;
  tight.rel_tol = 0;
  auto unrolled = implicit::unrolled_vjp(p.layer, p.theta, z0, zbar, tight);
  if (!unrolled.ok()) return 1;
  std::printf("unrolled: %d iterations, tape %zu bytes\n", unrolled.forward.iterations,
              unrolled.tape_bytes);

  // 3. Central finite differences of theta -> sum(z*(theta)), each z* a
  //    fresh tight Newton solve (2 solves per entry of theta).
  auto loss = [&](const Eigen::VectorXd& theta) {
    auto r = implicit::solve_fixed_point(implicit::bind_theta(p.layer, theta), z0,
                                         implicit::Newton(), tight);
    return r.x.sum();
  };
  const Eigen::VectorXd fd = implicit::central_difference_gradient(loss, p.theta);

  const double ift_vs_unrolled = (ift.value - unrolled.theta_bar).cwiseAbs().maxCoeff();
  const double ift_vs_fd = (ift.value - fd).cwiseAbs().maxCoeff();
  std::printf("dL/dx[0..2]: IFT %.9f %.9f %.9f\n", ift.value[n * n], ift.value[n * n + 1],
              ift.value[n * n + 2]);
  std::printf("max |IFT - unrolled| = %.2e, max |IFT - finite differences| = %.2e (%ld entries)\n",
              ift_vs_unrolled, ift_vs_fd, static_cast<long>(p.theta.size()));

  // Forward mode: dz = (I - df/dz)^{-1} (df/dtheta) dtheta, here along
  // dtheta = e_x0 (the first entry of x); sum(dz) must equal dL/dx_0.
  Eigen::VectorXd dtheta = Eigen::VectorXd::Zero(p.theta.size());
  dtheta[n * n] = 1;
  auto jvp = implicit::fixed_point_jvp(p.layer, p.theta, anderson.x, dtheta);
  if (!jvp.ok()) return 1;
  const double jvp_vs_vjp = std::fabs(jvp.value.sum() - ift.value[n * n]);
  std::printf("JVP: sum(dz*/dx_0) = %.9f, |JVP - VJP| = %.2e\n", jvp.value.sum(), jvp_vs_vjp);

  // Tolerances: the IFT gradient at Anderson's z* is off by about its
  // residual (~2e-10) times the condition of I - df/dz; finite differences
  // with h = 1e-6 carry ~1e-10 of truncation and round-off; the JVP and the
  // VJP solve the same dense system at the same z*.
  if (spread > 1e-8 || ift_vs_unrolled > 1e-8 || ift_vs_fd > 1e-7 || jvp_vs_vjp > 1e-12) {
    std::cerr << "derivatives or solvers disagree\n";
    return 1;
  }
  std::cout << "OK: solvers agree; IFT, unrolled and finite differences agree\n";
  return 0;
}
