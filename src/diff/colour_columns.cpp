// The column colouring behind diff/sparse_jacobian.hpp, by ColPack:
// columns of the same colour share no row, so one forward-mode direction
// per colour gives every Jacobian entry.

#include <ColPack/ColPackHeaders.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "implicit/diff/sparse_jacobian.hpp"

namespace implicit {

std::vector<int> colour_columns(const SparsityPattern& pattern) {
  const Eigen::Index rows = pattern.rows(), cols = pattern.cols();
  if (cols == 0) return {};
  // ColPack's "ADOL-C" input: per row, [count, column indices...].
  std::vector<std::vector<unsigned int>> row_columns(static_cast<size_t>(rows));
  for (Eigen::Index j = 0; j < pattern.outerSize(); ++j)
    for (SparsityPattern::InnerIterator it(pattern, j); it; ++it)
      row_columns[static_cast<size_t>(it.row())].push_back(static_cast<unsigned int>(it.col()));
  std::vector<std::vector<unsigned int>> storage(static_cast<size_t>(rows));
  std::vector<unsigned int*> uip(static_cast<size_t>(rows));
  for (size_t i = 0; i < storage.size(); ++i) {
    storage[i].push_back(static_cast<unsigned int>(row_columns[i].size()));
    storage[i].insert(storage[i].end(), row_columns[i].begin(), row_columns[i].end());
    uip[i] = storage[i].data();
  }
  // ColPack's serial greedy colouring, under two vertex orders, keeping the
  // one with fewer colours (the first on a tie). Its default entry point
  // (PartialDistanceTwoColoring) colours in parallel with OpenMP and is not
  // deterministic: the same 2-D Bratu pattern came out in 7, 9 or 11
  // colours from run to run on this 2-core machine (11 take two passes of
  // SparseJacobian's 8 directions where 7 take one), the Brusselator's at
  // N = 512 in 12 or 13. Serial, incidence-degree order gives the 5-point
  // stencil's optimum, 5 colours, and natural order keeps the Brusselator
  // at 11-12 where incidence degree takes 13 at N = 64 (and natural 13 at
  // N = 7); both together cost about 2 s at 524,288 unknowns, against
  // 1.5-1.9 s for the parallel smallest-last colouring.
  std::vector<int> colours;
  int fewest = 0;
  for (int order = 0; order < 2; ++order) {
    ColPack::BipartiteGraphPartialColoringInterface graph(
        SRC_MEM_ADOLC, uip.data(), static_cast<int>(rows), static_cast<int>(cols));
    if (order == 0)
      graph.ColumnIncidenceDegreeOrdering();
    else
      graph.ColumnNaturalOrdering();
    graph.PartialDistanceTwoColumnColoring_serial();
    std::vector<int> candidate;
    graph.GetRightVertexColors(candidate);
    if (static_cast<Eigen::Index>(candidate.size()) != cols)
      throw std::runtime_error("colour_columns: ColPack returned " +
                               std::to_string(candidate.size()) + " colours for " +
                               std::to_string(cols) + " columns");
    const int count = 1 + *std::max_element(candidate.begin(), candidate.end());
    if (order == 0 || count < fewest) {
      colours = std::move(candidate);
      fewest = count;
    }
  }
  // Columns no row touches get no colour from ColPack (-1 or 0): give them
  // colour 0, harmless since they have no entries.
  for (int& c : colours)
    if (c < 0) c = 0;
  return colours;
}

}  // namespace implicit
