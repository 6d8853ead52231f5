#pragma once
// The vector and matrix types of the dense (Eigen) API, in one place: a
// header that only names them includes this, not the AD machinery.

#include <Eigen/Core>

namespace implicit {

template <class T>
using VectorX = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <class T>
using MatrixX = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

}  // namespace implicit
