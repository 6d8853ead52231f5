// The dataset readers against the real files from scripts/fetch-data.sh
// (skipped when they have not been fetched) and against small broken files
// written here, plus the gnuplot Q-Q plot.

#include "datasets.hpp"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace implicit::apps {
namespace {

namespace fs = std::filesystem;

// A fresh folder per test, removed afterwards, so parallel ctest runs of
// different tests never share files.
class ScratchDir {
 public:
  ScratchDir() {
    std::string name = (fs::path(::testing::TempDir()) / "implicit-datasets-XXXXXX").string();
    std::vector<char> buffer(name.begin(), name.end());
    buffer.push_back('\0');
    if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed for " + name);
    path_ = buffer.data();
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write_gz(const std::string& path, const std::string& text) {
  gzFile out = gzopen(path.c_str(), "wb");
  ASSERT_NE(out, nullptr) << path;
  ASSERT_EQ(gzwrite(out, text.data(), static_cast<unsigned>(text.size())),
            static_cast<int>(text.size()));
  ASSERT_EQ(gzclose(out), Z_OK);
}

std::string digits_row(int label, const std::string& first_pixel = "0") {
  std::string row = first_pixel;
  for (int j = 1; j < 64; ++j) row += "," + std::to_string(j % 17);
  return row + "," + std::to_string(label) + "\n";
}

// The message of the runtime_error that f throws; fails the test if none.
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  ADD_FAILURE() << "expected std::runtime_error";
  return {};
}

// Path of a fetched data file, or empty when it is absent (the caller skips).
std::string fetched(const std::string& name) {
  std::string path = (fs::path(default_data_dir()) / name).string();
  return fs::exists(path) ? path : std::string();
}

TEST(Datasets, DigitsHaveTheKnownShapeAndRanges) {
  std::string path = fetched("digits.csv.gz");
  if (path.empty()) {
    GTEST_SKIP() << "digits.csv.gz not in " << default_data_dir() << "; run scripts/fetch-data.sh";
  }
  Digits d = load_digits(path);
  ASSERT_EQ(d.rows, 1797);
  ASSERT_EQ(d.features, 64);
  ASSERT_EQ(d.pixels.size(), 1797u * 64u);
  ASSERT_EQ(d.labels.size(), 1797u);
  std::vector<int> per_class(10, 0);
  for (int label : d.labels) {
    ASSERT_GE(label, 0);
    ASSERT_LE(label, 9);
    ++per_class[label];
  }
  for (int c = 0; c < 10; ++c) {
    EXPECT_GE(per_class[c], 170) << "class " << c;
    EXPECT_LE(per_class[c], 190) << "class " << c;
  }
  auto [lo, hi] = std::minmax_element(d.pixels.begin(), d.pixels.end());
  EXPECT_EQ(*lo, 0.0f);
  EXPECT_EQ(*hi, 16.0f);
  // First image of the file, a zero: a guard against shifted columns.
  EXPECT_EQ(d.labels[0], 0);
  EXPECT_EQ(d.pixels[2], 5.0f);
  EXPECT_EQ(d.pixels[3], 13.0f);
}

TEST(Datasets, DiabetesTargetHasTheKnownValues) {
  std::string path = fetched("diabetes_target.csv.gz");
  if (path.empty()) {
    GTEST_SKIP() << "diabetes_target.csv.gz not in " << default_data_dir()
                 << "; run scripts/fetch-data.sh";
  }
  std::vector<double> y = load_diabetes_target(path);
  ASSERT_EQ(y.size(), 442u);
  for (double v : y) EXPECT_GT(v, 0.0);
  auto [lo, hi] = std::minmax_element(y.begin(), y.end());
  EXPECT_EQ(*lo, 25.0);
  EXPECT_EQ(*hi, 346.0);
  EXPECT_EQ(y.front(), 151.0);
}

TEST(Datasets, ReadsSmallFilesIncludingCrlfAndNoFinalNewline) {
  ScratchDir dir;
  std::string digits = dir.file("digits.csv.gz");
  std::string last = digits_row(7);
  last.pop_back();
  write_gz(digits, digits_row(3) + "\r\n" + last);  // a blank CRLF line between rows
  Digits d = load_digits(digits);
  EXPECT_EQ(d.rows, 2);
  EXPECT_EQ(d.labels, (std::vector<int>{3, 7}));
  EXPECT_EQ(d.pixels[64 + 16], 16.0f);

  std::string target = dir.file("target.csv.gz");
  write_gz(target, "1.510000000000000000e+02\r\n7.5e+01\n 141 \n");
  EXPECT_EQ(load_diabetes_target(target), (std::vector<double>{151.0, 75.0, 141.0}));
}

TEST(Datasets, MissingFileThrowsNamingThePath) {
  ScratchDir dir;
  std::string path = dir.file("absent.csv.gz");
  EXPECT_NE(error_of([&] { load_digits(path); }).find(path), std::string::npos);
  EXPECT_NE(error_of([&] { load_diabetes_target(path); }).find(path), std::string::npos);
}

TEST(Datasets, MalformedDigitsThrowNamingPathAndLine) {
  ScratchDir dir;
  std::string path = dir.file("bad.csv.gz");

  write_gz(path, digits_row(1) + digits_row(2, "x7"));
  std::string message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find(path + ", line 2:"), std::string::npos) << message;
  EXPECT_NE(message.find("'x7'"), std::string::npos) << message;

