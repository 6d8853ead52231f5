#include "cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <stdexcept>

#include "plot.hpp"

namespace implicit::cli {

namespace {

bool is_command(const std::vector<Command>& commands, const std::string& name) {
  return std::any_of(commands.begin(), commands.end(),
                     [&](const Command& c) { return c.app->get_name() == name; });
}

}  // namespace

const char* const kExitCodes =
    "Exit codes: 0 all solves converged; 1 a solve did not converge (the output says why);\n"
    "2 bad input: an unknown option, a bad value, a malformed file, missing data (stderr says "
    "which).";

int run_program(CLI::App& program, const std::vector<Command>& commands, int argc, char** argv) {
  program.require_subcommand(1);
  if (argc < 2) {
    std::cerr << program.help();
    return 2;
  }
  const std::string first = argv[1];
  const bool named = !first.empty() && first[0] != '-';
  if (named && !is_command(commands, first)) {
    std::cerr << "implicit: unknown command '" << first << "' (implicit --help lists them)\n";
    return 2;
  }
  const std::string who = named ? "implicit " + first : "implicit";
  try {
    program.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too, with exit code 0: CLI11 prints the help
    // of the subcommand it was given to.
    if (e.get_exit_code() == 0) return program.exit(e, std::cout, std::cerr);
    std::cerr << who << ": " << e.what() << "\n(" << who << " --help lists the options)\n";
    return 2;
  }
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const std::invalid_argument& e) {
      std::cerr << who << ": " << e.what() << '\n';
      return 2;
    }
  }
  return 2;  // not reached: require_subcommand(1) made the parse fail first
}

const char* to_string(Backend backend) { return backend == Backend::kTorch ? "torch" : "eigen"; }

void add_backend_option(CLI::App& command, Backend& backend) {
  command
      .add_option_function<std::string>(
          "--backend",
          [&backend](const std::string& name) {
            backend = name == "torch" ? Backend::kTorch : Backend::kEigen;
          },
          "eigen: the dense core on Eigen vectors; torch: the same computation through "
          "implicit::torch on float64 tensors, to check one against the other (needs --input)")
      ->type_name("eigen|torch")
      ->default_str("eigen")
      ->check(CLI::Validator(
          [](std::string& name) -> std::string {
            if (name == "eigen") return "";
            if (name == "torch") {
#ifdef IMPLICIT_WITH_TORCH
              return "";
#else
              return "torch: this build has no LibTorch layer (configured with "
                     "IMPLICIT_WITH_TORCH=OFF)";
#endif
            }
            return "must be eigen or torch, got '" + name + "'";
          },
          ""));
}

void add_dataset_options(CLI::App& command, std::string& data_dir, const std::string& file,
                         bool& json, JsonStyle& style, const std::string& progress) {
  command
      .add_option("--data-dir", data_dir,
                  "folder of " + file +
                      " (scripts/fetch-data.sh fetches it; $IMPLICIT_DATA_DIR overrides the "
                      "default)")
      ->type_name("DIR")
      ->capture_default_str();
  CLI::Option* json_flag = command.add_flag(
      "--json", json,
      "print a JSON summary to stdout, and " + progress +
          " to stderr (README.md, \"The command-line program\", has its keys)");
  add_json_style_options(command, style, json_flag);
}

void add_json_style_options(CLI::App& command, JsonStyle& style, CLI::Option* needs) {
  CLI::Option* compact = command.add_flag(
      "--compact", style.compact,
      "print the JSON on one line (the default when stdout is not a terminal)");
  CLI::Option* pretty = command.add_flag(
      "--pretty", style.pretty, "print the JSON indented (the default on a terminal)");
  compact->excludes(pretty);
  if (needs != nullptr) {
    compact->needs(needs);
    pretty->needs(needs);
  }
}

void print_json(const nlohmann::json& document, const JsonStyle& style) {
  const bool pretty = style.pretty || (!style.compact && isatty(fileno(stdout)) != 0);
  // replace, not throw, on a string that is not UTF-8 (a path from the
  // command line, say): the results must not be lost to a file name.
  std::cout << document.dump(pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace)
            << '\n';
}

