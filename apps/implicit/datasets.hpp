#pragma once
// Real datasets for the demos, read straight from the gzip files that
// scripts/fetch-data.sh puts in the data folder (no Python at run time), and
// a gnuplot-drawn Q-Q plot (plot.hpp) to show how well a fitted model
// matches them.

#include <string>
#include <vector>

namespace implicit::apps {

// The UCI/scikit-learn 8x8 handwritten digits: 1797 images.
struct Digits {
  int rows = 0;
  int features = 64;
  std::vector<float> pixels;  // row-major rows x features, raw intensities 0..16
  std::vector<int> labels;    // 0..9, one per row
};

// Reads digits.csv.gz: one image per line, 64 comma-separated pixel values
// then the label. Throws std::runtime_error naming the path (and the line,
// when the problem is in one) on a missing or corrupt file, a bad number, a
// value out of range or a wrong column count.
Digits load_digits(const std::string& path);

// Reads diabetes_target.csv.gz: one number per line (442 in the real file,
// the disease progression one year after baseline). Errors as load_digits.
std::vector<double> load_diabetes_target(const std::string& path);

// Where the data files live: $IMPLICIT_DATA_DIR when set and non-empty, else
// the folder fixed at build time (<source>/.cache/data).
std::string default_data_dir();

// Draws, with gnuplot, model quantiles before and after training (y) against
// the observed quantiles (x), with the diagonal y = x, into png_path (a .png
// or, by its extension, an .svg). The three vectors must be sorted, of equal
// non-zero length and finite. Returns false and, when error is not null, sets
// *error (e.g. gnuplot missing or failing) rather than throwing: a plot is a
// by-product a demo can do without.
bool write_quantile_plot(const std::string& png_path, const std::vector<double>& observed_sorted,
                         const std::vector<double>& fitted_before_sorted,
                         const std::vector<double>& fitted_after_sorted, std::string* error);

}  // namespace implicit::apps
