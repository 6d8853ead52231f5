#pragma once
// Standard test problems for square nonlinear systems g(x) = 0, g: R^n -> R^n.
//
// 1. The 14 systems of the MINPACK-1 test set (Moré, Garbow & Hillstrom,
//    "User guide for MINPACK-1", Argonne ANL-80-74, 1980, ch. 4; the same
//    functions as "Testing unconstrained optimization software", ACM TOMS
//    7(1) 1981, 17-41, cited below as MGH (k) for their problem number k),
//    in the *nonlinear equations* form of the MINPACK-1 hybrd/hybrj test
//    driver (subroutines VECFCN and INITPT). Where the MGH least-squares
//    problem is not square (Wood m = 6, Watson m = 31, variably dimensioned
//    m = n + 2) MINPACK uses a gradient-like system instead; see each problem.
// 2. Problems 15-23 of John Burkardt's test_nonlin collection.
//
// Each problem is written here from its formula. One functor type,
// `NonlinearSystem`, evaluates any of them for T = double, float or
// Eigen::AutoDiffScalar duals (implicit::jacobian), so every Jacobian comes
// from forward-mode AD. Math calls are unqualified after `using std::...` so
// the dual overloads in namespace Eigen are found by ADL; only exp, sin, cos,
// sqrt and atan2 are used, all of which Eigen's AutoDiff module provides.
//
// Cost of one evaluation: O(n) for most problems, O(29 n) for Watson, O(n^2)
// for Chebyquad, the discrete integral equation and Chandrasekhar.
// Failure: std::invalid_argument when x.size() != n or n is not a dimension
// the problem is defined for.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/internal/scalar.hpp"

