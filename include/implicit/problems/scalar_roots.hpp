#pragma once
// The scalar root test set of Alefeld, Potra & Shi, "Algorithm 748:
// enclosing zeros of continuous functions", ACM TOMS 21(3) 1995, Table I:
// 15 families, 154 instances, each a function and a bracket [lower, upper]
// with g(lower) and g(upper) of opposite signs. It is the usual yardstick of
// bracketing methods (TOMS 748, Brent, ITP), summed evaluation counts over
// all 154 being the figure of merit. Written from the paper's formulas:
//
//   1  sin x - x/2                                  [pi/2, pi]
//   2  -2 sum_{i=1..20} (2i - 5)^2 / (x - i^2)^3    [n^2 + 1e-9, (n+1)^2 - 1e-9], n = 1..10
//   3  a x exp(b x)                                 [-9, 31], (a, b) = (-40, -1), (-100, -2),
//                                                   (-200, -3)
//   4  x^n - a                                      a = 0.2 and a = 1, n = 4, 6, .., 12 on
//                                                   [0, 5]; a = 1, n = 8, 10, .., 14 on
//                                                   [-0.95, 4.05]
//   5  sin x - 1/2                                  [0, 1.5]
//   6  2 x exp(-n) - 2 exp(-n x) + 1                [0, 1], n = 1..5, 20, 40, .., 100
//   7  (1 + (1 - n)^2) x - (1 - n x)^2              [0, 1], n = 5, 10, 20
//   8  x^2 - (1 - x)^n                              [0, 1], n = 2, 5, 10, 15, 20
//   9  (1 + (1 - n)^4) x - (1 - n x)^4              [0, 1], n = 1, 2, 4, 5, 8, 15, 20
//  10  exp(-n x) (x - 1) + x^n                      [0, 1], n = 1, 5, 10, 15, 20
//  11  (n x - 1) / ((n - 1) x)                      [0.01, 1], n = 2, 5, 15, 20
//  12  x^(1/n) - n^(1/n)                            [1, 100], n = 2..6, 7, 9, .., 33
//  13  x exp(-1/x^2) (0 at x = 0)                   [-1, 4]
//  14  (n/20)(x/1.5 + sin x - 1) for x >= 0,        [-1e4, pi/2], n = 1..40
//      -n/20 for x < 0
//  15  e - 1.859 for x > d = 2e-3/(n+1),            [-1e4, 1e-4], n = 20..40, 100, 200, ..,
//      exp(500 (n+1) x) - 1.859 on [0, d],          1000
//      -0.859 for x < 0
//
// Families 3 and 13 have their root at exactly 0 (a pure relative x
// tolerance never holds there, see ScalarRootOptions), family 13 is flat to
// all orders at its root (g underflows to 0 on |x| < 0.04), families 14 and
// 15 are continuous but only piecewise smooth, with huge brackets, and
// family 2 has poles just outside each bracket. (Boost.Math's test of
// toms748_solve runs the same set with 3.14 for pi in families 1 and 14.)

#include <cmath>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace implicit {

// One instance of a scalar root test set: g and a bracket of a root.
struct ScalarRootInstance {
  std::string name;  // family and parameters, e.g. "aps04(a=0.2,n=4)"
  int family = 0;    // the row of the paper's Table I, 1..15
  std::function<double(double)> g;
  double lower = 0;  // g(lower) and g(upper) have opposite signs
  double upper = 0;
};

