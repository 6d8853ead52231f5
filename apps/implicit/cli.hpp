#pragma once
// Small shared pieces of the `implicit` command-line program: the program's
// parse-and-dispatch loop over CLI11 subcommands, the options every command
// shares (--backend, --compact / --pretty), validators with the project's
// error messages, JSON file input, and conversions between JSON and Eigen.

#include <CLI/CLI.hpp>
#include <Eigen/Core>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace implicit::cli {

// One subcommand: the CLI11 app it added to the program (which owns the
// parsed option values through `run`'s captures) and the work to do once
// the command line has parsed. `run` returns the exit code: 0 all
// converged, 1 a solve did not converge; bad input throws
// std::invalid_argument (exit 2).
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};

// Parses argv (argv[0] the program name, argv[1] the subcommand) against
// `program`, into which `commands` were added, then runs the chosen one.
// Returns the exit code: 0 after --help (printed to stdout); 2, with a
// message on stderr, for a bad command line (no or unknown subcommand,
// unknown option, missing or bad value) and for std::invalid_argument from
// the command; otherwise the command's own code. Other exceptions propagate.
int run_program(CLI::App& program, const std::vector<Command>& commands, int argc, char** argv);

// The footer every --help ends with: the exit codes.
extern const char* const kExitCodes;

// Which implementation a command runs: the dense Eigen core or the
// LibTorch layer (--backend eigen|torch, default eigen).
enum class Backend { kEigen, kTorch };
const char* to_string(Backend backend);
// Adds --backend to command. A name other than eigen and torch, or torch in
// a build without LibTorch, is a parse error naming why.
void add_backend_option(CLI::App& command, Backend& backend);

// How a command prints its JSON document: --compact (one line) or --pretty
// (indented by 2); neither: pretty when stdout is a terminal, compact when
// it is a pipe or a file (n = 40 is 1,780 lines pretty).
struct JsonStyle {
  bool compact = false;
  bool pretty = false;
};
// Adds --compact and --pretty (mutually exclusive) to command; each needs
// `needs` (the option without which no JSON is printed) when it is not null.
void add_json_style_options(CLI::App& command, JsonStyle& style, CLI::Option* needs);
// The options every training demo shares: --data-dir DIR (where `file`
// lives; scripts/fetch-data.sh fetches it, $IMPLICIT_DATA_DIR overrides the
// default) and --json with --compact / --pretty. `progress` names what goes
// to stderr under --json ("the progress table").
void add_dataset_options(CLI::App& command, std::string& data_dir, const std::string& file,
                         bool& json, JsonStyle& style, const std::string& progress);
// Writes document and a newline to std::cout in the chosen style.
void print_json(const nlohmann::json& document, const JsonStyle& style);

// A validator accepting exactly `names`; anything else fails with
// "must be a, b or c, got 'x'" (CLI11 prefixes the option's name).
CLI::Validator one_of(const std::vector<std::string>& names);
// A validator for a decimal integer in [lo, hi], to add with
// Option::transform: it rewrites the value in plain decimal (010 -> 10).
// Written here because CLI11 2.1 reads integers with strtoll(base 0): 010
// as octal 8, 0x10 as 16, and -1 into an unsigned option as 2^64 - 1.
CLI::Validator integer_in(long long lo, long long hi);

// A validator for an image file name the plots can write: one ending in
// .png or .svg (plot.hpp: write_line_plot).
CLI::Validator image_file();

nlohmann::json read_json_file(const std::string& path);

// JSON array of numbers -> vector; throws std::invalid_argument naming `what`
// when the value is not a non-empty array of finite numbers.
Eigen::VectorXd to_vector(const nlohmann::json& j, const std::string& what);
// JSON array of equal-length rows -> matrix, same checks.
Eigen::MatrixXd to_matrix(const nlohmann::json& j, const std::string& what);

nlohmann::json to_json(const Eigen::VectorXd& v);
nlohmann::json to_json(const Eigen::MatrixXd& m);  // list of rows

}  // namespace implicit::cli