namespace implicit {

enum class SystemId {
  // MINPACK-1 test problems 1-14 (= test_nonlin 1-14).
  kRosenbrock,                // 1, n = 2
  kPowellSingular,            // 2, n = 4
  kPowellBadlyScaled,         // 3, n = 2
  kWood,                      // 4, n = 4
  kHelicalValley,             // 5, n = 3
  kWatson,                    // 6, n >= 2
  kChebyquad,                 // 7, n >= 1
  kBrownAlmostLinear,         // 8, n >= 1
  kDiscreteBoundaryValue,     // 9, n >= 1
  kDiscreteIntegralEquation,  // 10, n >= 1
  kTrigonometric,             // 11, n >= 1
  kVariablyDimensioned,       // 12, n >= 1
  kBroydenTridiagonal,        // 13, n >= 1
  kBroydenBanded,             // 14, n >= 1
  // test_nonlin problems 15-23.
  kHammarling2x2,      // 15, n = 4
  kHammarling3x3,      // 16, n = 9
  kDennisSchnabel2x2,  // 17, n = 2
  kSample18,           // 18, n = 2
  kSample19,           // 19, n = 2
  kScalarCubic,        // 20, n = 1
  kFreudensteinRoth,   // 21, n = 2
  kBoggs,              // 22, n = 2
  kChandrasekhar,      // 23, n >= 1
};

inline const char* to_string(SystemId id) {
  switch (id) {
    case SystemId::kRosenbrock:
      return "rosenbrock";
    case SystemId::kPowellSingular:
      return "powell_singular";
    case SystemId::kPowellBadlyScaled:
      return "powell_badly_scaled";
    case SystemId::kWood:
      return "wood";
    case SystemId::kHelicalValley:
      return "helical_valley";
    case SystemId::kWatson:
      return "watson";
    case SystemId::kChebyquad:
      return "chebyquad";
    case SystemId::kBrownAlmostLinear:
      return "brown_almost_linear";
    case SystemId::kDiscreteBoundaryValue:
      return "discrete_boundary_value";
    case SystemId::kDiscreteIntegralEquation:
      return "discrete_integral_equation";
    case SystemId::kTrigonometric:
      return "trigonometric";
    case SystemId::kVariablyDimensioned:
      return "variably_dimensioned";
    case SystemId::kBroydenTridiagonal:
      return "broyden_tridiagonal";
    case SystemId::kBroydenBanded:
      return "broyden_banded";
    case SystemId::kHammarling2x2:
      return "hammarling_2x2";
    case SystemId::kHammarling3x3:
      return "hammarling_3x3";
    case SystemId::kDennisSchnabel2x2:
      return "dennis_schnabel_2x2";
    case SystemId::kSample18:
      return "sample_18";
    case SystemId::kSample19:
      return "sample_19";
    case SystemId::kScalarCubic:
      return "scalar_cubic";
    case SystemId::kFreudensteinRoth:
      return "freudenstein_roth";
    case SystemId::kBoggs:
      return "boggs";
    case SystemId::kChandrasekhar:
      return "chandrasekhar";
  }
  return "unknown";
}

// The one n a fixed-size problem is defined for, or 0 when n is free.
inline int fixed_dimension(SystemId id) {
  switch (id) {
    case SystemId::kRosenbrock:
    case SystemId::kPowellBadlyScaled:
    case SystemId::kDennisSchnabel2x2:
    case SystemId::kSample18:
    case SystemId::kSample19:
    case SystemId::kFreudensteinRoth:
    case SystemId::kBoggs:
      return 2;
    case SystemId::kHelicalValley:
      return 3;
    case SystemId::kPowellSingular:
    case SystemId::kWood:
    case SystemId::kHammarling2x2:
      return 4;
    case SystemId::kHammarling3x3:
      return 9;
    case SystemId::kScalarCubic:
      return 1;
    default:
      return 0;
  }
}

// The smallest n a problem is defined for (its fixed n if it has one).
inline int min_dimension(SystemId id) {
  if (fixed_dimension(id) > 0) return fixed_dimension(id);
  return id == SystemId::kWatson ? 2 : 1;
}

namespace internal {

inline void check_system_dimension(SystemId id, Eigen::Index n) {
  const int fixed = fixed_dimension(id);
  const bool ok = fixed > 0 ? n == fixed : n >= min_dimension(id);
  if (!ok) {
    throw std::invalid_argument(
        std::string("NonlinearSystem ") + to_string(id) + ": n must be " +
        (fixed > 0 ? std::to_string(fixed) : ">= " + std::to_string(min_dimension(id))) + ", got " +
        std::to_string(n));
  }
}

namespace nls {

constexpr double kPi = 3.14159265358979323846264338327950288;

// --- MINPACK-1 problems 1-14 ----------------------------------------------

// 1. Rosenbrock, MGH (1), n = 2:
//    g1 = 1 - x1,  g2 = 10 (x2 - x1^2).  Root (1, 1).
template <class T>
VectorX<T> rosenbrock(const VectorX<T>& x) {
  VectorX<T> g(2);
  g[0] = T(1) - x[0];
  g[1] = T(10) * (x[1] - x[0] * x[0]);
  return g;
}

// 2. Powell singular, MGH (13), n = 4:
//    g1 = x1 + 10 x2,  g2 = sqrt(5) (x3 - x4),  g3 = (x2 - 2 x3)^2,
//    g4 = sqrt(10) (x1 - x4)^2.  Root 0, where the Jacobian is singular.
template <class T>
VectorX<T> powell_singular(const VectorX<T>& x) {
  VectorX<T> g(4);
  const T a = x[1] - T(2) * x[2];
  const T b = x[0] - x[3];
  g[0] = x[0] + T(10) * x[1];
  g[1] = T(std::sqrt(5.0)) * (x[2] - x[3]);
  g[2] = a * a;
  g[3] = T(std::sqrt(10.0)) * b * b;
  return g;
}

// 3. Powell badly scaled, MGH (3), n = 2:
//    g1 = 10^4 x1 x2 - 1,  g2 = exp(-x1) + exp(-x2) - 1.0001.
//    Root (1.098159e-5, 9.106146) (MGH's printed digits).
template <class T>
VectorX<T> powell_badly_scaled(const VectorX<T>& x) {
  using std::exp;
  VectorX<T> g(2);
  g[0] = T(1e4) * x[0] * x[1] - T(1);
  g[1] = exp(-x[0]) + exp(-x[1]) - T(1.0001);
  return g;
}

// 4. Wood, MGH (14), n = 4. MGH's Wood is a least-squares problem with m = 6;
//    MINPACK-1 VECFCN uses the gradient of
//      f = 100 (x2 - x1^2)^2 + (1 - x1)^2 + 90 (x4 - x3^2)^2 + (1 - x3)^2
//          + 10.1 ((x2 - 1)^2 + (x4 - 1)^2) + 19.8 (x2 - 1)(x4 - 1),
//    with rows 1 and 3 halved: g = diag(1/2, 1, 1/2, 1) grad f, i.e.
//      g1 = -200 x1 (x2 - x1^2) - (1 - x1),
//      g2 =  200 (x2 - x1^2) + 20.2 (x2 - 1) + 19.8 (x4 - 1),
//      g3 = -180 x3 (x4 - x3^2) - (1 - x3),
//      g4 =  180 (x4 - x3^2) + 20.2 (x4 - 1) + 19.8 (x2 - 1).
//    Root (1, 1, 1, 1).
template <class T>
VectorX<T> wood(const VectorX<T>& x) {
  VectorX<T> g(4);
  const T t1 = x[1] - x[0] * x[0];
  const T t2 = x[3] - x[2] * x[2];
  g[0] = T(-200) * x[0] * t1 - (T(1) - x[0]);
  g[1] = T(200) * t1 + T(20.2) * (x[1] - T(1)) + T(19.8) * (x[3] - T(1));
  g[2] = T(-180) * x[2] * t2 - (T(1) - x[2]);
  g[3] = T(180) * t2 + T(20.2) * (x[3] - T(1)) + T(19.8) * (x[1] - T(1));
  return g;
}

// 5. Helical valley, MGH (7), n = 3:
//    g1 = 10 (x3 - 10 theta),  g2 = 10 (sqrt(x1^2 + x2^2) - 1),  g3 = x3,
//    2 pi theta = atan(x2 / x1)       for x1 > 0,
//               = atan(x2 / x1) + pi  for x1 < 0,
//    theta = 0.25 sign(x2)            for x1 = 0 (MINPACK's sign(0.25, x2),
//                                     +0.25 at x1 = x2 = 0).
//    So 2 pi theta lies in (-pi/2, 3pi/2]: it is atan2(x2, x1), shifted by 2 pi
//    where atan2 < -pi/2. Written with atan2 it is smooth across x1 = 0 (the
//    values there agree with MINPACK's), so AD gets the true derivative.
//    Root (1, 0, 0).
template <class T>
VectorX<T> helical_valley(const VectorX<T>& x) {
  using std::atan2;
  using std::sqrt;
  VectorX<T> g(3);
  T theta;
  if (value(x[0]) == 0.0 && value(x[1]) == 0.0) {
    theta = T(0.25);
  } else {
    T angle = atan2(x[1], x[0]);
    if (value(angle) < -kPi / 2) angle += T(2 * kPi);
    theta = angle / T(2 * kPi);
  }
  g[0] = T(10) * (x[2] - T(10) * theta);
  g[1] = T(10) * (sqrt(x[0] * x[0] + x[1] * x[1]) - T(1));
  g[2] = x[2];
  return g;
}

// 6. Watson, MGH (20), n >= 2. MGH's Watson is least squares with m = 31
//    residuals, t_i = i / 29:
//      r_i = sum_{j=2}^n (j-1) x_j t_i^(j-2) - (sum_{j=1}^n x_j t_i^(j-1))^2 - 1,
//            i = 1..29,
//      r_30 = x1,  r_31 = x2 - x1^2 - 1.
//    MINPACK-1 VECFCN uses the gradient system g = J_r^T r = grad (1/2 ||r||^2):
//      g_k = sum_i r_i [(k-1) t_i^(k-2) - 2 t_i^(k-1) s2_i]
//            + [k = 1] (x1 - 2 x1 r_31) + [k = 2] r_31,
//    s2_i = sum_j x_j t_i^(j-1). No exact root: its zeros are the stationary
//    points of the least-squares problem (minimum 2.28767e-3 at n = 6 and
//    1.39976e-6 at n = 9, MGH).
template <class T>
VectorX<T> watson(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  VectorX<T> g = VectorX<T>::Constant(n, T(0));
  for (int i = 1; i <= 29; ++i) {
    const double t = i / 29.0;
    T sum1 = T(0);  // sum_{j>=2} (j-1) x_j t^(j-2)
    T sum2 = T(0);  // sum_{j>=1} x_j t^(j-1)
    double power = 1.0;
    for (Eigen::Index j = 1; j < n; ++j) {
      sum1 += T(static_cast<double>(j) * power) * x[j];
      power *= t;
    }
    power = 1.0;
    for (Eigen::Index j = 0; j < n; ++j) {
      sum2 += T(power) * x[j];
      power *= t;
    }
    const T r = sum1 - sum2 * sum2 - T(1);
    const T two_t_sum2 = T(2 * t) * sum2;
    // d r / d x_k = t^(k-1) ((k-1)/t - 2 s2) for 1-based k: t^(k-2) (k-1 - 2 t s2).
    power = 1.0 / t;
    for (Eigen::Index k = 0; k < n; ++k) {
      g[k] += T(power) * (T(static_cast<double>(k)) - two_t_sum2) * r;
      power *= t;
    }
  }
  const T r31 = x[1] - x[0] * x[0] - T(1);
  g[0] += x[0] * (T(1) - T(2) * r31);
  g[1] += r31;
  return g;
}

// 7. Chebyquad, MGH (35), n >= 1:
//    g_i = (1/n) sum_{j=1}^n T_i(2 x_j - 1) - I_i,
//    T_i the Chebyshev polynomial of degree i, I_i = int_0^1 T_i(2t - 1) dt
//    = -1 / (i^2 - 1) for even i, 0 for odd i. Zeros are the nodes of an
//    equal-weight (Chebyshev) quadrature on [0, 1]: they exist for
//    n = 1..7 and 9 only, so n = 8 has no real root.
//    (Burkardt's test_nonlin writes the same problem in y = 2x - 1 on [-1, 1].)
template <class T>
VectorX<T> chebyquad(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  VectorX<T> g = VectorX<T>::Constant(n, T(0));
  for (Eigen::Index j = 0; j < n; ++j) {
    // Three-term recurrence T_{i+1}(y) = 2 y T_i(y) - T_{i-1}(y).
    T previous = T(1);
    T current = T(2) * x[j] - T(1);
    const T two_y = T(2) * current;
    for (Eigen::Index i = 0; i < n; ++i) {
      g[i] += current;
      const T next = two_y * current - previous;
      previous = current;
      current = next;
    }
  }
  for (Eigen::Index i = 0; i < n; ++i) {
    const double degree = static_cast<double>(i + 1);
    g[i] = g[i] / T(static_cast<double>(n));
    if ((i + 1) % 2 == 0) g[i] += T(1.0 / (degree * degree - 1.0));
  }
  return g;
}

// 8. Brown almost-linear, MGH (27), n >= 1:
//    g_k = x_k + sum_j x_j - (n + 1) for k < n,  g_n = prod_j x_j - 1.
//    Root (1, ..., 1) (others: (a, ..., a, a^(1-n)) with n a^n - (n+1) a^(n-1) + 1 = 0).
template <class T>
VectorX<T> brown_almost_linear(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  T sum = T(-static_cast<double>(n + 1));
  T prod = T(1);
  for (Eigen::Index j = 0; j < n; ++j) {
    sum += x[j];
    prod *= x[j];
  }
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k + 1 < n; ++k) g[k] = x[k] + sum;
  g[n - 1] = prod - T(1);
  return g;
}

// 9. Discrete boundary value, MGH (28), n >= 1; h = 1/(n+1), t_k = k h,
//    x_0 = x_{n+1} = 0:
//    g_k = 2 x_k - x_{k-1} - x_{k+1} + h^2 (x_k + t_k + 1)^3 / 2.
template <class T>
VectorX<T> discrete_boundary_value(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  const double h = 1.0 / static_cast<double>(n + 1);
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    const T u = x[k] + T(static_cast<double>(k + 1) * h + 1.0);
    T gk = T(2) * x[k] + T(h * h / 2) * u * u * u;
    if (k > 0) gk -= x[k - 1];
    if (k + 1 < n) gk -= x[k + 1];
    g[k] = gk;
  }
  return g;
}

// 10. Discrete integral equation, MGH (29), n >= 1; h = 1/(n+1), t_k = k h:
//    g_k = x_k + h [ (1 - t_k) sum_{j<=k} t_j (x_j + t_j + 1)^3
//                    + t_k sum_{j>k} (1 - t_j) (x_j + t_j + 1)^3 ] / 2.
template <class T>
VectorX<T> discrete_integral_equation(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  const double h = 1.0 / static_cast<double>(n + 1);
  std::vector<T> cube(static_cast<std::size_t>(n));
  for (Eigen::Index j = 0; j < n; ++j) {
    const T u = x[j] + T(static_cast<double>(j + 1) * h + 1.0);
    cube[static_cast<std::size_t>(j)] = u * u * u;
  }
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    const double tk = static_cast<double>(k + 1) * h;
    T lower = T(0);
    T upper = T(0);
    for (Eigen::Index j = 0; j < n; ++j) {
      const double tj = static_cast<double>(j + 1) * h;
      if (j <= k) {
        lower += T(tj) * cube[static_cast<std::size_t>(j)];
      } else {
        upper += T(1.0 - tj) * cube[static_cast<std::size_t>(j)];
      }
    }
    g[k] = x[k] + T(h / 2) * (T(1.0 - tk) * lower + T(tk) * upper);
  }
  return g;
}

