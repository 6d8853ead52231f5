// Must NOT compile, with a plain-language message: f is written for double
// only, and its automatic derivative needs it on dual numbers. The ctest
// compile_fail.not_templated_functor expects the static_assert's words.
#include "implicit.hpp"

struct DoubleOnly {
  Eigen::VectorXd operator()(const Eigen::VectorXd& theta, const Eigen::VectorXd& z) const {
    return (theta.head(z.size()) + 0.5 * z).eval();
  }
};

int main() {
  const Eigen::VectorXd theta = Eigen::VectorXd::Ones(2), z = Eigen::VectorXd::Ones(2);
  auto g = implicit::fixed_point_vjp(DoubleOnly{}, theta, z, Eigen::VectorXd::Ones(2));
  return g.ok() ? 0 : 1;
}