CLI::Validator one_of(const std::vector<std::string>& names) {
  std::string list;
  for (std::size_t i = 0; i < names.size(); ++i)
    list += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + names[i];
  return CLI::Validator(
      [names, list](std::string& value) -> std::string {
        if (std::find(names.begin(), names.end(), value) != names.end()) return "";
        return "must be " + list + ", got '" + value + "'";
      },
      "");
}

CLI::Validator integer_in(long long lo, long long hi) {
  return CLI::Validator(
      [lo, hi](std::string& value) -> std::string {
        const std::string expected = "must be an integer from " + std::to_string(lo) + " to " +
                                     std::to_string(hi) + ", got '" + value + "'";
        const std::size_t digits_from = !value.empty() && value[0] == '-' ? 1 : 0;
        if (value.size() == digits_from ||
            value.find_first_not_of("0123456789", digits_from) != std::string::npos)
          return expected;
        errno = 0;
        const long long v = std::strtoll(value.c_str(), nullptr, 10);
        if (errno == ERANGE || v < lo || v > hi) return expected;
        value = std::to_string(v);  // 010 -> 10: CLI11 would read it as octal
        return "";
      },
      "");
}

CLI::Validator image_file() {
  return CLI::Validator(
      [](std::string& path) -> std::string {
        const std::string ext = apps::plot_detail::extension_of(path);
        if (ext == "png" || ext == "svg") return "";
        return "the file name must end in .png or .svg, got '" + path + "'";
      },
      "");
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot open --input file '" + path + "'");
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    // parse_error, and out_of_range for numbers beyond a double (1e309):
    // both are bad input, not a failed solve (found by tests/fuzz/cli_fuzz).
    throw std::invalid_argument("--input file '" + path + "' is not valid JSON: " + e.what());
  }
}

Eigen::VectorXd to_vector(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array() || j.empty())
    throw std::invalid_argument("'" + what + "' must be a non-empty array of numbers");
  Eigen::VectorXd v(static_cast<Eigen::Index>(j.size()));
  for (std::size_t i = 0; i < j.size(); ++i) {
    if (!j[i].is_number())
      throw std::invalid_argument("'" + what + "'[" + std::to_string(i) + "] is not a number");
    v[static_cast<Eigen::Index>(i)] = j[i].get<double>();
    if (!std::isfinite(v[static_cast<Eigen::Index>(i)]))
      throw std::invalid_argument("'" + what + "'[" + std::to_string(i) + "] is not finite");
  }
  return v;
}

Eigen::MatrixXd to_matrix(const nlohmann::json& j, const std::string& what) {
  if (!j.is_array() || j.empty())
    throw std::invalid_argument("'" + what + "' must be a non-empty array of rows");
  const auto rows = static_cast<Eigen::Index>(j.size());
  Eigen::MatrixXd m;
  for (Eigen::Index r = 0; r < rows; ++r) {
    Eigen::VectorXd row =
        to_vector(j[static_cast<std::size_t>(r)], what + "[" + std::to_string(r) + "]");
    if (r == 0) m.resize(rows, row.size());
    if (row.size() != m.cols())
      throw std::invalid_argument("'" + what + "' row " + std::to_string(r) + " has " +
                                  std::to_string(row.size()) + " entries, row 0 has " +
                                  std::to_string(m.cols()));
    m.row(r) = row.transpose();
  }
  return m;
}

nlohmann::json to_json(const Eigen::VectorXd& v) {
  return nlohmann::json(std::vector<double>(v.data(), v.data() + v.size()));
}

nlohmann::json to_json(const Eigen::MatrixXd& m) {
  nlohmann::json rows = nlohmann::json::array();
  for (Eigen::Index r = 0; r < m.rows(); ++r)
    rows.push_back(to_json(Eigen::VectorXd(m.row(r).transpose())));
  return rows;
}

}  // namespace implicit::cli