// 11. Trigonometric, MGH (26), n >= 1:
//    g_k = n - sum_j cos x_j + k (1 - cos x_k) - sin x_k.
template <class T>
VectorX<T> trigonometric(const VectorX<T>& x) {
  using std::cos;
  using std::sin;
  const Eigen::Index n = x.size();
  T cos_sum = T(0);
  for (Eigen::Index j = 0; j < n; ++j) cos_sum += cos(x[j]);
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    const T kk = T(static_cast<double>(k + 1));
    g[k] = T(static_cast<double>(n)) - cos_sum + kk * (T(1) - cos(x[k])) - sin(x[k]);
  }
  return g;
}

// 12. Variably dimensioned, MGH (25), n >= 1. MGH's is least squares with
//    m = n + 2: r_k = x_k - 1 (k <= n), r_{n+1} = s, r_{n+2} = s^2,
//    s = sum_j j (x_j - 1). MINPACK-1 uses g = grad (1/2 ||r||^2):
//      g_k = x_k - 1 + k s (1 + 2 s^2).
//    Root (1, ..., 1).
template <class T>
VectorX<T> variably_dimensioned(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  T s = T(0);
  for (Eigen::Index j = 0; j < n; ++j) s += T(static_cast<double>(j + 1)) * (x[j] - T(1));
  const T common = s * (T(1) + T(2) * s * s);
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) g[k] = x[k] - T(1) + T(static_cast<double>(k + 1)) * common;
  return g;
}

