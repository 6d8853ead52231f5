#pragma once
// Sparse Jacobians of g: R^n -> R^m whose nonzero pattern is known, without
// hand-written derivatives: the columns are grouped so that no two columns
// of a group share a row (a distance-1 colouring of the column intersection
// graph, by ColPack), and forward-mode AD seeds one direction per group,
// kJacobianChunk groups per dual pass of g. A group's directional
// derivative holds, in row i, the entry of the one column of that group
// which row i touches, so the compressed n x c product decompresses straight
// into an Eigen::SparseMatrix. Never an m x n dense matrix.
//
// Cost: ceil(c / 8) dual passes of g, c the number of colours: for a
// stencil it is independent of n (a 5-point stencil on a periodic grid with
// two species: c <= 10, i.e. 2 passes at any size).
//
// A wrong pattern is found where it can be: an entry of g's derivative in a
// group no column of that row belongs to is a dependence outside the
// pattern, and evaluate() throws std::invalid_argument naming the row (an
// entry that lands in a group the row already uses cannot be told apart:
// the pattern is the caller's promise there).

#include <Eigen/SparseCore>
#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "implicit/diff/autodiff.hpp"
#include "implicit/types.hpp"

namespace implicit {

// One colour per column (0, 1, ..., c - 1) such that two columns sharing a
// row never share a colour: ColPack's partial distance-2 colouring of the
// bipartite row/column graph, serial (deterministic), the fewer colours of
// incidence-degree and natural orders. Compiled
// (src/diff/colour_columns.cpp), in implicit::precompiled.
std::vector<int> colour_columns(const SparsityPattern& pattern);

template <class T>
class SparseJacobian {
 public:
  // Colours the pattern once; evaluate() then costs ceil(colours / 8) passes.
  explicit SparseJacobian(const SparsityPattern& pattern)
      : colour_(colour_columns(pattern)), jacobian_(pattern.rows(), pattern.cols()) {
    colours_ = colour_.empty() ? 0 : *std::max_element(colour_.begin(), colour_.end()) + 1;
    std::vector<Eigen::Triplet<T>> entries;
    entries.reserve(static_cast<size_t>(pattern.nonZeros()));
    for (Eigen::Index j = 0; j < pattern.outerSize(); ++j)
      for (SparsityPattern::InnerIterator it(pattern, j); it; ++it)
        entries.emplace_back(static_cast<int>(it.row()), static_cast<int>(it.col()), T(0));
    jacobian_.setFromTriplets(entries.begin(), entries.end());
    jacobian_.makeCompressed();
    // Per row, the colours its pattern columns use (to find entries of g's
    // derivative outside the pattern).
    row_colours_.assign(static_cast<size_t>(pattern.rows()), {});
    for (Eigen::Index j = 0; j < jacobian_.outerSize(); ++j)
      for (typename Eigen::SparseMatrix<T>::InnerIterator it(jacobian_, j); it; ++it)
        row_colours_[static_cast<size_t>(it.row())].push_back(colour_[static_cast<size_t>(j)]);
    for (auto& c : row_colours_) std::sort(c.begin(), c.end());
  }

  int colours() const { return colours_; }
  Eigen::Index rows() const { return jacobian_.rows(); }
  Eigen::Index cols() const { return jacobian_.cols(); }

