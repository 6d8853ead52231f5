// The certified linear-solve chain of every implicit derivative, compiled
// once for double and float. Programs that link implicit::precompiled get
// IMPLICIT_PRECOMPILED, under which adjoint/adjoint_solve.hpp declares these
// instantiations extern, so no translation unit of theirs compiles the
// chain again (measured in bench/README.md "Compile cost").

#include "implicit/adjoint/adjoint_solve.hpp"

namespace implicit::internal {

template ChainSolveResult<double> solve_linear_system_erased<double>(
    const LinearOperator<double>&, const DenseOperator<double>&, const LinearOperator<double>*,
    const VectorX<double>&, const AdjointOptions&, const InverseOperators<VectorX<double>>*,
    const SparseOperator<double>*, const LinearOperator<double>*);
template ChainSolveResult<float> solve_linear_system_erased<float>(
    const LinearOperator<float>&, const DenseOperator<float>&, const LinearOperator<float>*,
    const VectorX<float>&, const AdjointOptions&, const InverseOperators<VectorX<float>>*,
    const SparseOperator<float>*, const LinearOperator<float>*);

}  // namespace implicit::internal