// 13. Broyden tridiagonal, MGH (30), n >= 1; x_0 = x_{n+1} = 0:
//    g_k = (3 - 2 x_k) x_k - x_{k-1} - 2 x_{k+1} + 1.
template <class T>
VectorX<T> broyden_tridiagonal(const VectorX<T>& x) {
  const Eigen::Index n = x.size();
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    T gk = (T(3) - T(2) * x[k]) * x[k] + T(1);
    if (k > 0) gk -= x[k - 1];
    if (k + 1 < n) gk -= T(2) * x[k + 1];
    g[k] = gk;
  }
  return g;
}

// 14. Broyden banded, MGH (31), n >= 1; lower bandwidth 5, upper 1:
//    g_k = x_k (2 + 5 x_k^2) + 1 - sum_{j in J_k} x_j (1 + x_j),
//    J_k = { j != k : max(1, k - 5) <= j <= min(n, k + 1) }.
template <class T>
VectorX<T> broyden_banded(const VectorX<T>& x) {
  constexpr Eigen::Index kLower = 5;
  constexpr Eigen::Index kUpper = 1;
  const Eigen::Index n = x.size();
  VectorX<T> g(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    T band = T(0);
    const Eigen::Index first = std::max<Eigen::Index>(0, k - kLower);
    const Eigen::Index last = std::min<Eigen::Index>(n - 1, k + kUpper);
    for (Eigen::Index j = first; j <= last; ++j)
      if (j != k) band += x[j] * (T(1) + x[j]);
    g[k] = x[k] * (T(2) + T(5) * x[k] * x[k]) + T(1) - band;
  }
  return g;
}

