// The driver loop for g(x) = 0: statuses, budgets, bad input, and the
// promise that `converged` holds on the returned point, for every method on
// the standard problem sets.
#include "implicit/system/solve.hpp"

#include <cmath>
#include <limits>

#include "system/support.hpp"

namespace implicit {
namespace {

using Vec = Eigen::VectorXd;

struct Rosenbrock {  // MGH problem 1 as a system: roots at (1, 1)
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    VectorX<T> g(2);
    g << T(10) * (x[1] - x[0] * x[0]), T(1) - x[0];
    return g;
  }
};

TEST(SolveRoot, ConvergedMeansTheReturnedPointMeetsTheTolerance) {
  SystemOptions o;
  o.abs_tol = 1e-12;
  const auto r = solve_root(Rosenbrock{}, Vec(Vec::Constant(2, -1.2)), PowellDogleg(), o);
  ASSERT_TRUE(r.ok()) << r.brief_report();
  EXPECT_LE(Rosenbrock{}(r.x).norm(), o.abs_tol);
  EXPECT_EQ(Rosenbrock{}(r.x).norm(), r.residual_norm);
  EXPECT_NEAR(r.x[0], 1, 1e-12);
  EXPECT_EQ(r.residual_history.front(), Rosenbrock{}(Vec(Vec::Constant(2, -1.2))).norm());
  EXPECT_EQ(r.residual_history.back(), r.residual_norm);
  EXPECT_EQ(r.method, "dogleg");
}

TEST(SolveRoot, AcceptsEigenExpressionsAsStart) {
  const auto r = solve_root(Rosenbrock{}, Vec::Zero(2), LineSearchNewton());
  EXPECT_TRUE(r.ok()) << r.brief_report();
}

TEST(SolveRoot, RelativeToleranceIsAgainstTheStart) {
  SystemOptions o;
  o.abs_tol = 0;
  o.rel_tol = 1e-6;
  const Vec x0 = Vec::Constant(2, -1.2);
  const auto r = solve_root(Rosenbrock{}, x0, LineSearchNewton(), o);
  ASSERT_TRUE(r.ok());
  EXPECT_LE(r.residual_norm, 1e-6 * Rosenbrock{}(x0).norm());
}

TEST(SolveRoot, BadInputThrowsWithTheArgumentNamed) {
  const Vec nan = Vec::Constant(2, std::numeric_limits<double>::quiet_NaN());
  EXPECT_THROW((void)solve_root(Rosenbrock{}, nan, PowellDogleg()), std::invalid_argument);
  SystemOptions bad;
  bad.abs_tol = -1;
  try {
    (void)solve_root(Rosenbrock{}, Vec(Vec::Zero(2)), PowellDogleg(), bad);
    FAIL() << "negative abs_tol accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("abs_tol"), std::string::npos) << e.what();
  }
  bad = SystemOptions{};
  bad.jacobian = static_cast<JacobianMethod>(7);
  EXPECT_THROW((void)solve_root(Rosenbrock{}, Vec(Vec::Zero(2)), PowellDogleg(), bad),
               std::invalid_argument);
  // Not square: 3 outputs for 2 unknowns.
  auto wide = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    V g(3);
    g << x[0], x[1], x[0] + x[1];
    return g;
  };
  EXPECT_THROW((void)solve_root(wide, Vec(Vec::Zero(2)), PowellDogleg()), std::invalid_argument);
}

// A functor that returns another size for dual numbers than for doubles (a
// bug in one instantiation) is caught at the Jacobian, never a crash.
struct WrongSizeForDuals {
  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    if constexpr (std::is_floating_point_v<T>) {
      return x.array() - 1;
    } else {
      return VectorX<T>(x.head(x.size() - 1));
    }
  }
};

