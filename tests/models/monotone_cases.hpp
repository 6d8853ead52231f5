#pragma once
// Monotone networks whose derivatives a naive evaluation gets wrong, and an
// extended-precision reference for dx*/dtheta there, shared by the dense
// (tests/models/monotone_net_test.cpp) and the tensor
// (tests/torch/monotone_net_test.cpp) regression tests.
//
// Each case is the H = 10 reference network with one part pushed to an
// extreme, and a target y:
//   flat       w = -40 (exp(w) ~ 4e-18), y = 1e-20: every unit is at
//              d = exp(w) x ~ 1e-20, so sigmoid(b + d) - sigmoid(b) and
//              sigmoid'(b + d) - sigmoid'(b) are both below one ulp of
//              their terms;
//   saturated  b = 30 on the sigmoid units (sigmoid(b) = 1 - 9e-14): the
//              differences are ~1e-13 of the terms subtracted;
//   huge bias  b = 1e308 on every unit: sigmoid(b) = 1 exactly and
//              relu(b + d) - relu(b) rounds to 0 in double, although it is d.

#include <Eigen/Core>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "implicit/models/monotone_net.hpp"

namespace implicit::monotone_cases {

struct MonotoneCase {
  std::string name;
  Eigen::VectorXd w, v, b;
  double y = 0;
};

inline std::vector<MonotoneCase> hard_monotone_cases() {
  const MonotoneNet<double> reference = make_reference_monotone_net<double>();
  const Eigen::Index h = reference.hidden();
  std::vector<MonotoneCase> cases;
  MonotoneCase flat{"flat", reference.w(), reference.v(), reference.b(), 1e-20};
  flat.w.setConstant(-40.0);
  cases.push_back(flat);
  MonotoneCase saturated{"saturated", reference.w(), reference.v(), reference.b(), 1.0};
  saturated.b.head(h - 1).setConstant(30.0);
  cases.push_back(saturated);
  MonotoneCase huge{"huge_bias", reference.w(), reference.v(), reference.b(), 1.0};
  huge.b.setConstant(1e308);
  cases.push_back(huge);
  return cases;
}

// x* = Rinv(y) and dx*/dtheta (3H entries, w | v | b) in long double:
// central differences of x*(theta) re-solved by TOMS 748 to 4 ulp of long
// double (eps = 1.1e-19), with the step h_j = 1e-5 max(1, |theta_j|).
// Error: truncation h^2 |x'''| / 6 ~ 2e-11 times the entry's scale (x*
// depends on theta_j only through unit j, so its derivatives in theta_j
// share that scale), plus rounding ~ 4 eps |x*| / h ~ 5e-14 |x*|.
struct LongDoubleReference {
  long double x = 0;
  Eigen::Matrix<long double, Eigen::Dynamic, 1> dx_dtheta;
};

inline LongDoubleReference long_double_reference(const MonotoneCase& c) {
  using LD = long double;
  using LVec = MonotoneVector<LD>;
  const Eigen::Index h = c.w.size();
  LVec theta(3 * h);
  theta << c.w.cast<LD>(), c.v.cast<LD>(), c.b.cast<LD>();
  ScalarRootOptions toms;  // TOMS 748, the method independent of the closed form R'
  auto solve = [&](const LVec& t) {
    const MonotoneNet<LD> net(t.head(h), t.segment(h, h), t.tail(h));
    const auto r = net.inverse(static_cast<LD>(c.y), toms);
    return r.ok() ? r.x : std::numeric_limits<LD>::quiet_NaN();
  };
  LongDoubleReference out;
  out.x = solve(theta);
  out.dx_dtheta.resize(3 * h);
  for (Eigen::Index j = 0; j < 3 * h; ++j) {
    const LD step = LD(1e-5) * std::max(LD(1), std::abs(theta[j]));
    LVec plus = theta, minus = theta;
    plus[j] += step;
    minus[j] -= step;
    out.dx_dtheta[j] = (solve(plus) - solve(minus)) / (2 * step);
  }
  return out;
}

// dx*/dtheta by the dense network's scalar closed form at x:
// -(dR/dtheta)(x) / R'(x), docs/reference-systems.md section 2.
inline Eigen::VectorXd eigen_dx_dtheta(const MonotoneNet<double>& net, double x) {
  return -net.grad_theta(x) / net.derivative(x);
}

// Largest violation of |actual_j - expected_j| <= rel |expected_j| + abs,
// over j, as a multiple of the bound (<= 1 passes); the index in `where`.
template <class A, class E>
double worst_violation(const A& actual, const E& expected, double rel, double abs,
                       Eigen::Index* where) {
  double worst = 0;
  for (Eigen::Index j = 0; j < expected.size(); ++j) {
    const double e = static_cast<double>(expected[j]);
    const double a = static_cast<double>(actual[j]);
    const double difference = std::abs(a - e);
    const double ratio = std::isnan(difference) ? std::numeric_limits<double>::infinity()
                         : difference == 0      ? 0.0
                                                : difference / (rel * std::abs(e) + abs);
    if (ratio > worst) {
      worst = ratio;
      *where = j;
    }
  }
  return worst;
}

}  // namespace implicit::monotone_cases
