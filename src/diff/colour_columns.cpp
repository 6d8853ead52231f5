// The column colouring behind diff/sparse_jacobian.hpp, by ColPack:
// columns of the same colour share no row, so one forward-mode direction
// per colour gives every Jacobian entry.

#include <ColPack/ColPackHeaders.h>

#include <stdexcept>
#include <string>
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
  ColPack::BipartiteGraphPartialColoringInterface graph(
      SRC_MEM_ADOLC, uip.data(), static_cast<int>(rows), static_cast<int>(cols));
  graph.PartialDistanceTwoColoring("SMALLEST_LAST", "COLUMN_PARTIAL_DISTANCE_TWO");
  std::vector<int> colours;
  graph.GetRightVertexColors(colours);
  if (static_cast<Eigen::Index>(colours.size()) != cols)
    throw std::runtime_error("colour_columns: ColPack returned " + std::to_string(colours.size()) +
                             " colours for " + std::to_string(cols) + " columns");
  // Columns no row touches get no colour from ColPack (-1 or 0): give them
  // colour 0, harmless since they have no entries.
  for (int& c : colours)
    if (c < 0) c = 0;
  return colours;
}

}  // namespace implicit
