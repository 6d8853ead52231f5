#pragma once
// The nonzero pattern of dg/dx found from g itself (one evaluation of g on
// SparsityTracer scalars, diff/sparsity_tracer.hpp), and the automatic rule
// that decides when a solve uses it: the default solve_root and root_vjp /
// root_jvp at n >= SparsityDetection::min_size take the sparse path (column
// colouring + sparse LU) when every row of dg/dx has few enough nonzeros,
// so that a user who writes g once, templated, never meets an n x n matrix
// at 10^5 unknowns.
//
// Cost, measured (bench/sparse_bench, Brusselator): a traced evaluation of
// g costs what a few dozen plain ones do (set unions per operation), far
// below one sparse factorisation; for a dense g the bound on the sets stops
// the trace after about bound^2 operations per row.

#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/diff/sparsity_tracer.hpp"
#include "implicit/types.hpp"

namespace implicit {

// When the automatic choice traces g for a sparse Jacobian.
struct SparsityDetection {
  // Trace g when n >= min_size (0: never). Measured on the 2-D Brusselator
  // (bench/sparse_bench --crossover, default solve / root_vjp, traced sparse
  // against dense): n = 128 3.5x / 1.1x faster, 288 7.5x / 4.1x, 512 15x /
  // 8x, 968 32x / 24x. Below min_size the dense methods are cheap.
  Eigen::Index min_size = 250;
  // With a traced pattern the polyalgorithm runs the two Newtons (sparse LU)
  // first; if both fail and n <= dense_fallback_max_size (a dense Jacobian
  // of at most 32 MB), its dense methods (dogleg, Levenberg-Marquardt,
  // Broyden) follow, so tracing never costs robustness there.
  Eigen::Index dense_fallback_max_size = 2000;
  // The pattern is used when every row of dg/dx has at most
  // max(16, max_density * n) nonzeros; else the Jacobian counts as dense.
  double max_density = 0.05;

  std::size_t row_bound(Eigen::Index n) const {
    return static_cast<std::size_t>(
        std::max(16.0, std::ceil(max_density * static_cast<double>(n))));
  }

  void validate(const std::string& owner) const {
    if (min_size < 0)
      throw std::invalid_argument(owner + "::min_size must be >= 0, got " +
                                  std::to_string(min_size));
    if (dense_fallback_max_size < 0)
      throw std::invalid_argument(owner + "::dense_fallback_max_size must be >= 0, got " +
                                  std::to_string(dense_fallback_max_size));
    if (!(max_density > 0 && max_density <= 1))
      throw std::invalid_argument(owner + "::max_density must be in (0, 1], got " +
                                  std::to_string(max_density));
  }
};

namespace internal {
// g can be traced: it takes and returns vectors of SparsityTracer (g
// templated on the scalar).
template <class G, class = void>
struct is_traceable : std::false_type {};
template <class G>
struct is_traceable<G,
                    std::enable_if_t<std::is_invocable_v<const G&, const VectorX<SparsityTracer>&>>>
    : std::is_same<std::decay_t<std::invoke_result_t<const G&, const VectorX<SparsityTracer>&>>,
                   VectorX<SparsityTracer>> {};
}  // namespace internal

// The pattern of dg/dx at x (rows: g's outputs, columns: x), from one
// evaluation of g on tracers; std::nullopt when some output depends on more
// than `row_bound` inputs (0: no bound). g must be templated on the scalar.
// What the pattern covers (g's branches as taken at x) is said in
// diff/sparsity_tracer.hpp.
template <class G, class Derived>
std::optional<SparsityPattern> trace_sparsity(const G& g, const Eigen::MatrixBase<Derived>& x,
                                              std::size_t row_bound = 0) {
  static_assert(internal::is_traceable<G>::value,
                "trace_sparsity: g must be callable on implicit::VectorX<SparsityTracer> "
                "(templated on the scalar type) and return a vector of the same type");
  const Eigen::Index n = x.size();
  VectorX<SparsityTracer> traced(n);
  for (Eigen::Index j = 0; j < n; ++j)
    traced[j] =
        SparsityTracer::input(static_cast<double>(internal::value(x[j])), static_cast<int>(j));
  VectorX<SparsityTracer> out;
  {
    internal::TracerBound bound(row_bound);
    try {
      out = g(traced);
    } catch (const internal::TracerBoundExceeded&) {
      return std::nullopt;
    }
  }
  std::vector<Eigen::Triplet<double>> entries;
  std::size_t count = 0;
  for (Eigen::Index i = 0; i < out.size(); ++i) count += out[i].inputs().size();
  entries.reserve(count);
  for (Eigen::Index i = 0; i < out.size(); ++i)
    for (int j : out[i].inputs()) entries.emplace_back(static_cast<int>(i), j, 1.0);
  SparsityPattern pattern(out.size(), n);
  pattern.setFromTriplets(entries.begin(), entries.end());
  pattern.makeCompressed();
  return pattern;
}

namespace internal {
// The automatic choice for a square system at x: the pattern when the rule
// says sparse, else an empty matrix (dense Jacobians). Only for a g that is
// templated and has no hand-written jacobian(x), and only where the sparse
// path exists (IMPLICIT_SPARSE: implicit::precompiled with ColPack). `note`
// gets one sentence saying what was decided (empty when nothing was traced).
template <class G, class T>
SparsityPattern automatic_sparsity(const G& g, const VectorX<T>& x, const SparsityDetection& rule,
                                   std::string& note) {
  note.clear();
  const Eigen::Index n = x.size();
#ifdef IMPLICIT_SPARSE
  if constexpr (is_traceable<G>::value && !has_jacobian<G, VectorX<T>>::value) {
    if (rule.min_size == 0 || n < rule.min_size) return {};
    const std::size_t bound = rule.row_bound(n);
    std::optional<SparsityPattern> pattern = trace_sparsity(g, x, bound);
    char buf[200];
    if (!pattern) {
      std::snprintf(buf, sizeof buf,
                    "dense Jacobian: g traced at n = %ld has a row with more than %zu nonzeros "
                    "(SparsityDetection::max_density)",
                    static_cast<long>(n), bound);
      note = buf;
      return {};
    }
    if (pattern->rows() != n) return {};  // the caller's size check names the error
    std::snprintf(buf, sizeof buf,
                  "sparse Jacobian: pattern traced from g at n = %ld, %ld nonzeros (%.1f per row)",
                  static_cast<long>(n), static_cast<long>(pattern->nonZeros()),
                  static_cast<double>(pattern->nonZeros()) / static_cast<double>(n));
    note = buf;
    return std::move(*pattern);
  } else {
    (void)g, (void)rule, (void)n;
    return {};
  }
#else
  (void)g, (void)rule, (void)n;
  return {};
#endif
}
}  // namespace internal

}  // namespace implicit
