// The MINPACK-1 / test_nonlin test systems: known roots, hand-checked values
// at the standard starts, counts and dimensions, the scaled-start rule, the
// gradient structure of MINPACK's square forms of Wood, Watson and variably
// dimensioned, and AD Jacobians against central differences.
#include "implicit/problems/nonlinear_systems.hpp"

#include <gtest/gtest.h>

#include <Eigen/LU>
#include <cmath>
#include <set>
#include <stdexcept>
#include <string>

#include "implicit/diff/finite_difference.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;
using Mat = Eigen::MatrixXd;

Vec eval(SystemId id, const Vec& x) { return NonlinearSystem{id, static_cast<int>(x.size())}(x); }

double max_abs(const Vec& v) { return v.cwiseAbs().maxCoeff(); }

// Plain Newton with the AD Jacobian: used to polish tabulated roots and to
// check that the mild problems are solvable from x0. Returns the last iterate.
Vec newton(const NonlinearSystem& g, Vec x, int iterations) {
  for (int k = 0; k < iterations; ++k) {
    const Vec f = g(x);
    if (max_abs(f) == 0.0) break;
    x -= jacobian(g, x).fullPivLu().solve(f);
  }
  return x;
}

// --- counts and dimensions -------------------------------------------------

TEST(NonlinearSystems, NineteenMoreGarbowHillstromInstances) {
  const auto instances = more_garbow_hillstrom_instances();
  ASSERT_EQ(instances.size(), 19u);
  const std::vector<std::pair<SystemId, int>> expected = {{SystemId::kRosenbrock, 2},
                                                          {SystemId::kPowellSingular, 4},
                                                          {SystemId::kPowellBadlyScaled, 2},
                                                          {SystemId::kWood, 4},
                                                          {SystemId::kHelicalValley, 3},
                                                          {SystemId::kWatson, 6},
                                                          {SystemId::kWatson, 9},
                                                          {SystemId::kChebyquad, 5},
                                                          {SystemId::kChebyquad, 6},
                                                          {SystemId::kChebyquad, 7},
                                                          {SystemId::kChebyquad, 8},
                                                          {SystemId::kChebyquad, 9},
                                                          {SystemId::kBrownAlmostLinear, 10},
                                                          {SystemId::kDiscreteBoundaryValue, 10},
                                                          {SystemId::kDiscreteIntegralEquation, 10},
                                                          {SystemId::kTrigonometric, 10},
                                                          {SystemId::kVariablyDimensioned, 10},
                                                          {SystemId::kBroydenTridiagonal, 10},
                                                          {SystemId::kBroydenBanded, 10}};
  std::set<std::string> names;
  for (std::size_t i = 0; i < instances.size(); ++i) {
    SCOPED_TRACE(instances[i].name);
    EXPECT_EQ(instances[i].g.id, expected[i].first);
    EXPECT_EQ(instances[i].g.n, expected[i].second);
    EXPECT_EQ(instances[i].x0.size(), expected[i].second);
    EXPECT_EQ(instances[i].g(instances[i].x0).size(), expected[i].second);
    names.insert(instances[i].name);
  }
  EXPECT_EQ(names.size(), 19u);  // names are unique
  EXPECT_EQ(instances[5].name, "watson_6");
  // 1, 10 and 100 times x0 for each: the 57 runs of the benchmark.
  int runs = 0;
  for (const auto& instance : instances)
    for (double factor : {1.0, 10.0, 100.0}) runs += scaled_start(instance, factor).size() > 0;
  EXPECT_EQ(runs, 57);
}

TEST(NonlinearSystems, TwentyThreeTestNonlinProblems) {
  const auto instances = test_nonlin_instances();
  ASSERT_EQ(instances.size(), 23u);
  const int expected_n[23] = {2,  4,  2, 4, 3, 6, 5, 10, 10, 10, 10, 10,
                              10, 10, 4, 9, 2, 2, 2, 1,  2,  2,  10};
  for (std::size_t i = 0; i < instances.size(); ++i) {
    SCOPED_TRACE(instances[i].name);
    // Problem i+1 of test_nonlin is SystemId number i.
    EXPECT_EQ(static_cast<int>(instances[i].g.id), static_cast<int>(i));
    EXPECT_EQ(instances[i].g.n, expected_n[i]);
    EXPECT_EQ(instances[i].x0.size(), expected_n[i]);
    EXPECT_TRUE(instances[i].g(instances[i].x0).allFinite());
  }
}

