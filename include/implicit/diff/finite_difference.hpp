#pragma once
// Central finite differences: the independent check every derivative in
// this library is tested against.
//
// Error of one entry: truncation h^2 |f'''| / 6 plus round-off about
// eps |f| / h. With h = 1e-6 in double both are ~1e-10 to 1e-12 for the
// O(1) functions of the reference problems, which is where the tests' 1e-7
// tolerances come from (three orders of margin, no more).
//
// Cost: 2 evaluations of f per input coordinate.

#include <Eigen/Core>

#include "implicit/diff/autodiff.hpp"

namespace implicit {

// d loss / d x for loss: VectorX<T> -> T.
template <class Loss, class T>
VectorX<T> central_difference_gradient(const Loss& loss, const VectorX<T>& x, T step = T(1e-6)) {
  VectorX<T> grad(x.size());
  VectorX<T> probe = x;
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    probe[i] = x[i] + step;
    const T plus = loss(probe);
    probe[i] = x[i] - step;
    const T minus = loss(probe);
    probe[i] = x[i];
    grad[i] = (plus - minus) / (2 * step);
  }
  return grad;
}

// The m x n Jacobian of f: VectorX<T> -> VectorX<T>, column by column.
template <class F, class T>
MatrixX<T> central_difference_jacobian(const F& f, const VectorX<T>& x, T step = T(1e-6)) {
  MatrixX<T> jac;
  VectorX<T> probe = x;
  for (Eigen::Index j = 0; j < x.size(); ++j) {
    probe[j] = x[j] + step;
    const VectorX<T> plus = f(probe);
    probe[j] = x[j] - step;
    const VectorX<T> minus = f(probe);
    probe[j] = x[j];
    if (j == 0) jac.resize(plus.size(), x.size());
    jac.col(j) = (plus - minus) / (2 * step);
  }
  return jac;
}

}  // namespace implicit