// --- test_nonlin problems 15-23 --------------------------------------------

// X X - A with X the m x m matrix whose rows are consecutive entries of x
// (x = vec of X by rows), returned in the same row-major order.
template <class T>
VectorX<T> matrix_square_minus(const VectorX<T>& x, const Eigen::MatrixXd& a) {
  const Eigen::Index m = a.rows();
  VectorX<T> g(m * m);
  for (Eigen::Index i = 0; i < m; ++i) {
    for (Eigen::Index j = 0; j < m; ++j) {
      T sum = T(-a(i, j));
      for (Eigen::Index l = 0; l < m; ++l) sum += x[i * m + l] * x[l * m + j];
      g[i * m + j] = sum;
    }
  }
  return g;
}

// 15. Hammarling 2x2 matrix square root (S. J. Hammarling, private
//    communication to P. E. Gill; test_nonlin 15), n = 4: X^2 = A,
//    A = [1e-4 1; 0 1e-4], X = [x1 x2; x3 x4]:
//    g = (x1^2 + x2 x3 - 1e-4, x1 x2 + x2 x4 - 1, x3 x1 + x4 x3, x3 x2 + x4^2 - 1e-4).
//    Root X = [0.01 50; 0 0.01]; the start X = I is far from it.
template <class T>
VectorX<T> hammarling_2x2(const VectorX<T>& x) {
  Eigen::MatrixXd a(2, 2);
  a << 1e-4, 1.0, 0.0, 1e-4;
  return matrix_square_minus(x, a);
}

// 16. Hammarling 3x3 matrix square root (test_nonlin 16), n = 9: X^2 = A,
//    A = [1e-4 1 0; 0 1e-4 0; 0 0 1e-4], X by rows.
//    Root X = [0.01 50 0; 0 0.01 0; 0 0 0.01].
template <class T>
VectorX<T> hammarling_3x3(const VectorX<T>& x) {
  Eigen::MatrixXd a = 1e-4 * Eigen::MatrixXd::Identity(3, 3);
  a(0, 1) = 1.0;
  return matrix_square_minus(x, a);
}

// 17. Dennis & Schnabel's 2x2 example (Numerical Methods for Unconstrained
//    Optimization and Nonlinear Equations, 1983 / SIAM 1996; test_nonlin 17):
//    g1 = x1 + x2 - 3,  g2 = x1^2 + x2^2 - 9.  Roots (3, 0) and (0, 3).
template <class T>
VectorX<T> dennis_schnabel_2x2(const VectorX<T>& x) {
  VectorX<T> g(2);
  g[0] = x[0] + x[1] - T(3);
  g[1] = x[0] * x[0] + x[1] * x[1] - T(9);
  return g;
}

// (1 - exp(-s^2)) / s, continued by 0 at s = 0, and accurate near it: there
// the quotient cancels, so a Taylor series is used for |s| < 1/8:
//   (1 - e^-u) / s = s sum_{k>=0} (-u)^k / (k+1)!,  u = s^2 < 1/64;
// eight terms leave u^8 / 9! < 1e-20 relative. Beyond, 1 - e^-u >= 0.0155
// loses under 2 digits. The result is analytic in s, so AD is exact at 0.
template <class T>
T one_minus_exp_neg_square_over(const T& s) {
  using std::abs;
  using std::exp;
  const T u = s * s;
  if (abs(value(s)) < 0.125) {
    T term = s;
    T sum = s;
    for (int k = 1; k < 8; ++k) {
      term = term * (-u) / T(static_cast<double>(k + 1));
      sum += term;
    }
    return sum;
  }
  return (T(1) - exp(-u)) / s;
}

