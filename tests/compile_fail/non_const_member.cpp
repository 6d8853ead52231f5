// Must NOT compile: vjp_theta lacks `const`, so the library could not call
// it and would silently fall back to automatic derivatives. The ctest
// compile_fail.non_const_member expects "is it missing `const`".
#include "implicit.hpp"

struct Layer {
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta,
                                  const implicit::VectorX<T>& z) const {
    return (theta.head(z.size()) + T(0.5) * z).eval();
  }
  template <class T>
  implicit::VectorX<T> vjp_theta(const implicit::VectorX<T>&, const implicit::VectorX<T>&,
                                 const implicit::VectorX<T>& u) {  // not const
    return u;
  }
};

int main() {
  const Eigen::VectorXd theta = Eigen::VectorXd::Ones(2), z = Eigen::VectorXd::Ones(2);
  auto g = implicit::fixed_point_vjp(Layer{}, theta, z, Eigen::VectorXd::Ones(2));
  return g.ok() ? 0 : 1;
}