// --- known roots -------------------------------------------------------------

// Exact roots (representable, or off by one rounding of 0.01): F = 0 to
// within a few ulps of the terms involved.
TEST(NonlinearSystems, ExactRootsGiveZero) {
  struct Root {
    SystemId id;
    Vec x;
  };
  const Vec ones10 = Vec::Ones(10);
  const std::vector<Root> roots = {
      {SystemId::kRosenbrock, (Vec(2) << 1, 1).finished()},
      {SystemId::kPowellSingular, Vec::Zero(4)},
      {SystemId::kWood, Vec::Ones(4)},
      {SystemId::kHelicalValley, (Vec(3) << 1, 0, 0).finished()},
      {SystemId::kBrownAlmostLinear, ones10},
      {SystemId::kVariablyDimensioned, ones10},
      {SystemId::kHammarling2x2, (Vec(4) << 0.01, 50, 0, 0.01).finished()},
      {SystemId::kHammarling3x3, (Vec(9) << 0.01, 50, 0, 0, 0.01, 0, 0, 0, 0.01).finished()},
      {SystemId::kDennisSchnabel2x2, (Vec(2) << 0, 3).finished()},
      {SystemId::kDennisSchnabel2x2, (Vec(2) << 3, 0).finished()},
      {SystemId::kSample18, (Vec(2) << 0, 0).finished()},
      {SystemId::kSample18, (Vec(2) << 0, 2.5).finished()},
      {SystemId::kSample18, (Vec(2) << -1.5, 0).finished()},
      {SystemId::kSample19, Vec::Zero(2)},
      {SystemId::kScalarCubic, (Vec(1) << 0).finished()},
      {SystemId::kScalarCubic, (Vec(1) << 5).finished()},
      {SystemId::kFreudensteinRoth, (Vec(2) << 5, 4).finished()},
      {SystemId::kBoggs, (Vec(2) << 0, 1).finished()},
      {SystemId::kBoggs, (Vec(2) << -1, 2).finished()},
  };
  for (const auto& root : roots) {
    SCOPED_TRACE(to_string(root.id));
    // cos(pi/2) = 6e-17 in double (Boggs); 0.01^2 - 1e-4 ~ 1e-20 (Hammarling).
    EXPECT_LE(max_abs(eval(root.id, root.x)), 1e-15);
  }
}

// MGH print the root of Powell's badly scaled function as 1.098...e-5,
// 9.106...; the digits used here (1.098159e-5, 9.106146) are truncated, not
// rounded (the root is 1.09815933e-5, 9.10614674). Up to one unit in the last
// digit (1e-11 in x1, 1e-6 in x2) moves g1 = 1e4 x1 x2 - 1 by at most
// 1e4 (1e-11 * 9.1 + 1.1e-5 * 1e-6) ~ 1e-6 and g2 by ~ 1e-10, hence 1e-6;
// Newton then polishes it to a root whose truncation gives the same digits.
TEST(NonlinearSystems, PowellBadlyScaledRootToPrintedDigits) {
  const Vec printed = (Vec(2) << 1.098159e-5, 9.106146).finished();
  EXPECT_LE(max_abs(eval(SystemId::kPowellBadlyScaled, printed)), 1e-6);
  const NonlinearSystem g{SystemId::kPowellBadlyScaled, 2};
  const Vec root = newton(g, printed, 20);
  EXPECT_LE(max_abs(g(root)), 1e-14);
  EXPECT_GE(root[0], printed[0]);
  EXPECT_LT(root[0], printed[0] + 1e-11);
  EXPECT_GE(root[1], printed[1]);
  EXPECT_LT(root[1], printed[1] + 1e-6);
}

