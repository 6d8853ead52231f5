#include "datasets.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <locale>
#include <sstream>
#include <stdexcept>
#include <string_view>

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

namespace {

// Removes the file when it goes out of scope, so no early return leaks it.
struct TempFile {
  std::string path;
  TempFile() = default;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path.empty()) std::remove(path.c_str());
  }
};

bool make_temp_file(const std::string& stem, TempFile& out, std::string& error) {
  const char* dir = std::getenv("TMPDIR");
  std::string name =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/implicit-" + stem + "-XXXXXX";
  // mkstemp rather than tmpnam: it creates the file, so no other process can
  // claim the name between choosing and opening it.
  std::vector<char> buffer(name.begin(), name.end());
  buffer.push_back('\0');
  int fd = mkstemp(buffer.data());
  if (fd < 0) {
    error = "cannot create a temporary file " + name + ": " + std::strerror(errno);
    return false;
  }
  close(fd);
  out.path = buffer.data();
  return true;
}

// popen hands the command to /bin/sh, so a PATH search done here lets a
// missing gnuplot be reported plainly instead of as a shell's exit code 127.
std::string find_program(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string_view dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  for (;;) {
    auto colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    dirs.remove_prefix(colon + 1);
  }
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// In gnuplot's single-quoted strings backslashes are literal and a quote is
// written twice, so any file name survives.
std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

bool has_png_signature(const std::string& path) {
  static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  std::ifstream in(path, std::ios::binary);
  unsigned char head[8] = {};
  in.read(reinterpret_cast<char*>(head), sizeof head);
  return in.gcount() == sizeof head && std::memcmp(head, kSignature, sizeof head) == 0;
}

bool fail_with(std::string* error, const std::string& message) {
  if (error != nullptr) *error = message;
  return false;
}

}  // namespace

bool write_quantile_plot(const std::string& png_path, const std::vector<double>& observed_sorted,
                         const std::vector<double>& fitted_before_sorted,
                         const std::vector<double>& fitted_after_sorted, std::string* error) {
  const std::size_t n = observed_sorted.size();
  if (png_path.empty()) return fail_with(error, "quantile plot: empty output path");
  if (n == 0 || fitted_before_sorted.size() != n || fitted_after_sorted.size() != n) {
    return fail_with(error, "quantile plot: need three non-empty series of equal length, got " +
                                std::to_string(n) + ", " +
                                std::to_string(fitted_before_sorted.size()) + " and " +
                                std::to_string(fitted_after_sorted.size()));
  }
  double lo = observed_sorted.front();
  double hi = lo;
  for (const auto* series : {&observed_sorted, &fitted_before_sorted, &fitted_after_sorted}) {
    // Pairing the i-th values is only a Q-Q plot when all three are sorted.
    if (!std::is_sorted(series->begin(), series->end())) {
      return fail_with(error, "quantile plot: a series is not sorted ascending");
    }
    for (double v : *series) {
      if (!std::isfinite(v)) return fail_with(error, "quantile plot: non-finite value");
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  // Equal axis ranges make the diagonal a true 45-degree line.
  double pad = hi > lo ? 0.03 * (hi - lo) : 1.0;
  lo -= pad;
  hi += pad;

  std::string gnuplot = find_program("gnuplot");
  if (gnuplot.empty()) return fail_with(error, "gnuplot not found: apt-get install gnuplot-nox");

  std::string message;
  TempFile data;
  TempFile script;
  if (!make_temp_file("qq-data", data, message) || !make_temp_file("qq-plot", script, message)) {
    return fail_with(error, message);
  }
  {
    std::ofstream out(data.path);
    out.imbue(std::locale::classic());  // gnuplot reads '.' as the decimal sign
    out.precision(17);
    out << "# observed before after\n";
    for (std::size_t i = 0; i < n; ++i) {
      out << observed_sorted[i] << ' ' << fitted_before_sorted[i] << ' ' << fitted_after_sorted[i]
          << '\n';
    }
    if (!out.flush()) return fail_with(error, "cannot write " + data.path);
  }
  {
    std::ostringstream range;
    range.imbue(std::locale::classic());
    range.precision(17);
    range << '[' << lo << ':' << hi << ']';
    std::ofstream out(script.path);
    // pngcairo draws antialiased lines; plain png (libgd) is the fallback for
    // gnuplot builds without cairo. noenhanced keeps titles literal.
    out << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
           "  set terminal pngcairo noenhanced size 800,800\n"
           "} else {\n"
           "  set terminal png noenhanced size 800,800\n"
           "}\n"
        << "set output " << gnuplot_quote(png_path) << "\n"
        << "set title 'Q-Q plot: model quantiles against observed quantiles'\n"
           "set xlabel 'observed quantile'\n"
           "set ylabel 'model quantile'\n"
           "set size square\n"
           "set grid\n"
           "set key top left\n"
        << "set xrange " << range.str() << "\n"
        << "set yrange " << range.str() << "\n"
        << "plot x with lines dashtype 2 linecolor rgb 'gray40' title 'y = x', \\\n"
        << "  " << gnuplot_quote(data.path)
        << " using 1:2 with linespoints pointtype 7 pointsize 0.5 title 'before training', \\\n"
           "  '' using 1:3 with linespoints pointtype 7 pointsize 0.5 title 'after training'\n"
           "unset output\n";
    if (!out.flush()) return fail_with(error, "cannot write " + script.path);
  }

  // A PNG left from an earlier run must not pass for this run's output.
  std::remove(png_path.c_str());
  std::string command = shell_quote(gnuplot) + " " + shell_quote(script.path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return fail_with(error, "cannot run gnuplot: " + std::string(std::strerror(errno)));
  std::string output;
  char chunk[512];
  while (std::fgets(chunk, sizeof chunk, pipe) != nullptr) {
    if (output.size() < 4000) output += chunk;  // enough to explain a failure
  }
  int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string how = status != -1 && WIFEXITED(status)
                          ? "exit code " + std::to_string(WEXITSTATUS(status))
                          : "abnormal termination";
    return fail_with(error, "gnuplot failed (" + how + ") writing " + png_path + ": " + output);
  }
  if (!has_png_signature(png_path)) {
    return fail_with(error, "gnuplot exited cleanly but " + png_path + " is missing or not a PNG" +
                                (output.empty() ? "" : ": " + output));
  }
  return true;
}

}  // namespace implicit::apps
