// The translation unit bench/compile_cost.sh compiles twice, with the
// headers alone and with implicit::precompiled's extern declarations: a
// user's map, one forward solve and one fixed_point_vjp (issue: "one
// fixed_point_vjp instantiation 19 s and 571 MB"). It is also a program:
// it runs and exits 0 when the gradient was certified.
#include "implicit.hpp"
struct Layer {
  template <class T>
  implicit::VectorX<T> operator()(const implicit::VectorX<T>& theta, const implicit::VectorX<T>& z) const {
    implicit::VectorX<T> out(z.size());
    for (Eigen::Index i = 0; i < z.size(); ++i) out[i] = tanh(theta[i] * z[(i + 1) % z.size()] + theta[z.size() + i]);
    return out;
  }
};
int main() {
  Layer layer;
  Eigen::VectorXd theta = Eigen::VectorXd::Constant(6, 0.3);
  auto solve = implicit::solve_fixed_point(implicit::bind_theta(layer, theta), Eigen::VectorXd::Zero(3),
                                           implicit::Anderson(), implicit::FixedPointOptions{});
  auto grad = implicit::fixed_point_vjp(layer, theta, solve.x, Eigen::VectorXd::Ones(3));
  return grad.ok() ? 0 : 1;
}
