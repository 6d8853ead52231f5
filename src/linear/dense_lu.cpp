// The dense LU with its condition check for one right-hand side, compiled
// once into implicit::precompiled (see src/adjoint/adjoint_solve.cpp for why).

#include "implicit/linear/dense_lu.hpp"

namespace implicit {

template LinearSolveResult<Eigen::VectorXd> solve_dense_lu<double, Eigen::VectorXd>(
    const Eigen::MatrixXd&, const Eigen::VectorXd&, double);
template LinearSolveResult<Eigen::VectorXf> solve_dense_lu<float, Eigen::VectorXf>(
    const Eigen::MatrixXf&, const Eigen::VectorXf&, double);

}  // namespace implicit