// Chebyquad's zeros are the equal-weight quadrature nodes on [0, 1]; tabulated
// (from the Chebyshev quadrature nodes on [-1, 1], mapped by (1 + y)/2) to 10
// digits, so the table is within ~1e-10 of a root: F(table) ~ 1e-9, and Newton
// from the table lands within 1e-9 of it at F ~ 1e-15.
TEST(NonlinearSystems, ChebyquadTabulatedRoots) {
  const std::vector<Vec> table = {
      (Vec(5) << 0.0837512565, 0.3127292952, 0.5, 0.6872707048, 0.9162487435).finished(),
      (Vec(6) << 0.0668765909, 0.2887406731, 0.3666822992, 0.6333177008, 0.7112593269, 0.9331234091)
          .finished(),
      (Vec(7) << 0.0580691496, 0.2351716124, 0.3380440947, 0.5, 0.6619559053, 0.7648283876,
       0.9419308504)
          .finished(),
      (Vec(9) << 0.0442053461, 0.1994906723, 0.2356191085, 0.4160469079, 0.5, 0.5839530921,
       0.7643808915, 0.8005093277, 0.9557946539)
          .finished()};
  for (const Vec& nodes : table) {
    const NonlinearSystem g{SystemId::kChebyquad, static_cast<int>(nodes.size())};
    SCOPED_TRACE(nodes.size());
    EXPECT_LE(max_abs(g(nodes)), 1e-8);
    const Vec root = newton(g, nodes, 8);
    EXPECT_LE(max_abs(g(root)), 1e-14);
    EXPECT_LE(max_abs(root - nodes), 1e-9);
  }
}

// The mild problems: Newton from x0 reaches ||F||_inf < 1e-12 within 8 steps
// (each converges quadratically from the standard start; a sign slip in a
// formula typically shows up here as stagnation).
TEST(NonlinearSystems, NewtonSolvesMildProblemsFromStart) {
  for (SystemId id :
       {SystemId::kDiscreteBoundaryValue, SystemId::kDiscreteIntegralEquation,
        SystemId::kBroydenTridiagonal, SystemId::kBroydenBanded, SystemId::kChandrasekhar}) {
    const SystemInstance instance = make_instance(id, 10);
    SCOPED_TRACE(instance.name);
    const Vec root = newton(instance.g, instance.x0, 8);
    EXPECT_LE(max_abs(instance.g(root)), 1e-12);
  }
}

// --- values at the standard starts, by hand -----------------------------------

