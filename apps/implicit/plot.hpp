#pragma once
// Line plots drawn by gnuplot: the one place the program writes an image
// (the Q-Q plot of `implicit flow-1d`, the residual plot of `implicit deq
// --plot`). The output format follows the file's extension, .png or .svg.
//
// Inline in a header, not a compiled library, so that the commands still
// build from their own sources alone (scripts/fuzz.sh compiles cli.cpp and
// two commands, and links nothing else).

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <locale>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace implicit::apps {

// One curve: the points (x[i], y[i]) joined in order.
struct PlotSeries {
  std::string title;
  std::vector<double> x;
  std::vector<double> y;
  // false: a solid line with small points; true: a dashed grey line without
  // points, for a reference such as the diagonal y = x.
  bool reference = false;
};

struct LinePlot {
  std::string title;
  std::string xlabel;
  std::string ylabel;
  std::vector<PlotSeries> series;
  bool log_y = false;   // logarithmic y axis: every y must then be > 0
  bool square = false;  // square plot area (with equal ranges: a true 45-degree diagonal)
  // Axis ranges; min >= max leaves the axis to gnuplot's autoscaling.
  double x_min = 0, x_max = 0;
  double y_min = 0, y_max = 0;
  int width = 800;  // pixels (png) or points (svg)
  int height = 600;
};

namespace plot_detail {

inline bool plot_failed(std::string* error, const std::string& message) {
  if (error != nullptr) *error = message;
  return false;
}

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

inline bool make_temp_file(const std::string& stem, TempFile& out, std::string& error) {
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
inline std::string find_program(const std::string& name) {
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

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// In gnuplot's single-quoted strings backslashes are literal and a quote is
// written twice, so any file name or title survives.
inline std::string gnuplot_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// The lower-cased extension of path's file name ("" when it has none).
inline std::string extension_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  const auto dot = path.find_last_of('.');
  if (dot == std::string::npos || (slash != std::string::npos && dot < slash)) return "";
  std::string ext = path.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext;
}

// Whether path starts like a file of the format asked for: the PNG
// signature, or "<svg" within the first kilobyte (after the XML prologue).
inline bool looks_like(const std::string& path, const std::string& ext) {
  std::ifstream in(path, std::ios::binary);
  char head[1024] = {};
  in.read(head, sizeof head);
  const auto got = static_cast<std::size_t>(in.gcount());
  if (ext == "png") {
    static const unsigned char kSignature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return got >= sizeof kSignature && std::memcmp(head, kSignature, sizeof kSignature) == 0;
  }
  return std::string_view(head, got).find("<svg") != std::string_view::npos;
}

inline std::string range_text(double lo, double hi) {
  if (!(lo < hi)) return "[*:*]";
  std::ostringstream range;
  range.imbue(std::locale::classic());
  range.precision(17);
  range << '[' << lo << ':' << hi << ']';
  return range.str();
}

}  // namespace plot_detail

// Draws plot into path with gnuplot (found on PATH): .png through pngcairo
// (plain png where gnuplot has no cairo), .svg through the svg terminal.
// Returns false and, when error is not null, sets *error, rather than
// throwing: for another extension, no series, a series whose x and y
// differ in length or are empty, a non-finite value, a y <= 0 on a log
// axis, gnuplot missing ("gnuplot not found: ...") or failing, or an output
// file that is not of the format asked for. A plot is a by-product a
// command reports, not a reason to lose its results.
inline bool write_line_plot(const std::string& path, const LinePlot& plot, std::string* error) {
  using plot_detail::plot_failed;
  if (path.empty()) return plot_failed(error, "plot: empty output path");
  const std::string ext = plot_detail::extension_of(path);
  if (ext != "png" && ext != "svg")
    return plot_failed(error, "plot: " + path + ": the file name must end in .png or .svg");
  if (plot.series.empty()) return plot_failed(error, "plot: no series to draw");
  for (const PlotSeries& s : plot.series) {
    if (s.x.empty() || s.x.size() != s.y.size())
      return plot_failed(error, "plot: series '" + s.title + "' has " +
                                    std::to_string(s.x.size()) + " x and " +
                                    std::to_string(s.y.size()) + " y values (need equal, > 0)");
    for (std::size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i]))
        return plot_failed(error, "plot: series '" + s.title + "' has a non-finite value");
      if (plot.log_y && !(s.y[i] > 0))
        return plot_failed(error, "plot: series '" + s.title + "' has y <= 0 on a log axis");
    }
  }

  const std::string gnuplot = plot_detail::find_program("gnuplot");
  if (gnuplot.empty()) return plot_failed(error, "gnuplot not found: apt-get install gnuplot-nox");

  std::string message;
  plot_detail::TempFile data;
  plot_detail::TempFile script;
  if (!plot_detail::make_temp_file("plot-data", data, message) ||
      !plot_detail::make_temp_file("plot-script", script, message)) {
    return plot_failed(error, message);
  }
  {
    // One block per series, two blank lines apart: gnuplot's `index k`.
    std::ofstream out(data.path);
    out.imbue(std::locale::classic());  // gnuplot reads '.' as the decimal sign
    out.precision(17);
    for (std::size_t k = 0; k < plot.series.size(); ++k) {
      if (k > 0) out << "\n\n";
      out << "# " << k << '\n';
      const PlotSeries& s = plot.series[k];
      for (std::size_t i = 0; i < s.x.size(); ++i) out << s.x[i] << ' ' << s.y[i] << '\n';
    }
    if (!out.flush()) return plot_failed(error, "cannot write " + data.path);
  }
  {
    std::ofstream out(script.path);
    const std::string size = std::to_string(plot.width) + "," + std::to_string(plot.height);
    // noenhanced keeps titles literal (no ^ and _ markup).
    if (ext == "png") {
      // pngcairo draws antialiased lines; plain png (libgd) is the fallback
      // for gnuplot builds without cairo.
      out << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
             "  set terminal pngcairo noenhanced size "
          << size
          << "\n"
             "} else {\n"
             "  set terminal png noenhanced size "
          << size << "\n}\n";
    } else {
      out << "set terminal svg noenhanced size " << size << " background rgb 'white'\n";
    }
    out << "set output " << plot_detail::gnuplot_quote(path) << "\n"
        << "set title " << plot_detail::gnuplot_quote(plot.title) << "\n"
        << "set xlabel " << plot_detail::gnuplot_quote(plot.xlabel) << "\n"
        << "set ylabel " << plot_detail::gnuplot_quote(plot.ylabel) << "\n"
        << "set grid\nset key top right\n";
    if (plot.square) out << "set size square\nset key top left\n";
    if (plot.log_y) out << "set logscale y\nset format y '1e%L'\n";
    out << "set xrange " << plot_detail::range_text(plot.x_min, plot.x_max) << "\n"
        << "set yrange " << plot_detail::range_text(plot.y_min, plot.y_max) << "\n"
        << "plot ";
    for (std::size_t k = 0; k < plot.series.size(); ++k) {
      const PlotSeries& s = plot.series[k];
      out << (k == 0 ? plot_detail::gnuplot_quote(data.path) : std::string("''")) << " index " << k
          << " using 1:2 "
          << (s.reference ? "with lines dashtype 2 linecolor rgb 'gray40'"
                          : "with linespoints pointtype 7 pointsize 0.5")
          << " title " << plot_detail::gnuplot_quote(s.title)
          << (k + 1 < plot.series.size() ? ", \\\n  " : "\n");
    }
    out << "unset output\n";
    if (!out.flush()) return plot_failed(error, "cannot write " + script.path);
  }

  // A file left from an earlier run must not pass for this run's output.
  std::remove(path.c_str());
  const std::string command =
      plot_detail::shell_quote(gnuplot) + " " + plot_detail::shell_quote(script.path) + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr)
    return plot_failed(error, "cannot run gnuplot: " + std::string(std::strerror(errno)));
  std::string output;
  char chunk[512];
  while (std::fgets(chunk, sizeof chunk, pipe) != nullptr) {
    if (output.size() < 4000) output += chunk;  // enough to explain a failure
  }
  const int status = pclose(pipe);
  if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    const std::string how = status != -1 && WIFEXITED(status)
                                ? "exit code " + std::to_string(WEXITSTATUS(status))
                                : "abnormal termination";
    return plot_failed(error, "gnuplot failed (" + how + ") writing " + path + ": " + output);
  }
  if (!plot_detail::looks_like(path, ext)) {
    return plot_failed(error, "gnuplot exited cleanly but " + path + " is missing or not a " +
                                  ext + (output.empty() ? "" : ": " + output));
  }
  return true;
}

}  // namespace implicit::apps
