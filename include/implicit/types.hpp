#pragma once
// The vector and matrix types of the dense (Eigen) API, in one place: a
// header that only names them includes this, not the AD machinery.

#include <Eigen/Core>
#include <Eigen/SparseCore>

namespace implicit {

template <class T>
using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using MatrixX = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

// A nonzero pattern (of a Jacobian): the structure of this matrix, its
// values ignored.
using SparsityPattern = Eigen::SparseMatrix<double>;

}  // namespace implicit