// 18. Sample problem 18 (test_nonlin 18), n = 2:
//    g1 = x2^2 (1 - exp(-x1^2)) / x1,  g2 = x1 (1 - exp(-x2^2)) / x2,
//    each continued by 0 where its denominator vanishes. Every point with
//    x1 = 0 or x2 = 0 is a root; the Jacobian has rank one there except at
//    the origin, where it vanishes.
template <class T>
VectorX<T> sample_18(const VectorX<T>& x) {
  VectorX<T> g(2);
  g[0] = x[1] * x[1] * one_minus_exp_neg_square_over(x[0]);
  g[1] = x[0] * one_minus_exp_neg_square_over(x[1]);
  return g;
}

// 19. Sample problem 19 (test_nonlin 19), n = 2:
//    g1 = x1 (x1^2 + x2^2),  g2 = x2 (x1^2 + x2^2).
//    Single root at 0 with a vanishing Jacobian: Newton converges linearly.
template <class T>
VectorX<T> sample_19(const VectorX<T>& x) {
  VectorX<T> g(2);
  const T r2 = x[0] * x[0] + x[1] * x[1];
  g[0] = x[0] * r2;
  g[1] = x[1] * r2;
  return g;
}

// 20. Scalar problem (test_nonlin 20), n = 1:  g = x (x - 5)^2.
//    Simple root 0, double root 5.
template <class T>
VectorX<T> scalar_cubic(const VectorX<T>& x) {
  VectorX<T> g(1);
  const T d = x[0] - T(5);
  g[0] = x[0] * d * d;
  return g;
}

// 21. Freudenstein & Roth (J. ACM 10(4) 1963, 550-556; MGH (2); test_nonlin
//    21), n = 2:
//    g1 = -13 + x1 + ((5 - x2) x2 - 2) x2,  g2 = -29 + x1 + ((x2 + 1) x2 - 14) x2.
//    Root (5, 4); ||g||^2 also has a local minimum 48.9842 at
//    (11.41..., -0.8968...) that traps descent methods.
template <class T>
VectorX<T> freudenstein_roth(const VectorX<T>& x) {
  VectorX<T> g(2);
  g[0] = T(-13) + x[0] + ((T(5) - x[1]) * x[1] - T(2)) * x[1];
  g[1] = T(-29) + x[0] + ((x[1] + T(1)) * x[1] - T(14)) * x[1];
  return g;
}

// 22. Boggs (P. T. Boggs, SIAM J. Numer. Anal. 8(4) 1971, 767-785;
//    test_nonlin 22), n = 2:
//    g1 = x1^2 - x2 + 1,  g2 = x1 - cos(pi x2 / 2).  Roots (0, 1), (-1, 2).
template <class T>
VectorX<T> boggs(const VectorX<T>& x) {
  using std::cos;
  VectorX<T> g(2);
  g[0] = x[0] * x[0] - x[1] + T(1);
  g[1] = x[0] - cos(T(kPi / 2) * x[1]);
  return g;
}

// 23. Chandrasekhar H-equation (S. Chandrasekhar, Radiative Transfer, 1960;
//    discretised as in C. T. Kelley, Iterative Methods for Linear and
//    Nonlinear Equations, SIAM 1995, sec. 5.6; test_nonlin 23), n >= 1,
//    c = 0.9, midpoint nodes mu_i = (i - 1/2) / n:
//    g_i = x_i - 1 / (1 - (c / (2n)) sum_j mu_i x_j / (mu_i + mu_j)).
template <class T>
VectorX<T> chandrasekhar(const VectorX<T>& x) {
  constexpr double kAlbedo = 0.9;
  const Eigen::Index n = x.size();
  const double dn = static_cast<double>(n);
  VectorX<T> g(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    const double mu_i = (static_cast<double>(i) + 0.5) / dn;
    T sum = T(0);
    for (Eigen::Index j = 0; j < n; ++j) {
      const double mu_j = (static_cast<double>(j) + 0.5) / dn;
      sum += T(mu_i / (mu_i + mu_j)) * x[j];
    }
    g[i] = x[i] - T(1) / (T(1) - T(kAlbedo / (2 * dn)) * sum);
  }
  return g;
}

}  // namespace nls
}  // namespace internal

// One test system g: R^n -> R^n. Usable with every scalar type the library's
// AD uses (double, float, Eigen::AutoDiffScalar), e.g.
//   implicit::jacobian(NonlinearSystem{SystemId::kWood, 4}, x).
// Throws std::invalid_argument when x.size() != n or n does not fit the problem.
struct NonlinearSystem {
  SystemId id;
  int n;