TEST(NonlinearSystems, ValuesAtStandardStarts) {
  auto at_start = [](SystemId id, int n) { return eval(id, standard_start(id, n)); };
  constexpr double kTol = 1e-12;

  // Rosenbrock at (-1.2, 1): (1 + 1.2, 10 (1 - 1.44)).
  const Vec rosen = at_start(SystemId::kRosenbrock, 2);
  EXPECT_NEAR(rosen[0], 2.2, kTol);
  EXPECT_NEAR(rosen[1], -4.4, kTol);

  // Powell singular at (3, -1, 0, 1): (3 - 10, -sqrt5, (-1)^2, sqrt10 * 2^2).
  const Vec ps = at_start(SystemId::kPowellSingular, 4);
  EXPECT_NEAR(ps[0], -7.0, kTol);
  EXPECT_NEAR(ps[1], -std::sqrt(5.0), kTol);
  EXPECT_NEAR(ps[2], 1.0, kTol);
  EXPECT_NEAR(ps[3], 4.0 * std::sqrt(10.0), kTol);

  // Powell badly scaled at (0, 1): (-1, 1 + e^-1 - 1.0001).
  const Vec pbs = at_start(SystemId::kPowellBadlyScaled, 2);
  EXPECT_NEAR(pbs[0], -1.0, kTol);
  EXPECT_NEAR(pbs[1], std::exp(-1.0) - 1e-4, kTol);

  // Wood at (-3, -1, -3, -1): x2 - x1^2 = -10, x2 - 1 = -2:
  // (-200 * 30 - 4, -2000 - 40.4 - 39.6, -180 * 30 - 4, -1800 - 80).
  const Vec wood = at_start(SystemId::kWood, 4);
  EXPECT_NEAR(wood[0], -6004.0, 1e-9);
  EXPECT_NEAR(wood[1], -2080.0, 1e-9);
  EXPECT_NEAR(wood[2], -5404.0, 1e-9);
  EXPECT_NEAR(wood[3], -1880.0, 1e-9);

  // Helical valley at (-1, 0, 0): theta = 1/2, so (10 (0 - 5), 10 (1 - 1), 0).
  const Vec hv = at_start(SystemId::kHelicalValley, 3);
  EXPECT_NEAR(hv[0], -50.0, kTol);
  EXPECT_NEAR(hv[1], 0.0, kTol);
  EXPECT_NEAR(hv[2], 0.0, kTol);

  // Watson at 0: every r_i = -1 (i <= 29), r_30 = 0, r_31 = -1, so
  // g_1 = 0, g_2 = -29 - 1, g_3 = -2 sum_i t_i = -2 * 15.
  const Vec wat = at_start(SystemId::kWatson, 6);
  EXPECT_NEAR(wat[0], 0.0, kTol);
  EXPECT_NEAR(wat[1], -30.0, kTol);
  EXPECT_NEAR(wat[2], -30.0, kTol);

  // Chebyquad n = 5 at j/6: y = 2x - 1 = (-2/3, -1/3, 0, 1/3, 2/3);
  // g_1 = mean y = 0, g_2 = mean (2y^2 - 1) + 1/3 = (20/9 - 5)/5 + 1/3 = -2/9.
  const Vec cheb = at_start(SystemId::kChebyquad, 5);
  EXPECT_NEAR(cheb[0], 0.0, kTol);
  EXPECT_NEAR(cheb[1], -2.0 / 9.0, kTol);

  // Brown almost-linear at 1/2 (n = 10): 0.5 + 5 - 11, and 2^-10 - 1.
  const Vec brown = at_start(SystemId::kBrownAlmostLinear, 10);
  EXPECT_NEAR(brown[0], -5.5, kTol);
  EXPECT_NEAR(brown[8], -5.5, kTol);
  EXPECT_NEAR(brown[9], std::pow(0.5, 10) - 1.0, kTol);

  // Trigonometric at 1/n: n - n cos(1/n) + k (1 - cos(1/n)) - sin(1/n).
  const Vec trig = at_start(SystemId::kTrigonometric, 10);
  for (int k = 1; k <= 10; ++k)
    EXPECT_NEAR(trig[k - 1], 10 - 10 * std::cos(0.1) + k * (1 - std::cos(0.1)) - std::sin(0.1),
                kTol);

  // Variably dimensioned at 1 - j/n (n = 10): s = -sum j^2 / n = -38.5,
  // g_k = -k/10 + k s (1 + 2 s^2).
  const Vec vd = at_start(SystemId::kVariablyDimensioned, 10);
  const double s = -38.5;
  for (int k = 1; k <= 10; ++k) EXPECT_NEAR(vd[k - 1], -k / 10.0 + k * s * (1 + 2 * s * s), 1e-9);

  // Broyden tridiagonal at -1: -5 + 1 (+1 from x_{k-1}) (+2 from x_{k+1}).
  const Vec bt = at_start(SystemId::kBroydenTridiagonal, 10);
  EXPECT_NEAR(bt[0], -2.0, kTol);
  EXPECT_NEAR(bt[4], -1.0, kTol);
  EXPECT_NEAR(bt[9], -3.0, kTol);

  // Broyden banded at -1: -7 + 1 - 0 (x_j (1 + x_j) = 0 at -1).
  const Vec bb = at_start(SystemId::kBroydenBanded, 10);
  EXPECT_NEAR(max_abs(bb.array() + 6.0), 0.0, kTol);

  // Hammarling 2x2 at I: I - A.
  const Vec h2 = at_start(SystemId::kHammarling2x2, 4);
  EXPECT_NEAR(max_abs(h2 - (Vec(4) << 1 - 1e-4, -1, 0, 1 - 1e-4).finished()), 0.0, kTol);

  // Freudenstein-Roth at (0.5, -2): 0.5 + 8 + 20 + 4 - 13, 0.5 - 8 + 4 + 28 - 29.
  const Vec fr = at_start(SystemId::kFreudensteinRoth, 2);
  EXPECT_NEAR(fr[0], 19.5, kTol);
  EXPECT_NEAR(fr[1], -4.5, kTol);

  // Boggs at (1, 0): (1 - 0 + 1, 1 - cos 0).
  const Vec bg = at_start(SystemId::kBoggs, 2);
  EXPECT_NEAR(bg[0], 2.0, kTol);
  EXPECT_NEAR(bg[1], 0.0, kTol);

  // Chandrasekhar n = 1 at 1: mu = 1/2, g = 1 - 1 / (1 - 0.45 / 2).
  const Vec ch = at_start(SystemId::kChandrasekhar, 1);
  EXPECT_NEAR(ch[0], 1.0 - 1.0 / 0.775, kTol);

  // Sample 18 at (2, 2): 4 (1 - e^-4) / 2 and 2 (1 - e^-4) / 2.
  const Vec s18 = at_start(SystemId::kSample18, 2);
  EXPECT_NEAR(s18[0], 2.0 * (1 - std::exp(-4.0)), kTol);
  EXPECT_NEAR(s18[1], 1.0 - std::exp(-4.0), kTol);
}

