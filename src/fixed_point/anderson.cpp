// Anderson's per-sample weight solve for Eigen vectors, compiled once into
// implicit::precompiled (see src/adjoint/adjoint_solve.cpp for why).

#include "implicit/fixed_point/anderson.hpp"

namespace implicit {

template void Anderson::solve_weights<Eigen::VectorXd>(Anderson::State<Eigen::VectorXd>&, int, int,
                                                       Eigen::Index) const;
template void Anderson::solve_weights<Eigen::VectorXf>(Anderson::State<Eigen::VectorXf>&, int, int,
                                                       Eigen::Index) const;

}  // namespace implicit