TEST(SolveRoot, WrongSizeInOneScalarInstantiationThrows) {
  for (int method = 0; method < 4; ++method) {
    const Vec x0 = Vec::Zero(3);
    auto run = [&]() {
      switch (method) {
        case 0:
          return solve_root(WrongSizeForDuals{}, x0, PowellDogleg());
        case 1:
          return solve_root(WrongSizeForDuals{}, x0, LineSearchNewton());
        case 2:
          return solve_root(WrongSizeForDuals{}, x0, LevenbergMarquardt());
        default:
          return solve_root(WrongSizeForDuals{}, x0, LineSearchBroyden());
      }
    };
    EXPECT_THROW((void)run(), std::invalid_argument) << "method " << method;
  }
}

TEST(SolveRoot, NanFromGIsAStatus) {
  auto g = [](const auto& x) {
    using V = std::decay_t<decltype(x)>;
    return V(x.array().log());  // NaN at the start x = -1
  };
  const auto r = solve_root(g, Vec(Vec::Constant(2, -1)), PowellDogleg());
  EXPECT_EQ(r.status, Status::kNonFinite);
  EXPECT_FALSE(r.ok());
}

TEST(SolveRoot, BudgetsEndInMaxIterations) {
  SystemOptions o;
  o.max_iter = 2;
  auto r = solve_root(Rosenbrock{}, Vec(Vec::Constant(2, -1.2)), LevenbergMarquardt(), o);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_EQ(r.iterations, 2);
  EXPECT_EQ(Rosenbrock{}(r.x).norm(), r.residual_norm);  // the best point, honestly labelled
  o = SystemOptions{};
  o.max_function_evaluations = 3;
  r = solve_root(Rosenbrock{}, Vec(Vec::Constant(2, -1.2)), LevenbergMarquardt(), o);
  EXPECT_EQ(r.status, Status::kMaxIterations);
  EXPECT_NE(r.message.find("max_function_evaluations"), std::string::npos) << r.message;
}

// F(x) = atan(x) from 10: the root is 0. Whatever a method does, it may
// only say `converged` at a point where |atan(x)| <= abs_tol (the fixed-point
// Broyden used to report it at x = 3.6e15, where atan(x) = 1.57).
TEST(SolveRoot, AtanFromFarAwayIsSolvedOrHonestlyNot) {
  auto g = [](const auto& x) {
    using std::atan;
    using V = std::decay_t<decltype(x)>;
    V out(1);
    out[0] = atan(x[0]);
    return out;
  };
  const Vec x0 = Vec::Constant(1, 10);
  const auto check = [&](const SystemResult<Vec>& r) {
    if (r.ok()) {
      EXPECT_LE(std::fabs(std::atan(r.x[0])), 1e-10) << r.brief_report();
    }
  };
  check(solve_root(g, x0, PowellDogleg()));
  check(solve_root(g, x0, LineSearchNewton()));
  check(solve_root(g, x0, LevenbergMarquardt()));
  check(solve_root(g, x0, LineSearchBroyden()));
  const auto r = solve_root(g, x0);
  EXPECT_TRUE(r.ok()) << r.brief_report();
  EXPECT_NEAR(r.x[0], 0, 1e-10);
}

// Every method on all 57 Moré-Garbow-Hillstrom runs and the 23 test_nonlin
// problems: no `converged` without the returned point meeting the tolerance.
TEST(SolveRoot, NoMethodEverClaimsAFalseConvergence) {
  const auto mgh = more_garbow_hillstrom_instances();
  const auto extras = test_nonlin_instances();
  auto check = [&](const auto& method, const char* name) {
    const auto a = testing::score(method, mgh, {1, 10, 100});
    const auto b = testing::score(method, extras, {1});
    EXPECT_EQ(a.dishonest + b.dishonest, 0) << name;
    std::cout << name << ": MGH " << a.solved << "/" << a.runs << ", test_nonlin " << b.solved
              << "/" << b.runs << "\n";
  };
  check(PowellDogleg(), "dogleg");
  check(LineSearchNewton(), "newton");
  check(LevenbergMarquardt(), "levenberg_marquardt");
  check(LineSearchBroyden(), "broyden");
  LineSearchNewtonOptions plain;
  plain.use_line_search = false;
  check(LineSearchNewton(plain), "newton_raphson");
}

}  // namespace
}  // namespace implicit