// --- structure of MINPACK's square forms -------------------------------------

// Watson's system is J_r^T r for MGH's 31 residuals (written out here
// independently); variably dimensioned is the same for its n + 2 residuals;
// Wood is diag(1/2, 1, 1/2, 1) times the gradient of MGH's Wood function.
struct WatsonResiduals {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    const Eigen::Index n = x.size();
    VectorX<T> r(31);
    for (int i = 1; i <= 29; ++i) {
      const double t = i / 29.0;
      T derivative_sum = T(0);
      T value_sum = T(0);
      for (Eigen::Index j = 0; j < n; ++j) {
        value_sum += T(std::pow(t, static_cast<double>(j))) * x[j];
        if (j >= 1)
          derivative_sum +=
              T(static_cast<double>(j) * std::pow(t, static_cast<double>(j - 1))) * x[j];
      }
      r[i - 1] = derivative_sum - value_sum * value_sum - T(1);
    }
    r[29] = x[0];
    r[30] = x[1] - x[0] * x[0] - T(1);
    return r;
  }
};

struct VariablyDimensionedResiduals {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    const Eigen::Index n = x.size();
    VectorX<T> r(n + 2);
    T s = T(0);
    for (Eigen::Index j = 0; j < n; ++j) {
      r[j] = x[j] - T(1);
      s += T(static_cast<double>(j + 1)) * (x[j] - T(1));
    }
    r[n] = s;
    r[n + 1] = s * s;
    return r;
  }
};

struct WoodObjective {  // returned as a 1-vector so implicit::jacobian applies
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    const T a = x[1] - x[0] * x[0];
    const T b = x[3] - x[2] * x[2];
    VectorX<T> f(1);
    f[0] = T(100) * a * a + (T(1) - x[0]) * (T(1) - x[0]) + T(90) * b * b +
           (T(1) - x[2]) * (T(1) - x[2]) +
           T(10.1) * ((x[1] - T(1)) * (x[1] - T(1)) + (x[3] - T(1)) * (x[3] - T(1))) +
           T(19.8) * (x[1] - T(1)) * (x[3] - T(1));
    return f;
  }
};

TEST(NonlinearSystems, GradientFormsOfLeastSquaresProblems) {
  const Vec x6 = (Vec(6) << 0.3, -0.2, 0.7, 0.1, -0.4, 0.25).finished();
  const Vec x9 = (Vec(9) << -0.1, 0.9, 0.2, -0.6, 0.3, 0.05, -0.2, 0.4, 0.15).finished();
  for (const Vec& x : {x6, x9}) {
    const Vec r = WatsonResiduals{}(x);
    const Vec expected = jacobian(WatsonResiduals{}, x).transpose() * r;
    const Vec g = eval(SystemId::kWatson, x);
    EXPECT_LE(max_abs(g - expected), 1e-12 * (1 + max_abs(expected)));
  }
  {
    const Vec x = (Vec(5) << 0.9, 1.3, 0.4, 1.1, 0.7).finished();
    const Vec r = VariablyDimensionedResiduals{}(x);
    const Vec expected = jacobian(VariablyDimensionedResiduals{}, x).transpose() * r;
    const Vec g = eval(SystemId::kVariablyDimensioned, x);
    EXPECT_LE(max_abs(g - expected), 1e-12 * (1 + max_abs(expected)));
  }
  {
    const Vec x = (Vec(4) << -0.7, 1.4, 0.3, -1.2).finished();
    const Vec grad = jacobian(WoodObjective{}, x).row(0).transpose();
    const Vec expected = (Vec(4) << 0.5, 1, 0.5, 1).finished().cwiseProduct(grad);
    EXPECT_LE(max_abs(eval(SystemId::kWood, x) - expected), 1e-12 * (1 + max_abs(expected)));
  }
}

