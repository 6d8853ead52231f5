// The promise behind `converged` for every fixed-point solver: on the
// Moré-Garbow-Hillstrom systems posed as fixed points f(z) = z - F(z) (how
// a user without a system solver would pose them), from 1, 10 and 100 times
// the standard starts, every `converged` result satisfies the stated rule
// at the returned x, and the reported residual is that of x.
#include <cmath>

#include "implicit/problems/nonlinear_systems.hpp"
#include "support.hpp"

namespace implicit {
namespace {

using testing::Vec;

struct AsFixedPoint {  // f(z) = z - F(z): same roots, the form of the MGH report
  NonlinearSystem F;
  template <class T>
  VectorX<T> operator()(const VectorX<T>& z) const {
    return z - F(z);
  }
};

template <class Solver>
void expect_honest(const Solver& solver, const char* name) {
  FixedPointOptions o;
  o.max_iter = 1000;
  int converged = 0, runs = 0;
  for (const auto& instance : more_garbow_hillstrom_instances())
    for (double factor : {1.0, 10.0, 100.0}) {
      const AsFixedPoint f{instance.g};
      const auto r = solve_fixed_point(f, scaled_start(instance, factor), solver, o);
      ++runs;
      const Vec fx = f(r.x);
      const double check = (fx - r.x).norm();  // the caller's own check
      if (std::isfinite(check) || r.status != Status::kNonFinite) {
        EXPECT_EQ(check, r.residual_norm) << name << " " << instance.name << " x" << factor;
      }
      if (!r.ok()) continue;
      ++converged;
      EXPECT_LE(check, o.abs_tol + o.rel_tol * fx.norm())
          << name << " " << instance.name << " x" << factor << ": " << r.brief_report();
    }
  std::cout << name << ": " << converged << " of " << runs << " runs converged\n";
}

TEST(Honesty, ConvergedHoldsOnTheReturnedPointForEverySolver) {
  expect_honest(ForwardIteration(), "forward");
  ForwardIterationOptions damped;
  damped.damping = 0.5;
  expect_honest(ForwardIteration(damped), "forward(0.5)");
  expect_honest(Anderson(), "anderson");
  AndersonOptions mixed;
  mixed.beta = 0.1;
  expect_honest(Anderson(mixed), "anderson(beta 0.1)");
  expect_honest(Newton(), "newton");
  expect_honest(Broyden(), "broyden");
}

// z = z - atan(z) from 10 (F = atan, root 0; two components, from 10 and
// -10): Broyden used to stop at x = 3.6e15 with `converged`, where
// atan(x) = 1.57. Now a runaway iterate is kDiverged, and a converged
// answer is a root.
TEST(Honesty, RunawayIteratesAreNeverConverged) {
  auto f = [](const auto& z) {
    using std::atan;
    using V = std::decay_t<decltype(z)>;
    V out(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) out[i] = z[i] - atan(z[i]);
    return out;
  };
  const Vec z0 = (Vec(2) << 10, -10).finished();
  for (int s = 0; s < 3; ++s) {
    const auto r = s == 0   ? solve_fixed_point(f, z0, Broyden())
                   : s == 1 ? solve_fixed_point(f, z0, Anderson())
                            : solve_fixed_point(f, z0, Newton());
    if (r.ok()) {
      EXPECT_LE(r.x.array().atan().matrix().norm(), 1e-8) << r.brief_report();
    } else {
      EXPECT_LE(r.x.norm(), 1e8 * 15) << r.brief_report();  // stopped before running away
      EXPECT_EQ(r.residual_norm, (f(r.x) - r.x).norm());    // honest about the point it returns
    }
  }
}

}  // namespace
}  // namespace implicit