  // dg/dx at x, in the pattern's structure (the same matrix object, its
  // values overwritten: a sparse factorisation's symbolic analysis stays
  // valid from one call to the next).
  template <class G>
  const Eigen::SparseMatrix<T>& evaluate(const G& g, const VectorX<T>& x) {
    constexpr int kChunk = internal::kJacobianChunk;
    using D = Dual<T, kChunk>;
    using Tangent = Eigen::Matrix<T, kChunk, 1>;
    const Eigen::Index n = x.size();
    if (n != cols())
      throw std::invalid_argument("sparse Jacobian: the sparsity pattern has " +
                                  std::to_string(cols()) + " columns, x has size " +
                                  std::to_string(n));
    VectorX<D> xd(n);
    for (Eigen::Index i = 0; i < n; ++i) xd[i] = D(x[i], Tangent::Zero());
    for (int start = 0; start < std::max(colours_, 1); start += kChunk) {
      const int width = std::min(kChunk, colours_ - start);
      for (Eigen::Index j = 0; j < n; ++j) {
        const int c = colour_[static_cast<size_t>(j)] - start;
        if (c >= 0 && c < width) xd[j].derivatives()[c] = T(1);
      }
      const VectorX<D> yd = g(xd);
      if (yd.size() != rows())
        throw std::invalid_argument("sparse Jacobian: g returned size " +
                                    std::to_string(yd.size()) + " for dual numbers, the pattern has " +
                                    std::to_string(rows()) + " rows");
      check_outside_pattern(yd, start, width);
      for (Eigen::Index j = 0; j < n; ++j) {
        const int c = colour_[static_cast<size_t>(j)] - start;
        if (c < 0 || c >= width) continue;
        for (typename Eigen::SparseMatrix<T>::InnerIterator it(jacobian_, j); it; ++it) {
          const auto& d = yd[it.row()].derivatives();
          it.valueRef() = d.size() ? d[c] : T(0);
        }
        xd[j].derivatives()[c] = T(0);
      }
    }
    if (!checked_) check_against_a_product(g, x);
    return jacobian_;
  }

  const Eigen::SparseMatrix<T>& matrix() const { return jacobian_; }

 private:
  // Once per SparseJacobian: J v from the compressed J against one dual
  // pass of g along a fixed pseudo-random v. A dependence of g outside the
  // pattern that the colouring folded into an entry of the pattern (so
  // check_outside_pattern cannot see it) makes them differ, for every v
  // but a set of measure zero. Cost: one single-direction dual pass.
  template <class G>
  void check_against_a_product(const G& g, const VectorX<T>& x) {
    checked_ = true;
    VectorX<T> v(x.size());
    for (Eigen::Index j = 0; j < v.size(); ++j)  // in [0.5, 1.5), no two alike
      v[j] = T(0.5 + std::fmod(0.6180339887498949 * static_cast<double>(j + 1), 1.0));
    const VectorX<T> exact = jvp(g, x, v);
    const VectorX<T> compressed = jacobian_ * v;
    double scale = 0;
    for (Eigen::Index k = 0; k < jacobian_.nonZeros(); ++k)
      scale = std::fmax(scale, std::fabs(static_cast<double>(jacobian_.valuePtr()[k])));
    const double eps = static_cast<double>(Eigen::NumTraits<T>::epsilon());
    for (Eigen::Index i = 0; i < exact.size(); ++i) {
      const double difference = std::fabs(static_cast<double>(exact[i] - compressed[i]));
      // Rounding of a row sum of a few entries of size <= scale times 1.5:
      // far below 192 eps scale; a missing entry is of the size of an entry.
      if (difference > 192 * eps * (scale + 1))
        throw std::invalid_argument(
            "sparse Jacobian: row " + std::to_string(i) +
            " of g depends on an x_j outside the given sparsity pattern (J v from the pattern "
            "differs from g's own directional derivative by " + std::to_string(difference) + ")");
    }
  }

  template <class Duals>
  void check_outside_pattern(const Duals& yd, int start, int width) const {
    for (Eigen::Index i = 0; i < yd.size(); ++i) {
      const auto& d = yd[i].derivatives();
      if (!d.size()) continue;
      const auto& used = row_colours_[static_cast<size_t>(i)];
      for (int c = 0; c < width; ++c) {
        if (d[c] == T(0) || std::isnan(internal::value(d[c]))) continue;
        if (!std::binary_search(used.begin(), used.end(), start + c))
          throw std::invalid_argument(
              "sparse Jacobian: g's row " + std::to_string(i) +
              " depends on an x_j outside the given sparsity pattern (a column of colour " +
              std::to_string(start + c) + ", none of which is in that row's pattern)");
      }
    }
  }

  std::vector<int> colour_;
  int colours_ = 0;
  Eigen::SparseMatrix<T> jacobian_;
  std::vector<std::vector<int>> row_colours_;
  bool checked_ = false;
};

}  // namespace implicit