  template <class T>
  VectorX<T> operator()(const VectorX<T>& x) const {
    internal::check_system_dimension(id, n);
    if (x.size() != n) {
      throw std::invalid_argument(std::string("NonlinearSystem ") + to_string(id) +
                                  ": x.size() must be n = " + std::to_string(n) + ", got " +
                                  std::to_string(x.size()));
    }
    namespace p = internal::nls;
    switch (id) {
      case SystemId::kRosenbrock:
        return p::rosenbrock(x);
      case SystemId::kPowellSingular:
        return p::powell_singular(x);
      case SystemId::kPowellBadlyScaled:
        return p::powell_badly_scaled(x);
      case SystemId::kWood:
        return p::wood(x);
      case SystemId::kHelicalValley:
        return p::helical_valley(x);
      case SystemId::kWatson:
        return p::watson(x);
      case SystemId::kChebyquad:
        return p::chebyquad(x);
      case SystemId::kBrownAlmostLinear:
        return p::brown_almost_linear(x);
      case SystemId::kDiscreteBoundaryValue:
        return p::discrete_boundary_value(x);
      case SystemId::kDiscreteIntegralEquation:
        return p::discrete_integral_equation(x);
      case SystemId::kTrigonometric:
        return p::trigonometric(x);
      case SystemId::kVariablyDimensioned:
        return p::variably_dimensioned(x);
      case SystemId::kBroydenTridiagonal:
        return p::broyden_tridiagonal(x);
      case SystemId::kBroydenBanded:
        return p::broyden_banded(x);
      case SystemId::kHammarling2x2:
        return p::hammarling_2x2(x);
      case SystemId::kHammarling3x3:
        return p::hammarling_3x3(x);
      case SystemId::kDennisSchnabel2x2:
        return p::dennis_schnabel_2x2(x);
      case SystemId::kSample18:
        return p::sample_18(x);
      case SystemId::kSample19:
        return p::sample_19(x);
      case SystemId::kScalarCubic:
        return p::scalar_cubic(x);
      case SystemId::kFreudensteinRoth:
        return p::freudenstein_roth(x);
      case SystemId::kBoggs:
        return p::boggs(x);
      case SystemId::kChandrasekhar:
        return p::chandrasekhar(x);
    }
    throw std::invalid_argument("NonlinearSystem: unknown SystemId " +
                                std::to_string(static_cast<int>(id)));
  }
};

// The standard starting point x0 of a problem at dimension n (MINPACK-1
// INITPT for problems 1-14, test_nonlin's p??_start for 15-23):
//   Rosenbrock (-1.2, 1); Powell singular (3, -1, 0, 1); Powell badly scaled
//   (0, 1); Wood (-3, -1, -3, -1); helical valley (-1, 0, 0); Watson 0;
//   Chebyquad x_j = j / (n+1); Brown almost-linear 1/2; discrete boundary
//   value and integral equation x_j = t_j (t_j - 1), t_j = j / (n+1);
//   trigonometric 1/n; variably dimensioned x_j = 1 - j/n; Broyden
//   tridiagonal and banded -1; Hammarling X = I; Dennis-Schnabel (1, 5);
//   sample 18 (2, 2); sample 19 (3, 3); scalar 1; Freudenstein-Roth
//   (0.5, -2); Boggs (1, 0); Chandrasekhar 1.
// Throws std::invalid_argument when n does not fit the problem.
inline Eigen::VectorXd standard_start(SystemId id, int n) {
  internal::check_system_dimension(id, n);
  Eigen::VectorXd x(n);
  const double dn = static_cast<double>(n);
  switch (id) {
    case SystemId::kRosenbrock:
      x << -1.2, 1.0;
      break;
    case SystemId::kPowellSingular:
      x << 3.0, -1.0, 0.0, 1.0;
      break;
    case SystemId::kPowellBadlyScaled:
      x << 0.0, 1.0;
      break;
    case SystemId::kWood:
      x << -3.0, -1.0, -3.0, -1.0;
      break;
    case SystemId::kHelicalValley:
      x << -1.0, 0.0, 0.0;
      break;
    case SystemId::kWatson:
      x.setZero();
      break;
    case SystemId::kChebyquad:
      for (int j = 0; j < n; ++j) x[j] = (j + 1) / (dn + 1);
      break;
    case SystemId::kBrownAlmostLinear:
      x.setConstant(0.5);
      break;
    case SystemId::kDiscreteBoundaryValue:
    case SystemId::kDiscreteIntegralEquation:
      for (int j = 0; j < n; ++j) {
        const double t = (j + 1) / (dn + 1);
        x[j] = t * (t - 1.0);
      }
      break;
    case SystemId::kTrigonometric:
      x.setConstant(1.0 / dn);
      break;
    case SystemId::kVariablyDimensioned:
      for (int j = 0; j < n; ++j) x[j] = 1.0 - (j + 1) / dn;
      break;
    case SystemId::kBroydenTridiagonal:
    case SystemId::kBroydenBanded:
      x.setConstant(-1.0);
      break;
    case SystemId::kHammarling2x2:
      x << 1.0, 0.0, 0.0, 1.0;
      break;
    case SystemId::kHammarling3x3:
      x << 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0;
      break;
    case SystemId::kDennisSchnabel2x2:
      x << 1.0, 5.0;
      break;
    case SystemId::kSample18:
      x << 2.0, 2.0;
      break;
    case SystemId::kSample19:
      x << 3.0, 3.0;
      break;
    case SystemId::kScalarCubic:
      x << 1.0;
      break;
    case SystemId::kFreudensteinRoth:
      x << 0.5, -2.0;
      break;
    case SystemId::kBoggs:
      x << 1.0, 0.0;
      break;
    case SystemId::kChandrasekhar:
      x.setOnes();
      break;
  }
  return x;
}

