// Anderson's per-sample weight solve for Eigen vectors, compiled once (see
// linear_system.cpp in this folder for why).

#include "implicit/fixed_point/anderson.hpp"

namespace implicit {

template void Anderson::solve_weights<Eigen::VectorXd>(Anderson::State<Eigen::VectorXd>&, int, int,
                                                       Eigen::Index) const;
template void Anderson::solve_weights<Eigen::VectorXf>(Anderson::State<Eigen::VectorXf>&, int, int,
                                                       Eigen::Index) const;

}  // namespace implicit
