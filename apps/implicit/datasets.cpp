#include "datasets.hpp"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string_view>

#include "plot.hpp"

// The build points this at <source>/.cache/data; the fallback keeps a
// standalone compile working from the repository root.
#ifndef IMPLICIT_DEFAULT_DATA_DIR
#define IMPLICIT_DEFAULT_DATA_DIR ".cache/data"
#endif

namespace implicit::apps {
namespace {

// Line-by-line reader of a gzip file (plain text is read as is, zlib detects
// it), which keeps count of lines so that every error can point at one.
class GzLines {
 public:
  explicit GzLines(const std::string& path) : path_(path) {
    errno = 0;
    file_ = gzopen(path.c_str(), "rb");
    if (file_ == nullptr) {
      // zlib leaves errno at 0 when its own allocation failed.
      throw std::runtime_error("cannot open " + path + ": " +
                               (errno != 0 ? std::strerror(errno) : "out of memory"));
    }
  }
  ~GzLines() { gzclose(file_); }
  GzLines(const GzLines&) = delete;
  GzLines& operator=(const GzLines&) = delete;

  // The next line without its line ending; false at the end of the file.
  bool next(std::string& line) {
    line.clear();
    char chunk[4096];
    // gzgets stops at the buffer size, so a long line arrives in pieces.
    while (line.empty() || line.back() != '\n') {
      if (gzgets(file_, chunk, sizeof chunk) == nullptr) {
        throw_if_corrupt();
        if (line.empty()) return false;
        break;  // last line without a newline
      }
      line += chunk;
    }
    ++line_number_;
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    return true;
  }

  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(path_ + ", line " + std::to_string(line_number_) + ": " + what);
  }

 private:
  // gzgets returns null both at a clean end and on damaged data (bad CRC,
  // truncated stream); only gzerror tells them apart.
  void throw_if_corrupt() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_OK || code == Z_STREAM_END) return;
    std::string detail = code == Z_ERRNO ? std::strerror(errno) : message;
    throw std::runtime_error(path_ + ", line " + std::to_string(line_number_ + 1) +
                             ": cannot read gzip data: " + detail);
  }

  std::string path_;
  gzFile file_ = nullptr;
  int line_number_ = 0;
};

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  auto first = s.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// Locale-independent, whole-field parse: "12abc" or "" is an error, not 12/0.
bool parse_double(std::string_view field, double& out) {
  field = trim(field);
  if (field.empty()) return false;
  const char* end = field.data() + field.size();
  auto [stop, ec] = std::from_chars(field.data(), end, out);
  return ec == std::errc() && stop == end && std::isfinite(out);
}

void split(std::string_view line, char separator, std::vector<std::string_view>& fields) {
  fields.clear();
  for (;;) {
    auto at = line.find(separator);
    fields.push_back(line.substr(0, at));
    if (at == std::string_view::npos) return;
    line.remove_prefix(at + 1);
  }
}

std::string quoted(std::string_view field) { return "'" + std::string(field) + "'"; }

}  // namespace

Digits load_digits(const std::string& path) {
  constexpr int kPixels = 64;
  constexpr int kMaxIntensity = 16;  // the 32x32 bitmaps were pooled in 4x4 blocks
  Digits digits;
  digits.features = kPixels;
  GzLines in(path);
  std::string line;
  std::vector<std::string_view> fields;
  while (in.next(line)) {
    if (trim(line).empty()) continue;
    split(line, ',', fields);
    if (fields.size() != kPixels + 1) {
      in.fail("expected 65 comma-separated values (64 pixels then the label), got " +
              std::to_string(fields.size()));
    }
    for (int j = 0; j < kPixels; ++j) {
      double v = 0;
      if (!parse_double(fields[j], v)) {
        in.fail("bad number " + quoted(fields[j]) + " in column " + std::to_string(j + 1));
      }
      if (v < 0 || v > kMaxIntensity) {
        in.fail("pixel " + quoted(fields[j]) + " in column " + std::to_string(j + 1) +
                " is outside 0..16");
      }
      digits.pixels.push_back(static_cast<float>(v));
    }
    // Parsed as a double because other exports of this file write "3.0".
    double label = 0;
    if (!parse_double(fields[kPixels], label)) {
      in.fail("bad number " + quoted(fields[kPixels]) + " in column 65 (the label)");
    }
    if (label < 0 || label > 9 || label != std::floor(label)) {
      in.fail("label " + quoted(fields[kPixels]) + " is not a digit 0..9");
    }
    digits.labels.push_back(static_cast<int>(label));
    ++digits.rows;
  }
  if (digits.rows == 0) throw std::runtime_error(path + ": no data rows");
  return digits;
}

std::vector<double> load_diabetes_target(const std::string& path) {
  std::vector<double> values;
  GzLines in(path);
  std::string line;
  while (in.next(line)) {
    std::string_view field = trim(line);
    if (field.empty()) continue;
    if (field.find_first_of(" \t,") != std::string_view::npos) {
      in.fail("expected one number per line, got " + quoted(field));
    }
    double v = 0;
    if (!parse_double(field, v)) in.fail("bad number " + quoted(field));
    values.push_back(v);
  }
  if (values.empty()) throw std::runtime_error(path + ": no values");
  return values;
}

std::string default_data_dir() {
  const char* from_env = std::getenv("IMPLICIT_DATA_DIR");
  if (from_env != nullptr && *from_env != '\0') return from_env;
  return IMPLICIT_DEFAULT_DATA_DIR;
}

bool write_quantile_plot(const std::string& png_path, const std::vector<double>& observed_sorted,
                         const std::vector<double>& fitted_before_sorted,
                         const std::vector<double>& fitted_after_sorted, std::string* error) {
  const std::size_t n = observed_sorted.size();
  auto fail = [error](const std::string& message) {
    if (error != nullptr) *error = message;
    return false;
  };
  if (n == 0 || fitted_before_sorted.size() != n || fitted_after_sorted.size() != n) {
    return fail("quantile plot: need three non-empty series of equal length, got " +
                std::to_string(n) + ", " + std::to_string(fitted_before_sorted.size()) + " and " +
                std::to_string(fitted_after_sorted.size()));
  }
  double lo = observed_sorted.front();
  double hi = lo;
  for (const auto* series : {&observed_sorted, &fitted_before_sorted, &fitted_after_sorted}) {
    // Pairing the i-th values is only a Q-Q plot when all three are sorted.
    if (!std::is_sorted(series->begin(), series->end()))
      return fail("quantile plot: a series is not sorted ascending");
    for (double v : *series) {
      if (!std::isfinite(v)) return fail("quantile plot: non-finite value");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  // Equal axis ranges make the diagonal a true 45-degree line.
  const double pad = hi > lo ? 0.03 * (hi - lo) : 1.0;
  lo -= pad;
  hi += pad;

  LinePlot plot;
  plot.title = "Q-Q plot: model quantiles against observed quantiles";
  plot.xlabel = "observed quantile";
  plot.ylabel = "model quantile";
  plot.square = true;
  plot.x_min = plot.y_min = lo;
  plot.x_max = plot.y_max = hi;
  plot.width = plot.height = 800;
  plot.series = {{"y = x", {lo, hi}, {lo, hi}, true},
                 {"before training", observed_sorted, fitted_before_sorted, false},
                 {"after training", observed_sorted, fitted_after_sorted, false}};
  return write_line_plot(png_path, plot, error);
}

}  // namespace implicit::apps