struct SystemInstance {
  std::string name;  // "<to_string(id)>_<n>", e.g. "watson_6"
  NonlinearSystem g;
  Eigen::VectorXd x0;
};

// The instance of problem `id` at dimension n from its standard start.
inline SystemInstance make_instance(SystemId id, int n) {
  return {std::string(to_string(id)) + "_" + std::to_string(n), NonlinearSystem{id, n},
          standard_start(id, n)};
}

// The 19 instances of the MINPACK-1 nonlinear-equations test set used here:
// problems 1-5 at their fixed n, Watson n = 6 and 9, Chebyquad n = 5..9, and
// problems 8-14 at n = 10. Each is meant to be run from scaled_start(instance,
// f) for f = 1, 10, 100: 57 runs. (MINPACK's own hybrd data file runs a
// superset, 22 instances - it adds Brown almost-linear n = 30 and 40 and the
// integral equation n = 1 - with fewer starts for some: 2 for Powell badly
// scaled and Watson, 1 for Chebyquad n = 8 and 9; 55 runs.)
inline std::vector<SystemInstance> more_garbow_hillstrom_instances() {
  std::vector<SystemInstance> out;
  out.push_back(make_instance(SystemId::kRosenbrock, 2));
  out.push_back(make_instance(SystemId::kPowellSingular, 4));
  out.push_back(make_instance(SystemId::kPowellBadlyScaled, 2));
  out.push_back(make_instance(SystemId::kWood, 4));
  out.push_back(make_instance(SystemId::kHelicalValley, 3));
  out.push_back(make_instance(SystemId::kWatson, 6));
  out.push_back(make_instance(SystemId::kWatson, 9));
  for (int n = 5; n <= 9; ++n) out.push_back(make_instance(SystemId::kChebyquad, n));
  for (SystemId id :
       {SystemId::kBrownAlmostLinear, SystemId::kDiscreteBoundaryValue,
        SystemId::kDiscreteIntegralEquation, SystemId::kTrigonometric,
        SystemId::kVariablyDimensioned, SystemId::kBroydenTridiagonal, SystemId::kBroydenBanded})
    out.push_back(make_instance(id, 10));
  return out;
}

// The 23 problems of test_nonlin, once each, from their standard starts.
// Problems 1-14 use the MINPACK-1 forms and dimensions above (Watson n = 6,
// Chebyquad n = 5, problems 8-14 n = 10); Chandrasekhar is taken at n = 10.
inline std::vector<SystemInstance> test_nonlin_instances() {
  std::vector<SystemInstance> out;
  const SystemId ids[] = {SystemId::kRosenbrock,
                          SystemId::kPowellSingular,
                          SystemId::kPowellBadlyScaled,
                          SystemId::kWood,
                          SystemId::kHelicalValley,
                          SystemId::kWatson,
                          SystemId::kChebyquad,
                          SystemId::kBrownAlmostLinear,
                          SystemId::kDiscreteBoundaryValue,
                          SystemId::kDiscreteIntegralEquation,
                          SystemId::kTrigonometric,
                          SystemId::kVariablyDimensioned,
                          SystemId::kBroydenTridiagonal,
                          SystemId::kBroydenBanded,
                          SystemId::kHammarling2x2,
                          SystemId::kHammarling3x3,
                          SystemId::kDennisSchnabel2x2,
                          SystemId::kSample18,
                          SystemId::kSample19,
                          SystemId::kScalarCubic,
                          SystemId::kFreudensteinRoth,
                          SystemId::kBoggs,
                          SystemId::kChandrasekhar};
  for (SystemId id : ids) {
    int n = fixed_dimension(id);
    if (n == 0) n = id == SystemId::kWatson ? 6 : id == SystemId::kChebyquad ? 5 : 10;
    out.push_back(make_instance(id, n));
  }
  return out;
}

// MINPACK-1's scaled start (INITPT): factor * x0, except that a start of all
// zeros (in this set only Watson's) becomes the constant vector `factor` when
// factor != 1, since scaling 0 would give the same start three times.
// Throws std::invalid_argument for a non-finite factor.
inline Eigen::VectorXd scaled_start(const SystemInstance& instance, double factor) {
  if (!std::isfinite(factor)) {
    throw std::invalid_argument("scaled_start: factor must be finite, got " +
                                std::to_string(factor));
  }
  if (factor == 1.0) return instance.x0;
  if ((instance.x0.array() == 0.0).all())
    return Eigen::VectorXd::Constant(instance.x0.size(), factor);
  return factor * instance.x0;
}

}  // namespace implicit