// All 154 instances of Alefeld, Potra & Shi's Table I, family by family in
// the order listed above. Cost: builds 154 small closures (one allocation
// each); no g evaluations.
inline std::vector<ScalarRootInstance> alefeld_potra_shi_instances() {
  using std::exp;
  using std::pow;
  using std::sin;
  const double pi = std::acos(-1.0);
  std::vector<ScalarRootInstance> p;
  p.reserve(154);
  auto add = [&p](int family, std::string params, std::function<double(double)> g, double lower,
                  double upper) {
    std::string name = std::string("aps") + (family < 10 ? "0" : "") + std::to_string(family);
    if (!params.empty()) name += "(" + params + ")";
    p.push_back({std::move(name), family, std::move(g), lower, upper});
  };
  auto num = [](double v) {
    std::string s = std::to_string(v);
    s.erase(s.find_last_not_of('0') + 1);
    if (s.back() == '.') s.pop_back();
    return s;
  };

  add(
      1, "", [](double x) { return sin(x) - x / 2; }, pi / 2, pi);

  for (int n = 1; n <= 10; ++n)
    add(
        2, "n=" + std::to_string(n),
        [](double x) {
          double s = 0;
          for (int i = 1; i <= 20; ++i) {
            const double c = 2 * i - 5;
            const double d = x - i * i;
            s += c * c / (d * d * d);
          }
          return -2 * s;
        },
        n * n + 1e-9, (n + 1) * (n + 1) - 1e-9);

  const double three[3][2] = {{-40, -1}, {-100, -2}, {-200, -3}};
  for (const auto& ab : three) {
    const double a = ab[0], b = ab[1];
    add(
        3, "a=" + num(a) + ",b=" + num(b), [a, b](double x) { return a * x * exp(b * x); }, -9, 31);
  }

  for (double a : {0.2, 1.0})
    for (int n = 4; n <= 12; n += 2)
      add(
          4, "a=" + num(a) + ",n=" + std::to_string(n), [a, n](double x) { return pow(x, n) - a; },
          0, 5);
  for (int n = 8; n <= 14; n += 2)
    add(
        4, "a=1,n=" + std::to_string(n) + ",[-0.95,4.05]", [n](double x) { return pow(x, n) - 1; },
        -0.95, 4.05);

  add(
      5, "", [](double x) { return sin(x) - 0.5; }, 0, 1.5);

  for (int n : {1, 2, 3, 4, 5, 20, 40, 60, 80, 100})
    add(
        6, "n=" + std::to_string(n),
        [n](double x) { return 2 * x * exp(-n) - 2 * exp(-n * x) + 1; }, 0, 1);

  for (int n : {5, 10, 20})
    add(
        7, "n=" + std::to_string(n),
        [n](double x) {
          const double c = 1 - n;
          const double d = 1 - n * x;
          return (1 + c * c) * x - d * d;
        },
        0, 1);

  for (int n : {2, 5, 10, 15, 20})
    add(
        8, "n=" + std::to_string(n), [n](double x) { return x * x - pow(1 - x, n); }, 0, 1);

  for (int n : {1, 2, 4, 5, 8, 15, 20})
    add(
        9, "n=" + std::to_string(n),
        [n](double x) {
          const double c = 1 - n;
          const double d = 1 - n * x;
          return (1 + c * c * c * c) * x - d * d * d * d;
        },
        0, 1);

  for (int n : {1, 5, 10, 15, 20})
    add(
        10, "n=" + std::to_string(n), [n](double x) { return exp(-n * x) * (x - 1) + pow(x, n); },
        0, 1);

  for (int n : {2, 5, 15, 20})
    add(
        11, "n=" + std::to_string(n), [n](double x) { return (n * x - 1) / ((n - 1) * x); }, 0.01,
        1);

  std::vector<int> twelve = {2, 3, 4, 5, 6};
  for (int n = 7; n <= 33; n += 2) twelve.push_back(n);
  for (int n : twelve)
    add(
        12, "n=" + std::to_string(n),
        [n](double x) { return pow(x, 1.0 / n) - pow(double(n), 1.0 / n); }, 1, 100);

  add(
      13, "", [](double x) { return x == 0 ? 0.0 : x * exp(-1 / (x * x)); }, -1, 4);

  for (int n = 1; n <= 40; ++n)
    add(
        14, "n=" + std::to_string(n),
        [n](double x) { return x >= 0 ? n / 20.0 * (x / 1.5 + sin(x) - 1) : -n / 20.0; }, -1e4,
        pi / 2);

  std::vector<int> fifteen;
  for (int n = 20; n <= 40; ++n) fifteen.push_back(n);
  for (int n = 100; n <= 1000; n += 100) fifteen.push_back(n);
  for (int n : fifteen)
    add(
        15, "n=" + std::to_string(n),
        [n](double x) {
          const double d = 2e-3 / (n + 1);
          if (x > d) return exp(1.0) - 1.859;
          if (x >= 0) return exp((n + 1) * x / 2 * 1000) - 1.859;
          return -0.859;
        },
        -1e4, 1e-4);

  return p;
}

}  // namespace implicit