// Helical valley: 2 pi theta in (-pi/2, 3 pi/2] as MINPACK defines it, with
// its values at x1 = 0 (sign(0.25, x2)) and continuity across x1 = 0, x2 > 0.
TEST(NonlinearSystems, HelicalValleyAngleBranches) {
  auto theta = [](double x1, double x2) {
    // g1 = 10 (x3 - 10 theta) with x3 = 0.
    return -eval(SystemId::kHelicalValley, (Vec(3) << x1, x2, 0).finished())[0] / 100.0;
  };
  EXPECT_NEAR(theta(1, 1), 0.125, 1e-15);    // atan(1) / 2 pi
  EXPECT_NEAR(theta(-1, 1), 0.375, 1e-15);   // atan(-1) / 2 pi + 1/2
  EXPECT_NEAR(theta(-1, -1), 0.625, 1e-15);  // atan(1) / 2 pi + 1/2
  EXPECT_NEAR(theta(1, -1), -0.125, 1e-15);
  EXPECT_NEAR(theta(0, 2), 0.25, 1e-15);  // MINPACK: sign(0.25, x2)
  EXPECT_NEAR(theta(0, -2), -0.25, 1e-15);
  EXPECT_NEAR(theta(0, 0), 0.25, 1e-15);
  EXPECT_NEAR(theta(1e-12, 2), 0.25, 1e-12);  // continuous across x1 = 0
  EXPECT_NEAR(theta(-1e-12, 2), 0.25, 1e-12);
}

// --- scaled starts ------------------------------------------------------------

TEST(NonlinearSystems, ScaledStartFollowsMinpack) {
  const auto instances = more_garbow_hillstrom_instances();
  for (const auto& instance : instances) {
    SCOPED_TRACE(instance.name);
    EXPECT_EQ(scaled_start(instance, 1.0), instance.x0);
    if (instance.g.id == SystemId::kWatson) {
      // x0 = 0: MINPACK starts from x_j = factor instead.
      EXPECT_EQ(instance.x0, Vec::Zero(instance.g.n));
      EXPECT_EQ(scaled_start(instance, 10.0), Vec::Constant(instance.g.n, 10.0));
      EXPECT_EQ(scaled_start(instance, 100.0), Vec::Constant(instance.g.n, 100.0));
    } else {
      EXPECT_FALSE(instance.x0.isZero(0.0));
      EXPECT_EQ(scaled_start(instance, 10.0), Vec(10.0 * instance.x0));
      EXPECT_EQ(scaled_start(instance, 100.0), Vec(100.0 * instance.x0));
    }
  }
  // Zero components of a nonzero start stay zero (Powell badly scaled (0, 1)).
  EXPECT_EQ(scaled_start(instances[2], 10.0), (Vec(2) << 0, 10).finished());
  EXPECT_THROW(scaled_start(instances[0], std::nan("")), std::invalid_argument);
}

// --- Jacobians ----------------------------------------------------------------