  write_gz(path, digits_row(1) + digits_row(2) + "1,2,3\n");
  message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find(path + ", line 3:"), std::string::npos) << message;
  EXPECT_NE(message.find("got 3"), std::string::npos) << message;

  write_gz(path, digits_row(1, "17"));
  message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find(", line 1:"), std::string::npos) << message;

  write_gz(path, digits_row(10));
  message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find("not a digit"), std::string::npos) << message;

  write_gz(path, "");
  message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
}

TEST(Datasets, MalformedTargetThrowsNamingPathAndLine) {
  ScratchDir dir;
  std::string path = dir.file("bad.csv.gz");
  write_gz(path, "151\n75\n1.4.1\n");
  std::string message = error_of([&] { load_diabetes_target(path); });
  EXPECT_NE(message.find(path + ", line 3:"), std::string::npos) << message;

  write_gz(path, "151 75\n");
  message = error_of([&] { load_diabetes_target(path); });
  EXPECT_NE(message.find(path + ", line 1:"), std::string::npos) << message;
}

TEST(Datasets, TruncatedGzipIsAnErrorNotAShortFile) {
  ScratchDir dir;
  std::string path = dir.file("cut.csv.gz");
  std::string text;
  for (int i = 0; i < 200; ++i) text += digits_row(i % 10);
  write_gz(path, text);
  fs::resize_file(path, fs::file_size(path) / 2);
  std::string message = error_of([&] { load_digits(path); });
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("gzip"), std::string::npos) << message;
}

TEST(Datasets, DefaultDataDirFollowsTheEnvironment) {
  const char* saved = std::getenv("IMPLICIT_DATA_DIR");
  std::string restore = saved != nullptr ? saved : "";
  setenv("IMPLICIT_DATA_DIR", "/some/where", 1);
  EXPECT_EQ(default_data_dir(), "/some/where");
  unsetenv("IMPLICIT_DATA_DIR");
  EXPECT_FALSE(default_data_dir().empty());
  if (saved != nullptr) setenv("IMPLICIT_DATA_DIR", restore.c_str(), 1);
}

TEST(Datasets, QuantilePlotWritesAPng) {
  ScratchDir dir;
  std::string png = dir.file("it's a plot.png");  // a quote must not break the gnuplot script
  std::vector<double> observed, before, after;
  for (int i = 0; i < 50; ++i) {
    observed.push_back(25.0 + 6.4 * i);
    before.push_back(150.0 + 0.5 * i);
    after.push_back(30.0 + 6.2 * i);
  }
  std::string error;
  bool ok = write_quantile_plot(png, observed, before, after, &error);
  if (!ok && error.find("gnuplot not found") != std::string::npos) GTEST_SKIP() << error;
  ASSERT_TRUE(ok) << error;
  ASSERT_TRUE(fs::exists(png));
  EXPECT_GT(fs::file_size(png), 1000u);
}

TEST(Datasets, QuantilePlotRejectsMismatchedInputWithoutThrowing) {
  ScratchDir dir;
  std::string error;
  EXPECT_FALSE(write_quantile_plot(dir.file("a.png"), {1, 2, 3}, {1, 2}, {1, 2, 3}, &error));
  EXPECT_NE(error.find("equal length"), std::string::npos) << error;
  EXPECT_FALSE(write_quantile_plot(dir.file("b.png"), {3, 2, 1}, {1, 2, 3}, {1, 2, 3}, &error));
  EXPECT_NE(error.find("not sorted"), std::string::npos) << error;
  EXPECT_FALSE(write_quantile_plot(dir.file("c.png"), {}, {}, {}, nullptr));
}

}  // namespace
}  // namespace implicit::apps
