// Must NOT compile: bind_theta keeps theta by reference, so binding a
// temporary theta would dangle once the statement ends. The ctest
// compile_fail.bind_theta_temporary expects "use of deleted function".
#include "implicit.hpp"

struct Layer {
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
                                  const implicit::VectorX<T>& z) const {
    return (theta.head(z.size()) + z).eval();
  }
};

Eigen::VectorXd make_theta() { return Eigen::VectorXd::Ones(3); }

int main() {
  auto f = implicit::bind_theta(Layer{}, make_theta());
  return static_cast<int>(f(Eigen::VectorXd(Eigen::VectorXd::Zero(3)))[0]);
}