// AD against central differences (h = 1e-6) at x0 and at a perturbed point
// x0 + 0.1 (1, -1, 1, ...) (off the symmetric starts). Entry error of central
// differences: truncation h^2 |g'''| / 6 plus rounding eps |g| / h. With
// h = 1e-6 the rounding term is 2.2e-10 |g| and dominates (Wood has |g| ~ 6e3
// at x0, so ~1.3e-6 there); truncation is ~1e-13 |g'''|. The bound
// 1e-7 (1 + ||g||_inf + ||J||_max) leaves > 100x margin on the rounding term
// and is still far below any O(1) relative error a wrong derivative makes.
TEST(NonlinearSystems, AutodiffJacobianMatchesCentralDifferences) {
  std::vector<SystemInstance> all = more_garbow_hillstrom_instances();
  for (auto& instance : test_nonlin_instances()) all.push_back(instance);
  for (const auto& instance : all) {
    Vec shift(instance.x0.size());
    for (Eigen::Index i = 0; i < shift.size(); ++i) shift[i] = i % 2 == 0 ? 0.1 : -0.1;
    for (const Vec& x : {instance.x0, Vec(instance.x0 + shift)}) {
      SCOPED_TRACE(instance.name);
      const Mat ad = jacobian(instance.g, x);
      const Mat fd = central_difference_jacobian(instance.g, x);
      ASSERT_EQ(ad.rows(), instance.g.n);
      ASSERT_EQ(ad.cols(), instance.g.n);
      const double scale = 1 + max_abs(instance.g(x)) + ad.cwiseAbs().maxCoeff();
      EXPECT_LE((ad - fd).cwiseAbs().maxCoeff(), 1e-7 * scale);
    }
  }
}

// Sample 18 at points on the axes, where the closed form divides by zero: the
// series branch must give the limits d g1 / d x1 = x2^2 and d g2 / d x2 = x1.
TEST(NonlinearSystems, Sample18JacobianOnAxes) {
  const NonlinearSystem g{SystemId::kSample18, 2};
  const Mat j = jacobian(g, Vec((Vec(2) << 0.0, 3.0).finished()));
  EXPECT_NEAR(j(0, 0), 9.0, 1e-14);
  EXPECT_NEAR(j(0, 1), 0.0, 1e-14);
  EXPECT_NEAR(j(1, 0), (1.0 - std::exp(-9.0)) / 3.0, 1e-14);  // (1 - e^{-x2^2}) / x2
  const Mat k = jacobian(g, Vec((Vec(2) << 2.0, 0.0).finished()));
  EXPECT_NEAR(k(1, 1), 2.0, 1e-14);
  EXPECT_NEAR(k(0, 0), 0.0, 1e-14);
}

// float evaluation (T(constant) literals, no double promotion errors) agrees
// with double to float accuracy, and float duals build a Jacobian.
TEST(NonlinearSystems, FloatAgreesWithDouble) {
  std::vector<SystemInstance> all = more_garbow_hillstrom_instances();
  for (auto& instance : test_nonlin_instances()) all.push_back(instance);
  for (const auto& instance : all) {
    SCOPED_TRACE(instance.name);
    const Vec gd = instance.g(instance.x0);
    const VectorX<float> xf = instance.x0.cast<float>();
    const VectorX<float> gf = instance.g(xf);
    // Float rounding (6e-8) of terms up to the size of g, summed over <= 29 n
    // terms (Watson); 1e-4 relative is ample and still catches a dropped digit.
    EXPECT_LE(max_abs(gf.cast<double>() - gd), 1e-4 * (1 + max_abs(gd)));
    const MatrixX<float> jf = jacobian(instance.g, xf);
    const Mat jd = jacobian(instance.g, instance.x0);
    EXPECT_LE((jf.cast<double>() - jd).cwiseAbs().maxCoeff(),
              1e-4 * (1 + jd.cwiseAbs().maxCoeff()));
  }
}

// --- failure paths --------------------------------------------------------------

TEST(NonlinearSystems, RejectsWrongDimensions) {
  EXPECT_THROW((NonlinearSystem{SystemId::kRosenbrock, 2}(Vec(Vec::Zero(3)))),
               std::invalid_argument);
  EXPECT_THROW((NonlinearSystem{SystemId::kRosenbrock, 3}(Vec(Vec::Zero(3)))),
               std::invalid_argument);
  EXPECT_THROW((NonlinearSystem{SystemId::kWatson, 1}(Vec(Vec::Zero(1)))), std::invalid_argument);
  EXPECT_THROW((NonlinearSystem{SystemId::kChebyquad, 0}(Vec(Vec::Zero(0)))),
               std::invalid_argument);
  EXPECT_THROW(standard_start(SystemId::kHammarling3x3, 4), std::invalid_argument);
  try {
    NonlinearSystem{SystemId::kWood, 4}(Vec(Vec::Zero(2)));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("got 2"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace implicit
